//! Envoy attributes (`proxy_get_property`) computed from the traffic record.
//!
//! Paths arrive as segments joined by NUL. Encodings are Envoy's: strings raw, integers 8-byte
//! little-endian, booleans one byte, timestamps int64 nanoseconds, maps as header-map pairs.
//! Supported (see Envoy's `attributes.rst`):
//!
//! | path | value |
//! |---|---|
//! | `request.path` | `:path` with the query |
//! | `request.url_path` | `:path` without the query |
//! | `request.query` | query without `?` (empty string when none) |
//! | `request.host`, `request.method`, `request.scheme` | `:authority`, `:method`, `:scheme` |
//! | `request.headers` | the current request headers (map) |
//! | `request.referer`, `request.useragent`, `request.id` | those headers (`x-request-id`) |
//! | `request.protocol` | `HTTP/1.1` |
//! | `request.time` | arrival time (timestamp) |
//! | `request.size`, `request.total_size` | 0 (no body in replayed traffic) |
//! | `response.code`, `response.code_details`, `response.headers` | once a response exists |
//! | `source.address`, `source.port` | `ip:port` from the record, port as int |
//! | `destination.address`, `destination.port` | the listener address |
//! | `connection.tls_version` | e.g. `TLSv1.3`; **absent on plaintext** |
//! | `connection.requested_server_name` | SNI; absent when none |
//! | `connection.mtls` | bool (false on plaintext) |
//! | `connection.id` | the stream's context id |
//! | `plugin_name`, `plugin_root_id`, `plugin_vm_id` | the plugin configuration |
//!
//! Anything set with `proxy_set_property` is returned as set. Every other path is `NotFound`.

use super::pairs;
use super::state::ProxyState;

fn split_path(path: &[u8]) -> Vec<&str> {
    let path = path.strip_suffix(&[0]).unwrap_or(path);
    path.split(|b| *b == 0)
        .map(|s| std::str::from_utf8(s).unwrap_or("\u{fffd}"))
        .collect()
}

fn int(v: i64) -> Vec<u8> {
    v.to_le_bytes().to_vec()
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Splits `ip:port` / `[v6]:port` into its port.
fn port_of(addr: &str) -> Option<i64> {
    addr.rsplit_once(':').and_then(|(_, p)| p.parse().ok())
}

/// Removes the trailing NUL some SDKs add, so stored and looked-up keys compare equal.
pub(crate) fn normalise_key(path: &[u8]) -> Vec<u8> {
    path.strip_suffix(&[0]).unwrap_or(path).to_vec()
}

/// Looks up a property; `None` is `NotFound`.
pub(crate) fn lookup(state: &ProxyState, raw_path: &[u8]) -> Option<Vec<u8>> {
    let key = normalise_key(raw_path);
    if let Some(v) = state.stream.as_ref().and_then(|s| s.filter_state.get(&key)) {
        return Some(v.clone());
    }
    if let Some(v) = state.root_filter_state.get(&key) {
        return Some(v.clone());
    }
    let segs = split_path(raw_path);
    let plugin = &state.plugin;
    match segs.as_slice() {
        ["plugin_name"] => return Some(plugin.name.clone().into_bytes()),
        ["plugin_root_id"] => return Some(plugin.root_id.clone().into_bytes()),
        ["plugin_vm_id"] => return Some(plugin.vm_id.clone().into_bytes()),
        ["destination", "address"] => return Some(plugin.listener_address.clone().into_bytes()),
        ["destination", "port"] => return port_of(&plugin.listener_address).map(int),
        _ => {}
    }
    let stream = state.stream.as_ref()?;
    let req = &stream.request;
    let path = req.path.as_str();
    let (url_path, query) = match path.split_once('?') {
        Some((p, q)) => (p, q),
        None => (path, ""),
    };
    let source = req.source.as_deref().unwrap_or(&plugin.default_source);
    let s = |v: &str| Some(v.as_bytes().to_vec());
    match segs.as_slice() {
        ["request", "path"] => s(path),
        ["request", "url_path"] => s(url_path),
        ["request", "query"] => s(query),
        ["request", "host"] => s(&req.authority),
        ["request", "method"] => s(&req.method),
        ["request", "scheme"] => s(req.scheme()),
        ["request", "headers"] => Some(pairs::encode(&stream.request_headers)),
        ["request", "headers", name] => {
            header(&stream.request_headers, &name.to_ascii_lowercase()).and_then(s)
        }
        ["request", "referer"] => header(&stream.request_headers, "referer").and_then(s),
        ["request", "useragent"] => header(&stream.request_headers, "user-agent").and_then(s),
        ["request", "id"] => s(&stream.request_id),
        ["request", "protocol"] => s("HTTP/1.1"),
        ["request", "time"] => Some(int(i64::try_from(stream.start_time_ns).unwrap_or(i64::MAX))),
        ["request", "size" | "total_size"] => Some(int(0)),
        ["response", "code"] => stream.response_code.map(|c| int(i64::from(c))),
        ["response", "code_details"] => stream.response_details.as_deref().and_then(s),
        ["response", "headers"] if stream.response_code.is_some() => {
            Some(pairs::encode(&stream.response_headers))
        }
        ["source", "address"] => s(source),
        ["source", "port"] => port_of(source).map(int),
        ["connection", "tls_version"] => req.tls.as_ref().map(|t| t.version.as_bytes().to_vec()),
        ["connection", "requested_server_name"] => {
            req.tls.as_ref().and_then(|t| t.sni.as_deref()).and_then(s)
        }
        ["connection", "mtls"] => Some(vec![u8::from(req.tls.as_ref().is_some_and(|t| t.mtls))]),
        ["connection", "id"] => Some(int(i64::from(stream.id))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_on_nul_with_or_without_trailing_nul() {
        assert_eq!(split_path(b"source\0address"), vec!["source", "address"]);
        assert_eq!(split_path(b"source\0address\0"), vec!["source", "address"]);
        assert_eq!(port_of("[::1]:8080"), Some(8080));
        assert_eq!(port_of("203.0.113.7:51234"), Some(51234));
    }
}
