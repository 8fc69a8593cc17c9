//! Starts the real Envoy binary on loopback, waits until it is ready, and cleans up on drop.

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::client;
use crate::envoy_config::EnvoyConfig;
use crate::paths;

/// How long Envoy may take to become ready: V8 compiles the module at start-up, and two
/// cores may be busy with other tests.
pub const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// How often readiness is polled.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// Why Envoy could not be started.
#[derive(thiserror::Error)]
pub enum EnvoyError {
    /// The binary is not where `cargo xtask setup` puts it.
    #[error("Envoy binary not found at {0}: run `cargo xtask setup` (or set TRIEGUARD_ENVOY)")]
    MissingBinary(PathBuf),
    /// Filesystem or process error.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// Envoy exited before becoming ready.
    #[error("Envoy exited with {status} before becoming ready; its log's notable lines:\n{}", log_excerpt(.log))]
    Exited {
        /// Exit status.
        status: ExitStatus,
        /// Envoy's log.
        log: String,
    },
    /// Envoy did not become ready in time.
    #[error("Envoy was not ready after {timeout:?}; its log's notable lines:\n{}", log_excerpt(.log))]
    NotReady {
        /// How long we waited.
        timeout: Duration,
        /// Envoy's log.
        log: String,
    },
}

/// Debug shows the Display text (notable log lines only): `unwrap()` in a test prints Debug,
/// and Envoy's full start-up log would bury the cause.
impl std::fmt::Debug for EnvoyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// A running Envoy. Killed and reaped on drop; its log is printed if the test is failing.
pub struct EnvoyProcess {
    child: Child,
    dir: tempfile::TempDir,
    admin: SocketAddr,
    listener: SocketAddr,
}

/// How an Envoy that was expected to refuse its configuration ended.
#[derive(Debug)]
pub struct EnvoyExit {
    /// Exit status.
    pub status: ExitStatus,
    /// Envoy's whole log.
    pub log: String,
}

impl EnvoyProcess {
    /// Writes `config`, starts Envoy with `config.workers` workers (1 unless set), and waits
    /// for `/ready`.
    pub fn start(config: &EnvoyConfig) -> Result<Self, EnvoyError> {
        let (child, dir) = spawn(config)?;
        Self::ready(child, dir)
    }

    /// Starts Envoy with the listener (and so the plugin policy) served by file-based LDS, so
    /// that [`EnvoyProcess::push_listener`] can push new policies to the running Envoy.
    pub fn start_with_lds(config: &EnvoyConfig) -> Result<Self, EnvoyError> {
        let dir = temp_dir()?;
        let lds = dir.path().join("lds.yaml");
        fs::write(&lds, config.render_lds()).map_err(io_error("writing lds.yaml"))?;
        let bootstrap = dir.path().join("envoy.yaml");
        fs::write(&bootstrap, config.render_with_lds(&lds))
            .map_err(io_error("writing envoy.yaml"))?;
        let (child, dir) = spawn_file(&bootstrap, dir, config.workers)?;
        Self::ready(child, dir)
    }

    /// Pushes `config`'s listener through LDS (atomic rename, which Envoy watches). Only for
    /// an Envoy started with [`EnvoyProcess::start_with_lds`].
    pub fn push_listener(&self, config: &EnvoyConfig) -> Result<(), EnvoyError> {
        let staged = self.dir.path().join("lds.yaml.next");
        fs::write(&staged, config.render_lds()).map_err(io_error("writing lds.yaml.next"))?;
        fs::rename(&staged, self.dir.path().join("lds.yaml"))
            .map_err(io_error("renaming lds.yaml.next"))
    }

    /// The value of a counter or gauge from `/stats` (0 when absent).
    pub fn stat(&self, name: &str) -> anyhow::Result<u64> {
        let stats = self.admin_get(&format!("/stats?filter=^{}$", name.replace('.', "\\.")))?;
        Ok(stats
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{name}: ")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0))
    }

    /// Polls a stat until it reaches `at_least`, for at most `timeout`.
    pub fn wait_for_stat(
        &self,
        name: &str,
        at_least: u64,
        timeout: Duration,
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let value = self.stat(name)?;
            if value >= at_least {
                return Ok(());
            }
            if Instant::now() > deadline {
                anyhow::bail!("{name} stayed at {value} (wanted {at_least}) for {timeout:?}");
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    /// Starts Envoy on an existing bootstrap file (relative paths in it resolve against the
    /// workspace root), and waits for `/ready`.
    pub fn start_file(config_path: &Path) -> Result<Self, EnvoyError> {
        let dir = temp_dir()?;
        let (child, dir) = spawn_file(config_path, dir, 1)?;
        Self::ready(child, dir)
    }

    fn ready(child: Child, dir: tempfile::TempDir) -> Result<Self, EnvoyError> {
        let mut envoy = Self {
            child,
            dir,
            admin: SocketAddr::from(([127, 0, 0, 1], 0)),
            listener: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        envoy.wait_ready()?;
        Ok(envoy)
    }

    /// Starts Envoy with a configuration it is expected to refuse, and returns how it exited.
    /// Fails if Envoy becomes ready instead.
    pub fn start_expecting_exit(config: &EnvoyConfig) -> Result<EnvoyExit, EnvoyError> {
        let (child, dir) = spawn(config)?;
        let mut envoy = Self {
            child,
            dir,
            admin: SocketAddr::from(([127, 0, 0, 1], 0)),
            listener: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        match envoy.wait_ready() {
            Err(EnvoyError::Exited { status, log }) => Ok(EnvoyExit { status, log }),
            Err(other) => Err(other),
            Ok(()) => Err(EnvoyError::NotReady {
                timeout: Duration::ZERO,
                log: format!(
                    "Envoy became ready although it should have refused its configuration:\n{}",
                    envoy.log()
                ),
            }),
        }
    }

    /// Envoy's exit status if it has exited, without waiting.
    pub fn try_exit_status(&mut self) -> std::io::Result<Option<ExitStatus>> {
        self.child.try_wait()
    }

    /// The Envoy process id (for reading its CPU time in benchmarks).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `http://127.0.0.1:<listener port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.listener)
    }

    /// The listener's address.
    pub fn listener(&self) -> SocketAddr {
        self.listener
    }

    /// `http://127.0.0.1:<admin port>`, for `/stats` and friends.
    pub fn admin_url(&self) -> String {
        format!("http://{}", self.admin)
    }

    /// The admin endpoint's text at `path` (e.g. `/stats/prometheus`).
    pub fn admin_get(&self, path: &str) -> anyhow::Result<String> {
        let reply = client::get(&format!("{}{path}", self.admin_url()), &[])?;
        anyhow::ensure!(reply.status == 200, "admin {path}: status {}", reply.status);
        Ok(reply.body)
    }

    /// Envoy's log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("envoy.log")
    }

    fn wait_ready(&mut self) -> Result<(), EnvoyError> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let admin_file = self.dir.path().join("admin-address");
        loop {
            if let Some(status) = self.child.try_wait().map_err(|source| EnvoyError::Io {
                what: "waiting for Envoy".into(),
                source,
            })? {
                return Err(EnvoyError::Exited {
                    status,
                    log: self.log(),
                });
            }
            if let Some(admin) = fs::read_to_string(&admin_file)
                .ok()
                .and_then(|text| text.trim().parse::<SocketAddr>().ok())
            {
                self.admin = admin;
                if let Some(listener) = self.ready_listener() {
                    self.listener = listener;
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                return Err(EnvoyError::NotReady {
                    timeout: READY_TIMEOUT,
                    log: self.log(),
                });
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    /// The listener address once `/ready` says LIVE, read from `/listeners`.
    fn ready_listener(&self) -> Option<SocketAddr> {
        let ready = client::get(&format!("{}/ready", self.admin_url()), &[]).ok()?;
        if ready.status != 200 {
            return None;
        }
        let listeners = client::get(&format!("{}/listeners?format=json", self.admin_url()), &[])
            .ok()?
            .json()
            .ok()?;
        let address = listeners
            .get("listener_statuses")?
            .get(0)?
            .get("local_address")?
            .get("socket_address")?;
        let port = u16::try_from(address.get("port_value")?.as_u64()?).ok()?;
        (port != 0).then(|| SocketAddr::from(([127, 0, 0, 1], port)))
    }
}

impl Drop for EnvoyProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "---- Envoy log ({}) ----\n{}\n---- end of Envoy log ----",
                self.log_path().display(),
                self.log()
            );
        }
    }
}

/// Lines of an Envoy log worth showing: warnings and worse, plus the last few lines (the
/// start-up banner lists every extension and would bury the cause).
pub fn log_excerpt(log: &str) -> String {
    const TAIL_LINES: usize = 15;
    let lines: Vec<&str> = log.lines().collect();
    let tail_start = lines.len().saturating_sub(TAIL_LINES);
    lines
        .iter()
        .enumerate()
        .filter(|(i, line)| {
            *i >= tail_start
                || ["][warning][", "][error][", "][critical]["]
                    .iter()
                    .any(|level| line.contains(level))
        })
        .map(|(_, line)| *line)
        .collect::<Vec<_>>()
        .join("\n")
}

fn io_error(what: &str) -> impl FnOnce(std::io::Error) -> EnvoyError {
    let what = what.to_owned();
    move |source| EnvoyError::Io { what, source }
}

fn temp_dir() -> Result<tempfile::TempDir, EnvoyError> {
    tempfile::Builder::new()
        .prefix("trieguard-envoy-")
        .tempdir()
        .map_err(io_error("creating Envoy's folder"))
}

fn spawn(config: &EnvoyConfig) -> Result<(Child, tempfile::TempDir), EnvoyError> {
    let dir = temp_dir()?;
    let config_path = dir.path().join("envoy.yaml");
    fs::write(&config_path, config.render()).map_err(io_error("writing envoy.yaml"))?;
    spawn_file(&config_path, dir, config.workers)
}

fn spawn_file(
    config_path: &Path,
    dir: tempfile::TempDir,
    workers: u32,
) -> Result<(Child, tempfile::TempDir), EnvoyError> {
    let binary = paths::envoy_binary();
    if !binary.is_file() {
        return Err(EnvoyError::MissingBinary(binary));
    }
    let child = envoy_command_with_workers(&binary, config_path, dir.path(), workers)
        .current_dir(paths::workspace_root())
        .spawn()
        .map_err(io_error("starting Envoy"))?;
    Ok((child, dir))
}

/// The Envoy command line every test and the demo use: one worker, no hot restart (so several
/// Envoys can run at once), the admin address written to a file, the log to a file.
pub fn envoy_command(binary: &Path, config: &Path, dir: &Path) -> Command {
    envoy_command_with_workers(binary, config, dir, 1)
}

/// [`envoy_command`] with `workers` worker threads (`--concurrency`).
pub fn envoy_command_with_workers(
    binary: &Path,
    config: &Path,
    dir: &Path,
    workers: u32,
) -> Command {
    let mut command = Command::new(binary);
    command
        .arg("--config-path")
        .arg(config)
        .arg("--concurrency")
        .arg(workers.to_string())
        .arg("--disable-hot-restart")
        .args(["--log-level", "info"])
        // Tests read the log while Envoy runs (the default flushes every 10 s).
        .args(["--file-flush-interval-msec", "100"])
        .arg("--admin-address-path")
        .arg(dir.join("admin-address"))
        .arg("--log-path")
        .arg(dir.join("envoy.log"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}
