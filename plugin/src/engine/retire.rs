//! Freeing an engine taken out of service a bounded amount at a time.
//!
//! A large engine holds hundreds of thousands of allocations (every route's id, pattern and
//! predicates; every distinct consumer name). Freeing them in one call holds a worker's event
//! loop for milliseconds right after a swap, the moment the swap exists to keep quiet; so a
//! worker retires the old engine into a [`RetiredEngine`] and frees it a slice per tick.

use trie_routes::FreeingMap;

use super::Engine;
use super::auth::Provider;
use super::chunked::ChunkedVec;
use super::route::CompiledRoute;
use crate::config::KeyEntry;

/// Units charged per route freed (its id, pattern, predicates: a few frees each).
const ROUTE_UNITS: usize = 8;
/// Units charged per consumer name freed.
const CONSUMER_UNITS: usize = 2;
/// Units charged per root slot of a key table freed (and the bucket below it, if any).
const KEY_SLOT_UNITS: usize = 2;

/// An engine being freed; see the module docs.
pub struct RetiredEngine {
    routes: ChunkedVec<CompiledRoute>,
    consumers: Vec<Vec<Box<str>>>,
    keys: Vec<FreeingMap<[u8; 32], KeyEntry>>,
    /// The rest (trie arrays, key tries in large chunks): a few large frees, dropped last.
    rest: Option<Engine>,
}

impl RetiredEngine {
    /// Takes `engine` apart for freeing.
    pub fn new(mut engine: Engine) -> Self {
        let routes = std::mem::take(&mut engine.routes);
        let mut consumers = Vec::new();
        let mut keys = Vec::new();
        for (_, provider) in &mut engine.providers {
            if let Provider::ApiKey(provider) = provider {
                let table = provider.table_mut();
                consumers.push(std::mem::take(&mut table.consumers));
                keys.push(std::mem::take(&mut table.digests).into_freeing());
            }
        }
        Self {
            routes,
            consumers,
            keys,
            rest: Some(engine),
        }
    }

    /// Frees about `budget` units; true once everything is freed.
    pub fn step(&mut self, budget: usize) -> bool {
        let mut budget = budget.max(1);
        while budget > 0 {
            if let Some(chunk) = self.routes.pop_chunk() {
                budget = budget.saturating_sub(chunk.len().saturating_mul(ROUTE_UNITS).max(1));
                drop(chunk);
                continue;
            }
            if let Some(map) = self.keys.last_mut() {
                let slots = budget.div_ceil(KEY_SLOT_UNITS);
                if map.step(slots) {
                    self.keys.pop();
                }
                budget = budget.saturating_sub(slots.saturating_mul(KEY_SLOT_UNITS));
                continue;
            }
            if let Some(names) = self.consumers.last_mut() {
                let keep = names.len().saturating_sub(budget.div_ceil(CONSUMER_UNITS));
                budget = budget.saturating_sub((names.len() - keep).saturating_mul(CONSUMER_UNITS));
                names.truncate(keep);
                if names.is_empty() {
                    self.consumers.pop();
                }
                continue;
            }
            self.rest = None;
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_engine_is_freed_in_many_small_steps() {
        let routes: Vec<String> = (0..5_000)
            .map(|i| {
                format!(
                    r#"{{"id":"r{i}","match":{{"prefix":"/p{i}"}},"upstream":{{"cluster":"c"}},"auth":{{"any_of":["keys"]}}}}"#
                )
            })
            .collect();
        let keys: Vec<String> = (0..3_000)
            .map(|i| {
                format!(
                    r#"{{"consumer":"c{i}","sha256":"{}"}}"#,
                    hex::encode(ring::digest::digest(
                        &ring::digest::SHA256,
                        format!("k{i}").as_bytes()
                    ))
                )
            })
            .collect();
        let json = format!(
            r#"{{"hosts":[{{"domains":["*"],"routes":[{}]}}],"auth_providers":{{"keys":{{"api_key":{{"keys":[{}]}}}}}}}}"#,
            routes.join(","),
            keys.join(",")
        );
        let mut retired = RetiredEngine::new(Engine::from_json(json.as_bytes()).unwrap());
        assert_eq!(retired.consumers.iter().map(Vec::len).sum::<usize>(), 3_000);
        let mut steps = 1;
        while !retired.step(1_000) {
            steps += 1;
        }
        // 5,000 routes in chunks of 1,024 (8 units each), 3,000 names at 500 a step.
        assert!(steps >= 5 + 6, "{steps}");
        assert!(retired.rest.is_none() && retired.routes.len() == 0);
    }
}
