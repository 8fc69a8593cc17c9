//! Envoy JSON access logs (`json_format`), one object per line, in the format shipped as
//! `examples/envoy-access-log-format.json`.
//!
//! | key | Envoy command | use |
//! |---|---|---|
//! | `method` | `%REQ(:METHOD)%` | required |
//! | `authority` | `%REQ(:AUTHORITY)%` | required |
//! | `path` | `%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%` | required; the path before any rewrite |
//! | `scheme` | `%REQ(:SCHEME)%` | optional |
//! | `tls_version` | `%DOWNSTREAM_TLS_VERSION%` | absent, `null` or `-` → plaintext |
//! | `source` | `%DOWNSTREAM_REMOTE_ADDRESS%` | `ip:port` |
//! | `id` | `%REQ(X-REQUEST-ID)%` | optional record id |
//! | `req.<name>` | `%REQ(<NAME>)%` | request header `<name>` (absent when `null` or `-`) |
//!
//! Other keys are ignored. Access logs see headers after the filters ran, so do not log the
//! decision headers (`x-trieguard-*`) as `req.` keys: the plugin would see its own output.

use super::{Malformed, Traffic, finish};
use crate::host::{HttpRequest, Tls};
use serde_json::{Map, Value};

fn text(obj: &Map<String, Value>, key: &str) -> Option<String> {
    match obj.get(key) {
        Some(Value::String(s)) if s != "-" && !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

fn line(n: usize, l: &str) -> Result<super::Record, Malformed> {
    let bad = |message: String| Malformed { line: n, message };
    let v: Value = serde_json::from_str(l).map_err(|e| bad(e.to_string()))?;
    let Value::Object(obj) = v else {
        return Err(bad("not a JSON object".to_owned()));
    };
    let need = |k: &str| text(&obj, k).ok_or_else(|| bad(format!("missing {k:?}")));
    let headers = obj
        .keys()
        .filter_map(|k| k.strip_prefix("req.").map(|name| (k, name)))
        .filter_map(|(k, name)| text(&obj, k).map(|v| (name.to_ascii_lowercase(), v)))
        .collect();
    let request = HttpRequest {
        id: text(&obj, "id"),
        method: need("method")?,
        authority: need("authority")?,
        path: need("path")?,
        scheme: text(&obj, "scheme"),
        headers,
        tls: text(&obj, "tls_version").map(|version| Tls {
            version,
            sni: None,
            mtls: false,
        }),
        source: text(&obj, "source"),
    };
    finish(n, request)
}

/// Parses an Envoy JSON access log.
pub fn parse(text: &str) -> Traffic {
    let mut t = Traffic::default();
    for (i, l) in text.lines().enumerate() {
        if l.trim().is_empty() {
            continue;
        }
        match line(i + 1, l) {
            Ok(r) => t.records.push(r),
            Err(m) => t.malformed.push(m),
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_shipped_format() {
        let log = r#"{"method":"GET","authority":"api.example.com","path":"/orders/1","scheme":"https","tls_version":"TLSv1.2","source":"10.0.0.1:5000","id":"abc","req.x-api-key":"k","req.authorization":null,"status":200}
{"method":"GET","authority":"a","path":"/","tls_version":"-","req.user-agent":"-"}
{"method":"GET","path":"/"}
[1]"#;
        let t = parse(log);
        assert_eq!(t.records.len(), 2);
        let r = &t.records[0].request;
        assert_eq!(r.id.as_deref(), Some("abc"));
        assert_eq!(r.tls.as_ref().unwrap().version, "TLSv1.2");
        assert_eq!(r.headers, vec![("x-api-key".to_owned(), "k".to_owned())]);
        assert!(t.records[1].request.tls.is_none());
        assert!(t.records[1].request.headers.is_empty());
        assert_eq!(
            t.malformed.iter().map(|m| m.line).collect::<Vec<_>>(),
            [3, 4]
        );
    }

    #[test]
    fn the_shipped_format_file_matches_this_reader() {
        let text = include_str!("../../../examples/envoy-access-log-format.json");
        let v: Value = serde_json::from_str(text).unwrap();
        let fmt = v["json_format"].as_object().unwrap();
        assert_eq!(fmt["method"], "%REQ(:METHOD)%");
        assert_eq!(fmt["authority"], "%REQ(:AUTHORITY)%");
        assert_eq!(fmt["path"], "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%");
        assert_eq!(fmt["tls_version"], "%DOWNSTREAM_TLS_VERSION%");
        assert_eq!(fmt["source"], "%DOWNSTREAM_REMOTE_ADDRESS%");
        for (k, cmd) in fmt {
            if let Some(name) = k.strip_prefix("req.") {
                assert_eq!(
                    cmd.as_str().unwrap(),
                    format!("%REQ({})%", name.to_ascii_uppercase())
                );
                assert!(
                    !name.starts_with("x-trieguard-"),
                    "decision headers are outputs"
                );
            }
        }
    }
}
