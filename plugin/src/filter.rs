//! The proxy-wasm glue: the only module that touches the ABI.
//!
//! A `TrieguardRoot` per plugin configuration compiles the policy once in `on_configure` and
//! shares it read-only (`Rc`) with every `TrieguardStream`. A stream reads all request headers
//! with one hostcall, asks the engine, and applies the decision.
//!
//! The SDK's convenience wrappers `unwrap()` internally (a non-UTF-8 header value or an
//! unexpected status would trap and take the whole worker VM down), so this module calls the
//! `hostcalls` functions that return `Result` and fails closed on errors instead.

use std::rc::Rc;

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel, MapType};

use crate::config::PolicyConfig;
use crate::engine::{Decision, Deny, Engine, Request};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_root_context_id| -> Box<dyn RootContext> {
        Box::new(TrieguardRoot { engine: None })
    });
}}

/// One plugin configuration: holds the compiled policy.
struct TrieguardRoot {
    engine: Option<Rc<Engine>>,
}

impl Context for TrieguardRoot {}

impl RootContext for TrieguardRoot {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        let bytes = match hostcalls::get_buffer(
            proxy_wasm::types::BufferType::PluginConfiguration,
            0,
            usize::MAX,
        ) {
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
        match PolicyConfig::from_json(&bytes) {
            Ok(config) => {
                let engine = Engine::compile(&config);
                log::info!(
                    "trieguard: configuration accepted ({} host entries)",
                    config.hosts.len()
                );
                self.engine = Some(Rc::new(engine));
                true
            }
            Err(error) => {
                // Every problem on its own line: operators read this in Envoy's log.
                log::error!("trieguard: {error}");
                for issue in &error.issues {
                    log::error!("trieguard: config error at {issue}");
                }
                false
            }
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(TrieguardStream {
            engine: self.engine.clone(),
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

/// One HTTP stream.
struct TrieguardStream {
    engine: Option<Rc<Engine>>,
}

impl Context for TrieguardStream {}

impl HttpContext for TrieguardStream {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let Some(engine) = self.engine.clone() else {
            return fail_closed("no policy is configured");
        };
        let request = match read_request() {
            Ok(request) => request,
            Err(status) => {
                return fail_closed(&format!("reading request headers failed: {status:?}"));
            }
        };
        match engine.decide(&request) {
            Decision::Allow(allow) => {
                for name in &allow.remove_headers {
                    if let Err(status) =
                        hostcalls::set_map_value(MapType::HttpRequestHeaders, name, None)
                    {
                        return fail_closed(&format!("removing {name} failed: {status:?}"));
                    }
                }
                for (name, value) in &allow.set_headers {
                    if let Err(status) =
                        hostcalls::set_map_value(MapType::HttpRequestHeaders, name, Some(value))
                    {
                        return fail_closed(&format!("setting {name} failed: {status:?}"));
                    }
                }
                clear_route_cache();
                Action::Continue
            }
            Decision::Deny(deny) => {
                send_deny(&deny);
                Action::Pause
            }
        }
    }
}

/// Builds the engine's view of the request from one header-map read.
fn read_request() -> Result<Request, proxy_wasm::types::Status> {
    let pairs = hostcalls::get_map_bytes(MapType::HttpRequestHeaders)?;
    let mut request = Request::default();
    for (name, value) in pairs {
        // Envoy accepts obs-text (bytes >= 0x80) in values; keep them visible, never trap.
        let value = String::from_utf8_lossy(&value).into_owned();
        match name.as_str() {
            ":method" => request.method = value,
            ":authority" => request.authority = value,
            ":path" => request.path = value,
            _ if name.starts_with(':') => {}
            _ => request.headers.push((name, value)),
        }
    }
    Ok(request)
}

/// Makes Envoy re-pick the route after our header changes, so `cluster_header` sees them.
///
/// Envoy 1.40 re-picks on its own for ABI 0.2.1 modules (docs/envoy-facts.md records the
/// real-Envoy test that settles it); the call keeps working on builds that stop doing so.
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
        ("x-trieguard-reason", deny.reason),
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
    send_deny(&Deny {
        status: 500,
        reason: "internal",
        message: "trieguard could not evaluate the request".to_owned(),
    });
    Action::Pause
}
