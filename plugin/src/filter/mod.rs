//! The proxy-wasm glue: the only module that touches the ABI.
//!
//! A `TrieguardRoot` per plugin configuration compiles the policy once in `on_configure` and
//! shares it read-only (`Rc`) with every `TrieguardStream`. Per request: one hostcall reads all
//! request headers; the TLS version, the source address and the clock are read only when the
//! policy uses them ([`RequestNeeds`]: each property read costs about 2 µs in Envoy, see
//! BENCHMARKS.md); then the engine decides, and the filter applies the decision (header
//! removals and sets, `:path`, `clear_route_cache`) or sends the local reply. Counters are
//! found without allocating once a (route, reason) pair is known.
//!
//! The SDK's convenience wrappers `unwrap()` internally (a non-UTF-8 header value would trap
//! and take the whole worker VM down), so this module calls the `hostcalls` functions that
//! return `Result` and fails closed on errors instead.

use std::cell::{Cell, RefCell};
use std::hash::{BuildHasher, Hasher};
use std::rc::Rc;

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, BufferType, ContextType, LogLevel, MapType, MetricType};

use crate::config::FailMode;
use crate::engine::{Decision, Deny, Engine, Request, RequestNeeds, RetiredEngine};
use crate::header_pairs::RequestBuffer;
use crate::metrics::MetricIds;
use crate::source::PluginConfiguration;
use crate::source::load::SLICE_UNITS;

mod clock;
mod named_metrics;
mod service;
mod worker_source;

use service::PolicyService;
use worker_source::WorkerSource;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_root_context_id| -> Box<dyn RootContext> {
        Box::new(TrieguardRoot {
            engine: None,
            source: None,
            service: None,
            fast_ticks: false,
            retired: Vec::new(),
            freeing: None,
        })
    });
}}

/// Distinct metrics one VM defines at most; further (route, reason) pairs are counted under
/// route `_other` so a policy with 100k routes cannot exhaust Envoy's stats memory.
const MAX_METRICS: usize = 4096;

/// One plugin configuration: holds the compiled policy, and what it comes from.
struct TrieguardRoot {
    /// The engine new streams get (`None`: nothing to serve yet).
    engine: Option<Rc<Shared>>,
    /// Set when the policy comes from a source (`policy_source`).
    source: Option<WorkerSource>,
    /// Set in the singleton service VM (`fetch_policy`).
    service: Option<PolicyService>,
    /// True while the tick period is shortened for a publication being loaded or an old
    /// engine being freed.
    fast_ticks: bool,
    /// Engines replaced by a newer policy; streams that started with one may still use it.
    retired: Vec<Rc<Shared>>,
    /// A retired engine no stream uses any more, freed a slice per tick.
    freeing: Option<(RetiredEngine, FreeCost)>,
}

/// Slices spent freeing a retired engine and the longest one, by the host's clock (logged).
#[derive(Debug, Default)]
struct FreeCost {
    slices: u64,
    slowest_ns: u64,
}

/// What every stream of a configuration shares.
struct Shared {
    /// Borrowed by a stream only inside `on_http_request_headers`, and mutably only by a key
    /// delta on a tick: the two never overlap on a worker's single thread.
    engine: RefCell<Engine>,
    needs: RequestNeeds,
    metrics: RefCell<MetricIds>,
    rng: Cell<u64>,
    /// The request being decided, refilled in place for each one.
    request: RefCell<RequestBuffer>,
}

impl Context for TrieguardRoot {
    fn on_http_call_response(
        &mut self,
        token_id: u32,
        num_headers: usize,
        body_size: usize,
        _num_trailers: usize,
    ) {
        if let Some(mut service) = self.service.take() {
            service.on_response(
                token_id,
                num_headers,
                body_size,
                &|cluster, headers, timeout| {
                    self.dispatch_http_call(cluster, headers, None, vec![], timeout)
                },
            );
            self.service = Some(service);
        }
    }
}

impl TrieguardRoot {
    /// Takes a newly published policy, if there is one that compiles.
    fn check_source(&mut self) {
        let Some(source) = self.source.as_mut() else {
            return;
        };
        let mut serving = self
            .engine
            .as_ref()
            .and_then(|shared| shared.engine.try_borrow_mut().ok());
        let replacement = source.check(serving.as_deref_mut());
        drop(serving);
        let swapped = replacement.is_some();
        if let Some(engine) = replacement
            && let Some(old) = self.engine.replace(Rc::new(Shared::new(engine)))
        {
            self.retired.push(old);
        }
        let loading = source.is_loading();
        // Loading comes first; an old engine is freed a slice per tick in the ticks after.
        if !loading && !swapped {
            self.free_retired();
        }
        // While a publication loads or an old engine is freed, a slice per millisecond;
        // otherwise a look per check interval (which also frees an engine a stream held).
        let loading = loading || self.freeing.is_some() || swapped;
        let Some(source) = self.source.as_ref() else {
            return;
        };
        if loading != self.fast_ticks {
            let period = if loading {
                std::time::Duration::from_millis(1)
            } else {
                std::time::Duration::from_millis(source.config().check_interval_ms)
            };
            match hostcalls::set_tick_period(period) {
                Ok(()) => self.fast_ticks = loading,
                Err(status) => log::warn!("trieguard: cannot set the tick period: {status:?}"),
            }
        }
    }

    /// Frees one slice of a retired engine that no stream uses any more.
    fn free_retired(&mut self) {
        if self.freeing.is_none()
            && let Some(unused) = self.retired.iter().position(|r| Rc::strong_count(r) == 1)
        {
            let retired = self.retired.swap_remove(unused);
            if let Ok(shared) = Rc::try_unwrap(retired) {
                let started = clock::now_ns();
                let freeing = RetiredEngine::new(shared.engine.into_inner());
                let cost = FreeCost {
                    slices: 0,
                    slowest_ns: clock::now_ns().saturating_sub(started),
                };
                self.freeing = Some((freeing, cost));
            }
        }
        let Some((freeing, cost)) = self.freeing.as_mut() else {
            return;
        };
        let started = clock::now_ns();
        let done = freeing.step(SLICE_UNITS);
        cost.slices += 1;
        cost.slowest_ns = cost.slowest_ns.max(clock::now_ns().saturating_sub(started));
        if done {
            let name = self
                .source
                .as_ref()
                .map_or("", |source| source.config().name.as_str());
            log::info!(
                "trieguard: source '{name}': freed the replaced engine in {} slice(s), slowest {:.2} ms",
                cost.slices,
                cost.slowest_ns as f64 / 1e6
            );
            self.freeing = None;
        }
    }
}

/// One line per problem: operators read this in Envoy's log. A rejected configuration keeps
/// the previous one serving (on_configure returns false).
fn log_rejection(error: &crate::config::ConfigError) {
    log::error!(
        "trieguard: configuration rejected ({} problem(s))",
        error.issues.len()
    );
    for issue in &error.issues {
        log::error!("trieguard: config error at {issue}");
    }
}

impl RootContext for TrieguardRoot {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        let bytes = match hostcalls::get_buffer(BufferType::PluginConfiguration, 0, usize::MAX) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => {
                log::error!("trieguard: no plugin configuration was given");
                return false;
            }
            Err(status) => {
                log::error!("trieguard: cannot read the plugin configuration: {status:?}");
                return false;
            }
        };
        // Parse, then free the raw bytes before compiling: a VM's linear memory never shrinks,
        // so the peak of this function is what every worker keeps.
        let parsed = PluginConfiguration::parse(&bytes);
        drop(bytes);
        match parsed {
            Ok(PluginConfiguration::Inline(policy)) => match Engine::from_config(*policy) {
                Ok(engine) => {
                    log::info!(
                        "trieguard: configuration accepted ({} routes)",
                        engine.route_count()
                    );
                    self.engine = Some(Rc::new(Shared::new(engine)));
                    true
                }
                Err(error) => {
                    log_rejection(&error);
                    false
                }
            },
            Ok(PluginConfiguration::Source(config)) => {
                let period = std::time::Duration::from_millis(config.check_interval_ms);
                log::info!(
                    "trieguard: serving the policy published by source '{}'",
                    config.name
                );
                self.source = Some(WorkerSource::new(config));
                // A policy the service already published serves from the first request.
                self.check_source();
                if let Err(status) = hostcalls::set_tick_period(period) {
                    log::error!("trieguard: cannot set the tick period: {status:?}");
                    return false;
                }
                true
            }
            Ok(PluginConfiguration::Fetch(config)) => {
                log::info!(
                    "trieguard: fetching policy '{}' from cluster '{}' ({})",
                    config.name,
                    config.cluster,
                    config.path
                );
                let service = PolicyService::new(config);
                let period = service.tick_period();
                self.service = Some(service);
                if let Err(status) = hostcalls::set_tick_period(period) {
                    log::error!("trieguard: cannot set the tick period: {status:?}");
                    return false;
                }
                true
            }
            Err(error) => {
                log_rejection(&error);
                false
            }
        }
    }

    fn on_tick(&mut self) {
        if self.source.is_some() {
            self.check_source();
        }
        if let Some(mut service) = self.service.take() {
            service.on_tick(&|cluster, headers, timeout| {
                self.dispatch_http_call(cluster, headers, None, vec![], timeout)
            });
            self.service = Some(service);
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(TrieguardStream {
            shared: self.engine.clone(),
            waiting_for: self
                .source
                .as_ref()
                .filter(|source| source.serving().is_none())
                .map(|source| source.config().name.clone()),
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

/// One HTTP stream.
struct TrieguardStream {
    shared: Option<Rc<Shared>>,
    /// The source whose first policy has not arrived yet, if that is why `shared` is empty.
    waiting_for: Option<String>,
}

impl Context for TrieguardStream {}

impl HttpContext for TrieguardStream {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let Some(shared) = self.shared.clone() else {
            if let Some(source) = &self.waiting_for {
                return not_loaded(source);
            }
            return fail_closed("no policy is configured");
        };
        let Ok(mut buffer) = shared.request.try_borrow_mut() else {
            return fail_closed("the request buffer is in use");
        };
        let request = match read_request(&shared, &mut buffer) {
            Ok(request) => request,
            Err(what) => return fail_closed(&what),
        };
        let Ok(engine) = shared.engine.try_borrow() else {
            return fail_closed("the policy is being updated");
        };
        let decision = engine.decide(request);
        shared.count(&decision);
        match decision {
            Decision::Allow(allow) => match apply(&allow) {
                Ok(()) => Action::Continue,
                Err(what) => match allow.fail_mode {
                    FailMode::Open => {
                        log::warn!("trieguard: {what}; route '{}' fails open", allow.route);
                        Action::Continue
                    }
                    FailMode::Closed => fail_closed(&what),
                },
            },
            Decision::Deny(deny) => {
                send_deny(&deny);
                Action::Pause
            }
        }
    }
}

impl Shared {
    /// Wraps a compiled engine for the streams to share.
    fn new(engine: Engine) -> Self {
        let seed = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        Self {
            needs: engine.request_needs(),
            engine: RefCell::new(engine),
            metrics: RefCell::new(MetricIds::new(MAX_METRICS)),
            rng: Cell::new(seed | 1),
            request: RefCell::new(RequestBuffer::default()),
        }
    }

    /// splitmix64: per-request randomness for key-less splits.
    fn next_random(&self) -> u64 {
        let mut z = self.rng.get().wrapping_add(0x9e37_79b9_7f4a_7c15);
        self.rng.set(z);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Counts the decision under `trieguard.route.<id>.reason.<reason>.requests`.
    fn count(&self, decision: &Decision<'_>) {
        let Ok(mut metrics) = self.metrics.try_borrow_mut() else {
            return;
        };
        let route = decision.route().unwrap_or("_none");
        let define = |name: &str| match hostcalls::define_metric(MetricType::Counter, name) {
            Ok(id) => Some(id),
            Err(status) => {
                log::debug!("trieguard: defining metric {name} failed: {status:?}");
                None
            }
        };
        if let Some(id) = metrics.id(route, decision.reason(), define) {
            let _ = hostcalls::increment_metric(id, 1);
        }
    }
}

/// Builds the engine's view of the request: one header-map read, parsed in place into the
/// reused request, then only the properties and the clock the policy uses.
fn read_request<'b>(
    shared: &Shared,
    buffer: &'b mut RequestBuffer,
) -> Result<&'b mut Request, String> {
    let pairs = request_header_map()?;
    let request = buffer.refill(&pairs).map_err(|error| error.to_string())?;
    let needs = shared.needs;
    if needs.tls_version {
        request.tls_version = string_property(&["connection", "tls_version"]);
    }
    if needs.source_address {
        request.source = string_property(&["source", "address"]);
    }
    if needs.clock {
        request.now_unix_seconds = clock::now_unix_seconds();
    }
    request.entropy = shared.next_random();
    Ok(request)
}

/// The request header map as the host serializes it (`header_pairs` reads it in place).
///
/// Through the raw import because the SDK's `get_map_bytes` copies every name and value into
/// its own allocation before we could look at them.
fn request_header_map() -> Result<Vec<u8>, String> {
    let mut data: *mut u8 = std::ptr::null_mut();
    let mut size: usize = 0;
    // Safety: both out-pointers refer to live locals; the host writes a buffer it allocated
    // through our allocator (`proxy_on_memory_allocate`), or nothing.
    let status = unsafe {
        raw::proxy_get_header_map_pairs(MapType::HttpRequestHeaders as u32, &mut data, &mut size)
    };
    if status != 0 {
        return Err(format!("reading request headers failed: status {status}"));
    }
    if data.is_null() {
        return Ok(Vec::new());
    }
    // Safety: a non-null buffer was allocated by the host through the SDK's exported
    // allocator with exactly `size` bytes; taking ownership frees it once.
    Ok(unsafe { Vec::from_raw_parts(data, size, size) })
}

/// A string property, `None` when absent (e.g. `connection.tls_version` on plaintext).
fn string_property(path: &[&str]) -> Option<String> {
    match hostcalls::get_property(path.to_vec()) {
        Ok(Some(bytes)) if !bytes.is_empty() => Some(String::from_utf8_lossy(&bytes).into_owned()),
        _ => None,
    }
}

/// Applies an allow decision: removals, sets, `:path`, then, where the host needs it, makes
/// Envoy pick the route again.
fn apply(allow: &crate::engine::Allow<'_>) -> Result<(), String> {
    for name in &allow.remove_headers {
        hostcalls::set_map_value(MapType::HttpRequestHeaders, name, None)
            .map_err(|status| format!("removing {name} failed: {status:?}"))?;
    }
    for (name, value) in allow.set_headers() {
        hostcalls::set_map_value(MapType::HttpRequestHeaders, name, Some(value))
            .map_err(|status| format!("setting {name} failed: {status:?}"))?;
    }
    if let Some(path) = &allow.new_path {
        hostcalls::set_map_value(MapType::HttpRequestHeaders, ":path", Some(path))
            .map_err(|status| format!("setting :path failed: {status:?}"))?;
    }
    if allow.headers.clear_route_cache.must_clear() {
        clear_route_cache();
    }
    Ok(())
}

/// Makes Envoy pick the route again after our header changes, so `cluster_header` sees them
/// (only where [`crate::config::ClearRouteCache::must_clear`] says the host does not do so by
/// itself).
///
/// Called through the raw import because the SDK wrapper panics on `Unimplemented`, which a
/// host without the function returns.
fn clear_route_cache() {
    const NAME: &str = "clear_route_cache";
    let mut return_data: *mut u8 = std::ptr::null_mut();
    let mut return_size: usize = 0;
    // Safety: the name pointer and length describe a live static string, no arguments are
    // passed (null, 0), and the two out-pointers refer to live locals. The host writes a
    // pointer it allocated through our allocator, or nothing; we only free it.
    let status = unsafe {
        raw::proxy_call_foreign_function(
            NAME.as_ptr(),
            NAME.len(),
            std::ptr::null(),
            0,
            &mut return_data,
            &mut return_size,
        )
    };
    if !return_data.is_null() {
        // Safety: a non-null result was allocated by the host through the SDK's exported
        // allocator with exactly `return_size` bytes; taking ownership frees it once.
        drop(unsafe { Vec::from_raw_parts(return_data, return_size, return_size) });
    }
    if status != 0 {
        log::debug!("trieguard: clear_route_cache returned status {status}");
    }
}

mod raw {
    unsafe extern "C" {
        /// proxy-wasm ABI 0.2.1 `proxy_get_header_map_pairs`; returns a `WasmResult` code.
        pub fn proxy_get_header_map_pairs(
            map_type: u32,
            return_map_data: *mut *mut u8,
            return_map_size: *mut usize,
        ) -> u32;
        /// proxy-wasm ABI 0.2.1 `proxy_call_foreign_function`; returns a `WasmResult` code.
        pub fn proxy_call_foreign_function(
            function_name_data: *const u8,
            function_name_size: usize,
            arguments_data: *const u8,
            arguments_size: usize,
            results_data: *mut *mut u8,
            results_size: *mut usize,
        ) -> u32;
    }
}

/// Sends the deny reply: status, `x-trieguard-reason` and the JSON body.
fn send_deny(deny: &Deny) {
    let body = deny.body();
    let headers = vec![
        ("x-trieguard-reason", deny.reason.as_str()),
        ("content-type", "application/json"),
    ];
    if let Err(status) =
        hostcalls::send_http_response(u32::from(deny.status), headers, Some(body.as_bytes()))
    {
        log::error!("trieguard: sending the local reply failed: {status:?}");
    }
}

/// Denies with 500 `internal` after an internal error (DESIGN: fail closed by default).
fn fail_closed(what: &str) -> Action {
    log::error!("trieguard: internal error, failing closed: {what}");
    send_deny(&Deny::new(
        500,
        "internal",
        "trieguard could not evaluate the request",
    ));
    Action::Pause
}

/// Denies with 503 `policy.not_loaded` while a source has not delivered its first policy
/// (fail closed: nothing is known about what the request may do).
fn not_loaded(source: &str) -> Action {
    log::warn!("trieguard: no policy from source '{source}' yet; refusing the request");
    send_deny(&Deny::new(
        503,
        "policy.not_loaded",
        format!("no policy has been received from source '{source}' yet"),
    ));
    Action::Pause
}
