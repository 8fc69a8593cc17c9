//! Traffic readers: the JSONL traffic format, HAR 1.2 and Envoy JSON access logs.
//!
//! Every reader returns the requests it could read and, separately, every malformed line (or HAR
//! entry) with its number and the reason, so that nothing is dropped silently; the caller decides
//! whether a malformed line is fatal.

mod envoy_log;
mod har;
mod jsonl;

use crate::host::HttpRequest;

pub use envoy_log::parse as parse_envoy_log;
pub use har::parse as parse_har;
pub use jsonl::parse as parse_jsonl;

/// Input formats of `trieguard replay`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// One JSON request per line (`DESIGN.md`).
    #[default]
    Jsonl,
    /// HAR 1.2 (`log.entries[].request`), e.g. a browser export.
    Har,
    /// Envoy JSON access log, one object per line, in the format of
    /// `examples/envoy-access-log-format.json`.
    EnvoyLog,
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "jsonl" => Ok(Self::Jsonl),
            "har" => Ok(Self::Har),
            "envoy-log" => Ok(Self::EnvoyLog),
            other => Err(format!(
                "unknown traffic format {other:?} (jsonl, har, envoy-log)"
            )),
        }
    }
}

/// One request read from a traffic file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// 1-based line number (HAR: entry number).
    pub line: usize,
    /// The request; its `id` is the line number when the source gave none.
    pub request: HttpRequest,
}

/// A line (or HAR entry) that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct Malformed {
    /// 1-based line number (HAR: entry number; 0 when the whole document is unreadable).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Everything read from one traffic file.
#[derive(Debug, Clone, Default)]
pub struct Traffic {
    /// Requests in file order.
    pub records: Vec<Record>,
    /// Malformed lines in file order.
    pub malformed: Vec<Malformed>,
}

/// Reads `text` in `format`.
pub fn parse(format: Format, text: &str) -> Traffic {
    match format {
        Format::Jsonl => parse_jsonl(text),
        Format::Har => parse_har(text),
        Format::EnvoyLog => parse_envoy_log(text),
    }
}

/// Checks the fields every request needs and fills in the id.
fn finish(line: usize, mut request: HttpRequest) -> Result<Record, Malformed> {
    let bad = |message: &str| Malformed {
        line,
        message: message.to_owned(),
    };
    if request.method.is_empty() {
        return Err(bad("empty method"));
    }
    if request.authority.is_empty() {
        return Err(bad("empty authority"));
    }
    if !request.path.starts_with('/') && request.path != "*" {
        return Err(bad("path must start with '/'"));
    }
    for (k, _) in &mut request.headers {
        *k = k.to_ascii_lowercase();
    }
    if request.id.is_none() {
        request.id = Some(line.to_string());
    }
    Ok(Record { line, request })
}
