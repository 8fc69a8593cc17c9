//! A list that grows in fixed-size chunks, never by copying itself.
//!
//! A `Vec` grows by doubling: while it grows, the old and the new buffer coexist, and after
//! the last doubling up to half of it is unused. For the 100k compiled routes of a large
//! policy that is about 10 MB of peak memory for nothing, and a wasm VM keeps its peak as
//! linear memory for good. Chunks of [`CHUNK`] elements are allocated at their final size, so
//! growing allocates exactly what the next elements need; an index costs one more load (the
//! chunk's pointer, from a directory small enough to stay in cache).

/// Elements per chunk (a power of two, so an index splits with a shift and a mask).
const CHUNK_BITS: u32 = 10;
const CHUNK: usize = 1 << CHUNK_BITS;

/// A growable list stored in chunks of [`CHUNK`] elements.
#[derive(Debug, Clone)]
pub(crate) struct ChunkedVec<T> {
    chunks: Vec<Vec<T>>,
    len: usize,
}

impl<T> Default for ChunkedVec<T> {
    fn default() -> Self {
        Self {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

impl<T> ChunkedVec<T> {
    /// Number of elements.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Appends an element; allocates one chunk every [`CHUNK`] elements.
    pub(crate) fn push(&mut self, value: T) {
        match self.chunks.last_mut() {
            Some(last) if last.len() < CHUNK => last.push(value),
            _ => {
                let mut chunk = Vec::with_capacity(CHUNK);
                chunk.push(value);
                self.chunks.push(chunk);
            }
        }
        self.len += 1;
    }

    /// The element at `index`.
    pub(crate) fn get(&self, index: usize) -> Option<&T> {
        self.chunks
            .get(index >> CHUNK_BITS)?
            .get(index & (CHUNK - 1))
    }

    /// The elements in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flatten()
    }

    /// The elements in order, mutably, from `start` on (without walking the ones before).
    pub(crate) fn iter_mut_from(&mut self, start: usize) -> impl Iterator<Item = &mut T> {
        self.chunks
            .iter_mut()
            .skip(start >> CHUNK_BITS)
            .flatten()
            .skip(start & (CHUNK - 1))
    }

    /// The elements in order, by value; each chunk is freed once its elements are taken.
    pub(crate) fn into_values(self) -> impl Iterator<Item = T> {
        self.chunks.into_iter().flatten()
    }

    /// Moves every element of `other` to the end, freeing `other`'s chunks as they empty.
    pub(crate) fn append(&mut self, other: Self) {
        if self.len == 0 {
            *self = other;
            return;
        }
        for value in other.into_values() {
            self.push(value);
        }
    }

    /// Removes and returns the last chunk (for freeing a large list a chunk at a time).
    pub(crate) fn pop_chunk(&mut self) -> Option<Vec<T>> {
        let chunk = self.chunks.pop()?;
        self.len = self.len.saturating_sub(chunk.len());
        Some(chunk)
    }

    /// Gives back the unused end of the last chunk (a shrink in place).
    pub(crate) fn shrink_to_fit(&mut self) {
        if let Some(last) = self.chunks.last_mut() {
            last.shrink_to_fit();
        }
        self.chunks.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_cross_chunk_boundaries() {
        let mut list = ChunkedVec::default();
        for i in 0..(3 * CHUNK + 5) {
            list.push(i);
        }
        list.shrink_to_fit();
        assert_eq!(list.len(), 3 * CHUNK + 5);
        for i in [0, CHUNK - 1, CHUNK, 2 * CHUNK + 1, 3 * CHUNK + 4] {
            assert_eq!(list.get(i), Some(&i));
        }
        assert_eq!(list.get(3 * CHUNK + 5), None);
        assert!(list.iter().copied().eq(0..3 * CHUNK + 5));
    }

    #[test]
    fn append_keeps_order_and_iter_mut_from_starts_there() {
        let mut a = ChunkedVec::default();
        let mut b = ChunkedVec::default();
        for i in 0..(CHUNK + 3) {
            a.push(i);
        }
        for i in (CHUNK + 3)..(2 * CHUNK + 10) {
            b.push(i);
        }
        a.append(b);
        assert!(a.iter().copied().eq(0..2 * CHUNK + 10));
        for value in a.iter_mut_from(CHUNK + 3) {
            *value += 1_000_000;
        }
        assert_eq!(a.get(CHUNK + 2), Some(&(CHUNK + 2)));
        assert_eq!(a.get(CHUNK + 3), Some(&(CHUNK + 3 + 1_000_000)));
        let mut empty = ChunkedVec::default();
        empty.append(a.clone());
        assert!(empty.iter().eq(a.iter()));
    }
}
