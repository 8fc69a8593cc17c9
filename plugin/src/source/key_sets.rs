//! The API keys of a full publication, handed over apart from the rest of the policy so that a
//! worker can load them in slices while its current policy keeps serving.
//!
//! The service publishes the policy's frame (`source::route_sets`; every `api_key.keys` list
//! emptied) and, per API-key provider, its consumer names in the table's order and then its
//! keys, one line each, a key naming its consumer by index:
//!
//! ```text
//! provider <name>\t<keys>\t<consumers>
//! consumer <name>
//! …
//! <SHA-256, 64 lower-case hex>\t<consumer index>
//! …
//! ```
//!
//! So a worker rebuilds exactly the service's table — the same consumer list, the same keys —
//! with no index of names on its side (a million distinct consumers in a hash map cost
//! rehashes of tens of milliseconds as it grows, and as long to free). Names and consumers
//! containing a tab, a line feed or a carriage return cannot be written this way; such a
//! policy's keys are handed over with the rest of the policy.

use super::lines::{SetLines, SetLoader};
use crate::config::parse_sha256_hex;
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
    /// The bytes do not match the manifest's checksum, or end early.
    #[error("the key set does not match its checksum ({got} of {expected} bytes)")]
    ChecksumMismatch {
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
        out.extend_from_slice(
            format!(
                "provider {name}\t{}\t{}\n",
                table.key_count(),
                table.consumers.len()
            )
            .as_bytes(),
        );
        for consumer in &table.consumers {
            if !writable(consumer) {
                return None;
            }
            out.extend_from_slice(b"consumer ");
            out.extend_from_slice(consumer.as_bytes());
            out.push(b'\n');
        }
        for (digest, consumer) in table.indexed_entries() {
            out.extend_from_slice(hex::encode(digest).as_bytes());
            out.extend_from_slice(format!("\t{consumer}\n").as_bytes());
        }
    }
    Some(out)
}

/// Loads a key set into a compiled frame, piece by piece and a bounded number of lines at a
/// time ([`SetLoader`]). The keys count only once the whole checksum is checked.
pub type KeySetLoader = SetLoader<KeyLines>;

/// What a key set's lines mean (see the module docs).
#[derive(Default)]
pub struct KeyLines {
    /// The provider the lines belong to, and how many consumer lines it still announces.
    provider: Option<(String, usize)>,
}

impl SetLines for KeyLines {
    type Target = Engine;
    type Error = KeySetError;

    fn take(&mut self, engine: &mut Engine, number: usize, line: &[u8]) -> Result<(), KeySetError> {
        take_line(&mut self.provider, engine, number, line)
    }

    fn close(self, _engine: &mut Engine) -> Result<(), KeySetError> {
        match self.provider {
            Some((name, missing @ 1..)) => Err(KeySetError::Malformed {
                line: 0,
                problem: format!("provider '{name}' ends {missing} consumer line(s) early"),
            }),
            _ => Ok(()),
        }
    }

    fn mismatch(got: usize, expected: usize) -> KeySetError {
        KeySetError::ChecksumMismatch { got, expected }
    }
}

/// One line of a key set, into `engine`.
fn take_line(
    provider: &mut Option<(String, usize)>,
    engine: &mut Engine,
    number: usize,
    line: &[u8],
) -> Result<(), KeySetError> {
    let malformed = |problem: &str| KeySetError::Malformed {
        line: number,
        problem: problem.to_owned(),
    };
    let text = std::str::from_utf8(line).map_err(|_| malformed("not UTF-8"))?;
    if let Some(header) = text.strip_prefix("provider ") {
        if provider.as_ref().is_some_and(|(_, missing)| *missing > 0) {
            return Err(malformed("a provider line before the last one's consumers"));
        }
        let mut fields = header.split('\t');
        let (Some(name), Some(keys), Some(consumers), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(malformed("a provider line needs a name and two counts"));
        };
        // The table is not sized for the count up front: allocating a million root slots
        // at once would take one slice milliseconds; the hash-trie grows incrementally.
        let _keys: usize = keys.parse().map_err(|_| malformed("bad key count"))?;
        let consumers: usize = consumers
            .parse()
            .map_err(|_| malformed("bad consumer count"))?;
        engine
            .reset_api_key_table(name)
            .ok_or_else(|| KeySetError::UnknownProvider(name.to_owned()))?;
        *provider = Some((name.to_owned(), consumers));
        return Ok(());
    }
    let (name, missing) = provider
        .as_mut()
        .ok_or_else(|| malformed("a line before any provider line"))?;
    let table = engine
        .api_key_table_mut(name)
        .ok_or_else(|| KeySetError::UnknownProvider(name.clone()))?;
    if *missing > 0 {
        let consumer = text
            .strip_prefix("consumer ")
            .filter(|c| !c.is_empty())
            .ok_or_else(|| malformed("a consumer line was expected"))?;
        table.push_consumer(consumer);
        *missing -= 1;
        return Ok(());
    }
    let (hex_digest, consumer) = text
        .split_once('\t')
        .ok_or_else(|| malformed("no tab between digest and consumer"))?;
    let digest = parse_sha256_hex(hex_digest).ok_or_else(|| malformed("bad digest"))?;
    let consumer: u32 = consumer
        .parse()
        .map_err(|_| malformed("bad consumer index"))?;
    if !table.insert_indexed(digest, consumer) {
        return Err(malformed("consumer index out of range"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::checksum::PartChecksum;
    use crate::source::digest::PolicyDigest;
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
        let mut loader = KeySetLoader::new(set.len(), Some(PartChecksum::of(&set)));
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
        loader.finish(&mut engine).unwrap();
        assert!(slices > 10);
        assert_eq!(KeyDelta::between(&engine, &full).unwrap().changes(), 0);
    }

    #[test]
    fn a_damaged_key_set_is_refused() {
        let text = policy(10);
        let full = Engine::from_json(text.as_bytes()).unwrap();
        let mut set = encode(&full).unwrap();
        let checksum = PartChecksum::of(&set);
        let mut engine = Engine::from_json(&policy_skeleton(text.as_bytes()).unwrap()).unwrap();
        // A consumer changed in transit: still well-formed, no longer what was published.
        let at = set.windows(10).position(|w| w == b"consumer c").unwrap() + 9;
        set[at] = b'd';
        let mut loader = KeySetLoader::new(set.len(), Some(checksum));
        loader.feed(&set);
        loader.step(&mut engine, usize::MAX).unwrap();
        assert!(matches!(
            loader.finish(&mut engine),
            Err(KeySetError::ChecksumMismatch { .. })
        ));
        let mut loader = KeySetLoader::new(5, None);
        loader.feed(b"abc\tx\n");
        assert!(matches!(
            loader.step(&mut engine, 1),
            Err(KeySetError::Malformed { line: 1, .. })
        ));
        // Lines the service never writes: a key naming no consumer, a missing consumer line,
        // a provider without its counts.
        for bad in [
            format!("provider keys\t1\t1\nconsumer a\n{}\t1\n", "ab".repeat(32)),
            format!("provider keys\t1\t2\nconsumer a\n{}\t0\n", "ab".repeat(32)),
            "provider keys\t1\n".to_owned(),
        ] {
            let mut loader = KeySetLoader::new(bad.len(), None);
            loader.feed(bad.as_bytes());
            assert!(
                loader.step(&mut engine, usize::MAX).is_err(),
                "{bad:?} was taken"
            );
        }
    }

    #[test]
    fn consumers_keep_the_services_order_and_sharing() {
        let text = policy(500);
        let full = Engine::from_json(text.as_bytes()).unwrap();
        let set = encode(&full).unwrap();
        // Seven distinct consumers in policy(), each written once.
        assert_eq!(set.windows(9).filter(|w| w == b"consumer ").count(), 7);
        let mut engine = Engine::from_json(&policy_skeleton(text.as_bytes()).unwrap()).unwrap();
        let mut loader = KeySetLoader::new(set.len(), Some(PartChecksum::of(&set)));
        loader.feed(&set);
        loader.step(&mut engine, usize::MAX).unwrap();
        loader.finish(&mut engine).unwrap();
        let tables = |e: &Engine| -> Vec<(String, Vec<String>)> {
            e.api_key_tables()
                .map(|(n, t)| {
                    (
                        n.to_owned(),
                        t.consumers.iter().map(|c| c.to_string()).collect(),
                    )
                })
                .collect()
        };
        assert_eq!(tables(&engine), tables(&full));
    }
}
