//! HAR 1.2 (`log.entries[].request`), as browsers export it.
//!
//! Read per entry: `request.method`; `request.url` (scheme, authority, path and query);
//! `request.headers[].name/value` in order. HTTP/2 pseudo-headers and `host` are dropped (they are
//! `:authority` etc.), and so are the connection-specific headers Envoy removes before filters run
//! (`connection`, `keep-alive`, `proxy-connection`, `transfer-encoding`, `upgrade`). HAR does not
//! record the TLS version or the client address: `https` URLs are replayed as `TLSv1.3`, and the
//! source address is left to the host's default. "Line" numbers in errors are entry numbers.

use super::{Malformed, Record, Traffic, finish};
use crate::host::{HttpRequest, Tls};
use serde::Deserialize;

/// TLS version assumed for `https` entries (HAR does not record it).
pub const HAR_TLS_VERSION: &str = "TLSv1.3";

/// Headers Envoy's HTTP/1 codec and connection manager remove before any filter sees them.
const CONNECTION_HEADERS: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
];

#[derive(Deserialize)]
struct Har {
    log: Log,
}

#[derive(Deserialize)]
struct Log {
    entries: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct Entry {
    request: Request,
}

#[derive(Deserialize)]
struct Request {
    method: String,
    url: String,
    #[serde(default)]
    headers: Vec<Header>,
}

#[derive(Deserialize)]
struct Header {
    name: String,
    value: String,
}

/// Splits an absolute URL into scheme, authority and path-with-query (fragment dropped).
fn split_url(url: &str) -> Option<(String, String, String)> {
    let (scheme, rest) = url.split_once("://")?;
    let rest = rest.split('#').next().unwrap_or("");
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => (rest.get(..i)?, rest.get(i..)?),
        None => (rest, "/"),
    };
    let path = if path.starts_with('?') {
        format!("/{path}")
    } else {
        path.to_owned()
    };
    if authority.is_empty() {
        return None;
    }
    Some((scheme.to_ascii_lowercase(), authority.to_owned(), path))
}

fn entry(n: usize, v: serde_json::Value) -> Result<Record, Malformed> {
    let bad = |message: String| Malformed { line: n, message };
    let e: Entry = serde_json::from_value(v).map_err(|e| bad(e.to_string()))?;
    let (scheme, authority, path) = split_url(&e.request.url)
        .ok_or_else(|| bad(format!("not an absolute URL: {}", e.request.url)))?;
    let headers = e
        .request
        .headers
        .into_iter()
        .map(|h| (h.name.to_ascii_lowercase(), h.value))
        .filter(|(k, _)| {
            !k.starts_with(':') && k != "host" && !CONNECTION_HEADERS.contains(&k.as_str())
        })
        .collect();
    let tls = (scheme == "https").then(|| Tls {
        version: HAR_TLS_VERSION.to_owned(),
        sni: None,
        mtls: false,
    });
    finish(
        n,
        HttpRequest {
            id: None,
            method: e.request.method,
            authority,
            path,
            scheme: Some(scheme),
            headers,
            tls,
            source: None,
        },
    )
}

/// Parses a HAR document.
pub fn parse(text: &str) -> Traffic {
    let mut t = Traffic::default();
    let har: Har = match serde_json::from_str(text) {
        Ok(h) => h,
        Err(e) => {
            t.malformed.push(Malformed {
                line: 0,
                message: format!("not a HAR document: {e}"),
            });
            return t;
        }
    };
    for (i, v) in har.log.entries.into_iter().enumerate() {
        match entry(i + 1, v) {
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
    fn reads_browser_entries() {
        let text = r#"{"log":{"version":"1.2","entries":[
          {"request":{"method":"GET","url":"https://api.example.com/orders/42?x=1#frag","httpVersion":"HTTP/2",
            "headers":[{"name":":authority","value":"api.example.com"},{"name":"X-Api-Key","value":"k"},
                       {"name":"Connection","value":"keep-alive"},{"name":"Host","value":"api.example.com"}]}},
          {"request":{"method":"POST","url":"http://h:8080?q"}},
          {"request":{"method":"GET","url":"/relative"}},
          {"response":{}}
        ]}}"#;
        let t = parse(text);
        assert_eq!(t.records.len(), 2);
        let r = &t.records[0].request;
        assert_eq!(
            (r.authority.as_str(), r.path.as_str()),
            ("api.example.com", "/orders/42?x=1")
        );
        assert_eq!(r.headers, vec![("x-api-key".to_owned(), "k".to_owned())]);
        assert_eq!(r.tls.as_ref().unwrap().version, "TLSv1.3");
        let r = &t.records[1].request;
        assert_eq!(
            (r.authority.as_str(), r.path.as_str(), r.tls.is_none()),
            ("h:8080", "/?q", true)
        );
        assert_eq!(
            t.malformed.iter().map(|m| m.line).collect::<Vec<_>>(),
            [3, 4]
        );
        assert_eq!(parse("{}").malformed[0].line, 0);
    }
}
