//! Upstream choice: one cluster, or a weighted split that is sticky per key.
//!
//! The key (a header or cookie value) is hashed with 64-bit FNV-1a — deterministic across
//! VMs, hosts and the replay harness, so the same key lands on the same cluster everywhere —
//! and the hash modulo the total weight picks the cluster. Without a key, the request's
//! entropy (random per request, supplied by the filter) picks it.

use std::collections::HashMap;
use std::sync::Arc;

use crate::config::{SplitKey, UpstreamConfig};
use crate::engine::request::Request;
use crate::engine::util::cookie;

/// A compiled upstream.
#[derive(Debug, Clone)]
pub(crate) enum Upstream {
    Cluster(Arc<str>),
    Split(Box<Split>),
}

/// A weighted split.
#[derive(Debug, Clone)]
pub(crate) struct Split {
    /// A header key is held lower-cased.
    key: Option<SplitKey>,
    /// (cumulative weight upper bound, cluster), increasing; zero weights dropped.
    buckets: Vec<(u64, Arc<str>)>,
    total: u64,
}

/// Cluster names shared between the routes of a policy: thousands of routes name a handful
/// of clusters, and each route then holds a pointer instead of its own copy.
#[derive(Debug, Default)]
pub(crate) struct ClusterNames(HashMap<Box<str>, Arc<str>, foldhash::fast::RandomState>);

impl ClusterNames {
    /// The shared copy of `name`.
    pub(crate) fn intern(&mut self, name: &str) -> Arc<str> {
        if let Some(shared) = self.0.get(name) {
            return Arc::clone(shared);
        }
        let shared: Arc<str> = Arc::from(name);
        self.0.insert(Box::from(name), Arc::clone(&shared));
        shared
    }
}

impl Upstream {
    pub(crate) fn compile(config: UpstreamConfig<'_>, clusters: &mut ClusterNames) -> Self {
        match config {
            UpstreamConfig::Cluster(name) => Self::Cluster(clusters.intern(&name)),
            UpstreamConfig::Split(split) => {
                let mut total = 0u64;
                let mut buckets = Vec::new();
                for cluster in split.clusters {
                    if cluster.weight > 0 {
                        total += u64::from(cluster.weight);
                        buckets.push((total, clusters.intern(&cluster.cluster)));
                    }
                }
                let key = split.key.map(|key| match key {
                    SplitKey::Header(name) => SplitKey::Header(name.to_ascii_lowercase()),
                    cookie @ SplitKey::Cookie(_) => cookie,
                });
                Self::Split(Box::new(Split {
                    key,
                    buckets,
                    total,
                }))
            }
        }
    }

    /// The cluster for this request.
    pub(crate) fn choose<'a>(&'a self, request: &Request) -> &'a str {
        match self {
            Self::Cluster(name) => name,
            Self::Split(split) => {
                let Split {
                    key,
                    buckets,
                    total,
                } = split.as_ref();
                let key_value = match key {
                    Some(SplitKey::Header(name)) => request.header(name),
                    Some(SplitKey::Cookie(name)) => cookie(&request.headers, name),
                    None => None,
                };
                let draw = match key_value {
                    Some(value) => fnv1a64(value.as_bytes()),
                    None => request.entropy,
                };
                let point = draw.checked_rem(*total).unwrap_or(0);
                buckets
                    .iter()
                    .find(|(upper, _)| point < *upper)
                    .or(buckets.last())
                    .map(|(_, name)| &**name)
                    .unwrap_or_default()
            }
        }
    }
}

/// 64-bit FNV-1a: tiny, stable and well spread for short keys.
pub(crate) fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}
