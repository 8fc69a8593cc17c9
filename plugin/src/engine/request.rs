//! What the engine reads and what it answers.

use std::borrow::Cow;

use serde::Serialize;

use crate::config::{DecisionHeaderNames, FailMode};

/// A request as the engine sees it, built by the filter from Envoy's headers and properties
/// (or by the harness from a traffic record).
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
    /// Envoy's `connection.tls_version` (`TLSv1.3`, …); `None` on plaintext.
    pub tls_version: Option<String>,
    /// Envoy's `source.address` (`ip:port`, `[v6]:port`).
    pub source: Option<String>,
    /// Wall-clock time in seconds since the Unix epoch (JWT and certificate validity).
    pub now_unix_seconds: u64,
    /// Randomness for splits without a stickiness key (the engine itself has no RNG).
    pub entropy: u64,
}

/// Which optional request facts a compiled policy reads. Each is a hostcall for the filter,
/// so it fetches only these ([`crate::engine::Engine::request_needs`]); fields not needed may
/// stay at their defaults without changing any decision.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestNeeds {
    /// [`Request::tls_version`]: some host entry has `min_tls`.
    pub tls_version: bool,
    /// [`Request::source`]: some client-certificate store lists trusted front proxies.
    pub source_address: bool,
    /// [`Request::now_unix_seconds`]: some JWT or client-certificate provider checks validity.
    pub clock: bool,
}

impl Request {
    /// First value of a header (`name` lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What to do with a request. An allow borrows from the engine that decided it, so the
/// common request allocates nothing to be answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision<'e> {
    /// Forward the request upstream after applying the header and path changes.
    Allow(Allow<'e>),
    /// Answer locally.
    Deny(Deny),
}

impl Decision<'_> {
    /// The stable dotted reason: `ok` for allowed requests (`ok.fail_open` when a route's
    /// fail-open mode let it through).
    pub fn reason(&self) -> &str {
        match self {
            Decision::Allow(allow) => allow.reason,
            Decision::Deny(deny) => &deny.reason,
        }
    }

    /// The matched route id, if a route matched.
    pub fn route(&self) -> Option<&str> {
        match self {
            Decision::Allow(allow) => Some(allow.route),
            Decision::Deny(deny) => deny.route.as_deref(),
        }
    }
}

/// An allowed request's routing outcome and changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allow<'e> {
    /// Id of the matched route.
    pub route: &'e str,
    /// The chosen upstream cluster.
    pub cluster: &'e str,
    /// The authenticated consumer, when the route requires auth.
    pub consumer: Option<Cow<'e, str>>,
    /// New `:path` (normalised and/or rewritten) when it differs from the request's.
    pub new_path: Option<String>,
    /// Headers to remove before forwarding: client-sent copies of our decision headers (empty,
    /// and not allocated, when the client sent none).
    pub remove_headers: Vec<&'e str>,
    /// The policy's decision header names, and which of them are emitted.
    pub headers: &'e DecisionHeaderNames,
    /// `ok`, or `ok.fail_open`.
    pub reason: &'static str,
    /// What the filter does if it cannot apply this decision (the route's `fail_mode`).
    pub fail_mode: FailMode,
}

impl Allow<'_> {
    /// Headers to set (replace) before forwarding, in this order: route (when emitted),
    /// cluster (always: Envoy routes by it), consumer (when emitted and authenticated).
    pub fn set_headers(&self) -> impl Iterator<Item = (&str, &str)> {
        let names = self.headers;
        let route = names
            .emit_route
            .then_some((names.route.as_str(), self.route));
        let cluster = Some((names.cluster.as_str(), self.cluster));
        let consumer = self
            .consumer
            .as_deref()
            .filter(|_| names.emit_consumer)
            .map(|who| (names.consumer.as_str(), who));
        [route, cluster, consumer].into_iter().flatten()
    }
}

/// A local reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deny {
    /// HTTP status.
    pub status: u16,
    /// Stable dotted reason, sent as `x-trieguard-reason`.
    pub reason: String,
    /// Human-readable explanation (never contains a secret).
    pub message: String,
    /// The route that matched, when the refusal came after routing.
    pub route: Option<String>,
}

#[derive(Serialize)]
struct DenyBody<'a> {
    status: u16,
    reason: &'a str,
    message: &'a str,
}

impl Deny {
    /// A deny before or without a route.
    pub fn new(status: u16, reason: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            status,
            reason: reason.into(),
            message: message.into(),
            route: None,
        }
    }

    /// The JSON body of the reply: `{"status":N,"reason":"…","message":"…"}`.
    pub fn body(&self) -> String {
        serde_json::to_string(&DenyBody {
            status: self.status,
            reason: &self.reason,
            message: &self.message,
        })
        .unwrap_or_default()
    }
}
