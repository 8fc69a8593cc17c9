//! nginx serving a folder on loopback: the policy source of the tests and the demo.
//!
//! nginx is what operators put in front of a policy file, and it does exactly what the
//! service VM relies on: a strong `ETag` per file, `304` on `If-None-Match`, `206` for
//! `Range`. It runs in the foreground as a single process (`master_process off`), with every
//! path inside a temporary folder, and is killed and reaped on drop.

use std::fs;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Overrides the nginx binary.
pub const NGINX_ENV: &str = "TRIEGUARD_NGINX";

/// How long nginx may take to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// Why nginx could not be started.
#[derive(Debug, thiserror::Error)]
pub enum StaticServerError {
    /// No nginx binary.
    #[error(
        "nginx not found (looked at ${NGINX_ENV}, /usr/sbin/nginx and PATH): run `cargo xtask setup`"
    )]
    MissingBinary,
    /// Filesystem or process error.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// nginx did not accept connections in time.
    #[error("nginx did not listen on {addr} within {READY_TIMEOUT:?}; its error log:\n{log}")]
    NotReady {
        /// Where it should listen.
        addr: SocketAddr,
        /// Its error log.
        log: String,
    },
}

/// A running nginx serving `root`.
pub struct StaticServer {
    child: Child,
    addr: SocketAddr,
    dir: tempfile::TempDir,
}

/// The nginx binary.
pub fn nginx_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(NGINX_ENV) {
        return Some(PathBuf::from(path));
    }
    let system = PathBuf::from("/usr/sbin/nginx");
    if system.exists() {
        return Some(system);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("nginx"))
            .find(|candidate| candidate.exists())
    })
}

impl StaticServer {
    /// Serves `root` on an ephemeral loopback port.
    pub fn start(root: &Path) -> Result<Self, StaticServerError> {
        Self::start_on(root, free_port()?)
    }

    /// Serves `root` on `addr` (to bring a source up where Envoy already expects it).
    pub fn start_on(root: &Path, addr: SocketAddr) -> Result<Self, StaticServerError> {
        let binary = nginx_binary().ok_or(StaticServerError::MissingBinary)?;
        let dir = tempfile::tempdir().map_err(io("creating nginx's folder"))?;
        let conf = dir.path().join("nginx.conf");
        fs::write(&conf, render_conf(dir.path(), root, addr)).map_err(io("writing nginx.conf"))?;
        let child = Command::new(binary)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&conf)
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(io("starting nginx"))?;
        let server = Self { child, addr, dir };
        let deadline = Instant::now() + READY_TIMEOUT;
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if Instant::now() > deadline {
                return Err(StaticServerError::NotReady {
                    addr,
                    log: server.log(),
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(server)
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// nginx's error log.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> Result<SocketAddr, StaticServerError> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(io("finding a free port"))?;
    listener.local_addr().map_err(io("finding a free port"))
}

fn render_conf(dir: &Path, root: &Path, addr: SocketAddr) -> String {
    let d = dir.display();
    format!(
        r#"daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    types {{ application/json json; text/plain sha256; }}
    server {{
        listen {addr};
        root {root};
        etag on;
    }}
}}
"#,
        root = root.display()
    )
}

fn io(what: &'static str) -> impl Fn(std::io::Error) -> StaticServerError {
    move |source| StaticServerError::Io {
        what: what.to_owned(),
        source,
    }
}
