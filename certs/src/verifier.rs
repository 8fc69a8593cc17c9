//! `ChainVerifier`: a trust store plus its cache, the object the policy engine holds.

use crate::cache::{CacheLimits, Verdict, VerificationCache};
use crate::store::TrustStore;
use crate::time::UnixTime;
use crate::xfcc::XfccElement;

/// Verifies client chains against one trust store through a [`VerificationCache`].
#[derive(Debug)]
pub struct ChainVerifier {
    store: TrustStore,
    cache: VerificationCache,
}

impl ChainVerifier {
    /// A verifier over `store` with a cache sized by `limits`.
    pub fn new(store: TrustStore, limits: CacheLimits) -> Self {
        Self {
            store,
            cache: VerificationCache::new(limits),
        }
    }

    /// The trust store.
    pub fn store(&self) -> &TrustStore {
        &self.store
    }

    /// The cache (for statistics).
    pub fn cache(&self) -> &VerificationCache {
        &self.cache
    }

    /// Replaces the trust store. Verdicts of other generations are never served, so give the new
    /// store a new [`TrustStore::with_generation`] number.
    pub fn set_store(&mut self, store: TrustStore) {
        self.store = store;
    }

    /// Verifies DER certificates (leaf, then intermediates in any order) at `now`.
    pub fn verify_der<I: AsRef<[u8]>>(
        &mut self,
        leaf: &[u8],
        intermediates: &[I],
        now: UnixTime,
    ) -> Verdict {
        self.cache.verify_der(&self.store, leaf, intermediates, now)
    }

    /// Verifies the chain in an XFCC element at `now`; a repeated presentation is answered from
    /// the cache without decoding it.
    pub fn verify_xfcc_element(&mut self, element: &XfccElement<'_>, now: UnixTime) -> Verdict {
        let presented = element.presented();
        self.cache
            .verify_presented(&self.store, &presented, now, || element.certificates())
    }
}
