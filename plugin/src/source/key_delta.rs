//! API-key deltas: a new policy that differs from the serving one only in API keys reaches the
//! workers as the keys added, re-assigned and revoked, applied in place to the serving
//! engine's hash-trie, with no recompile of routes or of the other keys.
//!
//! The service decides with the policy's *shape*: the policy bytes with the contents of every
//! `auth_providers.<name>.api_key.keys` list left out, kept and compared byte for byte. Two
//! policies with the same shape compile to the same engine apart from their key tables, so the
//! difference of the two compiled key tables is all a worker needs. The shape is not reduced to
//! a hash: a policy crafted to collide with the serving one would keep the serving routes while
//! claiming the new policy's digest.

use std::collections::BTreeMap;
use std::ops::Range;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::route_sets::{self, SplitPolicy};
use crate::engine::Engine;

/// Largest delta sent as one: beyond this many changes a full publication is cheaper to apply
/// than the delta is to read.
pub const MAX_DELTA_CHANGES: usize = 100_000;

/// The changes to one API-key provider's keys.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderKeyDelta {
    /// Keys added or re-assigned: (SHA-256 hex, consumer).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub set: Vec<(String, String)>,
    /// Keys revoked (SHA-256 hex).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revoke: Vec<String>,
}

/// The changes to every API-key provider's keys between two policies of the same shape.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyDelta {
    /// By provider name.
    pub providers: BTreeMap<String, ProviderKeyDelta>,
}

/// Why a delta cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyDeltaError {
    /// The delta names a provider the engine has not, or one that is not an API-key provider.
    #[error("auth provider '{0}' is not an API-key provider of the serving policy")]
    NotAnApiKeyProvider(String),
    /// A digest is not 64 lower-case hex digits, or a consumer is empty.
    #[error("auth provider '{provider}': malformed change {what:?}")]
    Malformed {
        /// The provider.
        provider: String,
        /// The offending digest or consumer.
        what: String,
    },
    /// The encoded delta is unreadable.
    #[error("the key delta is unreadable: {0}")]
    Unreadable(String),
}

/// Why the shape of a policy could not be read (the policy is not what compiled).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot read the policy's shape: {0}")]
pub struct ShapeError(String);

impl KeyDelta {
    /// What changed from `old`'s keys to `new`'s, or `None` when the two engines do not have
    /// the same API-key providers.
    pub fn between(old: &Engine, new: &Engine) -> Option<Self> {
        let old_tables: BTreeMap<&str, _> = old.api_key_tables().collect();
        let new_tables: BTreeMap<&str, _> = new.api_key_tables().collect();
        if old_tables.keys().ne(new_tables.keys()) {
            return None;
        }
        let mut delta = Self::default();
        for (name, new_table) in &new_tables {
            let old_table = old_tables.get(name)?;
            let mut change = ProviderKeyDelta::default();
            for (digest, consumer) in new_table.entries() {
                if old_table.consumer(digest) != Some(consumer) {
                    change.set.push((hex::encode(digest), consumer.to_owned()));
                }
            }
            for (digest, _) in old_table.entries() {
                if new_table.consumer(digest).is_none() {
                    change.revoke.push(hex::encode(digest));
                }
            }
            if !change.set.is_empty() || !change.revoke.is_empty() {
                delta.providers.insert((*name).to_owned(), change);
            }
        }
        Some(delta)
    }

    /// Number of keys set or revoked.
    pub fn changes(&self) -> usize {
        self.providers
            .values()
            .map(|p| p.set.len() + p.revoke.len())
            .sum()
    }

    /// Encodes it for shared data.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Decodes it from shared data.
    pub fn decode(bytes: &[u8]) -> Result<Self, KeyDeltaError> {
        serde_json::from_slice(bytes).map_err(|e| KeyDeltaError::Unreadable(e.to_string()))
    }
}

/// A policy's shape: its skeleton ([`policy_skeleton`]), split into a frame and a route set
/// when it has routes (`route_sets::split`). Two policies have equal shapes exactly when their
/// skeletons are equal, up to line breaks inside a route (the route set writes them as spaces;
/// they compile the same). The split is also what a full publication hands to the workers, so
/// the service computes it once and keeps it as the base of the next comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyShape {
    /// The skeleton's frame and its route set.
    Split(SplitPolicy),
    /// A skeleton without routes, or whose route lists cannot be located.
    Whole(Vec<u8>),
}

impl PolicyShape {
    /// The shape of `policy`.
    pub fn of_policy(policy: &[u8]) -> Result<Self, ShapeError> {
        policy_skeleton(policy).map(Self::of_skeleton)
    }

    /// The shape of a skeleton.
    pub fn of_skeleton(skeleton: Vec<u8>) -> Self {
        match route_sets::split(&skeleton) {
            Some(parts) if !parts.routes.is_empty() => Self::Split(parts),
            _ => Self::Whole(skeleton),
        }
    }
}

/// The policy with every API-key list emptied (`"keys": []`): what compiles to the policy's
/// engine without its keys.
pub fn policy_skeleton(policy: &[u8]) -> Result<Vec<u8>, ShapeError> {
    let spans = key_list_spans(policy)?;
    let kept = policy
        .len()
        .saturating_sub(spans.iter().map(|s| s.len()).sum::<usize>());
    let mut skeleton = Vec::with_capacity(kept + 2 * spans.len());
    let mut at = 0;
    for span in spans {
        skeleton.extend_from_slice(policy.get(at..span.start).unwrap_or_default());
        skeleton.extend_from_slice(b"[]");
        at = span.end;
    }
    skeleton.extend_from_slice(policy.get(at..).unwrap_or_default());
    Ok(skeleton)
}

/// The top level of a policy, as far as the shape needs it.
#[derive(Deserialize)]
struct ShapeTop<'a> {
    #[serde(borrow, default)]
    auth_providers: Option<BTreeMap<String, &'a RawValue>>,
}

/// Byte ranges of the `keys` lists of every API-key provider, in order.
fn key_list_spans(policy: &[u8]) -> Result<Vec<Range<usize>>, ShapeError> {
    let text = std::str::from_utf8(policy).map_err(|e| ShapeError(e.to_string()))?;
    let bad = |e: serde_json::Error| ShapeError(e.to_string());
    let top: ShapeTop<'_> = serde_json::from_str(text).map_err(bad)?;
    let base = text.as_ptr() as usize;
    let mut spans = Vec::new();
    for provider in top.auth_providers.unwrap_or_default().into_values() {
        let kinds: BTreeMap<String, &RawValue> =
            serde_json::from_str(provider.get()).map_err(bad)?;
        let Some(api_key) = kinds.get("api_key") else {
            continue;
        };
        let fields: BTreeMap<String, &RawValue> =
            serde_json::from_str(api_key.get()).map_err(bad)?;
        if let Some(keys) = fields.get("keys") {
            // `RawValue::get` borrows from `text`: its offset is the distance between the two.
            let start = (keys.get().as_ptr() as usize).saturating_sub(base);
            spans.push(start..start.saturating_add(keys.get().len()));
        }
    }
    spans.sort_by_key(|span| span.start);
    Ok(spans)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(keys: &[(&str, u8)]) -> String {
        let keys: Vec<String> = keys
            .iter()
            .map(|(consumer, byte)| {
                format!(
                    r#"{{"consumer":"{consumer}","sha256":"{}"}}"#,
                    format!("{byte:02x}").repeat(32)
                )
            })
            .collect();
        format!(
            r#"{{"hosts":[{{"domains":["*"],"routes":[{{"id":"r","match":{{"prefix":"/"}},
               "upstream":{{"cluster":"c"}},"auth":{{"any_of":["keys"]}}}}]}}],
               "auth_providers":{{"keys":{{"api_key":{{"keys":[{}]}}}}}}}}"#,
            keys.join(",")
        )
    }

    #[test]
    fn the_shape_ignores_keys_only() {
        let a = policy(&[("alice", 1), ("bob", 2)]);
        let b = policy(&[("alice", 1), ("carol", 3)]);
        let shape = PolicyShape::of_policy(a.as_bytes()).unwrap();
        assert!(matches!(shape, PolicyShape::Split(_)));
        assert_eq!(shape, PolicyShape::of_policy(b.as_bytes()).unwrap());
        // A route changes (the route set), or the frame around the routes does.
        for changed in [
            a.replace(r#""cluster":"c""#, r#""cluster":"d""#),
            a.replace(r#""domains":["*"]"#, r#""domains":["x.example"]"#),
        ] {
            assert_ne!(
                shape,
                PolicyShape::of_policy(changed.as_bytes()).unwrap(),
                "{changed}"
            );
        }
        let no_routes = r#"{"hosts":[],"auth_providers":{"keys":{"api_key":{"keys":[]}}}}"#;
        assert!(matches!(
            PolicyShape::of_policy(no_routes.as_bytes()).unwrap(),
            PolicyShape::Whole(_)
        ));
    }

    #[test]
    fn a_delta_sets_reassigns_and_revokes() {
        let old = Engine::from_json(policy(&[("alice", 1), ("bob", 2)]).as_bytes()).unwrap();
        let new = Engine::from_json(policy(&[("alice", 1), ("dave", 2), ("carol", 3)]).as_bytes())
            .unwrap();
        let delta = KeyDelta::between(&old, &new).unwrap();
        let keys = &delta.providers["keys"];
        assert_eq!(delta.changes(), 2);
        assert!(keys.revoke.is_empty());
        assert!(keys.set.contains(&("02".repeat(32), "dave".to_owned())));
        assert!(keys.set.contains(&("03".repeat(32), "carol".to_owned())));
        let back = KeyDelta::between(&new, &old).unwrap();
        assert_eq!(back.providers["keys"].revoke, vec!["03".repeat(32)]);
        assert_eq!(KeyDelta::decode(&delta.encode()).unwrap(), delta);
    }

    #[test]
    fn applying_the_delta_gives_the_new_policys_keys() {
        let mut engine = Engine::from_json(policy(&[("alice", 1), ("bob", 2)]).as_bytes()).unwrap();
        let target =
            Engine::from_json(policy(&[("alice", 1), ("dave", 2), ("carol", 3)]).as_bytes())
                .unwrap();
        let delta = KeyDelta::between(&engine, &target).unwrap();
        engine.apply_key_delta(&delta).unwrap();
        assert_eq!(KeyDelta::between(&engine, &target).unwrap().changes(), 0);
        let revoke = KeyDelta::between(
            &target,
            &Engine::from_json(policy(&[("alice", 1)]).as_bytes()).unwrap(),
        )
        .unwrap();
        engine.apply_key_delta(&revoke).unwrap();
        let keys: Vec<_> = engine.api_key_tables().collect();
        assert_eq!(keys[0].1.entries().count(), 1);
    }

    #[test]
    fn a_delta_for_an_unknown_provider_changes_nothing() {
        let mut engine = Engine::from_json(policy(&[("alice", 1)]).as_bytes()).unwrap();
        let mut delta = KeyDelta::default();
        delta.providers.insert(
            "keys".into(),
            ProviderKeyDelta {
                set: vec![],
                revoke: vec!["01".repeat(32)],
            },
        );
        delta
            .providers
            .insert("nope".into(), ProviderKeyDelta::default());
        assert_eq!(
            engine.apply_key_delta(&delta),
            Err(KeyDeltaError::NotAnApiKeyProvider("nope".into()))
        );
        let keys: Vec<_> = engine.api_key_tables().collect();
        assert_eq!(keys[0].1.entries().count(), 1, "nothing was applied");
    }
}
