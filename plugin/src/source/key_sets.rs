//! The API keys of a full publication, handed over apart from the rest of the policy so that a
//! worker can load them in slices while its current policy keeps serving.
//!
//! The service publishes the policy's *skeleton* (every `api_key.keys` list emptied, see
//! `key_delta::policy_skeleton`), which a worker compiles in one call, and the keys as text,
//! one line each, which the worker puts into the new engine's hash-tries a bounded number per
//! tick:
//!
//! ```text
//! provider <name>\t<count>
//! <SHA-256, 64 lower-case hex>\t<consumer>
//! …
//! ```
//!
//! Names and consumers containing a tab, a line feed or a carriage return cannot be written
//! this way; such a policy is published whole, as before.

use super::digest::PolicyDigest;
use super::lines::{LineFeed, Mismatch};
use crate::config::{ConsumerSlots, parse_sha256_hex};
use crate::engine::Engine;

/// Why loaded keys cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeySetError {
    /// A line is not what the service writes.
    #[error("key set line {line}: {problem}")]
    Malformed {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        problem: String,
    },
    /// The key set names a provider the compiled skeleton has not.
    #[error("key set names '{0}', which is not an API-key provider of the policy")]
    UnknownProvider(String),
    /// The bytes do not match the manifest's digest, or end early.
    #[error("the key set does not match its digest ({got} of {expected} bytes)")]
    DigestMismatch {
        /// Bytes read.
        got: usize,
        /// Bytes announced.
        expected: usize,
    },
}

/// The key set of `engine` in the text form above; `None` when a name cannot be written.
pub fn encode(engine: &Engine) -> Option<Vec<u8>> {
    let writable = |s: &str| !s.contains(['\t', '\n', '\r']);
    let mut out = Vec::new();
    for (name, table) in engine.api_key_tables() {
        if !writable(name) {
            return None;
        }
        out.extend_from_slice(format!("provider {name}\t{}\n", table.key_count()).as_bytes());
        for (digest, consumer) in table.entries() {
            if !writable(consumer) {
                return None;
            }
            out.extend_from_slice(hex::encode(digest).as_bytes());
            out.push(b'\t');
            out.extend_from_slice(consumer.as_bytes());
            out.push(b'\n');
        }
    }
    Some(out)
}

/// Loads a key set into a compiled skeleton, piece by piece and a bounded number of lines at a
/// time. The keys count only once [`KeySetLoader::finish`] has checked the whole digest.
pub struct KeySetLoader {
    lines: LineFeed,
    /// The provider the lines belong to, and where its consumer names went.
    provider: Option<String>,
    consumer_slot: ConsumerSlots,
}

impl KeySetLoader {
    /// A loader for a key set of `size` bytes with SHA-256 `digest`.
    pub fn new(size: usize, digest: Option<PolicyDigest>) -> Self {
        Self {
            lines: LineFeed::new(size, digest),
            provider: None,
            consumer_slot: ConsumerSlots::default(),
        }
    }

    /// Takes the next piece of the key set.
    pub fn feed(&mut self, piece: &[u8]) {
        self.lines.feed(piece);
    }

    /// True when every byte was fed and every complete line put into the engine.
    pub fn is_drained(&self) -> bool {
        self.lines.is_drained()
    }

    /// True when the lines fed so far are all consumed (feed the next piece).
    pub fn wants_piece(&self) -> bool {
        self.lines.wants_piece()
    }

    /// Puts up to `budget` complete lines into `engine`; returns how many it did.
    pub fn step(&mut self, engine: &mut Engine, budget: usize) -> Result<usize, KeySetError> {
        let mut done = 0;
        let mut state = LineState {
            line: 0,
            provider: &mut self.provider,
            consumer_slot: &mut self.consumer_slot,
        };
        while done < budget {
            let Some((number, line)) = self.lines.next_line() else {
                break;
            };
            state.line = number;
            state.take(engine, line)?;
            done += 1;
        }
        Ok(done)
    }

    /// Frees up to `budget` entries of the consumer-name index built while loading (one
    /// string per distinct consumer: a million of them take milliseconds to free at once);
    /// true once it is empty. Call when drained, before [`Self::finish`].
    pub fn release(&mut self, budget: usize) -> bool {
        self.consumer_slot
            .extract_if(|_, _| true)
            .take(budget.max(1))
            .for_each(drop);
        self.consumer_slot.is_empty()
    }

    /// Checks the whole key set against its digest once every line is in.
    pub fn finish(self) -> Result<(), KeySetError> {
        self.lines
            .finish()
            .map_err(|Mismatch { got, expected }| KeySetError::DigestMismatch { got, expected })
    }
}

/// What a line needs of the loader: where it is, and for which provider.
struct LineState<'a> {
    line: usize,
    provider: &'a mut Option<String>,
    consumer_slot: &'a mut ConsumerSlots,
}

impl LineState<'_> {
    fn take(&mut self, engine: &mut Engine, line: &[u8]) -> Result<(), KeySetError> {
        let malformed = |problem: &str| KeySetError::Malformed {
            line: self.line,
            problem: problem.to_owned(),
        };
        let text = std::str::from_utf8(line).map_err(|_| malformed("not UTF-8"))?;
        if let Some(header) = text.strip_prefix("provider ") {
            let (name, count) = header
                .split_once('\t')
                .ok_or_else(|| malformed("provider line without a count"))?;
            let count: usize = count.parse().map_err(|_| malformed("bad key count"))?;
            engine
                .reset_api_key_table(name, count)
                .ok_or_else(|| KeySetError::UnknownProvider(name.to_owned()))?;
            *self.provider = Some(name.to_owned());
            self.consumer_slot.clear();
            return Ok(());
        }
        let provider = self
            .provider
            .as_deref()
            .ok_or_else(|| malformed("a key before any provider line"))?;
        let (hex_digest, consumer) = text
            .split_once('\t')
            .ok_or_else(|| malformed("no tab between digest and consumer"))?;
        let digest = parse_sha256_hex(hex_digest)
            .filter(|_| !consumer.is_empty())
            .ok_or_else(|| malformed("bad digest or empty consumer"))?;
        let table = engine
            .api_key_table_mut(provider)
            .ok_or_else(|| KeySetError::UnknownProvider(provider.to_owned()))?;
        table.set(digest, consumer, self.consumer_slot);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::key_delta::{KeyDelta, policy_skeleton};

    fn policy(keys: usize) -> String {
        let keys: Vec<String> = (0..keys)
            .map(|i| {
                format!(
                    r#"{{"consumer":"c{}","sha256":"{}"}}"#,
                    i % 7,
                    PolicyDigest::of(format!("k{i}").as_bytes()).to_hex()
                )
            })
            .collect();
        format!(
            r#"{{"hosts":[{{"domains":["*"],"routes":[{{"id":"r","match":{{"prefix":"/"}},
               "upstream":{{"cluster":"c"}},"auth":{{"any_of":["keys"]}}}}]}}],
               "auth_providers":{{"keys":{{"api_key":{{"keys":[{}]}}}},"other":{{"api_key":{{"keys":[]}}}}}}}}"#,
            keys.join(",")
        )
    }

    #[test]
    fn a_skeleton_plus_its_key_set_loaded_in_slices_is_the_policy() {
        let text = policy(1_000);
        let full = Engine::from_json(text.as_bytes()).unwrap();
        let set = encode(&full).unwrap();
        let mut engine = Engine::from_json(&policy_skeleton(text.as_bytes()).unwrap()).unwrap();
        let mut loader = KeySetLoader::new(set.len(), Some(PolicyDigest::of(&set)));
        let mut slices = 0;
        for piece in set.chunks(997) {
            loader.feed(piece);
            while !loader.wants_piece() && !loader.is_drained() {
                loader.step(&mut engine, 64).unwrap();
                slices += 1;
            }
        }
        while !loader.is_drained() {
            loader.step(&mut engine, 64).unwrap();
        }
        loader.finish().unwrap();
        assert!(slices > 10);
        assert_eq!(KeyDelta::between(&engine, &full).unwrap().changes(), 0);
    }

    #[test]
    fn a_damaged_key_set_is_refused() {
        let text = policy(10);
        let full = Engine::from_json(text.as_bytes()).unwrap();
        let mut set = encode(&full).unwrap();
        let digest = PolicyDigest::of(&set);
        let mut engine = Engine::from_json(&policy_skeleton(text.as_bytes()).unwrap()).unwrap();
        // A consumer changed in transit: still well-formed, no longer what was published.
        let at = set.windows(3).position(|w| w == b"\tc0").unwrap() + 2;
        set[at] = b'9';
        let mut loader = KeySetLoader::new(set.len(), Some(digest));
        loader.feed(&set);
        loader.step(&mut engine, usize::MAX).unwrap();
        assert!(matches!(
            loader.finish(),
            Err(KeySetError::DigestMismatch { .. })
        ));
        let mut loader = KeySetLoader::new(5, None);
        loader.feed(b"abc\tx\n");
        assert!(matches!(
            loader.step(&mut engine, 1),
            Err(KeySetError::Malformed { line: 1, .. })
        ));
    }
}
