//! Authentication providers, compiled, and the any-of evaluation of a route's requirement.
//!
//! Each provider looks for its credential in the request. No credential → `Absent` (the next
//! provider is tried); a credential that fails → `Invalid` with a precise dotted reason; a
//! success names the consumer. A route passes when any provider authenticates; otherwise the
//! reply is 401 `auth.missing` when no provider found a credential, else the first precise
//! failure (`auth.jwt.expired`, `auth.api_key.unknown`, …).

use std::borrow::Cow;
use std::collections::BTreeMap;

use sha2::Digest as _;

use crate::config::{
    ApiKeyProviderConfig, ApiKeyTable, AuthProviderConfig, ConfigIssue, CredentialSource,
};
use crate::engine::client_cert::ClientCertProvider;
use crate::engine::request::Request;
use crate::engine::util::{query_param, split_target};
use crate::jwt::CompiledJwtProvider;

/// What one provider concluded about a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthOutcome<'e> {
    /// Authenticated as this consumer: borrowed from the provider's table (API keys) or
    /// taken from the credential (JWT claim, certificate field).
    Authenticated(Cow<'e, str>),
    /// The provider's credential is not in the request.
    Absent,
    /// A credential was presented and refused.
    Invalid {
        /// Stable dotted reason, e.g. `auth.jwt.expired`.
        reason: String,
        /// What exactly failed (never the secret itself).
        message: String,
    },
}

/// A compiled provider.
pub enum Provider {
    /// API keys by SHA-256 digest.
    ApiKey(ApiKeyProvider),
    /// JWT.
    Jwt(Box<CompiledJwtProvider>),
    /// Client certificate chains from XFCC.
    ClientCert(Box<ClientCertProvider>),
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Provider::ApiKey(keys) => write!(f, "ApiKey({} keys)", keys.keys.digests.len()),
            Provider::Jwt(_) => write!(f, "Jwt"),
            Provider::ClientCert(_) => write!(f, "ClientCert"),
        }
    }
}

impl Provider {
    /// Whether this provider reads the clock (token and certificate validity).
    pub fn reads_clock(&self) -> bool {
        matches!(self, Provider::Jwt(_) | Provider::ClientCert(_))
    }

    /// Whether this provider reads the connection's source address.
    pub fn reads_source_address(&self) -> bool {
        match self {
            Provider::ClientCert(store) => store.reads_source_address(),
            Provider::ApiKey(_) | Provider::Jwt(_) => false,
        }
    }

    /// Evaluates the provider on a request.
    pub fn authenticate(&self, request: &Request) -> AuthOutcome<'_> {
        match self {
            Provider::ApiKey(keys) => keys.authenticate(request),
            Provider::Jwt(jwt) => authenticate_jwt(jwt, request),
            Provider::ClientCert(store) => store.authenticate(request),
        }
    }
}

/// Compiles every provider, collecting issues with their JSON paths.
pub fn compile_providers(
    configs: BTreeMap<String, AuthProviderConfig>,
    issues: &mut Vec<ConfigIssue>,
) -> BTreeMap<String, Provider> {
    let mut providers = BTreeMap::new();
    for (name, config) in configs {
        let at = format!("auth_providers.{name}");
        let compiled = match config {
            AuthProviderConfig::ApiKey(keys) => {
                Some(Provider::ApiKey(ApiKeyProvider::compile(keys)))
            }
            AuthProviderConfig::Jwt(jwt) => match CompiledJwtProvider::compile(&jwt) {
                Ok(provider) => Some(Provider::Jwt(Box::new(provider))),
                Err(problems) => {
                    issues.extend(problems.into_iter().map(|p| ConfigIssue {
                        path: format!("{at}.jwt.{}", p.path),
                        message: p.message,
                    }));
                    None
                }
            },
            AuthProviderConfig::ClientCert(store) => {
                match ClientCertProvider::compile(&store, &format!("{at}.client_cert")) {
                    Ok(provider) => Some(Provider::ClientCert(Box::new(provider))),
                    Err(problems) => {
                        issues.extend(problems);
                        None
                    }
                }
            }
        };
        if let Some(provider) = compiled {
            providers.insert(name, provider);
        }
    }
    providers
}

/// API keys: a hash-trie of SHA-256 digests to consumer names.
pub struct ApiKeyProvider {
    source: CredentialSource,
    /// Built while the keys were parsed (`config::ApiKeyTable`).
    keys: ApiKeyTable,
}

impl ApiKeyProvider {
    /// Takes over the digest table the parser built.
    pub fn compile(config: ApiKeyProviderConfig) -> Self {
        // Header names are matched lower-case (Envoy lower-cases them); do it once here.
        let source = match config.from {
            CredentialSource::Header(name) => CredentialSource::Header(name.to_ascii_lowercase()),
            query @ CredentialSource::Query(_) => query,
        };
        Self {
            source,
            keys: config.keys,
        }
    }

    /// The key table.
    pub(crate) fn table(&self) -> &ApiKeyTable {
        &self.keys
    }

    /// The key table, to apply a key delta to.
    pub(crate) fn table_mut(&mut self) -> &mut ApiKeyTable {
        &mut self.keys
    }

    fn authenticate(&self, request: &Request) -> AuthOutcome<'_> {
        let presented = match &self.source {
            CredentialSource::Header(name) => request.header(name).map(|v| Cow::Borrowed(v.trim())),
            CredentialSource::Query(name) => {
                query_param(split_target(&request.path).1, name).map(Cow::Owned)
            }
        };
        let Some(key) = presented.filter(|k| !k.is_empty()) else {
            return AuthOutcome::Absent;
        };
        let lookup: [u8; 32] = sha2::Sha256::digest(key.as_bytes()).into();
        match self.keys.consumer(&lookup) {
            Some(consumer) => AuthOutcome::Authenticated(Cow::Borrowed(consumer)),
            None => AuthOutcome::Invalid {
                reason: "auth.api_key.unknown".to_owned(),
                message: "the API key is not known".to_owned(),
            },
        }
    }
}

fn authenticate_jwt(jwt: &CompiledJwtProvider, request: &Request) -> AuthOutcome<'static> {
    let query = split_target(&request.path).1;
    let query = query.strip_prefix('?');
    let Some(token) = jwt.extract_token(&request.headers, query) else {
        return AuthOutcome::Absent;
    };
    match jwt.verify(&token, request.now_unix_seconds) {
        Ok(verified) => AuthOutcome::Authenticated(Cow::Owned(verified.consumer)),
        Err(error) => AuthOutcome::Invalid {
            reason: error.reason().to_owned(),
            message: error.to_string(),
        },
    }
}
