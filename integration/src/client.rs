//! A small blocking HTTP client for tests and the demo, and the echo answer's shape.

use std::time::Duration;

use serde::Deserialize;

/// Per-request timeout: every test request is bounded in time.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A response as a test sees it.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Response headers, names lower-case.
    pub headers: Vec<(String, String)>,
    /// Body as text.
    pub body: String,
}

impl Reply {
    /// First value of a response header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Parses the body as an echo upstream's answer.
    pub fn echoed(&self) -> anyhow::Result<EchoedRequest> {
        serde_json::from_str(&self.body).map_err(|e| {
            anyhow::anyhow!(
                "not an echo answer ({e}): status {} body {}",
                self.status,
                self.body
            )
        })
    }

    /// Parses the body as JSON.
    pub fn json(&self) -> anyhow::Result<serde_json::Value> {
        Ok(serde_json::from_str(&self.body)?)
    }
}

/// What an echo upstream received.
#[derive(Debug, Clone, Deserialize)]
pub struct EchoedRequest {
    /// Name of the upstream that answered.
    pub upstream: String,
    /// Method received.
    pub method: String,
    /// Path (with query) received.
    pub path: String,
    /// Headers received, in order.
    pub headers: Vec<(String, String)>,
    /// Body length received.
    pub body_bytes: usize,
}

impl EchoedRequest {
    /// First value of a header the upstream received.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One connection-pooling agent for every test request of the process.
fn agent() -> &'static ureq::Agent {
    static AGENT: std::sync::OnceLock<ureq::Agent> = std::sync::OnceLock::new();
    AGENT.get_or_init(|| {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(REQUEST_TIMEOUT))
            .build()
            .new_agent()
    })
}

/// Sends a request and returns whatever status came back (4xx/5xx are not errors here).
pub fn send(method: &str, url: &str, headers: &[(&str, &str)]) -> anyhow::Result<Reply> {
    let agent = agent();
    let mut builder = ureq::http::Request::builder().method(method).uri(url);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let request = builder.body(())?;
    let mut response = agent.run(request)?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = response.body_mut().read_to_string()?;
    Ok(Reply {
        status,
        headers,
        body,
    })
}

/// `GET url` with headers.
pub fn get(url: &str, headers: &[(&str, &str)]) -> anyhow::Result<Reply> {
    send("GET", url, headers)
}
