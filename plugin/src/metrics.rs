//! Metric naming: decisions counted per route and reason, name-encoded so that Envoy's
//! `stats_tags` turn the parts into Prometheus labels (see docs/metrics.md).
//!
//! `trieguard.route.<route id>.reason.<reason with '.' → '_'>.requests`, which Envoy shows
//! as `wasmcustom.trieguard.route.orders.reason.auth_jwt_expired.requests`.

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
