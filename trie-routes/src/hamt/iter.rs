//! Iteration over a [`HashTrieMap`](super::HashTrieMap).

use super::node::{Branch, Entry, MAX_DEPTH};

/// Iterator over `(&key, &value)` pairs, in hash order.
pub struct Iter<'a, K, V> {
    /// One slice iterator per branch level on the way down (at most `MAX_DEPTH`).
    stack: Vec<core::slice::Iter<'a, Entry<K, V>>>,
    collision: core::slice::Iter<'a, (K, V)>,
    left: usize,
}

impl<'a, K, V> Iter<'a, K, V> {
    pub(crate) fn new(root: &'a Branch<K, V>, len: usize) -> Self {
        let mut stack = Vec::with_capacity(MAX_DEPTH);
        stack.push(root.entries.iter());
        Self {
            stack,
            collision: [].iter(),
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
            let top = self.stack.last_mut()?;
            match top.next() {
                None => {
                    self.stack.pop();
                }
                Some(Entry::Leaf { key, value, .. }) => {
                    self.left = self.left.saturating_sub(1);
                    return Some((key, value));
                }
                Some(Entry::Collision(c)) => self.collision = c.entries.iter(),
                Some(Entry::Branch(b)) => self.stack.push(b.entries.iter()),
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<K, V> ExactSizeIterator for Iter<'_, K, V> {}
