//! The policy engine run natively (no wasm): what `explain`, `check-config` and the
//! component comparison use. Turns a traffic record into the engine's `Request`.

use trieguard::engine::Request;

use crate::host::HttpRequest;

/// The engine's view of a traffic record, as the filter builds it in Envoy: pseudo-headers
/// split out, `connection.tls_version` and `source.address` from the record, the given clock.
pub fn engine_request(record: &HttpRequest, now_unix_seconds: u64, entropy: u64) -> Request {
    Request {
        method: record.method.clone(),
        authority: record.authority.clone(),
        path: record.path.clone(),
        headers: record
            .headers
            .iter()
            .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
            .collect(),
        tls_version: record.tls.as_ref().map(|t| t.version.clone()),
        source: record.source.clone(),
        now_unix_seconds,
        entropy,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carries_tls_source_and_lower_cases_names() {
        let record: HttpRequest = serde_json::from_str(
            r#"{"method":"GET","authority":"a","path":"/x?q","headers":[["X-Key","v"]],"tls":{"version":"TLSv1.3"},"source":"203.0.113.7:5"}"#,
        )
        .unwrap();
        let r = engine_request(&record, 7, 9);
        assert_eq!(r.headers, [("x-key".to_owned(), "v".to_owned())]);
        assert_eq!(r.tls_version.as_deref(), Some("TLSv1.3"));
        assert_eq!(
            (r.source.as_deref(), r.now_unix_seconds, r.entropy),
            (Some("203.0.113.7:5"), 7, 9)
        );
    }
}
