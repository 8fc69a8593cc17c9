//! The JSONL traffic format of `DESIGN.md`: one [`HttpRequest`] object per line; blank lines and
//! lines starting with `#` are skipped.

use super::{Malformed, Traffic, finish};
use crate::host::HttpRequest;

/// Parses JSONL traffic.
pub fn parse(text: &str) -> Traffic {
    let mut t = Traffic::default();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let r = serde_json::from_str::<HttpRequest>(trimmed)
            .map_err(|e| Malformed {
                line: n,
                message: e.to_string(),
            })
            .and_then(|req| finish(n, req));
        match r {
            Ok(rec) => t.records.push(rec),
            Err(m) => t.malformed.push(m),
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_design_example_and_reports_bad_lines() {
        let text = r#"{"id":"r1","method":"GET","authority":"api.example.com","path":"/v1/orders/42?x=1","headers":[["x-api-key","k-123"],["User-Agent","curl/8"]],"tls":{"version":"TLSv1.3"},"source":"203.0.113.7:51234"}

# comment
{"method":"GET","authority":"a","path":"/"}
{"method":"GET","authority":"a"}
not json
{"method":"GET","authority":"a","path":"x"}
"#;
        let t = parse(text);
        assert_eq!(t.records.len(), 2);
        let r = &t.records[0].request;
        assert_eq!(r.id.as_deref(), Some("r1"));
        assert_eq!(r.headers[1].0, "user-agent");
        assert_eq!(r.tls.as_ref().unwrap().version, "TLSv1.3");
        assert_eq!(t.records[1].request.id.as_deref(), Some("4"));
        let lines: Vec<usize> = t.malformed.iter().map(|m| m.line).collect();
        assert_eq!(lines, [5, 6, 7]);
    }
}
