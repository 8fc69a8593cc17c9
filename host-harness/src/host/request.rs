//! One downstream request as the host receives it (the traffic record of `DESIGN.md`).

use serde::{Deserialize, Serialize};

/// Downstream TLS facts of a request; absent on plaintext.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tls {
    /// Negotiated version as Envoy names it, e.g. `TLSv1.3`.
    pub version: String,
    /// SNI (`connection.requested_server_name`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sni: Option<String>,
    /// Whether the client presented a certificate (`connection.mtls`).
    #[serde(default)]
    pub mtls: bool,
}

/// A request record: one line of the JSONL traffic format.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpRequest {
    /// Identifier echoed in the outcome (the line number when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `:method`.
    pub method: String,
    /// `:authority`.
    pub authority: String,
    /// `:path`, including the query.
    pub path: String,
    /// `:scheme`; defaults to `https` with TLS and `http` without.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    /// Other headers in arrival order, names lower-case, duplicates kept.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// Downstream TLS; `None` means plaintext.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<Tls>,
    /// Downstream peer `ip:port` (`[v6]:port`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl HttpRequest {
    /// The request's `:scheme`.
    pub fn scheme(&self) -> &str {
        match &self.scheme {
            Some(s) => s,
            None if self.tls.is_some() => "https",
            None => "http",
        }
    }
}
