//! Bounded verification cache: verdicts per presented chain, and issuer links already verified.
//!
//! Both tables are set-associative arrays allocated in full at construction:
//!
//! ```text
//!   slot index = bucket(digest) * WAYS + way      (WAYS = 4)
//!   lookup/insert scan the 4 ways of one bucket; a full bucket evicts its oldest entry
//! ```
//!
//! so a request never pays for growth or rehashing, and memory is fixed by the capacity
//! constants. The verdict table selects a bucket by a fast 64-bit digest of the presented bytes
//! and then compares the stored bytes in full: a crafted digest collision can only evict an entry,
//! never borrow another chain's verdict. The link table is keyed by SHA-256 (child certificate,
//! issuer key, SM2 ID), so skipping a signature for a remembered link is sound.

use std::sync::Arc;

use crate::error::ChainError;
use crate::path::VerifiedPath;
use crate::store::TrustStore;
use crate::time::UnixTime;
use crate::verify::verify_with_links;

/// A cached outcome: the verified path (shared, so a hit costs no copy) or the error.
pub type Verdict = Result<Arc<VerifiedPath>, ChainError>;

/// Entries per bucket: enough to absorb ordinary collisions, few enough to scan in a few ns.
const WAYS: usize = 4;

/// Default number of verdicts kept: a gateway sees a bounded set of client identities; 4096
/// cached chains of ~4 KiB each stay around 16 MiB in the worst case.
pub const DEFAULT_VERDICT_CAPACITY: usize = 4096;

/// Default number of verified issuer links kept (32-byte keys): intermediates are few.
pub const DEFAULT_LINK_CAPACITY: usize = 1024;

/// Presented chains larger than this are verified but not cached, bounding cache memory to
/// capacity × this size.
pub const MAX_CACHED_PRESENTATION_BYTES: usize = 32 * 1024;

/// How long a valid verdict is reused by default (never beyond the earliest notAfter on the path).
pub const DEFAULT_VALID_TTL_SECONDS: i64 = 300;

/// How long an invalid verdict is reused by default: short, so a fixed clock skew or a newly
/// valid certificate is noticed soon, long enough to blunt floods of the same bad chain.
pub const DEFAULT_INVALID_TTL_SECONDS: i64 = 30;

/// Cache sizes and lifetimes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheLimits {
    /// Verdicts kept (rounded up to a multiple of 4).
    pub verdict_capacity: usize,
    /// Issuer links kept (rounded up to a multiple of 4).
    pub link_capacity: usize,
    /// Lifetime of a valid verdict, seconds.
    pub valid_ttl_seconds: i64,
    /// Lifetime of an invalid verdict, seconds.
    pub invalid_ttl_seconds: i64,
    /// Seed of the bucket digest. Give each process a random one to make targeted bucket
    /// collisions (which can only cause evictions) harder.
    pub hash_seed: u64,
}

impl Default for CacheLimits {
    fn default() -> Self {
        Self {
            verdict_capacity: DEFAULT_VERDICT_CAPACITY,
            link_capacity: DEFAULT_LINK_CAPACITY,
            valid_ttl_seconds: DEFAULT_VALID_TTL_SECONDS,
            invalid_ttl_seconds: DEFAULT_INVALID_TTL_SECONDS,
            hash_seed: 0x9e37_79b9_7f4a_7c15,
        }
    }
}

/// Counters for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Verdicts served from the cache.
    pub hits: u64,
    /// Lookups that had to verify.
    pub misses: u64,
    /// Live entries displaced by newer ones.
    pub evictions: u64,
    /// Signature checks skipped because the issuer link was remembered.
    pub link_hits: u64,
}

/// A fast, seeded, non-cryptographic 64-bit digest over length-delimited parts (bucket choice
/// only). Four independent multiply-rotate lanes over 32-byte blocks keep the multiplier busy, so a
/// cached 8 KiB XFCC presentation hashes in a fraction of a microsecond.
fn digest_parts(seed: u64, parts: &[&[u8]]) -> u64 {
    const K: [u64; 4] = [
        0x517c_c1b7_2722_0a95,
        0x9e37_79b9_7f4a_7c15,
        0xc2b2_ae3d_27d4_eb4f,
        0x1656_67b1_9e37_79f9,
    ];
    let word = |c: &[u8]| {
        let mut w = [0u8; 8];
        for (d, s) in w.iter_mut().zip(c) {
            *d = *s;
        }
        u64::from_le_bytes(w)
    };
    let mut lanes = [seed, seed ^ K[1], seed ^ K[2], seed ^ K[3]];
    for part in parts {
        lanes[0] = (lanes[0] ^ part.len() as u64).wrapping_mul(K[0]);
        let mut blocks = part.chunks_exact(32);
        for block in &mut blocks {
            for ((lane, k), c) in lanes.iter_mut().zip(K).zip(block.chunks_exact(8)) {
                *lane = (lane.rotate_left(23) ^ word(c)).wrapping_mul(k);
            }
        }
        for ((lane, k), c) in lanes.iter_mut().zip(K).zip(blocks.remainder().chunks(8)) {
            *lane = (lane.rotate_left(23) ^ word(c) ^ 0x80).wrapping_mul(k);
        }
    }
    let mut z = lanes.iter().fold(0u64, |acc, l| acc.rotate_left(17) ^ l);
    // Final avalanche (SplitMix64) so that bucket bits depend on every input bit.
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn encoded_len(parts: &[&[u8]]) -> usize {
    parts.iter().map(|p| 4 + p.len()).sum()
}

/// Stores parts as (u32 little-endian length, bytes)*, so comparison is unambiguous.
fn encode_parts(parts: &[&[u8]]) -> Box<[u8]> {
    let mut out = Vec::with_capacity(encoded_len(parts));
    for p in parts {
        out.extend_from_slice(&u32::try_from(p.len()).unwrap_or(u32::MAX).to_le_bytes());
        out.extend_from_slice(p);
    }
    out.into_boxed_slice()
}

fn matches_parts(stored: &[u8], parts: &[&[u8]]) -> bool {
    if stored.len() != encoded_len(parts) {
        return false;
    }
    let mut rest = stored;
    for p in parts {
        let Some((len, tail)) = rest.split_at_checked(4) else {
            return false;
        };
        if len != u32::try_from(p.len()).unwrap_or(u32::MAX).to_le_bytes() {
            return false;
        }
        let Some((bytes, tail)) = tail.split_at_checked(p.len()) else {
            return false;
        };
        if bytes != *p {
            return false;
        }
        rest = tail;
    }
    rest.is_empty()
}

fn round_up_to_ways(n: usize) -> usize {
    n.max(1).div_ceil(WAYS) * WAYS
}

#[derive(Debug)]
struct VerdictEntry {
    digest: u64,
    generation: u64,
    presented: Box<[u8]>,
    expires: UnixTime,
    /// Insertion sequence number: the lowest in a full bucket is evicted.
    seq: u64,
    verdict: Verdict,
}

/// Issuer links whose signature already verified: SHA-256 keys in a fixed set-associative table.
#[derive(Debug)]
pub(crate) struct LinkMemory {
    slots: Vec<Option<([u8; 32], u64)>>,
    seq: u64,
    hits: u64,
}

impl LinkMemory {
    fn new(capacity: usize) -> Self {
        let mut slots = Vec::new();
        slots.resize_with(round_up_to_ways(capacity), || None);
        Self {
            slots,
            seq: 0,
            hits: 0,
        }
    }

    /// The key of the link "`child_der` is signed by the key in `issuer_spki`" for `store`:
    /// SHA-256 over the store's SM2 ID (it changes SM2 verification), the child and the issuer key.
    pub(crate) fn key(&self, store: &TrustStore, child_der: &[u8], issuer_spki: &[u8]) -> [u8; 32] {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        for part in [store.sm2_id.as_bytes(), child_der, issuer_spki] {
            ctx.update(&(part.len() as u64).to_le_bytes());
            ctx.update(part);
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.finish().as_ref());
        out
    }

    fn bucket(&self, key: &[u8; 32]) -> core::ops::Range<usize> {
        let mut b = [0u8; 8];
        b.copy_from_slice(key.get(..8).unwrap_or(&[0; 8]));
        let buckets = self.slots.len() / WAYS;
        let start = (u64::from_le_bytes(b) % buckets.max(1) as u64) as usize * WAYS;
        start..start + WAYS
    }

    pub(crate) fn contains(&mut self, key: &[u8; 32]) -> bool {
        let range = self.bucket(key);
        let hit = self
            .slots
            .get(range)
            .is_some_and(|ways| ways.iter().flatten().any(|(k, _)| k == key));
        if hit {
            self.hits += 1;
        }
        hit
    }

    pub(crate) fn insert(&mut self, key: [u8; 32]) {
        let range = self.bucket(&key);
        self.seq += 1;
        let seq = self.seq;
        let Some(ways) = self.slots.get_mut(range) else {
            return;
        };
        if ways.iter().flatten().any(|(k, _)| *k == key) {
            return;
        }
        let victim = ways
            .iter_mut()
            .min_by_key(|w| w.as_ref().map_or(0, |(_, s)| *s));
        if let Some(slot) = victim {
            *slot = Some((key, seq));
        }
    }

    fn clear(&mut self) {
        self.slots.iter_mut().for_each(|s| *s = None);
    }
}

/// A bounded cache of chain verdicts keyed by the presented bytes and the trust-store generation,
/// plus memory of verified issuer links (so a new leaf under a known intermediate costs one
/// signature check). Time is always a parameter.
#[derive(Debug)]
pub struct VerificationCache {
    limits: CacheLimits,
    slots: Vec<Option<VerdictEntry>>,
    links: LinkMemory,
    links_generation: Option<u64>,
    seq: u64,
    stats: CacheStats,
}

impl Default for VerificationCache {
    fn default() -> Self {
        Self::new(CacheLimits::default())
    }
}

impl VerificationCache {
    /// Allocates both tables in full.
    pub fn new(limits: CacheLimits) -> Self {
        let mut slots = Vec::new();
        slots.resize_with(round_up_to_ways(limits.verdict_capacity), || None);
        Self {
            links: LinkMemory::new(limits.link_capacity),
            limits,
            slots,
            links_generation: None,
            seq: 0,
            stats: CacheStats::default(),
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> CacheLimits {
        self.limits
    }

    /// Hit, miss and eviction counters.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            link_hits: self.links.hits,
            ..self.stats
        }
    }

    /// Number of live (possibly expired) verdict entries.
    pub fn len(&self) -> usize {
        self.slots.iter().flatten().count()
    }

    /// True when no verdict is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn bucket(&self, digest: u64) -> core::ops::Range<usize> {
        let buckets = (self.slots.len() / WAYS).max(1) as u64;
        let start = (digest % buckets) as usize * WAYS;
        start..start + WAYS
    }

    /// The cached verdict for `presented` (the chain exactly as received, in one or more parts)
    /// under trust-store `generation`, if present and not expired at `now`.
    pub fn lookup(
        &mut self,
        generation: u64,
        presented: &[&[u8]],
        now: UnixTime,
    ) -> Option<Verdict> {
        let digest = digest_parts(self.limits.hash_seed, presented);
        let range = self.bucket(digest);
        let found = self.slots.get(range).and_then(|ways| {
            ways.iter().flatten().find(|e| {
                e.digest == digest
                    && e.generation == generation
                    && now <= e.expires
                    && matches_parts(&e.presented, presented)
            })
        });
        match found {
            Some(e) => {
                let v = e.verdict.clone();
                self.stats.hits += 1;
                Some(v)
            }
            None => {
                self.stats.misses += 1;
                None
            }
        }
    }

    /// Stores a verdict reached at `now`. Valid verdicts live `valid_ttl_seconds` but never past
    /// the path's earliest notAfter; invalid ones live `invalid_ttl_seconds`. Presentations over
    /// [`MAX_CACHED_PRESENTATION_BYTES`] are not stored.
    pub fn insert(
        &mut self,
        generation: u64,
        presented: &[&[u8]],
        verdict: &Verdict,
        now: UnixTime,
    ) {
        if encoded_len(presented) > MAX_CACHED_PRESENTATION_BYTES {
            return;
        }
        let expires = match verdict {
            Ok(path) => now
                .saturating_add(self.limits.valid_ttl_seconds)
                .min(path.valid_until()),
            Err(_) => now.saturating_add(self.limits.invalid_ttl_seconds),
        };
        if expires < now {
            return;
        }
        let digest = digest_parts(self.limits.hash_seed, presented);
        let range = self.bucket(digest);
        self.seq += 1;
        let entry = VerdictEntry {
            digest,
            generation,
            presented: encode_parts(presented),
            expires,
            seq: self.seq,
            verdict: verdict.clone(),
        };
        let Some(ways) = self.slots.get_mut(range) else {
            return;
        };
        // Same key, then a free or expired way, then the oldest.
        let pos = ways
            .iter()
            .position(|w| {
                w.as_ref().is_some_and(|e| {
                    e.digest == digest
                        && e.generation == generation
                        && *e.presented == *entry.presented
                })
            })
            .or_else(|| {
                ways.iter()
                    .position(|w| w.as_ref().is_none_or(|e| e.expires < now))
            })
            .or_else(|| {
                ways.iter()
                    .enumerate()
                    .min_by_key(|(_, w)| w.as_ref().map_or(0, |e| e.seq))
                    .map(|(i, _)| i)
            });
        if let Some(slot) = pos.and_then(|p| ways.get_mut(p)) {
            if slot
                .as_ref()
                .is_some_and(|e| e.expires >= now && e.digest != digest)
            {
                self.stats.evictions += 1;
            }
            *slot = Some(entry);
        }
    }

    /// Verifies a chain through the cache: a cached verdict for `presented` is returned as is;
    /// otherwise `decode` turns the presentation into (leaf DER, intermediate DERs), the chain is
    /// verified using the remembered issuer links, and the verdict is cached.
    pub fn verify_presented(
        &mut self,
        store: &TrustStore,
        presented: &[&[u8]],
        now: UnixTime,
        decode: impl FnOnce() -> Result<(Vec<u8>, Vec<Vec<u8>>), ChainError>,
    ) -> Verdict {
        if let Some(v) = self.lookup(store.generation(), presented, now) {
            return v;
        }
        let verdict = decode().and_then(|(leaf, intermediates)| {
            self.verify_uncached(store, &leaf, &intermediates, now)
        });
        self.insert(store.generation(), presented, &verdict, now);
        verdict
    }

    /// Verifies DER certificates through the cache, keyed by the DER itself.
    pub fn verify_der<I: AsRef<[u8]>>(
        &mut self,
        store: &TrustStore,
        leaf: &[u8],
        intermediates: &[I],
        now: UnixTime,
    ) -> Verdict {
        let mut parts: Vec<&[u8]> = Vec::with_capacity(intermediates.len() + 1);
        parts.push(leaf);
        parts.extend(intermediates.iter().map(AsRef::as_ref));
        if let Some(v) = self.lookup(store.generation(), &parts, now) {
            return v;
        }
        let verdict = self.verify_uncached(store, leaf, intermediates, now);
        self.insert(store.generation(), &parts, &verdict, now);
        verdict
    }

    /// Verifies without consulting the verdicts, but using and filling the link memory.
    fn verify_uncached<I: AsRef<[u8]>>(
        &mut self,
        store: &TrustStore,
        leaf: &[u8],
        intermediates: &[I],
        now: UnixTime,
    ) -> Verdict {
        if self.links_generation != Some(store.generation()) {
            self.links.clear();
            self.links_generation = Some(store.generation());
        }
        verify_with_links(store, leaf, intermediates, now, Some(&mut self.links)).map(Arc::new)
    }

    /// Forgets every verdict and link.
    pub fn clear(&mut self) {
        self.slots.iter_mut().for_each(|s| *s = None);
        self.links.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_encoding_is_unambiguous() {
        let a: &[&[u8]] = &[b"ab", b"c"];
        let b: &[&[u8]] = &[b"a", b"bc"];
        assert!(matches_parts(&encode_parts(a), a));
        assert!(!matches_parts(&encode_parts(a), b));
        assert_ne!(digest_parts(1, a), digest_parts(1, b));
    }

    #[test]
    fn invalid_verdicts_expire_and_buckets_stay_bounded() {
        let mut cache = VerificationCache::new(CacheLimits {
            verdict_capacity: 8,
            ..CacheLimits::default()
        });
        let err: Verdict = Err(ChainError::Empty);
        for i in 0u32..100 {
            let key = i.to_le_bytes();
            cache.insert(1, &[&key], &err, 1000);
        }
        assert!(cache.len() <= 8);
        let key = 99u32.to_le_bytes();
        assert_eq!(cache.lookup(1, &[&key], 1000), Some(Err(ChainError::Empty)));
        assert_eq!(cache.lookup(2, &[&key], 1000), None, "other generation");
        assert_eq!(
            cache.lookup(1, &[&key], 1000 + DEFAULT_INVALID_TTL_SECONDS + 1),
            None,
            "expired"
        );
        assert!(cache.stats().evictions > 0);
    }
}
