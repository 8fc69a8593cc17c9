//! The policy configuration: the JSON an operator writes, parsed and validated.
//!
//! Parsing is strict (`deny_unknown_fields`), and validation collects *every* problem with the
//! JSON path it concerns, so an operator fixes a rejected policy in one round.

use serde::Deserialize;
use std::fmt;

/// Configuration bytes larger than this are refused before parsing: a policy that big is a
/// mistake (or an attack on the VM's memory), not a gateway configuration.
pub const MAX_CONFIG_BYTES: usize = 64 * 1024 * 1024;

/// The whole policy, as delivered in the filter's `configuration`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// Virtual hosts, each with its domains and routes.
    pub hosts: Vec<HostConfig>,
    /// Names of the headers trieguard sets on allowed requests.
    #[serde(default)]
    pub decision_headers: DecisionHeaderNames,
}

/// One virtual host.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostConfig {
    /// Domains served by this entry: exact names, `*.suffix` wildcards or `*`.
    pub domains: Vec<String>,
    /// Routes in declaration order.
    pub routes: Vec<RouteConfig>,
}

/// One route.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Stable identifier, reported in `x-trieguard-route` and in metrics.
    pub id: String,
    /// Which request paths this route matches.
    #[serde(rename = "match")]
    pub path_match: PathMatchConfig,
    /// Where matching requests go.
    pub upstream: UpstreamConfig,
}

/// How a route matches the request path (the query string never takes part).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum PathMatchConfig {
    /// The path equals this string.
    Exact(String),
    /// The path starts with this string (Envoy's `prefix`).
    Prefix(String),
}

/// The upstream of a route.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamConfig {
    /// Envoy cluster name, written to the cluster decision header.
    pub cluster: String,
}

/// Names of the decision headers (DESIGN: configurable, these defaults).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DecisionHeaderNames {
    /// Route id header.
    pub route: String,
    /// Chosen cluster header (Envoy's route uses it as `cluster_header`).
    pub cluster: String,
    /// Authenticated consumer header.
    pub consumer: String,
}

impl Default for DecisionHeaderNames {
    fn default() -> Self {
        Self {
            route: "x-trieguard-route".to_owned(),
            cluster: "x-trieguard-cluster".to_owned(),
            consumer: "x-trieguard-consumer".to_owned(),
        }
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
    fn single(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            issues: vec![ConfigIssue {
                path: path.into(),
                message: message.into(),
            }],
        }
    }
}

impl PolicyConfig {
    /// Parses and validates a policy from JSON bytes.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ConfigError> {
        if bytes.len() > MAX_CONFIG_BYTES {
            return Err(ConfigError::single(
                "",
                format!(
                    "configuration is {} bytes, above the {MAX_CONFIG_BYTES}-byte limit",
                    bytes.len()
                ),
            ));
        }
        let config: PolicyConfig = serde_json::from_slice(bytes).map_err(|e| {
            ConfigError::single(
                "",
                format!(
                    "not a valid policy: {e} (line {}, column {})",
                    e.line(),
                    e.column()
                ),
            )
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what serde cannot: non-empty names, well-formed matches.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut issues = Vec::new();
        let mut issue = |path: String, message: &str| {
            issues.push(ConfigIssue {
                path,
                message: message.to_owned(),
            })
        };
        if self.hosts.is_empty() {
            issue("hosts".into(), "at least one host entry is required");
        }
        for (h, host) in self.hosts.iter().enumerate() {
            if host.domains.is_empty() {
                issue(
                    format!("hosts[{h}].domains"),
                    "at least one domain is required",
                );
            }
            for (d, domain) in host.domains.iter().enumerate() {
                if domain.is_empty() {
                    issue(format!("hosts[{h}].domains[{d}]"), "domain is empty");
                }
            }
            for (r, route) in host.routes.iter().enumerate() {
                let at = format!("hosts[{h}].routes[{r}]");
                if route.id.is_empty() {
                    issue(format!("{at}.id"), "route id is empty");
                }
                let (kind, path) = match &route.path_match {
                    PathMatchConfig::Exact(p) => ("exact", p),
                    PathMatchConfig::Prefix(p) => ("prefix", p),
                };
                if !path.starts_with('/') {
                    issue(format!("{at}.match.{kind}"), "path must start with '/'");
                }
                if route.upstream.cluster.is_empty() {
                    issue(format!("{at}.upstream.cluster"), "cluster name is empty");
                }
            }
        }
        if issues.is_empty() {
            Ok(())
        } else {
            Err(ConfigError { issues })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_minimal_policy() {
        let config = PolicyConfig::from_json(
            br#"{"hosts":[{"domains":["*"],"routes":[
                {"id":"orders","match":{"prefix":"/orders"},"upstream":{"cluster":"orders"}}]}]}"#,
        )
        .unwrap();
        assert_eq!(config.hosts[0].routes[0].id, "orders");
        assert_eq!(config.decision_headers.cluster, "x-trieguard-cluster");
    }

    #[test]
    fn unknown_fields_are_rejected_with_position() {
        let err = PolicyConfig::from_json(br#"{"hosts":[],"bogus":1}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field `bogus`"), "{err}");
        assert!(err.to_string().contains("line 1"), "{err}");
    }

    #[test]
    fn every_problem_is_reported_with_its_path() {
        let err = PolicyConfig::from_json(
            br#"{"hosts":[{"domains":[""],"routes":[
                {"id":"","match":{"exact":"orders"},"upstream":{"cluster":""}}]}]}"#,
        )
        .unwrap_err();
        let paths: Vec<_> = err.issues.iter().map(|i| i.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "hosts[0].domains[0]",
                "hosts[0].routes[0].id",
                "hosts[0].routes[0].match.exact",
                "hosts[0].routes[0].upstream.cluster"
            ]
        );
    }

    #[test]
    fn oversized_configuration_is_refused_before_parsing() {
        let big = vec![b' '; MAX_CONFIG_BYTES + 1];
        let err = PolicyConfig::from_json(&big).unwrap_err();
        assert!(err.to_string().contains("limit"), "{err}");
    }
}
