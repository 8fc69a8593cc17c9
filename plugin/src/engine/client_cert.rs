//! Client-certificate provider: a chain forwarded by a front TLS terminator in Envoy's
//! `x-forwarded-client-cert` header, verified against the provider's trust anchors (SM2 with
//! SM3, ECDSA P-256, RSA) by the `certs` crate, through its bounded verification cache.
//!
//! Reasons (the `auth.sm2.` family covers every chain this provider checks, SM2 or not — SM2
//! chains are why it exists):
//! - `auth.sm2.untrusted_proxy`: the header came from a source not in `trusted_proxies`;
//! - `auth.sm2.xfcc_malformed`: the header is not valid XFCC;
//! - `auth.sm2.chain_invalid`: the chain failed validation; the message says exactly why
//!   (`certificate expired: …`, `no trust anchor …`);
//! - `auth.sm2.no_identity`: the chain is valid but lacks the field naming the consumer.

use std::cell::RefCell;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::{IpAddr, SocketAddr};

use certs::{CacheLimits, ChainVerifier, ElementSelector, TrustStore, ValidationOptions, Xfcc};

use crate::config::{CertConsumerField, ClientCertProviderConfig, ConfigIssue, XfccElementChoice};
use crate::engine::auth::AuthOutcome;
use crate::engine::request::Request;

/// A compiled client-certificate trust store with its cache.
pub struct ClientCertProvider {
    verifier: RefCell<ChainVerifier>,
    header: String,
    selector: ElementSelector,
    trusted_proxies: Option<Vec<IpAddr>>,
    consumer_from: CertConsumerField,
}

impl ClientCertProvider {
    /// Builds the trust store; problems are reported under `at` (the provider's JSON path).
    pub fn compile(config: &ClientCertProviderConfig, at: &str) -> Result<Self, Vec<ConfigIssue>> {
        let mut options = ValidationOptions::default();
        options.require_client_auth_eku = config.require_client_auth_eku;
        options.require_authority_key_id = config.require_authority_key_id;
        options.require_subject_key_id = config.require_subject_key_id;
        options.require_critical_basic_constraints = config.require_critical_basic_constraints;
        options.allow_any_extended_key_usage = config.allow_any_extended_key_usage;
        let store = TrustStore::from_pem_with_id(config.roots_pem.as_bytes(), &config.sm2_id)
            .map_err(|error| {
                vec![ConfigIssue {
                    path: format!("{at}.roots_pem"),
                    message: error.to_string(),
                }]
            })?
            .with_options(options);
        let trusted_proxies = config
            .trusted_proxies
            .as_ref()
            .map(|list| list.iter().filter_map(|ip| ip.parse().ok()).collect());
        let limits = CacheLimits {
            // Each configuration gets its own seed: targeted bucket collisions (which can only
            // evict) cannot be precomputed.
            hash_seed: RandomState::new().build_hasher().finish(),
            ..CacheLimits::default()
        };
        Ok(Self {
            verifier: RefCell::new(ChainVerifier::new(store, limits)),
            header: config.header.clone(),
            selector: match config.element {
                XfccElementChoice::Last => ElementSelector::Last,
                XfccElementChoice::First => ElementSelector::First,
            },
            trusted_proxies,
            consumer_from: config.consumer_from,
        })
    }

    /// Whether the store checks the source address against trusted front proxies.
    pub fn reads_source_address(&self) -> bool {
        self.trusted_proxies.is_some()
    }

    /// Verifies the forwarded chain and names the consumer.
    pub fn authenticate(&self, request: &Request) -> AuthOutcome<'static> {
        let Some(value) = request.header(&self.header) else {
            return AuthOutcome::Absent;
        };
        let invalid = |reason: &str, message: String| AuthOutcome::Invalid {
            reason: reason.to_owned(),
            message,
        };
        if let Some(trusted) = &self.trusted_proxies {
            let source = request
                .source
                .as_deref()
                .and_then(|s| s.parse::<SocketAddr>().ok())
                .map(|s| s.ip());
            if !source.is_some_and(|ip| trusted.contains(&ip)) {
                return invalid(
                    "auth.sm2.untrusted_proxy",
                    format!(
                        "{} came from {}, which is not a trusted front proxy",
                        self.header,
                        request.source.as_deref().unwrap_or("an unknown source")
                    ),
                );
            }
        }
        let element = match Xfcc::parse_selected(value, self.selector) {
            Ok(element) => element,
            Err(error) => return invalid("auth.sm2.xfcc_malformed", error.to_string()),
        };
        let now = i64::try_from(request.now_unix_seconds).unwrap_or(i64::MAX);
        let verdict = match self.verifier.try_borrow_mut() {
            Ok(mut verifier) => verifier.verify_xfcc_element(&element, now),
            // Unreachable in a single-threaded VM; refuse rather than skip verification.
            Err(_) => return invalid("auth.sm2.chain_invalid", "verifier busy".to_owned()),
        };
        let path = match verdict {
            Ok(path) => path,
            Err(error) => return invalid("auth.sm2.chain_invalid", error.to_string()),
        };
        let consumer = match self.consumer_from {
            CertConsumerField::UriSan => path.uri_sans().first().cloned(),
            CertConsumerField::DnsSan => path.dns_sans().first().cloned(),
            CertConsumerField::SubjectCn => path.subject_cn().map(str::to_owned),
        };
        match consumer {
            Some(consumer) if !consumer.is_empty() => AuthOutcome::Authenticated(consumer.into()),
            _ => invalid(
                "auth.sm2.no_identity",
                format!(
                    "the certificate of {} has no {:?} to name the consumer",
                    path.subject_dn(),
                    self.consumer_from
                ),
            ),
        }
    }
}
