//! Metric naming: decisions counted per route and reason, name-encoded so that Envoy's
//! `stats_tags` turn the parts into Prometheus labels (see docs/metrics.md).
//!
//! `trieguard.route.<route id>.reason.<reason with '.' → '_'>.requests`, which Envoy shows
//! as `wasmcustom.trieguard.route.orders.reason.auth_jwt_expired.requests`.

use std::collections::HashMap;

/// Route name the pairs beyond [`MetricIds`]'s bound are counted under.
pub const OVERFLOW_ROUTE: &str = "_other";

/// Counter ids by (route, reason), at most `max` distinct pairs (further pairs are counted
/// under route [`OVERFLOW_ROUTE`], so a policy with 100k routes cannot exhaust Envoy's stats
/// memory). A known pair is found without allocating: the lookup key is built in a reused
/// buffer, and the sanitised metric name is only formatted when a pair is first defined.
#[derive(Debug)]
pub struct MetricIds {
    /// foldhash: a request's lookup hashes its key once, and SipHash was the larger part of
    /// that in the harness profile. Keys come from the policy (route ids) and a fixed set of
    /// reasons, never from a client.
    ids: HashMap<String, u32, foldhash::fast::RandomState>,
    key: String,
    max: usize,
}

impl MetricIds {
    /// An empty table allowing `max` distinct pairs (plus the overflow pairs).
    pub fn new(max: usize) -> Self {
        Self {
            ids: HashMap::default(),
            key: String::new(),
            max,
        }
    }

    /// The id of the counter for (route, reason); `define` creates a counter from its name
    /// the first time a pair is seen (`None` when the host refuses; retried next time).
    pub fn id(
        &mut self,
        route: &str,
        reason: &str,
        define: impl FnOnce(&str) -> Option<u32>,
    ) -> Option<u32> {
        self.set_key(route, reason);
        if let Some(id) = self.ids.get(self.key.as_str()) {
            return Some(*id);
        }
        let route = if self.ids.len() >= self.max && route != OVERFLOW_ROUTE {
            self.set_key(OVERFLOW_ROUTE, reason);
            if let Some(id) = self.ids.get(self.key.as_str()) {
                return Some(*id);
            }
            OVERFLOW_ROUTE
        } else {
            route
        };
        let id = define(&metric_name(route, reason))?;
        self.ids.insert(self.key.clone(), id);
        Some(id)
    }

    /// Number of pairs with a counter.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether no counter was defined yet.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// `route` and `reason` joined by a newline, which neither can contain (route ids are
    /// validated, reasons are ours).
    fn set_key(&mut self, route: &str, reason: &str) {
        self.key.clear();
        self.key.push_str(route);
        self.key.push('\n');
        self.key.push_str(reason);
    }
}

/// The counter name for a (route, reason) pair. Route ids are `[A-Za-z0-9_-]` (validated), so
/// the only `.` in the name are separators.
pub fn metric_name(route: &str, reason: &str) -> String {
    let sanitize = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    format!(
        "trieguard.route.{}.reason.{}.requests",
        sanitize(route),
        sanitize(reason)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_defined_once_per_pair_and_bounded() {
        let mut ids = MetricIds::new(2);
        let mut defined = Vec::new();
        let mut define = |name: &str| {
            defined.push(name.to_owned());
            u32::try_from(defined.len()).ok()
        };
        assert_eq!(ids.id("a", "ok", &mut define), Some(1));
        assert_eq!(ids.id("a", "ok", &mut define), Some(1));
        assert_eq!(ids.id("b", "auth.missing", &mut define), Some(2));
        // Full: a third route is counted under the overflow route, defined once per reason.
        assert_eq!(ids.id("c", "ok", &mut define), Some(3));
        assert_eq!(ids.id("d", "ok", &mut define), Some(3));
        assert_eq!(ids.id("a", "ok", &mut define), Some(1));
        assert_eq!(
            defined,
            [
                "trieguard.route.a.reason.ok.requests",
                "trieguard.route.b.reason.auth_missing.requests",
                "trieguard.route._other.reason.ok.requests",
            ]
        );
        assert_eq!(ids.len(), 3);
    }

    #[test]
    fn a_refused_definition_is_retried() {
        let mut ids = MetricIds::new(8);
        assert_eq!(ids.id("a", "ok", |_| None), None);
        assert!(ids.is_empty());
        assert_eq!(ids.id("a", "ok", |_| Some(7)), Some(7));
        assert_eq!(ids.id("a", "ok", |_| Some(9)), Some(7));
    }

    #[test]
    fn names_keep_one_dot_per_separator() {
        assert_eq!(
            metric_name("orders-v1", "auth.jwt.expired"),
            "trieguard.route.orders-v1.reason.auth_jwt_expired.requests"
        );
        assert_eq!(
            metric_name("a.b", "ok"),
            "trieguard.route.a_b.reason.ok.requests"
        );
    }
}
