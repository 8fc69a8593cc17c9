//! Host-side state reached from hostcalls through the store's data.

use super::abi::LogLevel;
use super::memory::GuestExports;
use super::metrics::Metrics;
use super::pairs::Header;
use super::request::HttpRequest;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Clock {
    /// The machine's clock.
    #[default]
    System,
    /// A fixed instant, nanoseconds since the Unix epoch (reproducible replays).
    Fixed(u64),
}

impl Clock {
    /// Nanoseconds since the Unix epoch.
    pub fn now_ns(self) -> u64 {
        match self {
            Self::System => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
                .unwrap_or(0),
            Self::Fixed(ns) => ns,
        }
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

/// Shared data (`proxy_get/set_shared_data`): value and CAS token per key.
#[derive(Debug, Default, Clone)]
pub struct SharedData {
    pub(crate) entries: HashMap<String, (Vec<u8>, u32)>,
    pub(crate) next_cas: u32,
}

/// Shared queues (`proxy_register/resolve/enqueue/dequeue_shared_queue`).
#[derive(Debug, Default, Clone)]
pub struct SharedQueues {
    pub(crate) by_name: BTreeMap<(String, String), u32>,
    pub(crate) queues: HashMap<u32, (u32, VecDeque<Vec<u8>>)>,
    pub(crate) next_id: u32,
    /// (context id, queue id) whose `proxy_on_queue_ready` is due after the current call.
    pub(crate) ready: Vec<(u32, u32)>,
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
    pub(crate) shared: SharedData,
    pub(crate) queues: SharedQueues,
    pub(crate) tick_period_ms: u32,
    pub(crate) root_filter_state: HashMap<Vec<u8>, Vec<u8>>,
    pub(crate) log: CapturedLog,
    pub(crate) monotonic_origin: Instant,
    pub(crate) done_called: bool,
}

impl ProxyState {
    pub(crate) fn new(plugin: Arc<PluginInfo>, plugin_config: Vec<u8>) -> Self {
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
            shared: SharedData::default(),
            queues: SharedQueues::default(),
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
    pub clock: Clock,
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
            clock: self.proxy.plugin.clock,
            monotonic_origin: self.proxy.monotonic_origin,
        }
    }
}
