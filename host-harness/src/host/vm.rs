//! Loading a plugin, starting its VM and running requests through it, the way an Envoy worker does.

use super::abi::ACTION_CONTINUE;
use super::http_call::HttpClusters;
use super::memory::GuestExports;
use super::metrics::Metrics;
use super::pairs::Header;
use super::process::{Process, VmKey};
use super::request::HttpRequest;
use super::state::{
    HostState, LogLine, PluginInfo, ProxyState, StreamPhase, StreamState, WasiState,
};
use super::{proxy, wasi};
use serde::Serialize;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use wasmtime::{Engine, Instance, Linker, Module, Store, TypedFunc, WasmParams, WasmResults};

/// What Envoy does when the plugin traps (`failure_policy` in `PluginConfig`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FailurePolicy {
    /// The trapping request and every later one get a 503 (Envoy's default).
    #[default]
    FailClosed,
    /// The trapping request continues as it stands; later requests skip the filter.
    FailOpen,
    /// The trapping request gets a 503; the next request runs in a freshly started VM.
    FailReload,
}

/// Envoy's routing as far as the outcome depends on it.
#[derive(Debug, Clone, Default)]
pub struct Routing {
    /// The route's `cluster_header`: the upstream cluster is this request header's value, read
    /// after the plugin's last header change (Envoy re-picks the route). `None`: no routing step.
    pub cluster_header: Option<String>,
    /// Clusters Envoy knows; `None` accepts any name. A missing header or an unknown cluster is
    /// Envoy's 503 with details `cluster_not_found`.
    pub clusters: Option<BTreeSet<String>>,
}

/// How the host is set up; the parts of Envoy's configuration the plugin can observe.
#[derive(Debug, Clone, Default)]
pub struct HostOptions {
    /// Plugin identity, VM configuration, clock, addresses.
    pub plugin: PluginInfo,
    /// `vm_config.environment_variables` (WASI `environ_*`).
    pub env: Vec<(String, String)>,
    /// Trap handling.
    pub failure_policy: FailurePolicy,
    /// `cluster_header` routing.
    pub routing: Routing,
    /// The Envoy process the VMs run in: shared data and shared queues. VMs started from hosts
    /// whose options hold clones of one `Process` share them (Envoy scopes them by `vm_id`).
    pub process: Process,
    /// Upstreams `proxy_http_call` reaches: cluster name → loopback address. A cluster not
    /// listed is unknown (`BadArgument`, as in Envoy).
    pub http_clusters: HttpClusters,
}

/// Why a plugin could not be loaded or started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HostError {
    /// The wasm file could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The engine could not be created or the module did not compile or link.
    #[error("{0}")]
    Wasm(String),
    /// The module does not export `proxy_abi_version_0_2_1` (or `_0_2_0`).
    #[error("the module exports no supported proxy-wasm ABI version (proxy_abi_version_0_2_1)")]
    UnsupportedAbi,
    /// A required export is missing or has the wrong type.
    #[error("export {name}: {problem}")]
    BadExport {
        /// Export name.
        name: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// The guest trapped during start-up.
    #[error("trap in {phase}: {message}")]
    Trap {
        /// Callback that trapped.
        phase: &'static str,
        /// Trap message.
        message: String,
        /// What the plugin logged before.
        logs: Vec<LogLine>,
    },
    /// `proxy_on_vm_start` returned false.
    #[error("proxy_on_vm_start returned false{}", error_lines(.logs))]
    VmStartFailed {
        /// What the plugin logged.
        logs: Vec<LogLine>,
    },
    /// `proxy_on_configure` returned false: Envoy rejects the configuration.
    #[error("the plugin rejected its configuration (proxy_on_configure returned false){}", error_lines(.logs))]
    ConfigurationRejected {
        /// What the plugin logged (its reasons, at error level).
        logs: Vec<LogLine>,
    },
}

fn error_lines(logs: &[LogLine]) -> String {
    let errors: Vec<&str> = logs
        .iter()
        .filter(|l| l.level >= super::abi::LogLevel::Error)
        .map(|l| l.message.as_str())
        .collect();
    if errors.is_empty() {
        String::new()
    } else {
        format!(": {}", errors.join("; "))
    }
}

fn wasm_err(e: impl std::fmt::Display) -> HostError {
    HostError::Wasm(format!("{e:#}"))
}

/// Environment variable selecting a wasmtime profiler (`perfmap`).
const PROFILER_ENV: &str = "TRIEGUARD_WASM_PROFILER";

/// Environment variable that makes the harness count the wasm instructions each request runs
/// (wasmtime fuel: one unit per operator, hostcalls not included): [`Outcome::wasm_ops`].
/// Repeatable on a noisy machine where times are not.
pub const FUEL_ENV: &str = "TRIEGUARD_WASM_FUEL";

/// The process-wide engine and linker: built once, shared by every module and VM.
struct Runtime {
    engine: Engine,
    linker: Linker<HostState>,
    /// Fuel is consumed (`TRIEGUARD_WASM_FUEL=1`).
    fuel: bool,
}

fn runtime() -> Result<&'static Runtime, HostError> {
    static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();
    let r = RUNTIME.get_or_init(|| {
        let mut config = wasmtime::Config::new();
        // `TRIEGUARD_WASM_PROFILER=perfmap` writes /tmp/perf-<pid>.map so that `perf report`
        // names the guest's functions (for profiling the plugin in the harness).
        if std::env::var_os(PROFILER_ENV).is_some_and(|v| v == "perfmap") {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let fuel = std::env::var_os(FUEL_ENV).is_some_and(|v| v == "1");
        config.consume_fuel(fuel);
        let engine = Engine::new(&config).map_err(|e| format!("{e:#}"))?;
        let mut linker = Linker::new(&engine);
        proxy::add_to_linker(&mut linker, |s: &mut HostState| &mut s.proxy)
            .map_err(|e| format!("{e:#}"))?;
        wasi::add_to_linker(&mut linker, HostState::wasi_view).map_err(|e| format!("{e:#}"))?;
        Ok(Runtime {
            engine,
            linker,
            fuel,
        })
    });
    r.as_ref().map_err(|e| HostError::Wasm(e.clone()))
}

/// The process-wide wasmtime engine.
pub fn engine() -> Result<&'static Engine, HostError> {
    runtime().map(|r| &r.engine)
}

/// A compiled plugin plus host options: the factory of VMs (compiled once, started many times).
#[derive(Clone)]
pub struct Host {
    inner: Arc<HostInner>,
}

struct HostInner {
    module: Module,
    options: HostOptions,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}

impl Host {
    /// The proxy-wasm ABI the module declares by its `proxy_abi_version_*` export (`0.2.1`),
    /// if it declares one this host supports.
    pub fn abi_version(&self) -> Option<&'static str> {
        let exports: Vec<&str> = self.inner.module.exports().map(|e| e.name()).collect();
        [
            ("proxy_abi_version_0_2_1", "0.2.1"),
            ("proxy_abi_version_0_2_0", "0.2.0"),
        ]
        .into_iter()
        .find(|(export, _)| exports.contains(export))
        .map(|(_, version)| version)
    }

    /// Compiles `wasm` (binary, or text in tests).
    pub fn new(wasm: &[u8], options: HostOptions) -> Result<Self, HostError> {
        let rt = runtime()?;
        let module = Module::new(&rt.engine, wasm).map_err(wasm_err)?;
        Ok(Self {
            inner: Arc::new(HostInner { module, options }),
        })
    }

    /// Reads and compiles a `.wasm` file.
    pub fn from_file(path: &Path, options: HostOptions) -> Result<Self, HostError> {
        let bytes = std::fs::read(path).map_err(|source| HostError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::new(&bytes, options)
    }

    /// The same compiled module with other options (another simulated process, clock or
    /// clusters) without compiling again.
    pub fn with_options(&self, options: HostOptions) -> Self {
        Self {
            inner: Arc::new(HostInner {
                module: self.inner.module.clone(),
                options,
            }),
        }
    }

    /// The options this host was built with.
    pub fn options(&self) -> &HostOptions {
        &self.inner.options
    }

    /// Starts a VM: `_initialize`, `proxy_on_context_create(root, 0)`, `proxy_on_vm_start`,
    /// `proxy_on_configure(plugin_config)`, as Envoy does on each worker. Envoy starts an
    /// `envoy.bootstrap.wasm` service (`singleton: true` or not) with the same calls and never
    /// creates streams in it: start it here the same way and drive it with [`Vm::tick`] /
    /// [`Vm::pump`] (or [`super::run_for`]) without calling [`Vm::handle`].
    pub fn start(&self, plugin_config: &[u8]) -> Result<Vm, HostError> {
        let vm_key = self.inner.options.process.add_vm();
        let instance = Instance_::start(&self.inner, plugin_config, Carry::default(), vm_key)?;
        Ok(Vm {
            vm_key,
            next_tick_ns: None,
            host: self.clone(),
            plugin_config: plugin_config.to_vec(),
            vm: instance,
            next_context_id: 2,
            failed: None,
            reloads: 0,
        })
    }
}

/// Host-side state that survives a VM reload (Envoy keeps stats process-wide; shared data and
/// queues live in the [`Process`]).
#[derive(Default)]
struct Carry {
    metrics: Metrics,
}

type F1 = TypedFunc<i32, ()>;
type F1R = TypedFunc<i32, i32>;
type F2 = TypedFunc<(i32, i32), ()>;
type F2R = TypedFunc<(i32, i32), i32>;
type F3R = TypedFunc<(i32, i32, i32), i32>;
type F5 = TypedFunc<(i32, i32, i32, i32, i32), ()>;

/// The callbacks a plugin may export (absent ones are skipped, as in Envoy).
struct Callbacks {
    on_context_create: Option<F2>,
    on_vm_start: Option<F2R>,
    on_configure: Option<F2R>,
    on_request_headers: Option<F3R>,
    on_response_headers: Option<F3R>,
    on_response_body: Option<F3R>,
    on_log: Option<F1>,
    on_done: Option<F1R>,
    on_delete: Option<F1>,
    on_tick: Option<F1>,
    on_queue_ready: Option<F2>,
    on_http_call_response: Option<F5>,
}

fn typed<P: WasmParams, R: WasmResults>(
    store: &mut Store<HostState>,
    instance: &Instance,
    name: &'static str,
) -> Result<Option<TypedFunc<P, R>>, HostError> {
    match instance.get_func(&mut *store, name) {
        None => Ok(None),
        Some(f) => f
            .typed::<P, R>(&*store)
            .map(Some)
            .map_err(|e| HostError::BadExport {
                name,
                problem: format!("{e:#}"),
            }),
    }
}

/// One instantiated VM (a store and its instance).
struct Instance_ {
    store: Store<HostState>,
    cb: Callbacks,
    root_id: u32,
    start_logs: Vec<LogLine>,
}

/// Most http-call responses one [`Vm::pump`] delivers: a plugin that calls again from every
/// response must not keep a test running forever.
pub const MAX_PUMPED_CALLS: usize = 10_000;

/// Rounds of queue-ready notifications run after one VM call: a plugin that enqueues to itself
/// from every notification must not keep a test running forever.
const MAX_QUEUE_ROUNDS: usize = 1_000;

/// Root context id: the first context Envoy creates.
const ROOT_CONTEXT_ID: u32 = 1;

impl Instance_ {
    fn start(
        host: &HostInner,
        plugin_config: &[u8],
        carry: Carry,
        vm_key: VmKey,
    ) -> Result<Self, HostError> {
        let rt = runtime()?;
        let plugin = Arc::new(host.options.plugin.clone());
        let mut proxy = ProxyState::new(
            plugin.clone(),
            plugin_config.to_vec(),
            host.options.process.clone(),
            vm_key,
        );
        proxy.metrics = carry.metrics;
        proxy.root_context_id = ROOT_CONTEXT_ID;
        proxy.http_clusters = host.options.http_clusters.clone();
        let wasi = WasiState {
            guest: None,
            env: host.options.env.clone(),
            exit_code: None,
        };
        let mut store = Store::new(&rt.engine, HostState { proxy, wasi });
        if rt.fuel {
            store.set_fuel(u64::MAX).map_err(wasm_err)?;
        }
        let instance = rt
            .linker
            .instantiate(&mut store, &host.module)
            .map_err(wasm_err)?;
        if instance
            .get_func(&mut store, "proxy_abi_version_0_2_1")
            .is_none()
            && instance
                .get_func(&mut store, "proxy_abi_version_0_2_0")
                .is_none()
        {
            return Err(HostError::UnsupportedAbi);
        }
        let memory = instance
            .get_memory(&mut store, "memory")
            .ok_or(HostError::BadExport {
                name: "memory",
                problem: "missing".to_owned(),
            })?;
        let alloc = match typed::<i32, i32>(&mut store, &instance, "malloc")? {
            Some(f) => Some(f),
            None => typed::<i32, i32>(&mut store, &instance, "proxy_on_memory_allocate")?,
        };
        let exports = GuestExports { memory, alloc };
        store.data_mut().proxy.guest = Some(exports.clone());
        store.data_mut().wasi.guest = Some(exports);
        let cb = Callbacks {
            on_context_create: typed(&mut store, &instance, "proxy_on_context_create")?,
            on_vm_start: typed(&mut store, &instance, "proxy_on_vm_start")?,
            on_configure: typed(&mut store, &instance, "proxy_on_configure")?,
            on_request_headers: typed(&mut store, &instance, "proxy_on_request_headers")?,
            on_response_headers: typed(&mut store, &instance, "proxy_on_response_headers")?,
            on_response_body: typed(&mut store, &instance, "proxy_on_response_body")?,
            on_log: typed(&mut store, &instance, "proxy_on_log")?,
            on_done: typed(&mut store, &instance, "proxy_on_done")?,
            on_delete: typed(&mut store, &instance, "proxy_on_delete")?,
            on_tick: typed(&mut store, &instance, "proxy_on_tick")?,
            on_queue_ready: typed(&mut store, &instance, "proxy_on_queue_ready")?,
            on_http_call_response: typed(&mut store, &instance, "proxy_on_http_call_response")?,
        };
        let init = match typed::<(), ()>(&mut store, &instance, "_initialize")? {
            Some(f) => Some(f),
            None => typed::<(), ()>(&mut store, &instance, "_start")?,
        };
        let mut me = Self {
            store,
            cb,
            root_id: ROOT_CONTEXT_ID,
            start_logs: Vec::new(),
        };
        me.set_context(ROOT_CONTEXT_ID);
        let trap = |me: &mut Self, phase: &'static str, e: wasmtime::Error| HostError::Trap {
            phase,
            message: format!("{e:#}"),
            logs: me.store.data_mut().proxy.log.take(),
        };
        if let Some(init) = init {
            me.store.data_mut().proxy.initializing = true;
            let r = init.call(&mut me.store, ());
            me.store.data_mut().proxy.initializing = false;
            r.map_err(|e| trap(&mut me, "_initialize", e))?;
        }
        if let Some(f) = me.cb.on_context_create.clone() {
            f.call(&mut me.store, (ROOT_CONTEXT_ID as i32, 0))
                .map_err(|e| trap(&mut me, "proxy_on_context_create", e))?;
        }
        if let Some(f) = me.cb.on_vm_start.clone() {
            let size = plugin.vm_config.len() as i32;
            let ok = f
                .call(&mut me.store, (ROOT_CONTEXT_ID as i32, size))
                .map_err(|e| trap(&mut me, "proxy_on_vm_start", e))?;
            if ok == 0 {
                return Err(HostError::VmStartFailed {
                    logs: me.store.data_mut().proxy.log.take(),
                });
            }
        }
        if let Some(f) = me.cb.on_configure.clone() {
            me.store.data_mut().proxy.configuring = true;
            let r = f.call(
                &mut me.store,
                (ROOT_CONTEXT_ID as i32, plugin_config.len() as i32),
            );
            me.store.data_mut().proxy.configuring = false;
            let ok = r.map_err(|e| trap(&mut me, "proxy_on_configure", e))?;
            if ok == 0 {
                return Err(HostError::ConfigurationRejected {
                    logs: me.store.data_mut().proxy.log.take(),
                });
            }
        }
        me.run_deferred()
            .map_err(|e| trap(&mut me, "proxy_on_queue_ready", e))?;
        me.start_logs = me.store.data_mut().proxy.log.take();
        Ok(me)
    }

    fn set_context(&mut self, id: u32) {
        let p = &mut self.store.data_mut().proxy;
        p.effective_context = id;
        p.log.current_context = id;
    }

    /// Calls `f` for context `ctx`, adding the time spent in the guest to `spent`.
    fn call<P: WasmParams, R: WasmResults>(
        &mut self,
        pick: fn(&Callbacks) -> &Option<TypedFunc<P, R>>,
        ctx: u32,
        params: P,
        spent: &mut Duration,
    ) -> wasmtime::Result<Option<R>> {
        let Some(f) = pick(&self.cb).clone() else {
            return Ok(None);
        };
        self.set_context(ctx);
        let t0 = Instant::now();
        let r = f.call(&mut self.store, params);
        *spent += t0.elapsed();
        r.map(Some)
    }

    /// Runs what Envoy runs after a VM call returns: queue-ready notifications, including those
    /// posted by the notifications themselves, for at most [`MAX_QUEUE_ROUNDS`] rounds (what is
    /// left waits in the process for the next run).
    fn run_deferred(&mut self) -> wasmtime::Result<()> {
        for _ in 0..MAX_QUEUE_ROUNDS {
            let proxy = &self.store.data().proxy;
            let ready = proxy.process.take_ready(proxy.vm_key);
            if ready.is_empty() {
                return Ok(());
            }
            for (ctx, queue) in ready {
                // Envoy delivers to the registrant context, and drops the notification when
                // that context is gone (a stream that ended).
                let live = ctx == self.root_id
                    || self
                        .store
                        .data()
                        .proxy
                        .stream
                        .as_ref()
                        .is_some_and(|s| s.id == ctx);
                if !live {
                    continue;
                }
                let mut spent = Duration::ZERO;
                self.call(
                    |c| &c.on_queue_ready,
                    ctx,
                    (ctx as i32, queue as i32),
                    &mut spent,
                )?;
            }
        }
        Ok(())
    }

    /// Takes the oldest call in flight (waiting for it, within its timeout) and delivers it;
    /// `None` when none is left, `Some(false)` when it was dropped. Calls made by a stream
    /// context are cancelled with their stream, as Envoy does when a context goes away, so only
    /// the root context's calls are delivered.
    fn deliver_http_call(&mut self) -> wasmtime::Result<Option<bool>> {
        let proxy = &mut self.store.data_mut().proxy;
        if proxy.http_calls.is_empty() {
            return Ok(None);
        }
        let call = proxy.http_calls.remove(0);
        let (token, context) = (call.token, call.context);
        let response = call.wait();
        if context != self.root_id {
            return Ok(Some(false));
        }
        let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
        let params = (
            context as i32,
            token as i32,
            count(response.headers.len()),
            count(response.body.len()),
            count(response.trailers.len()),
        );
        self.store.data_mut().proxy.http_response = Some(response);
        let mut spent = Duration::ZERO;
        let r = self.call(|c| &c.on_http_call_response, context, params, &mut spent);
        self.store.data_mut().proxy.http_response = None;
        r?;
        self.run_deferred()?;
        Ok(Some(true))
    }

    fn carry(&mut self) -> Carry {
        let p = &mut self.store.data_mut().proxy;
        Carry {
            metrics: std::mem::take(&mut p.metrics),
        }
    }
}

/// How the request ended, as the client sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Forwarded upstream.
    Continue,
    /// Answered by the plugin's local reply.
    Deny,
    /// Answered by Envoy itself: a trap under fail-closed (`wasm_fail_stream`), no cluster
    /// (`cluster_not_found`), or a stream the plugin closed (`wasm_close_stream`, no status).
    Error,
    /// The plugin paused the request and nothing resumed it: in Envoy it waits for a timeout.
    Stalled,
}

/// Everything observable about one request.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// Context id the request ran under.
    pub context_id: u32,
    /// How it ended.
    pub action: Action,
    /// Status the client gets (`None` when the stream was reset or stalled).
    pub status: Option<u32>,
    /// Envoy's response code details for replies not from the upstream.
    pub details: Option<String>,
    /// Request headers after the plugin (what goes upstream on `Continue`).
    pub request_headers: Vec<Header>,
    /// Response headers the client gets.
    pub response_headers: Vec<Header>,
    /// Response body the client gets (the local reply's; empty from the simulated upstream).
    #[serde(skip)]
    pub response_body: Vec<u8>,
    /// Cluster chosen by `cluster_header` routing.
    pub cluster: Option<String>,
    /// Foreign functions the plugin called.
    pub foreign_calls: Vec<String>,
    /// Trap message, if the plugin trapped while handling this request.
    pub trap: Option<String>,
    /// The filter was skipped (fail-open after an earlier trap).
    pub filter_skipped: bool,
    /// Time spent inside the VM for this request (all callbacks).
    pub vm_time: Duration,
    /// Wasm operators this request ran (all callbacks), when the harness counts them
    /// ([`FUEL_ENV`]).
    pub wasm_ops: Option<u64>,
    /// What the plugin logged.
    pub logs: Vec<LogLine>,
}

impl Outcome {
    /// First value of request header `name` (lower-case) as forwarded.
    pub fn request_header(&self, name: &str) -> Option<&str> {
        self.request_headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// First value of response header `name` (lower-case).
    pub fn response_header(&self, name: &str) -> Option<&str> {
        self.response_headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A running plugin VM, reused across requests like an Envoy worker's.
pub struct Vm {
    host: Host,
    /// This VM inside its [`Process`].
    vm_key: VmKey,
    /// When [`super::run_for`] ticks this VM next (ns since the epoch, by the VM's clock).
    pub(crate) next_tick_ns: Option<u64>,
    plugin_config: Vec<u8>,
    vm: Instance_,
    next_context_id: u32,
    failed: Option<String>,
    reloads: u32,
}

impl std::fmt::Debug for Vm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vm")
            .field("next_context_id", &self.next_context_id)
            .field("failed", &self.failed)
            .field("reloads", &self.reloads)
            .finish_non_exhaustive()
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        self.host.inner.options.process.remove_vm(self.vm_key);
    }
}

/// Response headers of the simulated upstream.
fn upstream_response() -> Vec<Header> {
    vec![
        (":status".to_owned(), "200".to_owned()),
        ("content-length".to_owned(), "0".to_owned()),
    ]
}

/// Headers of a reply Envoy generates (local reply, or its own error).
fn reply_headers(status: u32, extra: &[Header], body: &[u8]) -> Vec<Header> {
    let mut h = vec![(":status".to_owned(), status.to_string())];
    h.extend(extra.iter().cloned());
    h.push(("content-length".to_owned(), body.len().to_string()));
    if !body.is_empty() && !extra.iter().any(|(k, _)| k == "content-type") {
        h.push(("content-type".to_owned(), "text/plain".to_owned()));
    }
    h
}

/// The request headers Envoy's HTTP connection manager hands to filters.
fn initial_headers(req: &HttpRequest, request_id: &str) -> Vec<Header> {
    let mut h = Vec::with_capacity(req.headers.len() + 6);
    h.push((":authority".to_owned(), req.authority.clone()));
    h.push((":path".to_owned(), req.path.clone()));
    h.push((":method".to_owned(), req.method.clone()));
    h.push((":scheme".to_owned(), req.scheme().to_owned()));
    for (k, v) in &req.headers {
        h.push((k.to_ascii_lowercase(), v.clone()));
    }
    if !h.iter().any(|(k, _)| k == "x-forwarded-proto") {
        h.push(("x-forwarded-proto".to_owned(), req.scheme().to_owned()));
    }
    if !h.iter().any(|(k, _)| k == "x-request-id") {
        h.push(("x-request-id".to_owned(), request_id.to_owned()));
    }
    h
}

impl Vm {
    /// What the plugin logged during start-up.
    pub fn start_logs(&self) -> &[LogLine] {
        &self.vm.start_logs
    }

    /// Size of the VM's linear memory in bytes.
    pub fn memory_bytes(&self) -> usize {
        self.vm
            .store
            .data()
            .proxy
            .guest
            .as_ref()
            .map(|g| g.memory.data_size(&self.vm.store))
            .unwrap_or(0)
    }

    /// The plugin's metrics (`wasmcustom.*`).
    pub fn metrics(&self) -> &Metrics {
        self.vm.store.data().proxy.metrics()
    }

    /// The proxy-side state (tick period, metrics).
    pub fn proxy_state(&self) -> &ProxyState {
        &self.vm.store.data().proxy
    }

    /// Trap message if the VM has failed.
    pub fn failed(&self) -> Option<&str> {
        self.failed.as_deref()
    }

    /// How many times the VM was recreated under [`FailurePolicy::FailReload`].
    pub fn reloads(&self) -> u32 {
        self.reloads
    }

    /// Calls `proxy_on_tick` on the root context (the harness has no timer; call it yourself).
    pub fn tick(&mut self) -> Result<(), String> {
        if self.failed.is_some() {
            return Err("VM failed".to_owned());
        }
        let mut spent = Duration::ZERO;
        let root = self.vm.root_id;
        let r = self
            .vm
            .call(|c| &c.on_tick, root, root as i32, &mut spent)
            .and_then(|_| self.vm.run_deferred());
        r.map_err(|e| {
            let m = format!("{e:#}");
            self.failed = Some(m.clone());
            m
        })
    }

    /// Runs what is due outside requests, the way Envoy's event loop would: queue-ready
    /// notifications posted to this VM, then every `proxy_http_call` in flight, oldest first,
    /// each delivered as `proxy_on_http_call_response` once it completed (this waits for it,
    /// within its timeout), including calls made from those callbacks. Returns how many
    /// responses were delivered; stops after [`MAX_PUMPED_CALLS`].
    pub fn pump(&mut self) -> Result<usize, String> {
        if self.failed.is_some() {
            return Err("VM failed".to_owned());
        }
        let mut delivered = 0;
        let r = (|| -> wasmtime::Result<()> {
            self.vm.run_deferred()?;
            for _ in 0..MAX_PUMPED_CALLS {
                match self.vm.deliver_http_call()? {
                    Some(true) => delivered += 1,
                    Some(false) => {}
                    None => break,
                }
            }
            Ok(())
        })();
        self.vm.set_context(self.vm.root_id);
        r.map_err(|e| {
            let m = format!("{e:#}");
            self.failed = Some(m.clone());
            m
        })?;
        Ok(delivered)
    }

    /// The tick period the plugin asked for (`None`: no ticks).
    pub fn tick_period(&self) -> Option<Duration> {
        let ms = self.vm.store.data().proxy.tick_period_ms;
        (ms > 0).then(|| Duration::from_millis(u64::from(ms)))
    }

    /// `proxy_http_call`s made and not yet delivered.
    pub fn http_calls_in_flight(&self) -> usize {
        self.vm.store.data().proxy.http_calls.len()
    }

    /// Takes what the plugin logged outside requests (start-up lines stay in
    /// [`Vm::start_logs`]): ticks, queue and http-call callbacks.
    pub fn take_logs(&mut self) -> Vec<LogLine> {
        self.vm.store.data_mut().proxy.log.take()
    }

    fn reload(&mut self) -> bool {
        let carry = self.vm.carry();
        match Instance_::start(&self.host.inner, &self.plugin_config, carry, self.vm_key) {
            Ok(vm) => {
                self.vm = vm;
                self.failed = None;
                self.reloads += 1;
                true
            }
            Err(_) => false,
        }
    }

    /// Runs one request through the plugin with Envoy's call order and returns what the client
    /// and the upstream would see. Never fails: a trap is handled per the failure policy.
    pub fn handle(&mut self, req: &HttpRequest) -> Outcome {
        let id = self.next_context_id;
        self.next_context_id = self.next_context_id.wrapping_add(1);
        let policy = self.host.inner.options.failure_policy;
        if self.failed.is_some() && policy == FailurePolicy::FailReload {
            self.reload();
        }
        let request_id = format!("00000000-0000-4000-8000-{id:012x}");
        let headers = initial_headers(req, &request_id);
        if self.failed.is_some() {
            return match policy {
                FailurePolicy::FailOpen => self.finish_without_filter(id, headers),
                _ => Outcome {
                    context_id: id,
                    action: Action::Error,
                    status: Some(503),
                    details: Some("wasm_fail_stream".to_owned()),
                    response_headers: reply_headers(503, &[], &[]),
                    request_headers: headers,
                    response_body: Vec::new(),
                    cluster: None,
                    foreign_calls: Vec::new(),
                    trap: None,
                    filter_skipped: true,
                    vm_time: Duration::ZERO,
                    wasm_ops: None,
                    logs: Vec::new(),
                },
            };
        }
        let start_time_ns = self.host.inner.options.plugin.clock.now_ns();
        let stream = StreamState {
            id,
            request: Arc::new(req.clone()),
            request_headers: headers,
            request_trailers: Vec::new(),
            response_headers: Vec::new(),
            response_trailers: Vec::new(),
            request_body: Vec::new(),
            response_body: Vec::new(),
            local_reply: None,
            resumed: false,
            closed: false,
            foreign_calls: Vec::new(),
            filter_state: Default::default(),
            request_id,
            start_time_ns,
            response_code: None,
            response_details: None,
            phase: StreamPhase::Request,
        };
        self.vm.store.data_mut().proxy.stream = Some(stream);
        let fuel_before = self.vm.store.get_fuel().ok();
        let mut spent = Duration::ZERO;
        let mut trap = None;
        let root = self.vm.root_id as i32;
        let ctx = id as i32;

        // Request phase.
        let action = self
            .vm
            .call(|c| &c.on_context_create, id, (ctx, root), &mut spent)
            .and_then(|_| {
                let n = self.stream().map(|s| s.request_headers.len()).unwrap_or(0) as i32;
                self.vm
                    .call(|c| &c.on_request_headers, id, (ctx, n, 1), &mut spent)
            })
            .and_then(|a| self.vm.run_deferred().map(|()| a));
        let action = match action {
            Ok(a) => a.unwrap_or(ACTION_CONTINUE),
            Err(e) => {
                trap = Some(format!("{e:#}"));
                ACTION_CONTINUE
            }
        };

        let (outcome_action, status, details, response, body, cluster) = if let Some(t) = &trap {
            self.failed = Some(t.clone());
            match policy {
                FailurePolicy::FailOpen => self.route(),
                _ => (
                    Action::Error,
                    Some(503),
                    Some("wasm_fail_stream".to_owned()),
                    reply_headers(503, &[], &[]),
                    Vec::new(),
                    None,
                ),
            }
        } else if let Some(reply) = self.stream().and_then(|s| s.local_reply.clone()) {
            // Deferred local reply: wins over the returned action.
            let headers = reply_headers(reply.status, &reply.headers, &reply.body);
            (
                Action::Deny,
                Some(reply.status),
                Some(reply.details),
                headers,
                reply.body,
                None,
            )
        } else if self.stream().is_some_and(|s| s.closed) {
            (
                Action::Error,
                None,
                Some("wasm_close_stream".to_owned()),
                Vec::new(),
                Vec::new(),
                None,
            )
        } else if action != ACTION_CONTINUE && !self.stream().is_some_and(|s| s.resumed) {
            (Action::Stalled, None, None, Vec::new(), Vec::new(), None)
        } else {
            self.route()
        };

        // Response phase: the plugin sees the response headers (of its own reply too).
        if self.failed.is_none() && status.is_some() {
            if let Some(s) = self.stream_mut() {
                s.phase = StreamPhase::Response;
                s.response_headers = response;
                s.response_body = body.clone();
                s.response_code = status;
                s.response_details = details.clone();
            }
            let n = self.stream().map(|s| s.response_headers.len()).unwrap_or(0) as i32;
            let eos = i32::from(body.is_empty());
            let mut r = self
                .vm
                .call(|c| &c.on_response_headers, id, (ctx, n, eos), &mut spent)
                .map(|_| ());
            if r.is_ok() && !body.is_empty() {
                r = self
                    .vm
                    .call(
                        |c| &c.on_response_body,
                        id,
                        (ctx, body.len() as i32, 1),
                        &mut spent,
                    )
                    .map(|_| ());
            }
            if let Err(e) = r.and_then(|()| self.vm.run_deferred()) {
                let m = format!("{e:#}");
                self.failed = Some(m.clone());
                trap = Some(m);
            }
        } else if let Some(s) = self.stream_mut() {
            s.response_headers = response;
            s.response_body = body;
            s.response_code = status;
            s.response_details = details.clone();
        }

        // End of stream: on_log, on_done, on_delete (skipped once the VM has failed).
        if self.failed.is_none() {
            if let Some(s) = self.stream_mut() {
                s.phase = StreamPhase::Log;
            }
            let r = self
                .vm
                .call(|c| &c.on_log, id, ctx, &mut spent)
                .and_then(|_| self.vm.call(|c| &c.on_done, id, ctx, &mut spent))
                .and_then(|_| self.vm.call(|c| &c.on_delete, id, ctx, &mut spent))
                .and_then(|_| self.vm.run_deferred());
            if let Err(e) = r {
                let m = format!("{e:#}");
                self.failed = Some(m.clone());
                trap = Some(m);
            }
        }
        self.vm.set_context(self.vm.root_id);
        let logs = self.vm.store.data_mut().proxy.log.take();
        let stream = self.vm.store.data_mut().proxy.stream.take();
        let (request_headers, response_headers, response_body, foreign_calls) = match stream {
            Some(s) => (
                s.request_headers,
                s.response_headers,
                s.response_body,
                s.foreign_calls,
            ),
            None => Default::default(),
        };
        Outcome {
            context_id: id,
            action: outcome_action,
            status,
            details: if outcome_action == Action::Continue {
                None
            } else {
                details
            },
            request_headers,
            response_headers,
            response_body,
            cluster,
            foreign_calls,
            trap,
            filter_skipped: false,
            vm_time: spent,
            wasm_ops: fuel_before
                .zip(self.vm.store.get_fuel().ok())
                .map(|(before, after)| before.saturating_sub(after)),
            logs,
        }
    }

    fn stream(&self) -> Option<&StreamState> {
        self.vm.store.data().proxy.stream.as_ref()
    }

    fn stream_mut(&mut self) -> Option<&mut StreamState> {
        self.vm.store.data_mut().proxy.stream.as_mut()
    }

    /// Envoy's router after the filter chain: `cluster_header` is read from the final headers.
    #[allow(clippy::type_complexity)]
    fn route(
        &self,
    ) -> (
        Action,
        Option<u32>,
        Option<String>,
        Vec<Header>,
        Vec<u8>,
        Option<String>,
    ) {
        let headers = self
            .stream()
            .map(|s| s.request_headers.as_slice())
            .unwrap_or(&[]);
        match resolve_cluster(&self.host.inner.options.routing, headers) {
            Ok(cluster) => (
                Action::Continue,
                Some(200),
                None,
                upstream_response(),
                Vec::new(),
                cluster,
            ),
            Err(()) => (
                Action::Error,
                Some(503),
                Some("cluster_not_found".to_owned()),
                reply_headers(503, &[], &[]),
                Vec::new(),
                None,
            ),
        }
    }

    fn finish_without_filter(&self, id: u32, headers: Vec<Header>) -> Outcome {
        let routed = resolve_cluster(&self.host.inner.options.routing, &headers);
        let (action, status, details, cluster) = match routed {
            Ok(c) => (Action::Continue, Some(200), None, c),
            Err(()) => (
                Action::Error,
                Some(503),
                Some("cluster_not_found".to_owned()),
                None,
            ),
        };
        Outcome {
            context_id: id,
            action,
            status,
            details,
            response_headers: if action == Action::Continue {
                upstream_response()
            } else {
                reply_headers(503, &[], &[])
            },
            request_headers: headers,
            response_body: Vec::new(),
            cluster,
            foreign_calls: Vec::new(),
            trap: None,
            filter_skipped: true,
            vm_time: Duration::ZERO,
            wasm_ops: None,
            logs: Vec::new(),
        }
    }
}

/// `Ok(None)`: no routing step; `Ok(Some(c))`: cluster `c`; `Err`: Envoy's `cluster_not_found`.
fn resolve_cluster(routing: &Routing, headers: &[Header]) -> Result<Option<String>, ()> {
    let Some(name) = &routing.cluster_header else {
        return Ok(None);
    };
    let value = headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .ok_or(())?;
    match &routing.clusters {
        Some(known) if !known.contains(&value) => Err(()),
        _ => Ok(Some(value)),
    }
}
