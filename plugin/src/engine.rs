//! The policy engine: a compiled policy and `decide(&Request) -> Decision`.
//!
//! Pure Rust with no proxy-wasm types, so every rule is tested natively and the same engine
//! can run in Envoy, in the replay harness and as a component.

use crate::config::{DecisionHeaderNames, PathMatchConfig, PolicyConfig};

/// A request as the engine sees it (built by the filter from Envoy's headers and properties).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// `:method`.
    pub method: String,
    /// `:authority` (may carry a port).
    pub authority: String,
    /// `:path`, including any query string.
    pub path: String,
    /// Regular request headers, names lower-case, order and duplicates kept.
    pub headers: Vec<(String, String)>,
}

/// What to do with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Forward the request upstream after applying these header changes.
    Allow(Allow),
    /// Answer locally.
    Deny(Deny),
}

/// An allowed request's routing outcome and header changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allow {
    /// Id of the matched route.
    pub route: String,
    /// The chosen upstream cluster.
    pub cluster: String,
    /// Headers to remove before forwarding (client-sent copies of our decision headers).
    pub remove_headers: Vec<String>,
    /// Headers to set (replace) before forwarding.
    pub set_headers: Vec<(String, String)>,
}

/// A local reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deny {
    /// HTTP status.
    pub status: u16,
    /// Stable dotted reason, sent as `x-trieguard-reason`.
    pub reason: &'static str,
    /// Human-readable explanation.
    pub message: String,
}

impl Deny {
    /// The JSON body of the reply: `{"status":N,"reason":"…","message":"…"}`.
    pub fn body(&self) -> String {
        serde_json::json!({"status": self.status, "reason": self.reason, "message": self.message})
            .to_string()
    }
}

/// A policy compiled for lookups; immutable and shared by every stream.
#[derive(Debug, Clone)]
pub struct Engine {
    hosts: Vec<CompiledHost>,
    headers: DecisionHeaderNames,
}

#[derive(Debug, Clone)]
struct CompiledHost {
    domains: Vec<String>,
    routes: Vec<CompiledRoute>,
}

#[derive(Debug, Clone)]
struct CompiledRoute {
    id: String,
    path_match: PathMatchConfig,
    cluster: String,
}

impl Engine {
    /// Compiles a validated policy.
    pub fn compile(config: &PolicyConfig) -> Self {
        let hosts = config
            .hosts
            .iter()
            .map(|h| CompiledHost {
                domains: h.domains.iter().map(|d| d.to_ascii_lowercase()).collect(),
                routes: h
                    .routes
                    .iter()
                    .map(|r| CompiledRoute {
                        id: r.id.clone(),
                        path_match: r.path_match.clone(),
                        cluster: r.upstream.cluster.clone(),
                    })
                    .collect(),
            })
            .collect();
        Self {
            hosts,
            headers: config.decision_headers.clone(),
        }
    }

    /// The decision header names this engine writes.
    pub fn decision_headers(&self) -> &DecisionHeaderNames {
        &self.headers
    }

    /// Decides what happens to one request.
    pub fn decide(&self, request: &Request) -> Decision {
        let host_name = host_without_port(&request.authority).to_ascii_lowercase();
        let Some(host) = self.find_host(&host_name) else {
            return Decision::Deny(Deny {
                status: 404,
                reason: "route.no_host",
                message: format!("no host entry serves '{host_name}'"),
            });
        };
        let path = request.path.split('?').next().unwrap_or_default();
        let Some(route) = host
            .routes
            .iter()
            .find(|r| path_matches(&r.path_match, path))
        else {
            return Decision::Deny(Deny {
                status: 404,
                reason: "route.no_match",
                message: format!("no route matches '{path}'"),
            });
        };
        let names = &self.headers;
        let remove_headers = [&names.route, &names.cluster, &names.consumer]
            .into_iter()
            .filter(|name| request.headers.iter().any(|(n, _)| n == *name))
            .cloned()
            .collect();
        Decision::Allow(Allow {
            route: route.id.clone(),
            cluster: route.cluster.clone(),
            remove_headers,
            set_headers: vec![
                (names.route.clone(), route.id.clone()),
                (names.cluster.clone(), route.cluster.clone()),
            ],
        })
    }

    fn find_host(&self, host: &str) -> Option<&CompiledHost> {
        let matches = |pattern: &str| {
            pattern == host
                || pattern
                    .strip_prefix("*.")
                    .is_some_and(|suffix| host.len() > suffix.len() + 1 && host.ends_with(suffix))
        };
        self.hosts
            .iter()
            .find(|h| h.domains.iter().any(|d| matches(d)))
            .or_else(|| {
                self.hosts
                    .iter()
                    .find(|h| h.domains.iter().any(|d| d == "*"))
            })
    }
}

fn host_without_port(authority: &str) -> &str {
    match authority.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || authority.starts_with('[') => {
            if port.bytes().all(|b| b.is_ascii_digit()) {
                host
            } else {
                authority
            }
        }
        _ => authority,
    }
}

fn path_matches(path_match: &PathMatchConfig, path: &str) -> bool {
    match path_match {
        PathMatchConfig::Exact(p) => p == path,
        PathMatchConfig::Prefix(p) => path.starts_with(p.as_str()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine() -> Engine {
        let config = PolicyConfig::from_json(
            br#"{"hosts":[
              {"domains":["api.example.com","*.tenant.example.com"],"routes":[
                {"id":"orders","match":{"prefix":"/orders"},"upstream":{"cluster":"orders"}},
                {"id":"health","match":{"exact":"/healthz"},"upstream":{"cluster":"ops"}}]},
              {"domains":["*"],"routes":[
                {"id":"fallback","match":{"prefix":"/"},"upstream":{"cluster":"default"}}]}]}"#,
        )
        .unwrap();
        Engine::compile(&config)
    }

    fn get(authority: &str, path: &str) -> Request {
        Request {
            method: "GET".into(),
            authority: authority.into(),
            path: path.into(),
            headers: vec![],
        }
    }

    fn allowed(decision: Decision) -> Allow {
        match decision {
            Decision::Allow(a) => a,
            Decision::Deny(d) => panic!("denied: {d:?}"),
        }
    }

    #[test]
    fn routes_by_host_and_path() {
        let e = engine();
        assert_eq!(
            allowed(e.decide(&get("api.example.com", "/orders/1"))).cluster,
            "orders"
        );
        assert_eq!(
            allowed(e.decide(&get("API.example.com:8443", "/healthz?x=1"))).route,
            "health"
        );
        assert_eq!(
            allowed(e.decide(&get("a.tenant.example.com", "/orders"))).route,
            "orders"
        );
        assert_eq!(
            allowed(e.decide(&get("other.example.com", "/x"))).route,
            "fallback"
        );
    }

    #[test]
    fn no_match_is_a_404_with_reason() {
        let e = engine();
        let Decision::Deny(d) = e.decide(&get("api.example.com", "/nothing")) else {
            panic!("expected deny")
        };
        assert_eq!((d.status, d.reason), (404, "route.no_match"));
        let body: serde_json::Value = serde_json::from_str(&d.body()).unwrap();
        assert_eq!(body["reason"], "route.no_match");
        assert_eq!(body["status"], 404);
    }

    #[test]
    fn wildcard_never_matches_the_bare_suffix() {
        let e = engine();
        assert_eq!(
            allowed(e.decide(&get("tenant.example.com", "/orders"))).route,
            "fallback"
        );
    }

    #[test]
    fn client_sent_decision_headers_are_removed_and_ours_set() {
        let e = engine();
        let mut r = get("api.example.com", "/orders");
        r.headers
            .push(("x-trieguard-cluster".into(), "admin".into()));
        let a = allowed(e.decide(&r));
        assert_eq!(a.remove_headers, ["x-trieguard-cluster"]);
        assert!(
            a.set_headers
                .contains(&("x-trieguard-cluster".into(), "orders".into()))
        );
    }
}
