//! Policies delivered out of band: fetched by one singleton service VM from an HTTP source and
//! handed to every worker VM through proxy-wasm shared data (docs/policy-source.md).
//!
//! The plugin configuration is one of three shapes ([`PluginConfiguration::parse`]):
//! an inline policy (as before), `{"policy_source": {...}}` on the HTTP filter (workers read the
//! policy a service VM published under that name), or `{"fetch_policy": {...}}` on the
//! `envoy.bootstrap.wasm` singleton service (it polls the source and publishes). Everything in
//! this module is pure Rust: the ABI glue lives in `filter` and `service`.

pub mod checksum;
pub mod digest;
pub mod fetch;
pub mod handoff;
pub mod key_delta;
pub mod key_sets;
pub mod lines;
pub mod load;
pub mod route_sets;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::config::{ConfigError, ConfigIssue, PolicyConfig};

/// Shortest poll interval accepted: polling faster only loads the source.
pub const MIN_POLL_INTERVAL_MS: u64 = 100;
/// Smallest piece accepted (a smaller one means thousands of round trips per policy).
pub const MIN_PIECE_BYTES: usize = 4 * 1024;
/// Largest piece accepted: Envoy buffers a whole http_call response in memory.
pub const MAX_PIECE_BYTES: usize = 16 * 1024 * 1024;

/// What a plugin configuration asks this VM to be.
#[derive(Debug)]
pub enum PluginConfiguration {
    /// Today's configuration: the policy itself.
    Inline(Box<PolicyConfig>),
    /// A worker serving the policy published under a source name.
    Source(PolicySourceConfig),
    /// The singleton service fetching and publishing a policy.
    Fetch(FetchPolicyConfig),
}

/// `{"policy_source": {...}}`: the HTTP filter's configuration when the policy comes from a
/// source.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceEnvelope {
    /// The source to serve.
    pub policy_source: PolicySourceConfig,
}

/// `{"fetch_policy": {...}}`: the singleton service's configuration.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FetchEnvelope {
    /// The source to poll.
    pub fetch_policy: FetchPolicyConfig,
}

/// Which published policy a worker serves.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicySourceConfig {
    /// The source name, as in the service's `fetch_policy.name`.
    pub name: String,
    /// How often a worker looks for a newly published policy, in milliseconds.
    #[serde(default = "default_check_interval_ms")]
    pub check_interval_ms: u64,
}

/// Where the service fetches the policy from, and how often.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FetchPolicyConfig {
    /// The name workers refer to (`policy_source.name`); also part of metric names.
    pub name: String,
    /// The Envoy cluster serving the policy (any plain HTTP server: nginx, object storage).
    pub cluster: String,
    /// `:authority` of the requests (the server's virtual host).
    pub authority: String,
    /// Path of the policy JSON.
    pub path: String,
    /// Path of its digest, in `sha256sum` format (`<64 hex>  <name>`); default `path` +
    /// `.sha256`. It is polled with `If-None-Match`; the policy is fetched only when it changes.
    #[serde(default)]
    pub digest_path: Option<String>,
    /// Poll interval in milliseconds (at least 100).
    #[serde(default = "default_poll_interval_ms")]
    pub poll_interval_ms: u64,
    /// Timeout of each request to the source, in milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Bytes fetched per `Range` request (4 KiB to 16 MiB).
    #[serde(default = "default_piece_bytes")]
    pub piece_bytes: usize,
    /// Longest wait between retries after failures, in milliseconds.
    #[serde(default = "default_max_backoff_ms")]
    pub max_backoff_ms: u64,
}

fn default_check_interval_ms() -> u64 {
    100
}

fn default_poll_interval_ms() -> u64 {
    1_000
}

fn default_timeout_ms() -> u64 {
    5_000
}

fn default_piece_bytes() -> usize {
    1024 * 1024
}

fn default_max_backoff_ms() -> u64 {
    30_000
}

impl FetchPolicyConfig {
    /// The digest file's path.
    pub fn digest_path(&self) -> String {
        self.digest_path
            .clone()
            .unwrap_or_else(|| format!("{}.sha256", self.path))
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let mut issues = Vec::new();
        check_name(&self.name, "fetch_policy.name", &mut issues);
        if self.cluster.is_empty() {
            issues.push(issue("fetch_policy.cluster", "must name an Envoy cluster"));
        }
        if self.authority.is_empty() {
            issues.push(issue("fetch_policy.authority", "must not be empty"));
        }
        if !self.path.starts_with('/') {
            issues.push(issue("fetch_policy.path", "must start with '/'"));
        }
        if self
            .digest_path
            .as_deref()
            .is_some_and(|p| !p.starts_with('/'))
        {
            issues.push(issue("fetch_policy.digest_path", "must start with '/'"));
        }
        if self.poll_interval_ms < MIN_POLL_INTERVAL_MS {
            issues.push(issue(
                "fetch_policy.poll_interval_ms",
                &format!("must be at least {MIN_POLL_INTERVAL_MS}"),
            ));
        }
        if self.timeout_ms == 0 {
            issues.push(issue("fetch_policy.timeout_ms", "must be positive"));
        }
        if !(MIN_PIECE_BYTES..=MAX_PIECE_BYTES).contains(&self.piece_bytes) {
            issues.push(issue(
                "fetch_policy.piece_bytes",
                &format!("must be between {MIN_PIECE_BYTES} and {MAX_PIECE_BYTES}"),
            ));
        }
        if self.max_backoff_ms < self.poll_interval_ms {
            issues.push(issue(
                "fetch_policy.max_backoff_ms",
                "must be at least poll_interval_ms",
            ));
        }
        finish(issues)
    }
}

impl PolicySourceConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        let mut issues = Vec::new();
        check_name(&self.name, "policy_source.name", &mut issues);
        if self.check_interval_ms == 0 {
            issues.push(issue("policy_source.check_interval_ms", "must be positive"));
        }
        finish(issues)
    }
}

/// Source names become shared-data keys and metric name parts: `[A-Za-z0-9_-]{1,64}`.
fn check_name(name: &str, path: &str, issues: &mut Vec<ConfigIssue>) {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !valid {
        issues.push(issue(path, "must be 1 to 64 of [A-Za-z0-9_-]"));
    }
}

fn issue(path: &str, message: &str) -> ConfigIssue {
    ConfigIssue {
        path: path.to_owned(),
        message: message.to_owned(),
    }
}

fn finish(issues: Vec<ConfigIssue>) -> Result<(), ConfigError> {
    if issues.is_empty() {
        Ok(())
    } else {
        Err(ConfigError { issues })
    }
}

impl PluginConfiguration {
    /// Reads a plugin configuration. An object whose first key is `policy_source` or
    /// `fetch_policy` names a source (and must hold only that key); anything else is an inline
    /// policy, parsed exactly as before. Sniffing the first key keeps a large inline policy
    /// from being parsed twice.
    pub fn parse(bytes: &[u8]) -> Result<Self, ConfigError> {
        match first_key(bytes) {
            Some("policy_source") => {
                let envelope: SourceEnvelope = parse_envelope(bytes)?;
                envelope.policy_source.validate()?;
                Ok(Self::Source(envelope.policy_source))
            }
            Some("fetch_policy") => {
                let envelope: FetchEnvelope = parse_envelope(bytes)?;
                envelope.fetch_policy.validate()?;
                Ok(Self::Fetch(envelope.fetch_policy))
            }
            _ => PolicyConfig::parse_json(bytes).map(|policy| Self::Inline(Box::new(policy))),
        }
    }
}

/// The two source shapes of a plugin configuration, for the JSON schema (an inline policy is
/// described by `config::json_schema`).
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum SourceConfiguration {
    /// The HTTP filter's configuration.
    Worker(SourceEnvelope),
    /// The singleton service's configuration.
    Service(FetchEnvelope),
}

/// JSON schema of the source shapes of a plugin configuration
/// (`docs/policy-source.schema.json`; a test keeps it fresh).
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(SourceConfiguration);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

fn parse_envelope<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ConfigError> {
    serde_json::from_slice(bytes).map_err(|error| ConfigError {
        issues: vec![issue(
            "",
            &format!(
                "not a policy source configuration: {error} (line {}, column {})",
                error.line(),
                error.column()
            ),
        )],
    })
}

/// The first key of a JSON object, when it is a plain (escape-free) string.
fn first_key(bytes: &[u8]) -> Option<&str> {
    let text = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let start = text.iter().position(|b| !b.is_ascii_whitespace())?;
    let rest = text.get(start..)?.strip_prefix(b"{")?;
    let start = rest.iter().position(|b| !b.is_ascii_whitespace())?;
    let rest = rest.get(start..)?.strip_prefix(b"\"")?;
    let end = rest.iter().position(|&b| b == b'"' || b == b'\\')?;
    std::str::from_utf8(rest.get(..end)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_policies_parse_as_before() {
        let parsed = PluginConfiguration::parse(br#"{"hosts":[]}"#).unwrap();
        assert!(matches!(parsed, PluginConfiguration::Inline(_)));
        let error = PluginConfiguration::parse(br#"{"hostz":[]}"#).unwrap_err();
        assert!(error.to_string().contains("hostz"), "{error:?}");
    }

    #[test]
    fn source_and_fetch_shapes_are_recognised() {
        let source = PluginConfiguration::parse(br#" { "policy_source": {"name":"main"}}"#);
        match source.unwrap() {
            PluginConfiguration::Source(s) => {
                assert_eq!(s.name, "main");
                assert_eq!(s.check_interval_ms, 100);
            }
            other => panic!("{other:?}"),
        }
        let fetch = PluginConfiguration::parse(
            br#"{"fetch_policy":{"name":"main","cluster":"policy","authority":"p","path":"/p.json"}}"#,
        );
        match fetch.unwrap() {
            PluginConfiguration::Fetch(f) => {
                assert_eq!(f.digest_path(), "/p.json.sha256");
                assert_eq!(f.piece_bytes, 1024 * 1024);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_source_configurations_list_every_problem() {
        let error = PluginConfiguration::parse(
            br#"{"fetch_policy":{"name":"a.b","cluster":"","authority":"p","path":"p.json","poll_interval_ms":5,"piece_bytes":1}}"#,
        )
        .unwrap_err();
        let text = error.to_string();
        for path in ["name", "cluster", "path", "poll_interval_ms", "piece_bytes"] {
            assert!(text.contains(&format!("fetch_policy.{path}")), "{text}");
        }
        let error = PluginConfiguration::parse(br#"{"policy_source":{"name":"main"},"hosts":[]}"#)
            .unwrap_err();
        assert!(error.to_string().contains("hosts"), "{error:?}");
    }
}
