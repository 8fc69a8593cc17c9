//! Replaying traffic through a VM and turning each [`Outcome`] into an outcome line of
//! `DESIGN.md`.
//!
//! ```json
//! {"id":"r1","action":"continue","route":"orders","cluster":"orders-v1","consumer":"alice","path":"/orders/42?x=1","latency_ns":2150}
//! {"id":"r2","action":"deny","status":403,"reason":"auth.sm2.chain_invalid","latency_ns":40210}
//! ```
//!
//! `route`/`cluster`/`consumer` are read back from the request headers the plugin set and `path`
//! is the `:path` forwarded upstream, so the same fields can be read from Envoy through an echo
//! upstream. Extensions (documented in the CLI help): `action` is also `error` (Envoy answered
//! itself: `status` and `details`, e.g. 503 `cluster_not_found` or `wasm_fail_stream`) or
//! `stalled` (paused and never resumed); `trap` carries a trap message.

use crate::host::{Action, Outcome, Vm};
use crate::traffic::Record;
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// Names of the decision headers (the plugin's defaults).
#[derive(Debug, Clone)]
pub struct DecisionHeaders {
    /// Route id header.
    pub route: String,
    /// Cluster header.
    pub cluster: String,
    /// Consumer header.
    pub consumer: String,
    /// Deny reason (response header of the local reply).
    pub reason: String,
}

impl Default for DecisionHeaders {
    fn default() -> Self {
        Self {
            route: "x-trieguard-route".to_owned(),
            cluster: "x-trieguard-cluster".to_owned(),
            consumer: "x-trieguard-consumer".to_owned(),
            reason: "x-trieguard-reason".to_owned(),
        }
    }
}

/// One line of the outcome file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeLine {
    /// Request id (the line number when the traffic gave none).
    pub id: String,
    /// `continue`, `deny`, `error` or `stalled`.
    pub action: String,
    /// Status of a reply not from the upstream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u32>,
    /// `x-trieguard-reason` of a deny.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Envoy's response code details of an `error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    /// Route id the plugin set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    /// Cluster the plugin set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// Consumer the plugin set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer: Option<String>,
    /// `:path` forwarded upstream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Trap message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trap: Option<String>,
    /// Time inside the VM, ns.
    pub latency_ns: u64,
}

impl OutcomeLine {
    /// A line for request `id` with only its latency set; callers fill in the decision.
    pub fn empty(id: &str, latency_ns: u64) -> Self {
        Self {
            id: id.to_owned(),
            action: String::new(),
            status: None,
            reason: None,
            details: None,
            route: None,
            cluster: None,
            consumer: None,
            path: None,
            trap: None,
            latency_ns,
        }
    }

    /// Builds the line for request `id` from its outcome.
    pub fn new(id: &str, o: &Outcome, names: &DecisionHeaders) -> Self {
        let header = |n: &str| o.request_header(n).map(str::to_owned);
        let mut line = Self::empty(id, u64::try_from(o.vm_time.as_nanos()).unwrap_or(u64::MAX));
        line.action = action_name(o.action).to_owned();
        line.trap = o.trap.clone();
        match o.action {
            Action::Continue => {
                line.route = header(&names.route);
                line.cluster = header(&names.cluster);
                line.consumer = header(&names.consumer);
                line.path = header(":path");
            }
            Action::Deny => {
                line.status = o.status;
                line.reason = o.response_header(&names.reason).map(str::to_owned);
            }
            Action::Error => {
                line.status = o.status;
                line.details = o.details.clone();
            }
            Action::Stalled => {}
        }
        line
    }

    /// The line without its latency: what must be equal between two runs.
    pub fn decision(&self) -> Self {
        Self {
            latency_ns: 0,
            ..self.clone()
        }
    }
}

/// Lower-case name of an action.
pub fn action_name(a: Action) -> &'static str {
    match a {
        Action::Continue => "continue",
        Action::Deny => "deny",
        Action::Error => "error",
        Action::Stalled => "stalled",
    }
}

/// The result of replaying a traffic file.
#[derive(Debug, Clone, Default)]
pub struct Replay {
    /// One line per request, in traffic order.
    pub lines: Vec<OutcomeLine>,
    /// Wall-clock time of the whole loop (host work included).
    pub wall: Duration,
}

/// Runs every record through `vm` in order; `progress` is called after each request.
pub fn run(
    vm: &mut Vm,
    records: &[Record],
    names: &DecisionHeaders,
    mut progress: impl FnMut(usize),
) -> Replay {
    let t0 = Instant::now();
    let mut lines = Vec::with_capacity(records.len());
    for (i, rec) in records.iter().enumerate() {
        let o = vm.handle(&rec.request);
        let id = rec
            .request
            .id
            .clone()
            .unwrap_or_else(|| rec.line.to_string());
        lines.push(OutcomeLine::new(&id, &o, names));
        progress(i + 1);
    }
    Replay {
        lines,
        wall: t0.elapsed(),
    }
}
