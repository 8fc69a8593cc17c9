//! TLS for tests: a throwaway server certificate for Envoy's listener, and a client that
//! speaks exactly one TLS version (to prove the plugin's per-host minimum).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;

use crate::client::{REQUEST_TIMEOUT, Reply};
use crate::envoy_config::TlsSpec;

/// A self-signed server certificate written to a folder.
pub struct TestCertificate {
    /// DER of the certificate (the client trusts exactly this).
    pub der: Vec<u8>,
    /// Files for Envoy's listener.
    pub spec: TlsSpec,
}

impl TestCertificate {
    /// Generates a certificate for `names` and writes `server.pem` / `server.key` into `dir`.
    pub fn generate(dir: &Path, names: &[&str]) -> anyhow::Result<Self> {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let certified = rcgen::generate_simple_self_signed(names)?;
        let cert_chain = dir.join("server.pem");
        let private_key = dir.join("server.key");
        std::fs::write(&cert_chain, certified.cert.pem())?;
        std::fs::write(&private_key, certified.signing_key.serialize_pem())?;
        Ok(Self {
            der: certified.cert.der().to_vec(),
            spec: TlsSpec {
                cert_chain,
                private_key,
            },
        })
    }
}

/// The TLS versions a test client can be pinned to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinnedTls {
    /// TLS 1.2 only.
    V12,
    /// TLS 1.3 only.
    V13,
}

/// `GET path` over TLS pinned to one version, trusting only `server_der`, with SNI and
/// `Host` set to `host`. The connection is closed after one request.
pub fn tls_get(
    addr: SocketAddr,
    host: &str,
    path: &str,
    version: PinnedTls,
    server_der: &[u8],
) -> anyhow::Result<Reply> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let versions: &[&rustls::SupportedProtocolVersion] = match version {
        PinnedTls::V12 => &[&rustls::version::TLS12],
        PinnedTls::V13 => &[&rustls::version::TLS13],
    };
    let mut roots = rustls::RootCertStore::empty();
    roots.add(rustls::pki_types::CertificateDer::from(server_der.to_vec()))?;
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let server_name = rustls::pki_types::ServerName::try_from(host.to_owned())?;
    let connection = rustls::ClientConnection::new(Arc::new(config), server_name)?;
    let tcp = TcpStream::connect_timeout(&addr, REQUEST_TIMEOUT)?;
    tcp.set_read_timeout(Some(REQUEST_TIMEOUT))?;
    tcp.set_write_timeout(Some(REQUEST_TIMEOUT))?;
    let mut stream = rustls::StreamOwned::new(connection, tcp);
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\r\n"
    )?;
    stream.flush()?;
    let mut raw = Vec::new();
    match stream.read_to_end(&mut raw) {
        Ok(_) => {}
        // Envoy may close without close_notify after `connection: close`.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !raw.is_empty() => {}
        Err(e) => return Err(e).context("reading the TLS response"),
    }
    parse_response(&raw)
}

/// Parses an HTTP/1.1 response read to connection close.
fn parse_response(raw: &[u8]) -> anyhow::Result<Reply> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .context("no end of headers in the response")?;
    let mut lines = head.lines();
    let status_line = lines.next().context("empty response")?;
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .context("no status code")?
        .parse()?;
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Ok(Reply {
        status,
        headers,
        body: body.to_owned(),
    })
}

/// Where tests keep their generated TLS files.
pub fn scratch_dir() -> anyhow::Result<(tempfile::TempDir, PathBuf)> {
    let dir = tempfile::Builder::new()
        .prefix("trieguard-tls-")
        .tempdir()?;
    let path = dir.path().to_path_buf();
    Ok((dir, path))
}
