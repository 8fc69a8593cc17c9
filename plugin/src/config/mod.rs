//! The policy configuration: the JSON an operator writes, parsed and validated.
//!
//! Parsing is strict (`deny_unknown_fields`), and validation ([`validate`]) collects *every*
//! problem with the JSON path it concerns, so an operator fixes a rejected policy in one round.
//! `docs/config.md` explains every field with a full example; `docs/config.schema.json` is
//! generated from these types ([`json_schema`]) and kept fresh by a test.

/// Implements `JsonSchema` for `$ty` as exactly the schema of `$like`: a type read differently
/// (compiled while parsed, or borrowed) but written the same way in JSON.
macro_rules! json_schema_like {
    ($ty:ty, $like:ty) => {
        impl schemars::JsonSchema for $ty {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                <$like as schemars::JsonSchema>::schema_name()
            }

            fn inline_schema() -> bool {
                <$like as schemars::JsonSchema>::inline_schema()
            }

            fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
                <$like as schemars::JsonSchema>::json_schema(generator)
            }
        }
    };
}

mod api_keys;
mod route_list;
mod validate;

pub use api_keys::ApiKeyTable;
pub(crate) use api_keys::{ConsumerSlots, KeyEntry, parse_sha256_hex};
pub use route_list::RouteList;
pub(crate) use route_list::RouteListBuilder;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Deref;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::jwt::JwtProviderConfig;

/// Configuration bytes larger than this are refused before parsing: a policy that big is a
/// mistake (or an attack on the VM's memory), not a gateway configuration. 100k routes + 1M
/// API keys are about 120 MB of JSON (BENCHMARKS.md).
pub const MAX_CONFIG_BYTES: usize = 256 * 1024 * 1024;

/// The whole policy, as delivered in the filter's `configuration`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// Virtual hosts, each with its domains and routes. A request's `:authority` selects the
    /// entry: exact domain, then the longest matching `*.suffix`, then `*`.
    pub hosts: Vec<HostConfig>,
    /// Authentication providers, by name; routes refer to them in `auth.any_of`.
    #[serde(default)]
    #[schemars(extend("default" = {}))]
    pub auth_providers: BTreeMap<String, AuthProviderConfig>,
    /// Names of the headers trieguard sets on allowed requests.
    #[serde(default)]
    pub decision_headers: DecisionHeaderNames,
    /// Which of the routes matching a request's host and path wins (every host entry).
    #[serde(default)]
    pub precedence: Precedence,
}

/// How the route of a request is chosen among the routes its host entry has for its path.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Precedence {
    /// The most specific route whose methods and headers hold: exact, then template, then the
    /// longest prefix; declaration order only among routes with the same path match (default).
    #[default]
    MostSpecific,
    /// Envoy's order: the route declared first in the host's list among those whose path,
    /// methods and headers hold (what `trieguard import-envoy` writes).
    FirstMatch,
}

impl Precedence {
    /// The name used in the policy (`most_specific`, `first_match`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MostSpecific => "most_specific",
            Self::FirstMatch => "first_match",
        }
    }
}

/// One virtual host.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HostConfig {
    /// Domains served by this entry: exact names, `*.suffix` or `*-partial.suffix` wildcards,
    /// `prefix*` wildcards, or `*` (default entry). Case-insensitive; a port in `:authority`
    /// is ignored.
    pub domains: Vec<String>,
    /// Minimum TLS version for every route of this host; plaintext requests are refused too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_tls: Option<TlsVersion>,
    /// Routes. With the default `precedence` the most specific match wins (exact, then
    /// template, then the longest prefix), among equally specific ones the first in this list
    /// whose methods/headers hold; with `first_match`, the first in this list that matches.
    pub routes: RouteList,
}

/// TLS protocol versions, as Envoy names them in `connection.tls_version`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
pub enum TlsVersion {
    /// TLS 1.0.
    #[serde(rename = "TLSv1")]
    Tls10,
    /// TLS 1.1.
    #[serde(rename = "TLSv1.1")]
    Tls11,
    /// TLS 1.2.
    #[serde(rename = "TLSv1.2")]
    Tls12,
    /// TLS 1.3.
    #[serde(rename = "TLSv1.3")]
    Tls13,
}

impl TlsVersion {
    /// Parses Envoy's `connection.tls_version` property (`TLSv1.3`, …).
    pub fn from_envoy(name: &str) -> Option<Self> {
        match name {
            "TLSv1" | "TLSv1.0" => Some(Self::Tls10),
            "TLSv1.1" => Some(Self::Tls11),
            "TLSv1.2" => Some(Self::Tls12),
            "TLSv1.3" => Some(Self::Tls13),
            _ => None,
        }
    }

    /// Envoy's name for the version.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tls10 => "TLSv1",
            Self::Tls11 => "TLSv1.1",
            Self::Tls12 => "TLSv1.2",
            Self::Tls13 => "TLSv1.3",
        }
    }
}

/// One route.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig<'a> {
    /// Stable identifier, reported in `x-trieguard-route` and in metrics. Unique per policy.
    #[serde(borrow)]
    pub id: Text<'a>,
    /// Which requests this route matches.
    #[serde(rename = "match", borrow)]
    pub matcher: MatchConfig<'a>,
    /// Where matching requests go.
    #[serde(borrow)]
    pub upstream: UpstreamConfig<'a>,
    /// Path rewrite applied before forwarding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rewrite: Option<Box<RewriteConfig>>,
    /// Authentication required; absent means none.
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthRequirement<'a>>,
    /// Consumers allowed on this route (after authentication); absent means any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumers: Option<Box<[String]>>,
    /// Device-trust rule: a score header set by a trusted front component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_trust: Option<Box<DeviceTrustConfig>>,
    /// What happens when trieguard hits an internal error on this route.
    #[serde(default)]
    pub fail_mode: FailMode,
}

/// How a route matches: exactly one path rule, plus optional methods and header predicates.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MatchConfig<'a> {
    /// The normalised path equals this (the query string never takes part).
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    pub exact: Option<Text<'a>>,
    /// The path starts with this string (Envoy's `prefix`: `/api` also matches `/apis`).
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<Text<'a>>,
    /// The path is this or continues with `/` (`/api` matches `/api`, `/api/x`, not `/apis`).
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    pub path_separated_prefix: Option<Text<'a>>,
    /// A template with named segments and an optional trailing catch-all:
    /// `/users/{id}/orders`, `/static/{*rest}`.
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    pub template: Option<Text<'a>>,
    /// `false`: the `exact`, `prefix` or `path_separated_prefix` pattern is compared with the
    /// path ASCII-case-insensitively (Envoy's `case_sensitive`); not allowed with `template`.
    /// Absent or `true`: case-sensitive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_sensitive: Option<bool>,
    /// Allowed methods (upper-case); absent means any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub methods: Option<Box<[String]>>,
    /// Header predicates; all must hold.
    #[serde(default, skip_serializing_if = "<[_]>::is_empty")]
    pub headers: Box<[HeaderPredicateConfig]>,
}

/// One header predicate: `name` plus exactly one of `exact`, `prefix`, `present`, `absent`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HeaderPredicateConfig {
    /// Header name (case-insensitive).
    pub name: String,
    /// The first value equals this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exact: Option<String>,
    /// The first value starts with this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// The first value ends with this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suffix: Option<String>,
    /// `true`, with `exact`, `prefix` or `suffix`: the predicate holds when the header is
    /// present and its value fails the test; an absent header never matches (Envoy's
    /// `invert_match`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invert: Option<bool>,
    /// `true`: the header is present (any value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub present: Option<bool>,
    /// `true`: the header is absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub absent: Option<bool>,
}

/// The upstream of a route: one cluster, or a weighted split.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum UpstreamConfig<'a> {
    /// Envoy cluster name, written to the cluster decision header.
    #[serde(borrow)]
    Cluster(Text<'a>),
    /// A weighted split (canary): the same key always lands on the same cluster.
    Split(Box<SplitConfig>),
}

/// A weighted split.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitConfig {
    /// Where the stickiness key comes from; without a key the choice is random.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<SplitKey>,
    /// Clusters and their weights (non-negative integers; at least one positive).
    pub clusters: Vec<WeightedCluster>,
}

/// Source of a split's stickiness key.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum SplitKey {
    /// The first value of this request header.
    Header(String),
    /// The value of this cookie.
    Cookie(String),
}

/// One cluster of a split.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WeightedCluster {
    /// Envoy cluster name.
    pub cluster: String,
    /// Relative weight.
    pub weight: u32,
}

/// Path rewrite.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RewriteConfig {
    /// Replaces the matched prefix (prefix routes) or the whole path (exact routes), like
    /// Envoy's `prefix_rewrite`. The query string is kept.
    pub prefix: String,
}

/// Authentication requirement of a route.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthRequirement<'a> {
    /// Provider names tried in order; the first that authenticates the request wins.
    #[serde(borrow)]
    pub any_of: Vec<Text<'a>>,
}

/// Device-trust rule.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceTrustConfig {
    /// Header carrying the device's trust score (an integer 0–100).
    pub header: String,
    /// Minimum score; a missing or malformed score is refused.
    pub min_score: u8,
}

/// Behaviour on internal errors.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FailMode {
    /// Deny with 500 `internal` (default).
    #[default]
    Closed,
    /// Forward to the route's upstream without an authenticated consumer.
    Open,
}

/// An authentication provider.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum AuthProviderConfig {
    /// API keys, stored as SHA-256 digests.
    ApiKey(ApiKeyProviderConfig),
    /// JSON Web Tokens.
    Jwt(JwtProviderConfig),
    /// Client-certificate chains forwarded in `x-forwarded-client-cert`.
    ClientCert(ClientCertProviderConfig),
}

/// API-key provider.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyProviderConfig {
    /// Where the key is read from.
    #[serde(default = "default_api_key_source")]
    pub from: CredentialSource,
    /// The keys, as lower-case hex SHA-256 digests of the key string, with their consumer.
    pub keys: ApiKeyTable,
}

fn default_api_key_source() -> CredentialSource {
    CredentialSource::Header("x-api-key".to_owned())
}

/// Where a credential is read from.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum CredentialSource {
    /// A request header (first value).
    Header(String),
    /// A query parameter (percent-decoded).
    Query(String),
}

/// One API key.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyEntry<'a> {
    /// Consumer name the key authenticates.
    #[serde(borrow)]
    pub consumer: Text<'a>,
    /// Lower-case hex SHA-256 of the key (`printf %s "$KEY" | sha256sum`).
    #[serde(borrow)]
    pub sha256: Text<'a>,
}

/// Client-certificate provider.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientCertProviderConfig {
    /// Trust anchors, PEM (several certificates allowed).
    pub roots_pem: String,
    /// SM2 distinguishing ID used for SM2 signatures (GM/T 0009 default below).
    #[serde(default = "default_sm2_id")]
    pub sm2_id: String,
    /// The header carrying the chain (Envoy's XFCC).
    #[serde(default = "default_xfcc_header")]
    pub header: String,
    /// Which XFCC element to trust; Envoy appends each proxy's element at the end.
    #[serde(default)]
    pub element: XfccElementChoice,
    /// Front proxies (source IPs) allowed to pass XFCC; absent means any (the listener must
    /// then sanitise XFCC, see docs/config.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trusted_proxies: Option<Vec<String>>,
    /// Which certificate field names the consumer.
    #[serde(default)]
    pub consumer_from: CertConsumerField,
    /// Refuse an end-entity certificate without extendedKeyUsage (default false: many client
    /// PKIs issue none, and RFC 5280 lets such a certificate serve any purpose).
    #[serde(default)]
    pub require_client_auth_eku: bool,
    /// Refuse a certificate without authorityKeyIdentifier unless it is self-issued (RFC 5280
    /// §4.2.1.1; default true, turn off for legacy PKIs).
    #[serde(default = "default_true")]
    pub require_authority_key_id: bool,
    /// Refuse a presented CA certificate without subjectKeyIdentifier (RFC 5280 §4.2.1.2;
    /// default true).
    #[serde(default = "default_true")]
    pub require_subject_key_id: bool,
    /// Refuse a CA certificate on the path whose basicConstraints is not marked critical
    /// (RFC 5280 §4.2.1.9; default true, turn off for a legacy CA that wrote it non-critical).
    #[serde(default = "default_true")]
    pub require_critical_basic_constraints: bool,
    /// Accept anyExtendedKeyUsage in place of id-kp-clientAuth (default false).
    #[serde(default)]
    pub allow_any_extended_key_usage: bool,
}

fn default_true() -> bool {
    true
}

fn default_sm2_id() -> String {
    "1234567812345678".to_owned()
}

fn default_xfcc_header() -> String {
    "x-forwarded-client-cert".to_owned()
}

/// Which XFCC element to use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum XfccElementChoice {
    /// The last element: the one added by the proxy closest to Envoy (default).
    #[default]
    Last,
    /// The first element: the original client as seen by the outermost proxy.
    First,
}

/// Certificate field that names the consumer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CertConsumerField {
    /// The first URI subject alternative name (default; SPIFFE-style identities).
    #[default]
    UriSan,
    /// The first DNS subject alternative name.
    DnsSan,
    /// The subject common name.
    SubjectCn,
}

/// Names of the decision headers (DESIGN: configurable, these defaults), which of them are
/// sent upstream, and how Envoy is made to route by them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct DecisionHeaderNames {
    /// Route id header.
    pub route: String,
    /// Chosen cluster header (Envoy's route uses it as `cluster_header`).
    pub cluster: String,
    /// Authenticated consumer header.
    pub consumer: String,
    /// Whether the route id header is sent upstream (default true). The cluster header is
    /// always sent; a client-sent copy of any decision header is removed either way.
    pub emit_route: bool,
    /// Whether the consumer header is sent upstream (default true).
    pub emit_consumer: bool,
    /// When the filter asks Envoy to select the route again after changing the request.
    pub clear_route_cache: ClearRouteCache,
}

impl Default for DecisionHeaderNames {
    fn default() -> Self {
        Self {
            route: "x-trieguard-route".to_owned(),
            cluster: "x-trieguard-cluster".to_owned(),
            consumer: "x-trieguard-consumer".to_owned(),
            emit_route: true,
            emit_consumer: true,
            clear_route_cache: ClearRouteCache::default(),
        }
    }
}

/// When the filter calls Envoy's `clear_route_cache` foreign function after changing the
/// request's headers or path (docs/envoy-facts.md).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClearRouteCache {
    /// Only where the host does not select the route again by itself. Envoy does for every
    /// module of proxy-wasm ABI 0.2.1, the ABI trieguard is built for, so under Envoy the call
    /// is never made (the default).
    #[default]
    Auto,
    /// After every change (for hosts that keep the route selected before the filter ran).
    Always,
    /// Never.
    Never,
}

/// The proxy-wasm ABI `trieguard.wasm` declares (the SDK's `proxy_abi_version_0_2_1` export;
/// a harness test reads it from the built module, so an SDK upgrade cannot change it unseen).
pub const PROXY_WASM_ABI: &str = "0.2.1";

/// Whether Envoy selects the route again by itself after a module of [`PROXY_WASM_ABI`]
/// changes request headers. It does for ABI 0.2.1 and older: the release that added the
/// `clear_route_cache` foreign function stopped clearing automatically only for modules of a
/// newer ABI (Envoy's changelog; docs/envoy-facts.md has the real-Envoy test on 1.40).
const HOST_SELECTS_ROUTE_AGAIN: bool = true;

impl ClearRouteCache {
    /// Whether the filter calls `clear_route_cache` after changing a request.
    pub fn must_clear(self) -> bool {
        match self {
            Self::Auto => !HOST_SELECTS_ROUTE_AGAIN,
            Self::Always => true,
            Self::Never => false,
        }
    }
}

/// A string of the policy, borrowed from the JSON bytes when it has no escapes.
///
/// The records that occur 100k times in a large policy (routes, API keys) are read with
/// their strings borrowed, and only what the compiled tables keep is copied; parsing such a
/// policy then allocates a few strings per route instead of one per field.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(transparent)]
pub struct Text<'a>(#[serde(borrow)] pub Cow<'a, str>);

impl Deref for Text<'_> {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

// Described exactly as a plain string.
json_schema_like!(Text<'_>, String);

impl Text<'_> {
    /// The string, owned and sized exactly.
    pub fn into_boxed(self) -> Box<str> {
        self.0.into()
    }

    /// The string, owned.
    pub fn into_string(self) -> String {
        self.0.into_owned()
    }
}

/// One problem found in a configuration, with the JSON path it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    /// JSON path such as `hosts[2].routes[5].upstream.cluster`; empty for the whole document.
    pub path: String,
    /// What is wrong there.
    pub message: String,
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// A rejected configuration: every problem found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid trieguard configuration ({} problem(s)): {}", .issues.len(), join_issues(.issues))]
pub struct ConfigError {
    /// The problems, in document order.
    pub issues: Vec<ConfigIssue>,
}

fn join_issues(issues: &[ConfigIssue]) -> String {
    issues
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl ConfigError {
    /// An error with one issue.
    pub fn single(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            issues: vec![ConfigIssue {
                path: path.into(),
                message: message.into(),
            }],
        }
    }
}

/// Refuses configurations above [`MAX_CONFIG_BYTES`].
fn check_size(size: usize) -> Result<(), ConfigError> {
    if size > MAX_CONFIG_BYTES {
        return Err(ConfigError::single(
            "",
            format!("configuration is {size} bytes, above the {MAX_CONFIG_BYTES}-byte limit"),
        ));
    }
    Ok(())
}

/// The error for JSON that is not a policy, with serde's position.
fn not_a_policy(error: &serde_json::Error) -> ConfigError {
    ConfigError::single(
        "",
        format!(
            "not a valid policy: {error} (line {}, column {})",
            error.line(),
            error.column()
        ),
    )
}

impl PolicyConfig {
    /// Parses a policy from JSON bytes and validates it.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ConfigError> {
        let config = Self::parse_json(bytes)?;
        config.validate()?;
        Ok(config)
    }

    /// Parses a policy from JSON bytes without validating it.
    pub fn parse_json(bytes: &[u8]) -> Result<Self, ConfigError> {
        check_size(bytes.len())?;
        serde_json::from_slice(bytes).map_err(|e| not_a_policy(&e))
    }

    /// Checks everything serde cannot, reporting every problem with its JSON path.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let issues = validate::validate(self);
        if issues.is_empty() {
            Ok(())
        } else {
            Err(ConfigError { issues })
        }
    }
}

/// The JSON Schema of [`PolicyConfig`], pretty-printed (committed as `docs/config.schema.json`).
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(PolicyConfig);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
