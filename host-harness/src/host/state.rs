//! Host-side state reached from hostcalls through the store's data.

use super::abi::LogLevel;
use super::http_call::{CallResponse, HttpClusters, InFlight};
use super::memory::GuestExports;
use super::metrics::Metrics;
use super::pairs::Header;
use super::process::{Process, VmKey};
use super::request::HttpRequest;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Most log lines kept per request (or per start-up); further lines are counted, not stored.
pub const MAX_LOG_LINES: usize = 10_000;
/// Largest `random_get` Envoy serves in one call (64 KiB).
pub const MAX_RANDOM_GET: usize = 64 * 1024;

/// One line the plugin logged (`proxy_log`, or `fd_write` to stdout/stderr).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogLine {
    /// Context the line was logged from (the root context during start-up).
    pub context_id: u32,
    /// Level (`fd_write` to fd 1 is `info`, to fd 2 `error`, as in Envoy).
    pub level: LogLevel,
    /// Text, without a trailing newline.
    pub message: String,
}

/// Everything the plugin logged since the last [`CapturedLog::take`].
#[derive(Debug, Default)]
pub struct CapturedLog {
    pub(crate) current_context: u32,
    pub(crate) lines: Vec<LogLine>,
    pub(crate) dropped: usize,
}

impl CapturedLog {
    pub(crate) fn push(&mut self, level: LogLevel, message: String) {
        if self.lines.len() < MAX_LOG_LINES {
            self.lines.push(LogLine {
                context_id: self.current_context,
                level,
                message,
            });
        } else {
            self.dropped += 1;
        }
    }

    /// Removes and returns the captured lines.
    pub fn take(&mut self) -> Vec<LogLine> {
        self.dropped = 0;
        std::mem::take(&mut self.lines)
    }
}

/// Where `proxy_get_current_time_nanoseconds` and WASI's realtime clock read the time.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Clock {
    /// The machine's clock.
    #[default]
    System,
    /// A fixed instant, nanoseconds since the Unix epoch (reproducible replays).
    Fixed(u64),
    /// A clock the test moves ([`VirtualClock::advance`]); clones share one time, so the VMs of
    /// one simulated process can share it. [`super::run_for`] drives ticks by it.
    Virtual(VirtualClock),
}

impl Clock {
    /// Nanoseconds since the Unix epoch.
    pub fn now_ns(&self) -> u64 {
        match self {
            Self::System => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
                .unwrap_or(0),
            Self::Fixed(ns) => *ns,
            Self::Virtual(clock) => clock.now_ns(),
        }
    }
}

/// A shared, manually advanced time (nanoseconds since the Unix epoch).
#[derive(Debug, Clone, Default)]
pub struct VirtualClock(Arc<AtomicU64>);

impl PartialEq for VirtualClock {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for VirtualClock {}

impl VirtualClock {
    /// A clock standing at `start_ns`.
    pub fn new(start_ns: u64) -> Self {
        Self(Arc::new(AtomicU64::new(start_ns)))
    }

    /// The time, ns since the epoch.
    pub fn now_ns(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }

    /// Moves the time forward by `by`.
    pub fn advance(&self, by: Duration) {
        let ns = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        let _ = self
            .0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| {
                Some(t.saturating_add(ns))
            });
    }

    /// Sets the time to `ns` if that is later (the clock never goes back).
    pub fn advance_to(&self, ns: u64) {
        self.0.fetch_max(ns, Ordering::SeqCst);
    }
}

/// What the plugin is and how it is configured: the parts of Envoy's `PluginConfig` the ABI exposes.
#[derive(Debug, Clone)]
pub struct PluginInfo {
    /// `plugin_name` property (Envoy's `config.name`).
    pub name: String,
    /// `plugin_root_id` property (`config.root_id`).
    pub root_id: String,
    /// `plugin_vm_id` property (`vm_config.vm_id`).
    pub vm_id: String,
    /// Bytes of `vm_config.configuration` (buffer type 6).
    pub vm_config: Vec<u8>,
    /// Level `proxy_get_log_level` reports.
    pub log_level: LogLevel,
    /// Time source.
    pub clock: Clock,
    /// `destination.address` (the listener), `ip:port`.
    pub listener_address: String,
    /// `source.address` for records without `source`.
    pub default_source: String,
}

impl Default for PluginInfo {
    fn default() -> Self {
        Self {
            name: "trieguard".to_owned(),
            root_id: String::new(),
            vm_id: String::new(),
            vm_config: Vec::new(),
            log_level: LogLevel::Info,
            clock: Clock::System,
            listener_address: "127.0.0.1:10000".to_owned(),
            default_source: "127.0.0.1:40000".to_owned(),
        }
    }
}

/// A local reply the plugin asked for with `proxy_send_local_response`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LocalReply {
    /// HTTP status.
    pub status: u32,
    /// Response code details (spaces replaced by `_`, as Envoy does).
    pub details: String,
    /// Body.
    #[serde(skip)]
    pub body: Vec<u8>,
    /// Headers the plugin passed (names lower-cased).
    pub headers: Vec<Header>,
    /// gRPC status (−1: none).
    pub grpc_status: i32,
}

/// Which part of a stream's life is running; decides which maps and buffers exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamPhase {
    /// `proxy_on_context_create`, `proxy_on_request_headers`/body.
    Request,
    /// `proxy_on_response_headers`/body.
    Response,
    /// `proxy_on_log`, `proxy_on_done`, `proxy_on_delete`.
    Log,
}

/// State of the HTTP stream whose callbacks are running.
#[derive(Debug)]
pub struct StreamState {
    /// Context id of the stream.
    pub id: u32,
    /// The request as it arrived.
    pub request: Arc<HttpRequest>,
    /// Request headers as the plugin sees and changes them.
    pub request_headers: Vec<Header>,
    /// Request trailers (none in replayed traffic).
    pub request_trailers: Vec<Header>,
    /// Response headers (empty before the response phase).
    pub response_headers: Vec<Header>,
    /// Response trailers.
    pub response_trailers: Vec<Header>,
    /// Request body (none in replayed traffic).
    pub request_body: Vec<u8>,
    /// Response body (the local reply's body).
    pub response_body: Vec<u8>,
    /// First local reply requested.
    pub local_reply: Option<LocalReply>,
    /// `proxy_continue_stream(request)` was called.
    pub resumed: bool,
    /// `proxy_close_stream` was called for the request or response.
    pub closed: bool,
    /// Foreign functions called, in order.
    pub foreign_calls: Vec<String>,
    /// Properties set with `proxy_set_property` (Envoy's filter state), by NUL-joined path.
    pub filter_state: HashMap<Vec<u8>, Vec<u8>>,
    /// `x-request-id` Envoy generated.
    pub request_id: String,
    /// Time the request arrived, ns since the epoch (`request.time`).
    pub start_time_ns: u64,
    /// Response status once known (`response.code`).
    pub response_code: Option<u32>,
    /// Response code details once known.
    pub response_details: Option<String>,
    /// Current phase.
    pub phase: StreamPhase,
}

/// Host state the `proxy_*` hostcalls use.
#[derive(Debug)]
pub struct ProxyState {
    pub(crate) guest: Option<GuestExports>,
    /// True while `_initialize` runs: only logging, clocks and random work then.
    pub(crate) initializing: bool,
    pub(crate) plugin: Arc<PluginInfo>,
    pub(crate) plugin_config: Vec<u8>,
    /// Plugin configuration is readable only inside `proxy_on_configure`, as in Envoy.
    pub(crate) configuring: bool,
    pub(crate) root_context_id: u32,
    pub(crate) effective_context: u32,
    pub(crate) stream: Option<StreamState>,
    pub(crate) metrics: Metrics,
    /// Shared data and queues of the whole (simulated) Envoy process.
    pub(crate) process: Process,
    /// This VM inside the process (where its queue-ready notifications are posted).
    pub(crate) vm_key: VmKey,
    /// Where `proxy_http_call` can go.
    pub(crate) http_clusters: HttpClusters,
    /// Calls made and not yet delivered, in dispatch order.
    pub(crate) http_calls: Vec<InFlight>,
    /// The last token handed out (tokens start at 1).
    pub(crate) last_http_call_token: u32,
    /// The response being delivered: readable only inside `proxy_on_http_call_response`.
    pub(crate) http_response: Option<CallResponse>,
    pub(crate) tick_period_ms: u32,
    pub(crate) root_filter_state: HashMap<Vec<u8>, Vec<u8>>,
    pub(crate) log: CapturedLog,
    pub(crate) monotonic_origin: Instant,
    pub(crate) done_called: bool,
}

impl ProxyState {
    pub(crate) fn new(
        plugin: Arc<PluginInfo>,
        plugin_config: Vec<u8>,
        process: Process,
        vm_key: VmKey,
    ) -> Self {
        Self {
            guest: None,
            initializing: false,
            plugin,
            plugin_config,
            configuring: false,
            root_context_id: 0,
            effective_context: 0,
            stream: None,
            metrics: Metrics::default(),
            process,
            vm_key,
            http_clusters: HttpClusters::default(),
            http_calls: Vec::new(),
            last_http_call_token: 0,
            http_response: None,
            tick_period_ms: 0,
            root_filter_state: HashMap::new(),
            log: CapturedLog::default(),
            monotonic_origin: Instant::now(),
            done_called: false,
        }
    }

    /// Metrics defined so far.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The tick period the plugin asked for (0: none).
    pub fn tick_period_ms(&self) -> u32 {
        self.tick_period_ms
    }
}

/// State of WASI preview 1 as Envoy provides it.
#[derive(Debug, Default)]
pub struct WasiState {
    pub(crate) guest: Option<GuestExports>,
    /// `vm_config.environment_variables`.
    pub(crate) env: Vec<(String, String)>,
    /// Code passed to `proc_exit`, if it was called.
    pub(crate) exit_code: Option<i32>,
}

/// What the WASI hostcalls reach: their own state plus the shared log.
pub struct WasiView<'a> {
    /// WASI state.
    pub wasi: &'a mut WasiState,
    /// Log shared with the proxy hostcalls.
    pub log: &'a mut CapturedLog,
    /// Clock shared with the proxy hostcalls.
    pub clock: &'a Clock,
    /// Origin of the monotonic clock.
    pub monotonic_origin: Instant,
}

/// The store data of a VM: proxy-wasm and WASI state side by side.
#[derive(Debug)]
pub struct HostState {
    /// proxy-wasm state.
    pub proxy: ProxyState,
    /// WASI state.
    pub wasi: WasiState,
}

impl HostState {
    /// The view the WASI hostcalls use.
    pub fn wasi_view(&mut self) -> WasiView<'_> {
        WasiView {
            wasi: &mut self.wasi,
            log: &mut self.proxy.log,
            clock: &self.proxy.plugin.clock,
            monotonic_origin: self.proxy.monotonic_origin,
        }
    }
}
