//! API-key deltas applied to a compiled engine in place (`source::key_delta`): the hash-trie
//! takes each insert and removal without a rebuild, and nothing else is touched.

use super::Engine;
use super::auth::Provider;
use crate::config::ApiKeyTable;
use crate::config::{ConsumerSlots, parse_sha256_hex};
use crate::source::key_delta::{KeyDelta, KeyDeltaError};

impl Engine {
    /// Every API-key provider's table, by provider name.
    pub fn api_key_tables(&self) -> impl Iterator<Item = (&str, &ApiKeyTable)> {
        self.providers
            .iter()
            .filter_map(|(name, provider)| match provider {
                Provider::ApiKey(keys) => Some((name.as_str(), keys.table())),
                _ => None,
            })
    }

    /// Provider `name`'s key table, if it is an API-key provider.
    pub(crate) fn api_key_table_mut(&mut self, name: &str) -> Option<&mut ApiKeyTable> {
        self.providers
            .iter_mut()
            .find_map(|(n, provider)| match provider {
                Provider::ApiKey(keys) if n == name => Some(keys.table_mut()),
                _ => None,
            })
    }

    /// Empties provider `name`'s key table (a key set is about to be loaded into it); `None`
    /// if it is not an API-key provider.
    pub(crate) fn reset_api_key_table(&mut self, name: &str) -> Option<()> {
        let table = self.api_key_table_mut(name)?;
        *table = ApiKeyTable::default();
        Some(())
    }

    /// Applies `delta`; returns the number of keys set or revoked. Everything is checked
    /// first: a delta with any problem changes nothing.
    pub fn apply_key_delta(&mut self, delta: &KeyDelta) -> Result<usize, KeyDeltaError> {
        let mut checked = Vec::with_capacity(delta.providers.len());
        for (name, change) in &delta.providers {
            let index = self
                .providers
                .iter()
                .position(|(n, p)| n == name && matches!(p, Provider::ApiKey(_)))
                .ok_or_else(|| KeyDeltaError::NotAnApiKeyProvider(name.clone()))?;
            let malformed = |what: &str| KeyDeltaError::Malformed {
                provider: name.clone(),
                what: what.to_owned(),
            };
            let mut set = Vec::with_capacity(change.set.len());
            for (hex_digest, consumer) in &change.set {
                if consumer.is_empty() {
                    return Err(malformed(consumer));
                }
                set.push((
                    parse_sha256_hex(hex_digest).ok_or_else(|| malformed(hex_digest))?,
                    consumer,
                ));
            }
            let mut revoke = Vec::with_capacity(change.revoke.len());
            for hex_digest in &change.revoke {
                revoke.push(parse_sha256_hex(hex_digest).ok_or_else(|| malformed(hex_digest))?);
            }
            checked.push((index, set, revoke));
        }
        for (index, set, revoke) in checked {
            let Some((_, Provider::ApiKey(keys))) = self.providers.get_mut(index) else {
                continue;
            };
            let table = keys.table_mut();
            let mut consumer_slot = ConsumerSlots::default();
            for digest in &revoke {
                table.revoke(digest);
            }
            for (digest, consumer) in set {
                table.set(digest, consumer, &mut consumer_slot);
            }
        }
        Ok(delta.changes())
    }
}
