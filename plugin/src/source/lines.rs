//! Text published in shared-data pieces and read a line at a time: the key sets
//! (`source::key_sets`) and route sets (`source::route_sets`) of a full publication.
//!
//! Pieces arrive one per hostcall; a line may straddle two of them. The bytes count only once
//! [`LineFeed::finish`] has checked their checksum against the manifest's. The checksum is
//! computed over each line as it is taken, so its cost is spread over the slices that take the
//! lines instead of falling on the one that reads a piece.

use super::checksum::{PartChecksum, PartHasher};

/// Lines of a published text of known size and checksum, fed piece by piece.
struct LineFeed {
    expected_size: usize,
    expected: Option<PartChecksum>,
    hasher: PartHasher,
    received: usize,
    /// Bytes received and not yet consumed.
    pending: Vec<u8>,
    consumed: usize,
    /// 1-based number of the line last taken.
    line: usize,
}

/// The bytes do not match the checksum, or end early: (bytes read, bytes announced).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Mismatch {
    got: usize,
    expected: usize,
}

impl LineFeed {
    /// A feed of `size` bytes with checksum `checksum`.
    fn new(size: usize, checksum: Option<PartChecksum>) -> Self {
        Self {
            expected_size: size,
            expected: checksum,
            hasher: PartHasher::new(),
            received: 0,
            pending: Vec::new(),
            consumed: 0,
            line: 0,
        }
    }

    /// Takes the next piece.
    fn feed(&mut self, piece: &[u8]) {
        self.received = self.received.saturating_add(piece.len());
        self.pending.drain(..self.consumed.min(self.pending.len()));
        self.consumed = 0;
        self.pending.extend_from_slice(piece);
    }

    /// True when every byte was fed and every complete line taken.
    fn is_drained(&self) -> bool {
        self.received >= self.expected_size && self.consumed >= self.pending.len()
    }

    /// True when the lines fed so far are all taken (feed the next piece).
    fn wants_piece(&self) -> bool {
        self.received < self.expected_size
            && !self
                .pending
                .get(self.consumed..)
                .is_some_and(|rest| rest.contains(&b'\n'))
    }

    /// The next complete line (without its `\n`) and its 1-based number.
    fn next_line(&mut self) -> Option<(usize, &[u8])> {
        let rest = self.pending.get(self.consumed..)?;
        let end = rest.iter().position(|&b| b == b'\n')?;
        self.hasher.update(rest.get(..=end)?);
        let line = rest.get(..end)?;
        self.consumed = self.consumed.saturating_add(end + 1);
        self.line += 1;
        Some((self.line, line))
    }

    /// Checks the whole text against its checksum once every line is taken.
    fn finish(mut self) -> Result<(), Mismatch> {
        // Bytes after the last line break (a set the service wrote always ends with one).
        if let Some(rest) = self.pending.get(self.consumed..) {
            self.hasher.update(rest);
        }
        if self.received != self.expected_size || self.expected != Some(self.hasher.finish()) {
            return Err(Mismatch {
                got: self.received,
                expected: self.expected_size,
            });
        }
        Ok(())
    }
}

/// What a set's lines mean: route sets (`source::route_sets`) and key sets
/// (`source::key_sets`) each parse their lines into their own target.
pub trait SetLines: Default {
    /// What the lines go into.
    type Target;
    /// Why a set cannot be used.
    type Error;
    /// Takes line `number` (1-based, without its line break) into `target`.
    fn take(
        &mut self,
        target: &mut Self::Target,
        number: usize,
        line: &[u8],
    ) -> Result<(), Self::Error>;
    /// Ends the set once every line is taken (what the last lines announced must be there).
    fn close(self, target: &mut Self::Target) -> Result<(), Self::Error>;
    /// The error for bytes that do not match the set's checksum or end early.
    fn mismatch(got: usize, expected: usize) -> Self::Error;
}

/// A set published in pieces, loaded a bounded number of lines at a time. Its lines count
/// only once [`SetLoader::finish`] has checked the whole checksum.
pub struct SetLoader<L: SetLines> {
    lines: LineFeed,
    parser: L,
}

impl<L: SetLines> SetLoader<L> {
    /// A loader for a set of `size` bytes with checksum `checksum`.
    pub fn new(size: usize, checksum: Option<PartChecksum>) -> Self {
        Self {
            lines: LineFeed::new(size, checksum),
            parser: L::default(),
        }
    }

    /// Takes the next piece of the set.
    pub fn feed(&mut self, piece: &[u8]) {
        self.lines.feed(piece);
    }

    /// True when every byte was fed and every complete line taken.
    pub fn is_drained(&self) -> bool {
        self.lines.is_drained()
    }

    /// True when the lines fed so far are all taken (feed the next piece).
    pub fn wants_piece(&self) -> bool {
        self.lines.wants_piece()
    }

    /// Takes up to `budget` complete lines into `target`; returns how many it took.
    pub fn step(&mut self, target: &mut L::Target, budget: usize) -> Result<usize, L::Error> {
        let mut done = 0;
        while done < budget {
            let Some((number, line)) = self.lines.next_line() else {
                break;
            };
            self.parser.take(target, number, line)?;
            done += 1;
        }
        Ok(done)
    }

    /// Ends the set once every line is taken and checks the whole against its checksum.
    pub fn finish(self, target: &mut L::Target) -> Result<(), L::Error> {
        self.parser.close(target)?;
        self.lines
            .finish()
            .map_err(|Mismatch { got, expected }| L::mismatch(got, expected))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_straddling_pieces_come_out_whole_and_the_checksum_is_checked() {
        let text = b"one\ntwo two\nthree\n";
        let mut feed = LineFeed::new(text.len(), Some(PartChecksum::of(text)));
        let mut lines = Vec::new();
        for piece in text.chunks(5) {
            assert!(feed.wants_piece());
            feed.feed(piece);
            while let Some((n, line)) = feed.next_line() {
                lines.push((n, line.to_vec()));
            }
        }
        assert!(feed.is_drained() && !feed.wants_piece());
        assert_eq!(
            lines,
            vec![
                (1, b"one".to_vec()),
                (2, b"two two".to_vec()),
                (3, b"three".to_vec())
            ]
        );
        assert_eq!(feed.finish(), Ok(()));
        let mut short = LineFeed::new(text.len(), Some(PartChecksum::of(text)));
        short.feed(&text[..4]);
        assert_eq!(
            short.finish(),
            Err(Mismatch {
                got: 4,
                expected: text.len()
            })
        );
        let mut changed = LineFeed::new(text.len(), Some(PartChecksum::of(text)));
        changed.feed(
            b"one
two twO
three
",
        );
        while changed.next_line().is_some() {}
        assert_eq!(
            changed.finish(),
            Err(Mismatch {
                got: text.len(),
                expected: text.len()
            })
        );
    }
}
