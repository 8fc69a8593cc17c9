//! One keep-alive HTTP/1.1 connection, for load clients that must measure every request
//! themselves: no pool, no retry, no hidden reconnect that would hide an error.
//!
//! A request reuses the open connection; the connection is dropped after an answer carrying
//! `connection: close` (how Envoy drains a replaced listener) and after any error, and the
//! next request opens a new one. Bodies are read by `content-length` or `chunked`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// How long one read or write may block (a stalled Envoy is an error, not a hang).
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest status line plus headers accepted (Envoy's own default limit is 60 KiB).
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Largest body accepted (echo answers are a few hundred bytes).
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Why a request got no answer.
#[derive(Debug, thiserror::Error)]
pub enum KeepAliveError {
    /// The connection could not be opened.
    #[error("connecting to {addr}: {source}")]
    Connect {
        /// Where.
        addr: SocketAddr,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// Reading or writing failed (reset, timeout).
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The server closed the connection before a whole answer arrived.
    #[error("connection closed while {0}")]
    Closed(&'static str),
    /// The answer is not HTTP/1.1 as expected.
    #[error("malformed answer: {0}")]
    Malformed(String),
}

/// An answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// The body's bytes.
    pub body: Vec<u8>,
}

/// A client holding at most one open connection to `addr`.
pub struct KeepAlive {
    addr: SocketAddr,
    conn: Option<BufReader<TcpStream>>,
    connections_opened: u64,
}

impl KeepAlive {
    /// A client for `addr`; connects on the first request.
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            conn: None,
            connections_opened: 0,
        }
    }

    /// How many connections this client has opened so far.
    pub fn connections_opened(&self) -> u64 {
        self.connections_opened
    }

    /// Sends `GET path` with `headers` (`host` is added) and reads the whole answer.
    pub fn get(
        &mut self,
        path: &str,
        headers: &[(String, String)],
    ) -> Result<Answer, KeepAliveError> {
        let result = self.exchange(path, headers);
        if !matches!(result, Ok((_, true))) {
            self.conn = None;
        }
        result.map(|(answer, _)| answer)
    }

    /// One request and answer; also says whether the connection may be reused.
    fn exchange(
        &mut self,
        path: &str,
        headers: &[(String, String)],
    ) -> Result<(Answer, bool), KeepAliveError> {
        let mut request = format!("GET {path} HTTP/1.1\r\nhost: {}\r\n", self.addr);
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        let conn = self.connection()?;
        conn.get_mut()
            .write_all(request.as_bytes())
            .map_err(|source| KeepAliveError::Io {
                what: "sending the request",
                source,
            })?;
        read_answer(conn)
    }

    fn connection(&mut self) -> Result<&mut BufReader<TcpStream>, KeepAliveError> {
        if self.conn.is_none() {
            let addr = self.addr;
            let connect = |source| KeepAliveError::Connect { addr, source };
            let stream = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT).map_err(connect)?;
            stream.set_nodelay(true).map_err(connect)?;
            stream.set_read_timeout(Some(IO_TIMEOUT)).map_err(connect)?;
            stream
                .set_write_timeout(Some(IO_TIMEOUT))
                .map_err(connect)?;
            self.connections_opened += 1;
            self.conn = Some(BufReader::new(stream));
        }
        self.conn
            .as_mut()
            .ok_or(KeepAliveError::Closed("connecting"))
    }
}

/// What the head of an answer says about its body and the connection.
struct Head {
    status: u16,
    content_length: Option<usize>,
    chunked: bool,
    keep_alive: bool,
}

/// Reads one answer; returns it and whether the connection may carry another request.
fn read_answer<R: BufRead>(reader: &mut R) -> Result<(Answer, bool), KeepAliveError> {
    let head = read_head(reader)?;
    let body = if head.chunked {
        read_chunked(reader)?
    } else if let Some(length) = head.content_length {
        if length > MAX_BODY_BYTES {
            return Err(KeepAliveError::Malformed(format!(
                "body of {length} bytes (limit {MAX_BODY_BYTES})"
            )));
        }
        let mut body = vec![0; length];
        read_exact(reader, &mut body, "reading the body")?;
        body
    } else if head.status == 204 || head.status == 304 {
        Vec::new()
    } else {
        return Err(KeepAliveError::Malformed(
            "neither content-length nor chunked".into(),
        ));
    };
    Ok((
        Answer {
            status: head.status,
            body,
        },
        head.keep_alive,
    ))
}

fn read_head<R: BufRead>(reader: &mut R) -> Result<Head, KeepAliveError> {
    let mut budget = MAX_HEAD_BYTES;
    let status_line = read_line(reader, &mut budget, "waiting for the status line")?;
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    let status = parts
        .next()
        .and_then(|code| code.parse::<u16>().ok())
        .filter(|_| version.starts_with("HTTP/1."))
        .ok_or_else(|| KeepAliveError::Malformed(format!("status line {status_line:?}")))?;
    let mut head = Head {
        status,
        content_length: None,
        chunked: false,
        keep_alive: version == "HTTP/1.1",
    };
    loop {
        let line = read_line(reader, &mut budget, "reading the headers")?;
        if line.is_empty() {
            return Ok(head);
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(KeepAliveError::Malformed(format!("header line {line:?}")));
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => {
                head.content_length =
                    Some(value.parse().map_err(|_| {
                        KeepAliveError::Malformed(format!("content-length {value:?}"))
                    })?);
            }
            "transfer-encoding" => head.chunked = value.eq_ignore_ascii_case("chunked"),
            "connection" => head.keep_alive = !value.eq_ignore_ascii_case("close"),
            _ => {}
        }
    }
}

/// A `chunked` body (trailers are read and dropped).
fn read_chunked<R: BufRead>(reader: &mut R) -> Result<Vec<u8>, KeepAliveError> {
    let mut body = Vec::new();
    let mut budget = MAX_HEAD_BYTES;
    loop {
        let line = read_line(reader, &mut budget, "reading a chunk size")?;
        let size_text = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| KeepAliveError::Malformed(format!("chunk size {line:?}")))?;
        if size == 0 {
            while !read_line(reader, &mut budget, "reading the trailers")?.is_empty() {}
            return Ok(body);
        }
        if body.len().saturating_add(size) > MAX_BODY_BYTES {
            return Err(KeepAliveError::Malformed(format!(
                "chunked body over {MAX_BODY_BYTES} bytes"
            )));
        }
        let start = body.len();
        body.resize(start + size, 0);
        read_exact(
            reader,
            body.get_mut(start..).unwrap_or_default(),
            "reading a chunk",
        )?;
        if !read_line(reader, &mut budget, "reading a chunk's end")?.is_empty() {
            return Err(KeepAliveError::Malformed(
                "chunk longer than its size".into(),
            ));
        }
    }
}

/// One line without its `\r\n`, counted against `budget`.
fn read_line<R: BufRead>(
    reader: &mut R,
    budget: &mut usize,
    what: &'static str,
) -> Result<String, KeepAliveError> {
    let mut line = Vec::new();
    let limit = u64::try_from(*budget).unwrap_or(u64::MAX);
    let read = reader
        .by_ref()
        .take(limit)
        .read_until(b'\n', &mut line)
        .map_err(|source| KeepAliveError::Io { what, source })?;
    if read == 0 {
        return Err(KeepAliveError::Closed(what));
    }
    if line.last() != Some(&b'\n') {
        return Err(if read >= *budget {
            KeepAliveError::Malformed(format!("answer head over {MAX_HEAD_BYTES} bytes"))
        } else {
            KeepAliveError::Closed(what)
        });
    }
    *budget -= read;
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    String::from_utf8(line).map_err(|_| KeepAliveError::Malformed("non-UTF-8 head".into()))
}

fn read_exact<R: Read>(
    reader: &mut R,
    buf: &mut [u8],
    what: &'static str,
) -> Result<(), KeepAliveError> {
    reader.read_exact(buf).map_err(|source| {
        if source.kind() == std::io::ErrorKind::UnexpectedEof {
            KeepAliveError::Closed(what)
        } else {
            KeepAliveError::Io { what, source }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn answer(bytes: &[u8]) -> Result<(Answer, bool), KeepAliveError> {
        read_answer(&mut BufReader::new(bytes))
    }

    #[test]
    fn reads_bodies_by_length_and_by_chunks() {
        let (a, keep) = answer(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello").unwrap();
        assert_eq!(
            (a.status, a.body.as_slice(), keep),
            (200, &b"hello"[..], true)
        );
        let (a, keep) = answer(
            b"HTTP/1.1 503 Service Unavailable\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n3;x=1\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(
            (a.status, a.body.as_slice(), keep),
            (503, &b"abcde"[..], false)
        );
        let (_, keep) = answer(b"HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n").unwrap();
        assert!(!keep, "HTTP/1.0 closes unless told otherwise");
    }

    #[test]
    fn refuses_truncated_and_malformed_answers() {
        assert!(matches!(answer(b""), Err(KeepAliveError::Closed(_))));
        assert!(matches!(
            answer(b"HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\nshort"),
            Err(KeepAliveError::Closed(_))
        ));
        assert!(matches!(
            answer(b"SSH-2.0 hello\r\n\r\n"),
            Err(KeepAliveError::Malformed(_))
        ));
        assert!(matches!(
            answer(b"HTTP/1.1 200 OK\r\n\r\n"),
            Err(KeepAliveError::Malformed(_))
        ));
        let huge = format!(
            "HTTP/1.1 200 OK\r\nx: {}\r\n\r\n",
            "a".repeat(MAX_HEAD_BYTES)
        );
        assert!(matches!(
            answer(huge.as_bytes()),
            Err(KeepAliveError::Malformed(_))
        ));
    }

    #[test]
    fn reuses_the_connection_and_reconnects_after_close() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            // First connection: two answers, the second says close.
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut writer = stream;
            for reply in [
                "HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\na",
                "HTTP/1.1 200 OK\r\ncontent-length: 1\r\nconnection: close\r\n\r\nb",
            ] {
                let mut line = String::new();
                while line != "\r\n" {
                    line.clear();
                    reader.read_line(&mut line).unwrap();
                }
                writer.write_all(reply.as_bytes()).unwrap();
            }
            drop(writer);
            let (mut stream, _) = listener.accept().unwrap();
            let mut buf = [0u8; 1024];
            let _ = stream.read(&mut buf).unwrap();
            stream
                .write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
                .unwrap();
        });
        let mut client = KeepAlive::new(addr);
        let headers = vec![("x-api-key".to_owned(), "k".to_owned())];
        assert_eq!(client.get("/1", &headers).unwrap().body, b"a");
        assert_eq!(client.get("/2", &headers).unwrap().body, b"b");
        assert_eq!(client.connections_opened(), 1);
        assert_eq!(client.get("/3", &headers).unwrap().status, 404);
        assert_eq!(client.connections_opened(), 2);
        server.join().unwrap();
    }
}
