//! Iteration over a [`HashTrieMap`](super::HashTrieMap).

use super::node::{Entry, Leaf, MAX_DEPTH};
use super::root::{Slot, Table};

/// The chunks of both root tables, in turn.
type Chunks<'a, K, V> = core::iter::Chain<
    core::slice::Iter<'a, Vec<Slot<K, V>>>,
    core::slice::Iter<'a, Vec<Slot<K, V>>>,
>;

/// Iterator over `(&key, &value)` pairs, in no specified order.
pub struct Iter<'a, K, V> {
    /// The chunks of the root tables (the current one, then the unsplit part of the old one).
    chunks: Chunks<'a, K, V>,
    /// The rest of the current chunk.
    slots: core::slice::Iter<'a, Slot<K, V>>,
    /// One slice iterator per branch level on the way down (at most `MAX_DEPTH`).
    stack: Vec<core::slice::Iter<'a, Entry<K, V>>>,
    collision: core::slice::Iter<'a, (K, V)>,
    bucket: core::slice::Iter<'a, Leaf<K, V>>,
    left: usize,
}

impl<'a, K, V> Iter<'a, K, V> {
    pub(crate) fn new([new, old]: [&'a Table<K, V>; 2], len: usize) -> Self {
        Self {
            chunks: new.chunks().chain(old.chunks()),
            slots: [].iter(),
            stack: Vec::with_capacity(if len == 0 { 0 } else { MAX_DEPTH }),
            collision: [].iter(),
            bucket: [].iter(),
            left: len,
        }
    }
}

impl<'a, K, V> Iterator for Iter<'a, K, V> {
    type Item = (&'a K, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some((k, v)) = self.collision.next() {
                self.left = self.left.saturating_sub(1);
                return Some((k, v));
            }
            if let Some(l) = self.bucket.next() {
                self.left = self.left.saturating_sub(1);
                return Some((&l.key, &l.value));
            }
            let entry = match self.stack.last_mut() {
                Some(top) => match top.next() {
                    Some(e) => e,
                    None => {
                        self.stack.pop();
                        continue;
                    }
                },
                None => match self.slots.next() {
                    Some(Some(e)) => e,
                    Some(None) => continue,
                    None => {
                        self.slots = self.chunks.next()?.iter();
                        continue;
                    }
                },
            };
            match entry {
                Entry::Leaf(Leaf { key, value, .. }) => {
                    self.left = self.left.saturating_sub(1);
                    return Some((key, value));
                }
                Entry::Collision(c) => self.collision = c.entries.iter(),
                Entry::Branch(b) => self.stack.push(b.entries.iter()),
                Entry::Bucket(items) => self.bucket = items.iter(),
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<K, V> ExactSizeIterator for Iter<'_, K, V> {}
