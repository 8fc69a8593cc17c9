//! `proxy_http_call` made for real, over HTTP/1.1 to a loopback address, with Envoy's outcomes.
//!
//! ```text
//!  proxy_http_call(cluster, pairs, body, trailers, timeout)      (in the guest's callback)
//!     ├─ unknown cluster, timeout < 0, no :method/:path/:authority → BadArgument (Envoy's checks)
//!     └─ token ← next id; a thread sends `:method :path` with `Host: :authority` to the address
//!  Vm::pump()                                                     (when the test says so)
//!     └─ joins the calls in dispatch order; for each, with the response readable only then:
//!        proxy_on_http_call_response(context, token, headers, body_size, trailers)
//! ```
//!
//! What the callback sees follows Envoy's async client (`source/common/http/async_client_impl.cc`
//! and the router it runs): a response, whatever its status, is a success; a connection that fails
//! before response headers is the router's local reply `503` (`upstream connect error or
//! disconnect/reset before headers. reset reason: …`); no response headers within the timeout is
//! `504` `upstream request timeout`; a failure after the headers (reset, body cut short, timeout,
//! or a body above [`MAX_RESPONSE_BYTES`]) is `onFailure`: the callback with 0 headers and an
//! empty body. A timeout of 0 means none in Envoy; the harness caps it at [`NO_TIMEOUT_CAP`].
//! Response trailers are not read (HTTP/1.1 servers rarely send them): 0 trailers.

use super::abi::WasmResult;
use super::pairs::Header;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::thread::JoinHandle;
use std::time::Duration;

/// Largest response body kept: a bigger one fails the call like Envoy's buffer limit does
/// (`ExceedResponseBufferLimit`). Large enough for trieguard's biggest policy piece (16 MiB).
pub const MAX_RESPONSE_BYTES: u64 = 64 * 1024 * 1024;

/// Longest a call with timeout 0 (Envoy: no timeout) may take here: tests must end.
pub const NO_TIMEOUT_CAP: Duration = Duration::from_secs(60);

/// The clusters `proxy_http_call` can reach: name → loopback address.
#[derive(Debug, Clone, Default)]
pub struct HttpClusters {
    by_name: BTreeMap<String, SocketAddr>,
}

/// Why a cluster was not added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpClusterError {
    /// The harness only calls loopback addresses.
    #[error(
        "cluster {cluster}: {address} is not a loopback address (the harness calls only loopback)"
    )]
    NotLoopback {
        /// Cluster name.
        cluster: String,
        /// The address given.
        address: SocketAddr,
    },
}

impl HttpClusters {
    /// No clusters: every `proxy_http_call` answers `BadArgument`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) cluster `name` at `address`, which must be loopback.
    pub fn with(mut self, name: &str, address: SocketAddr) -> Result<Self, HttpClusterError> {
        if !address.ip().is_loopback() {
            return Err(HttpClusterError::NotLoopback {
                cluster: name.to_owned(),
                address,
            });
        }
        self.by_name.insert(name.to_owned(), address);
        Ok(self)
    }

    /// The address of cluster `name`.
    pub fn get(&self, name: &str) -> Option<SocketAddr> {
        self.by_name.get(name).copied()
    }
}

/// A request as the plugin described it, checked the way Envoy checks it.
#[derive(Debug, Clone)]
pub(crate) struct CallRequest {
    address: SocketAddr,
    method: String,
    path: String,
    authority: String,
    headers: Vec<Header>,
    body: Vec<u8>,
    timeout: Duration,
}

impl CallRequest {
    /// Envoy's `Context::httpCall` checks: a negative timeout, an unknown cluster, or a missing
    /// `:path`, `:method` or `:authority` is `BadArgument`.
    pub(crate) fn new(
        clusters: &HttpClusters,
        cluster: &str,
        pairs: Vec<Header>,
        body: Vec<u8>,
        timeout_ms: i32,
    ) -> Result<Self, WasmResult> {
        let timeout = match u64::try_from(timeout_ms) {
            Ok(0) => NO_TIMEOUT_CAP,
            Ok(ms) => Duration::from_millis(ms),
            Err(_) => return Err(WasmResult::BadArgument),
        };
        let address = clusters.get(cluster).ok_or(WasmResult::BadArgument)?;
        let (mut method, mut path, mut authority) = (None, None, None);
        let mut headers = Vec::new();
        for (name, value) in pairs {
            let name = name.to_ascii_lowercase();
            match name.as_str() {
                ":method" => method = Some(value),
                ":path" => path = Some(value),
                ":authority" | "host" => authority = Some(value),
                // Other pseudo-headers (`:scheme`) are not sent on HTTP/1.1.
                _ if name.starts_with(':') => {}
                _ => headers.push((name, value)),
            }
        }
        match (method, path, authority) {
            (Some(method), Some(path), Some(authority)) => Ok(Self {
                address,
                method,
                path,
                authority,
                headers,
                body,
                timeout,
            }),
            _ => Err(WasmResult::BadArgument),
        }
    }

    /// Starts the call on its own thread (it ends within the timeout).
    pub(crate) fn send(self) -> Result<JoinHandle<CallResponse>, WasmResult> {
        std::thread::Builder::new()
            .name("proxy_http_call".to_owned())
            .spawn(move || self.perform())
            .map_err(|_| WasmResult::InternalFailure)
    }

    fn perform(self) -> CallResponse {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(self.timeout))
            .max_redirects(0)
            .max_redirects_will_error(false)
            .proxy(None)
            .user_agent(ureq::config::AutoHeaderValue::None)
            .accept(ureq::config::AutoHeaderValue::None)
            .build()
            .new_agent();
        let url = format!("http://{}{}", self.address, self.path);
        let mut builder = ureq::http::Request::builder()
            .method(self.method.as_str())
            .uri(url)
            .header("host", self.authority.as_str());
        for (name, value) in &self.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let Ok(request) = builder.body(self.body) else {
            return CallResponse::local_reply(
                503,
                "upstream connect error or disconnect/reset before headers. reset reason: protocol error",
            );
        };
        let mut response = match agent.run(request) {
            Ok(response) => response,
            Err(error) => return CallResponse::before_headers(&error),
        };
        let mut headers = vec![(":status".to_owned(), response.status().as_u16().to_string())];
        headers.extend(response.headers().iter().map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        }));
        match response
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE_BYTES)
            .read_to_vec()
        {
            Ok(body) => CallResponse {
                headers,
                body,
                trailers: Vec::new(),
            },
            // Envoy's onFailure: the stream was reset after the headers.
            Err(_) => CallResponse::failure(),
        }
    }
}

/// What the callback reads: headers (`:status` first), body, trailers. No headers at all is
/// Envoy's `onFailure`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallResponse {
    /// `HttpCallResponseHeaders`.
    pub headers: Vec<Header>,
    /// `HttpCallResponseBody`.
    pub body: Vec<u8>,
    /// `HttpCallResponseTrailers`.
    pub trailers: Vec<Header>,
}

impl CallResponse {
    /// Envoy's `onFailure`: 0 headers, empty body.
    pub(crate) fn failure() -> Self {
        Self::default()
    }

    /// A reply the router in Envoy's async client makes itself.
    fn local_reply(status: u16, body: &str) -> Self {
        Self {
            headers: vec![
                (":status".to_owned(), status.to_string()),
                ("content-length".to_owned(), body.len().to_string()),
                ("content-type".to_owned(), "text/plain".to_owned()),
            ],
            body: body.as_bytes().to_vec(),
            trailers: Vec::new(),
        }
    }

    /// The router's reply when no response headers arrived.
    fn before_headers(error: &ureq::Error) -> Self {
        let reason = match error {
            ureq::Error::Timeout(_) => return Self::local_reply(504, "upstream request timeout"),
            ureq::Error::Io(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                "remote connection failure, transport failure reason: delayed connect error: Connection refused"
            }
            ureq::Error::ConnectionFailed | ureq::Error::HostNotFound => {
                "remote connection failure"
            }
            ureq::Error::Io(_) => "connection termination",
            _ => "protocol error",
        };
        Self::local_reply(
            503,
            &format!(
                "upstream connect error or disconnect/reset before headers. reset reason: {reason}"
            ),
        )
    }
}

/// A call in flight: who made it, and the thread making it.
#[derive(Debug)]
pub(crate) struct InFlight {
    /// The token `proxy_http_call` returned.
    pub(crate) token: u32,
    /// The context that made the call (the response goes to it).
    pub(crate) context: u32,
    /// The thread making the call.
    pub(crate) handle: JoinHandle<CallResponse>,
}

impl InFlight {
    /// Waits for the response (bounded by the call's timeout).
    pub(crate) fn wait(self) -> CallResponse {
        self.handle
            .join()
            .unwrap_or_else(|_| CallResponse::failure())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    fn pairs(list: &[(&str, &str)]) -> Vec<Header> {
        list.iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    const GET: &[(&str, &str)] = &[(":method", "GET"), (":path", "/p"), (":authority", "a")];

    /// Serves one connection with `reply` after reading the request head; returns the head.
    fn serve_once(reply: &'static [u8], delay: Duration) -> (SocketAddr, JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let handle = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            std::thread::sleep(delay);
            let _ = stream.write_all(reply);
            String::from_utf8_lossy(&head).into_owned()
        });
        (addr, handle)
    }

    fn clusters(addr: SocketAddr) -> HttpClusters {
        HttpClusters::new().with("c", addr).unwrap()
    }

    #[test]
    fn envoys_argument_checks() {
        let c = clusters("127.0.0.1:9".parse().unwrap());
        let bad = |cluster: &str, p: &[(&str, &str)], t: i32| {
            CallRequest::new(&c, cluster, pairs(p), Vec::new(), t).err()
        };
        assert_eq!(bad("nope", GET, 100), Some(WasmResult::BadArgument));
        assert_eq!(bad("c", GET, -1), Some(WasmResult::BadArgument));
        for missing in 0..3 {
            let mut p = GET.to_vec();
            p.remove(missing);
            assert_eq!(bad("c", &p, 100), Some(WasmResult::BadArgument), "{p:?}");
        }
        assert_eq!(bad("c", GET, 0), None, "0 is no timeout");
        assert_eq!(
            HttpClusters::new()
                .with("x", "192.0.2.1:80".parse().unwrap())
                .err(),
            Some(HttpClusterError::NotLoopback {
                cluster: "x".into(),
                address: "192.0.2.1:80".parse().unwrap()
            })
        );
    }

    #[test]
    fn a_response_comes_back_with_status_headers_and_body() {
        let (addr, server) = serve_once(
            b"HTTP/1.1 206 Partial Content\r\nETag: \"e\"\r\nContent-Length: 3\r\n\r\nabc",
            Duration::ZERO,
        );
        let p = pairs(&[
            (":method", "GET"),
            (":path", "/policy.json"),
            (":authority", "policy.internal"),
            ("range", "bytes=0-2"),
        ]);
        let response = CallRequest::new(&clusters(addr), "c", p, Vec::new(), 2_000)
            .unwrap()
            .send()
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(response.headers[0], (":status".into(), "206".into()));
        assert!(response.headers.contains(&("etag".into(), "\"e\"".into())));
        assert_eq!(response.body, b"abc");
        let head = server.join().unwrap().to_ascii_lowercase();
        assert!(head.starts_with("get /policy.json http/1.1\r\n"), "{head}");
        assert!(head.contains("host: policy.internal\r\n"), "{head}");
        assert!(head.contains("range: bytes=0-2\r\n"), "{head}");
    }

    #[test]
    fn a_refused_connection_is_the_routers_503() {
        let addr = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let response = CallRequest::new(&clusters(addr), "c", pairs(GET), Vec::new(), 2_000)
            .unwrap()
            .perform();
        assert_eq!(response.headers[0], (":status".into(), "503".into()));
        let body = String::from_utf8(response.body).unwrap();
        assert!(
            body.starts_with("upstream connect error or disconnect/reset before headers"),
            "{body}"
        );
    }

    #[test]
    fn no_headers_within_the_timeout_is_504_and_a_cut_body_is_a_failure() {
        let (addr, server) = serve_once(b"HTTP/1.1 200 OK\r\n\r\n", Duration::from_millis(800));
        let response = CallRequest::new(&clusters(addr), "c", pairs(GET), Vec::new(), 200)
            .unwrap()
            .perform();
        assert_eq!(response.headers[0], (":status".into(), "504".into()));
        assert_eq!(response.body, b"upstream request timeout");
        server.join().unwrap();

        let (addr, server) = serve_once(
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
            Duration::ZERO,
        );
        let response = CallRequest::new(&clusters(addr), "c", pairs(GET), Vec::new(), 2_000)
            .unwrap()
            .perform();
        assert_eq!(response, CallResponse::failure());
        server.join().unwrap();
    }
}
