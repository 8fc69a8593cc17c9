//! An API-key provider's keys, checked and put into their lookup table while they are parsed.
//!
//! 100k keys as parsed records (two strings each) would take about 13 MB next to the JSON
//! bytes; as table entries they take a digest and two indices. Like `RouteList`, the
//! deserializer checks each entry as it is read and keeps only the compiled form; issues keep
//! their declaration index.

use std::collections::HashMap;
use std::fmt;
use std::hash::BuildHasher;

use serde::de::{Deserialize, Deserializer, SeqAccess, Visitor};
use trie_routes::HashTrieMap;

use super::{ApiKeyEntry, ConfigIssue, Text};
use crate::engine::chunked::ChunkedVec;

/// What is wrong with one declared key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyProblem {
    EmptyConsumer,
    MalformedDigest,
    /// The same digest as the key declared at this index.
    DuplicateOf(usize),
}

impl KeyProblem {
    /// The issue, for the provider at JSON path `provider` and the key at `index`.
    pub(crate) fn issue(&self, provider: &str, index: usize) -> ConfigIssue {
        let at = format!("{provider}.keys[{index}]");
        let (path, message) = match self {
            Self::EmptyConsumer => (format!("{at}.consumer"), "consumer name is empty".into()),
            Self::MalformedDigest => (
                format!("{at}.sha256"),
                "must be 64 lower-case hex digits (the SHA-256 of the key, never the key itself)"
                    .to_owned(),
            ),
            Self::DuplicateOf(first) => (
                format!("{at}.sha256"),
                format!("same key digest as {provider}.keys[{first}]"),
            ),
        };
        ConfigIssue { path, message }
    }
}

/// A key's table entry: who it belongs to, and where it was declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeyEntry {
    /// Index into [`ApiKeyTable::consumers`].
    pub(crate) consumer: u32,
    /// Declaration index (for the duplicate-digest message).
    pub(crate) declared: u32,
}

/// API keys by SHA-256 digest, compiled as they were parsed.
#[derive(Debug, Clone, Default)]
pub struct ApiKeyTable {
    pub(crate) digests: HashTrieMap<[u8; 32], KeyEntry>,
    /// Distinct consumer names; many keys usually belong to one consumer.
    pub(crate) consumers: Vec<Box<str>>,
    /// Problems of declared keys (declaration index, problem), in order.
    pub(crate) problems: Vec<(usize, KeyProblem)>,
    declared: usize,
}

impl ApiKeyTable {
    /// Number of keys declared.
    pub fn len(&self) -> usize {
        self.declared
    }

    /// True when no key is declared.
    pub fn is_empty(&self) -> bool {
        self.declared == 0
    }

    /// The consumer owning the key with this digest.
    pub(crate) fn consumer(&self, digest: &[u8; 32]) -> Option<&str> {
        let entry = self.digests.get(digest)?;
        self.consumers.get(entry.consumer as usize).map(|c| &**c)
    }

    /// Number of keys in the table (declared keys that were well-formed and not duplicates).
    pub(crate) fn key_count(&self) -> usize {
        self.digests.len()
    }

    /// Every key: its SHA-256 digest and its consumer.
    pub fn entries(&self) -> impl Iterator<Item = (&[u8; 32], &str)> {
        self.digests.iter().filter_map(|(digest, entry)| {
            self.consumers
                .get(entry.consumer as usize)
                .map(|consumer| (digest, &**consumer))
        })
    }

    /// Appends a consumer name (a key set lists them before its keys); returns its index.
    pub(crate) fn push_consumer(&mut self, name: &str) -> u32 {
        self.consumers.push(name.into());
        u32::try_from(self.consumers.len() - 1).unwrap_or(u32::MAX)
    }

    /// Adds key `digest` for the consumer at `consumer` in [`Self::consumers`]; false (and
    /// nothing added) when there is no such consumer.
    pub(crate) fn insert_indexed(&mut self, digest: [u8; 32], consumer: u32) -> bool {
        if consumer as usize >= self.consumers.len() {
            return false;
        }
        let entry = KeyEntry {
            consumer,
            declared: u32::MAX,
        };
        if self.digests.insert(digest, entry).is_none() {
            self.declared = self.declared.saturating_add(1);
        }
        true
    }

    /// Every key: its SHA-256 digest and the index of its consumer in [`Self::consumers`].
    pub(crate) fn indexed_entries(&self) -> impl Iterator<Item = (&[u8; 32], u32)> {
        self.digests
            .iter()
            .map(|(digest, entry)| (digest, entry.consumer))
    }

    /// Adds key `digest` for `consumer`, or re-assigns it (a key delta). `consumer_slot`
    /// remembers where the delta's consumer names went, so a name is stored once per delta.
    pub(crate) fn set(
        &mut self,
        digest: [u8; 32],
        consumer: &str,
        consumer_slot: &mut ConsumerSlots,
    ) {
        let index = match consumer_slot.get(consumer) {
            Some(index) => *index,
            None => {
                let index = u32::try_from(self.consumers.len()).unwrap_or(u32::MAX);
                self.consumers.push(consumer.into());
                consumer_slot.insert(consumer.to_owned(), index);
                index
            }
        };
        let entry = KeyEntry {
            consumer: index,
            declared: u32::MAX,
        };
        if self.digests.insert(digest, entry).is_none() {
            self.declared = self.declared.saturating_add(1);
        }
    }

    /// Revokes key `digest` (a key delta); true when it was known.
    pub(crate) fn revoke(&mut self, digest: &[u8; 32]) -> bool {
        let known = self.digests.remove(digest).is_some();
        if known {
            self.declared = self.declared.saturating_sub(1);
        }
        known
    }

    /// Checks one entry; a well-formed one waits in `pending` for [`ApiKeyTable::build`].
    fn add(
        &mut self,
        entry: ApiKeyEntry,
        consumer_index: &mut ConsumerIndex,
        pending: &mut ChunkedVec<([u8; 32], KeyEntry)>,
    ) {
        let k = self.declared;
        self.declared += 1;
        if entry.consumer.is_empty() {
            self.problems.push((k, KeyProblem::EmptyConsumer));
        }
        let Some(digest) = parse_sha256_hex(&entry.sha256) else {
            self.problems.push((k, KeyProblem::MalformedDigest));
            return;
        };
        let consumer = consumer_index.intern(&mut self.consumers, entry.consumer);
        let declared = u32::try_from(k).unwrap_or(u32::MAX);
        pending.push((digest, KeyEntry { consumer, declared }));
    }

    /// Puts the well-formed keys into a table sized for them: built once at its final size,
    /// it never grows (the incremental doublings would split every slot again). A duplicate
    /// digest keeps the first key.
    fn build(&mut self, pending: ChunkedVec<([u8; 32], KeyEntry)>) {
        let mut digests = HashTrieMap::with_capacity(pending.len());
        for (digest, entry) in pending.into_values() {
            // One walk for the common case; a duplicate (rare) puts the first key back.
            if let Some(first) = digests.insert(digest, entry) {
                digests.insert(digest, first);
                self.problems.push((
                    entry.declared as usize,
                    KeyProblem::DuplicateOf(first.declared as usize),
                ));
            }
        }
        self.digests = digests;
        // Declaration order, as every other check reports.
        self.problems.sort_by_key(|(index, _)| *index);
    }
}

/// Where a delta's or a key set's consumer names went in [`ApiKeyTable::consumers`], so each
/// is stored once per delta or key set.
pub(crate) type ConsumerSlots = HashMap<String, u32, foldhash::fast::RandomState>;

/// A key digest as policies, key deltas and key sets write it: 64 lower-case hex digits.
pub(crate) fn parse_sha256_hex(text: &str) -> Option<[u8; 32]> {
    let lower = text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let mut digest = [0u8; 32];
    (lower && hex::decode_to_slice(text, &mut digest).is_ok()).then_some(digest)
}

/// Finds a consumer name already in the table by its hash, so that a name is stored once
/// and the index holds no second copy. Two names with one 64-bit hash (unlikely) are both
/// stored: sharing is only a saving, never needed for correctness.
#[derive(Default)]
struct ConsumerIndex {
    hasher: foldhash::fast::FixedState,
    by_hash: HashMap<u64, u32, foldhash::fast::RandomState>,
}

impl ConsumerIndex {
    /// The index of `name` in `consumers`, adding it if new.
    fn intern(&mut self, consumers: &mut Vec<Box<str>>, name: Text<'_>) -> u32 {
        let hash = self.hasher.hash_one(&*name);
        let known = self.by_hash.get(&hash).copied();
        if let Some(index) = known
            && consumers.get(index as usize).is_some_and(|c| **c == *name)
        {
            return index;
        }
        let index = u32::try_from(consumers.len()).unwrap_or(u32::MAX);
        consumers.push(name.into_boxed());
        if known.is_none() {
            self.by_hash.insert(hash, index);
        }
        index
    }
}

impl<'de> Deserialize<'de> for ApiKeyTable {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_seq(ApiKeyTableVisitor)
    }
}

struct ApiKeyTableVisitor;

impl<'de> Visitor<'de> for ApiKeyTableVisitor {
    type Value = ApiKeyTable;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of API keys")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ApiKeyTable, A::Error> {
        let mut table = ApiKeyTable::default();
        let mut consumer_index = ConsumerIndex::default();
        let mut pending = ChunkedVec::default();
        while let Some(entry) = seq.next_element::<ApiKeyEntry>()? {
            table.add(entry, &mut consumer_index, &mut pending);
        }
        drop(consumer_index);
        table.build(pending);
        table.consumers.shrink_to_fit();
        Ok(table)
    }
}

json_schema_like!(ApiKeyTable, Vec<ApiKeyEntry<'static>>);

#[cfg(test)]
mod tests {
    use super::*;

    fn digest_hex(byte: u8) -> String {
        format!("{byte:02x}").repeat(32)
    }

    fn table(json: &str) -> ApiKeyTable {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn keys_of_one_consumer_share_its_name() {
        let json = format!(
            r#"[{{"consumer":"alice","sha256":"{}"}},{{"consumer":"bob","sha256":"{}"}},
                {{"consumer":"alice","sha256":"{}"}}]"#,
            digest_hex(1),
            digest_hex(2),
            digest_hex(3)
        );
        let keys = table(&json);
        assert_eq!(keys.len(), 3);
        assert_eq!(keys.consumers.len(), 2);
        assert!(keys.problems.is_empty());
        assert_eq!(keys.consumer(&[3; 32]), Some("alice"));
        assert_eq!(keys.consumer(&[2; 32]), Some("bob"));
        assert_eq!(keys.consumer(&[4; 32]), None);
    }

    #[test]
    fn a_duplicate_digest_keeps_the_first_key_and_names_it() {
        let json = format!(
            r#"[{{"consumer":"first","sha256":"{d}"}},{{"consumer":"x","sha256":"{e}"}},
                {{"consumer":"second","sha256":"{d}"}}]"#,
            d = digest_hex(7),
            e = digest_hex(8)
        );
        let keys = table(&json);
        assert_eq!(keys.problems, vec![(2, KeyProblem::DuplicateOf(0))]);
        assert_eq!(keys.consumer(&[7; 32]), Some("first"));
        let issue = keys.problems[0].1.issue("auth_providers.k.api_key", 2);
        assert_eq!(issue.path, "auth_providers.k.api_key.keys[2].sha256");
        assert_eq!(
            issue.message,
            "same key digest as auth_providers.k.api_key.keys[0]"
        );
    }

    #[test]
    fn malformed_digests_and_empty_consumers_are_problems_not_entries() {
        let upper = digest_hex(0xab).to_uppercase();
        let json = format!(
            r#"[{{"consumer":"","sha256":"{}"}},{{"consumer":"a","sha256":"{upper}"}},
                {{"consumer":"b","sha256":"abc"}}]"#,
            digest_hex(1)
        );
        let keys = table(&json);
        assert_eq!(
            keys.problems,
            vec![
                (0, KeyProblem::EmptyConsumer),
                (1, KeyProblem::MalformedDigest),
                (2, KeyProblem::MalformedDigest)
            ]
        );
        assert_eq!(keys.len(), 3);
    }

    #[test]
    fn escaped_consumer_names_are_unescaped() {
        let json = format!(
            r#"[{{"consumer":"caf\u00e9 \"q\"","sha256":"{}"}}]"#,
            digest_hex(5)
        );
        assert_eq!(table(&json).consumer(&[5; 32]), Some("café \"q\""));
    }
}
