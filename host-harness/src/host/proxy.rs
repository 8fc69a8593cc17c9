//! The `env.proxy_*` hostcalls of proxy-wasm ABI 0.2.1, with Envoy's semantics.
//!
//! All 37 calls proxy-wasm-rust-sdk 0.2.5 imports, plus `proxy_get_header_map_size` and
//! `proxy_get_buffer_status` (in the ABI, not imported by the Rust SDK). Status codes are the
//! ones Envoy returns. `proxy_http_call` is made for real to the loopback clusters the options
//! name ([`super::http_call`]); gRPC calls fail (the harness has no gRPC upstreams). Shared data
//! and queues live in the [`super::process::Process`] the VM belongs to. Each call reads and
//! writes guest memory only through [`Guest`]; a bad pointer answers `InvalidMemoryAccess`.

use super::abi::{BufferType, LogLevel, MapType, MetricType, StreamType, WasmResult};
use super::http_call::{CallRequest, InFlight};
use super::memory::{CallError, CallResult, Guest, finish};
use super::pairs::{self, Header};
use super::properties;
use super::state::{LocalReply, ProxyState, StreamPhase, StreamState};
use wasmtime::{Caller, Linker};

/// Reaches the proxy state inside the store data `T`.
pub type GetProxy<T> = fn(&mut T) -> &mut ProxyState;

/// Module name of the proxy-wasm imports.
const MODULE: &str = "env";

/// Foreign functions this host provides (Envoy ≥ 1.33 provides `clear_route_cache`).
pub const FOREIGN_FUNCTIONS: &[&str] = &["clear_route_cache"];

fn st<'a, T>(caller: &'a mut Caller<'_, T>, get: GetProxy<T>) -> &'a mut ProxyState {
    get(caller.data_mut())
}

fn guest<T>(caller: &mut Caller<'_, T>, get: GetProxy<T>) -> CallResult<Guest> {
    Guest::proxy(st(caller, get).guest.clone())
}

fn bad<T>(_: T) -> CallError {
    CallError::from(WasmResult::BadArgument)
}

/// Envoy allows only logging, clocks and randomness while `_initialize` runs.
fn allowed<T>(caller: &mut Caller<'_, T>, get: GetProxy<T>, name: &str) -> CallResult<()> {
    if st(caller, get).initializing {
        return Err(CallError::Trap(wasmtime::Error::msg(format!(
            "{name} called during _initialize (not allowed by the host)"
        ))));
    }
    Ok(())
}

macro_rules! hostcall {
    ($linker:ident, $get:ident, $name:literal, restricted = $r:literal,
     |$caller:ident $(, $arg:ident : $ty:ty)*| $body:block) => {
        $linker.func_wrap(
            MODULE,
            $name,
            move |mut $caller: Caller<'_, T>, $($arg: $ty),*| -> wasmtime::Result<i32> {
                let r = (|| -> CallResult<()> {
                    if $r {
                        allowed(&mut $caller, $get, $name)?;
                    }
                    $body
                })();
                finish(r)
            },
        )?;
    };
}

/// Which map a map type names for the stream in the current phase; `None` when Envoy has none.
fn map_ref(state: &ProxyState, mt: MapType) -> Option<&Vec<Header>> {
    // Envoy keeps the call's response on the root context while the callback runs.
    match mt {
        MapType::HttpCallResponseHeaders => {
            return state.http_response.as_ref().map(|r| &r.headers);
        }
        MapType::HttpCallResponseTrailers => {
            return state.http_response.as_ref().map(|r| &r.trailers);
        }
        _ => {}
    }
    let s = current_stream(state)?;
    match mt {
        MapType::RequestHeaders => Some(&s.request_headers),
        MapType::ResponseHeaders if s.phase != StreamPhase::Request => Some(&s.response_headers),
        MapType::RequestTrailers => Some(&s.request_trailers),
        MapType::ResponseTrailers if s.phase != StreamPhase::Request => Some(&s.response_trailers),
        _ => None,
    }
}

fn map_mut(state: &mut ProxyState, mt: MapType) -> Option<&mut Vec<Header>> {
    let root = state.effective_context == state.root_context_id;
    let s = state.stream.as_mut().filter(|_| !root)?;
    match mt {
        MapType::RequestHeaders => Some(&mut s.request_headers),
        MapType::ResponseHeaders if s.phase != StreamPhase::Request => {
            Some(&mut s.response_headers)
        }
        MapType::RequestTrailers => Some(&mut s.request_trailers),
        MapType::ResponseTrailers if s.phase != StreamPhase::Request => {
            Some(&mut s.response_trailers)
        }
        _ => None,
    }
}

fn current_stream(state: &ProxyState) -> Option<&StreamState> {
    if state.effective_context == state.root_context_id {
        return None;
    }
    state.stream.as_ref()
}

fn map_type(v: i32) -> CallResult<MapType> {
    MapType::from_abi(v).ok_or_else(|| bad(()))
}

fn buffer(state: &ProxyState, bt: BufferType) -> Option<Vec<u8>> {
    match bt {
        BufferType::VmConfiguration => Some(state.plugin.vm_config.clone()),
        BufferType::PluginConfiguration => Some(if state.configuring {
            state.plugin_config.clone()
        } else {
            Vec::new()
        }),
        BufferType::HttpCallResponseBody => state.http_response.as_ref().map(|r| r.body.clone()),
        BufferType::RequestBody => current_stream(state)
            .filter(|s| s.phase == StreamPhase::Request)
            .map(|s| s.request_body.clone()),
        BufferType::ResponseBody => current_stream(state)
            .filter(|s| s.phase == StreamPhase::Response)
            .map(|s| s.response_body.clone()),
        _ => None,
    }
}

fn set_value(map: &mut Vec<Header>, key: String, value: String) {
    let mut seen = false;
    map.retain_mut(|(k, v)| {
        if *k != key {
            return true;
        }
        if seen {
            return false;
        }
        seen = true;
        v.clone_from(&value);
        true
    });
    if !seen {
        map.push((key, value));
    }
}

/// Adds every `proxy_*` hostcall to `linker`.
pub fn add_to_linker<T: 'static>(linker: &mut Linker<T>, get: GetProxy<T>) -> wasmtime::Result<()> {
    // --- logging, time, ticks ---
    hostcall!(
        linker,
        get,
        "proxy_log",
        restricted = false,
        |caller, level: i32, ptr: i32, len: i32| {
            let g = guest(&mut caller, get)?;
            let msg = g.read_string(&caller, ptr, len)?;
            let level = LogLevel::from_abi(level).ok_or_else(|| bad(()))?;
            st(&mut caller, get).log.push(level, msg);
            Ok(())
        }
    );
    hostcall!(
        linker,
        get,
        "proxy_get_log_level",
        restricted = false,
        |caller, ret: i32| {
            let g = guest(&mut caller, get)?;
            let level = st(&mut caller, get).plugin.log_level.to_abi();
            g.write_u32(&mut caller, ret, level as u32)
        }
    );
    hostcall!(
        linker,
        get,
        "proxy_get_current_time_nanoseconds",
        restricted = false,
        |caller, ret: i32| {
            let g = guest(&mut caller, get)?;
            let now = st(&mut caller, get).plugin.clock.now_ns();
            g.write_u64(&mut caller, ret, now)
        }
    );
    hostcall!(
        linker,
        get,
        "proxy_set_tick_period_milliseconds",
        restricted = true,
        |caller, period: i32| {
            st(&mut caller, get).tick_period_ms = period as u32;
            Ok(())
        }
    );

    // --- buffers ---
    hostcall!(
        linker,
        get,
        "proxy_get_buffer_bytes",
        restricted = true,
        |caller, bt: i32, start: i32, max: i32, ret_ptr: i32, ret_len: i32| {
            let g = guest(&mut caller, get)?;
            let bt = BufferType::from_abi(bt).ok_or_else(|| bad(()))?;
            let data =
                buffer(st(&mut caller, get), bt).ok_or(CallError::from(WasmResult::NotFound))?;
            let start = start as u32 as usize;
            if start > data.len() {
                return Err(bad(()));
            }
            let end = start.saturating_add(max as u32 as usize).min(data.len());
            let slice = data.get(start..end).ok_or_else(|| bad(()))?;
            g.return_bytes(&mut caller, slice, ret_ptr, ret_len)
        }
    );
    hostcall!(
        linker,
        get,
        "proxy_set_buffer_bytes",
        restricted = true,
        |caller, bt: i32, start: i32, size: i32, ptr: i32, len: i32| {
            let g = guest(&mut caller, get)?;
            let bytes = g.read(&caller, ptr, len)?;
            let bt = BufferType::from_abi(bt).ok_or_else(|| bad(()))?;
            let state = st(&mut caller, get);
            let root = state.effective_context == state.root_context_id;
            let stream = state
                .stream
                .as_mut()
                .filter(|_| !root)
                .ok_or(CallError::from(WasmResult::NotFound))?;
            let buf = match (bt, stream.phase) {
                (BufferType::RequestBody, StreamPhase::Request) => &mut stream.request_body,
                (BufferType::ResponseBody, StreamPhase::Response) => &mut stream.response_body,
                (BufferType::RequestBody | BufferType::ResponseBody, _) => {
                    return Err(WasmResult::NotFound.into());
                }
                _ => return Err(bad(())),
            };
            let (start, size) = (start as u32 as usize, size as u32 as usize);
            // Envoy's buffer semantics: prepend, replace all, or append.
            if start == 0 && size == 0 {
                buf.splice(0..0, bytes);
            } else if start == 0 && size >= buf.len() {
                *buf = bytes;
            } else if start >= buf.len() {
                buf.extend_from_slice(&bytes);
            } else {
                return Err(bad(()));
            }
            Ok(())
        }
    );
    hostcall!(
        linker,
        get,
        "proxy_get_buffer_status",
        restricted = true,
        |caller, bt: i32, len_ptr: i32, flags_ptr: i32| {
            let g = guest(&mut caller, get)?;
            let bt = BufferType::from_abi(bt).ok_or_else(|| bad(()))?;
            let data =
                buffer(st(&mut caller, get), bt).ok_or(CallError::from(WasmResult::NotFound))?;
            g.write_u32(&mut caller, len_ptr, data.len() as u32)?;
            g.write_u32(&mut caller, flags_ptr, 0)
        }
    );

    // --- header maps ---
    hostcall!(
        linker,
        get,
        "proxy_get_header_map_pairs",
        restricted = true,
        |caller, mt: i32, ret_ptr: i32, ret_len: i32| {
            let g = guest(&mut caller, get)?;
            let mt = map_type(mt)?;
            let enc = map_ref(st(&mut caller, get), mt)
                .map(|m| pairs::encode(m))
                .unwrap_or_default();
            g.return_bytes(&mut caller, &enc, ret_ptr, ret_len)
        }
    );
    hostcall!(
        linker,
        get,
        "proxy_get_header_map_size",
        restricted = true,
        |caller, mt: i32, ret: i32| {
            let g = guest(&mut caller, get)?;
            let mt = map_type(mt)?;
            let size: usize = map_ref(st(&mut caller, get), mt)
                .map(|m| m.iter().map(|(k, v)| k.len() + v.len()).sum())
                .unwrap_or(0);
            g.write_u32(&mut caller, ret, size as u32)
        }
    );
    hostcall!(
        linker,
        get,
        "proxy_set_header_map_pairs",
        restricted = true,
        |caller, mt: i32, ptr: i32, len: i32| {
            let g = guest(&mut caller, get)?;
            let bytes = g.read(&caller, ptr, len)?;
            let mt = map_type(mt)?;
            let new = pairs::decode(&bytes).map_err(bad)?;
            let map = map_mut(st(&mut caller, get), mt).ok_or_else(|| bad(()))?;
            // Envoy removes every existing key, then adds each pair.
            *map = new
                .into_iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v))
                .collect();
            Ok(())
        }
    );
    hostcall!(
        linker,
        get,
        "proxy_get_header_map_value",
        restricted = true,
        |caller, mt: i32, kptr: i32, klen: i32, ret_ptr: i32, ret_len: i32| {
            let g = guest(&mut caller, get)?;
            let key = g.read_string(&caller, kptr, klen)?.to_ascii_lowercase();
            let mt = map_type(mt)?;
            let value = map_ref(st(&mut caller, get), mt)
                .and_then(|m| m.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone()))
                .ok_or(CallError::from(WasmResult::NotFound))?;
            g.return_bytes(&mut caller, value.as_bytes(), ret_ptr, ret_len)
        }
    );
    hostcall!(
        linker,
        get,
        "proxy_add_header_map_value",
        restricted = true,
        |caller, mt: i32, kptr: i32, klen: i32, vptr: i32, vlen: i32| {
            let g = guest(&mut caller, get)?;
            let key = g.read_string(&caller, kptr, klen)?.to_ascii_lowercase();
            let value = g.read_string(&caller, vptr, vlen)?;
            let map = map_mut(st(&mut caller, get), map_type(mt)?).ok_or_else(|| bad(()))?;
            map.push((key, value));
            Ok(())
        }
    );
    hostcall!(
        linker,
        get,
        "proxy_replace_header_map_value",
        restricted = true,
        |caller, mt: i32, kptr: i32, klen: i32, vptr: i32, vlen: i32| {
            let g = guest(&mut caller, get)?;
            let key = g.read_string(&caller, kptr, klen)?.to_ascii_lowercase();
            let value = g.read_string(&caller, vptr, vlen)?;
            let map = map_mut(st(&mut caller, get), map_type(mt)?).ok_or_else(|| bad(()))?;
            set_value(map, key, value);
            Ok(())
        }
    );
    hostcall!(
        linker,
        get,
        "proxy_remove_header_map_value",
        restricted = true,
        |caller, mt: i32, kptr: i32, klen: i32| {
            let g = guest(&mut caller, get)?;
            let key = g.read_string(&caller, kptr, klen)?.to_ascii_lowercase();
            let map = map_mut(st(&mut caller, get), map_type(mt)?).ok_or_else(|| bad(()))?;
            map.retain(|(k, _)| *k != key);
            Ok(())
        }
    );

    // --- properties ---
    hostcall!(
        linker,
        get,
        "proxy_get_property",
        restricted = true,
        |caller, pptr: i32, plen: i32, ret_ptr: i32, ret_len: i32| {
            let g = guest(&mut caller, get)?;
            let path = g.read(&caller, pptr, plen)?;
            let value = properties::lookup(st(&mut caller, get), &path)
                .ok_or(CallError::from(WasmResult::NotFound))?;
            g.return_bytes(&mut caller, &value, ret_ptr, ret_len)
        }
    );
    hostcall!(
        linker,
        get,
        "proxy_set_property",
        restricted = true,
        |caller, pptr: i32, plen: i32, vptr: i32, vlen: i32| {
            let g = guest(&mut caller, get)?;
            let path = properties::normalise_key(&g.read(&caller, pptr, plen)?);
            let value = g.read(&caller, vptr, vlen)?;
            let state = st(&mut caller, get);
            let root = state.effective_context == state.root_context_id;
            match state.stream.as_mut().filter(|_| !root) {
                Some(s) => s.filter_state.insert(path, value),
                None => state.root_filter_state.insert(path, value),
            };
            Ok(())
        }
    );

    // --- shared data and queues ---
    hostcall!(
        linker,
        get,
        "proxy_get_shared_data",
        restricted = true,
        |caller, kptr: i32, klen: i32, ret_ptr: i32, ret_len: i32, cas_ptr: i32| {
            let g = guest(&mut caller, get)?;
            let key = g.read_string(&caller, kptr, klen)?;
            let state = st(&mut caller, get);
            let (value, cas) = state.process.lock()?.get(&state.plugin.vm_id, &key)?;
            g.write_u32(&mut caller, cas_ptr, cas)?;
            g.return_bytes(&mut caller, &value, ret_ptr, ret_len)
        }
    );
    hostcall!(
        linker,
        get,
        "proxy_set_shared_data",
        restricted = true,
        |caller, kptr: i32, klen: i32, vptr: i32, vlen: i32, cas: i32| {
            let g = guest(&mut caller, get)?;
            let key = g.read_string(&caller, kptr, klen)?;
            let value = g.read(&caller, vptr, vlen)?;
            let state = st(&mut caller, get);
            state
                .process
                .lock()?
                .set(&state.plugin.vm_id, key, value, cas as u32)?;
            Ok(())
        }
    );
    hostcall!(
        linker,
        get,
        "proxy_register_shared_queue",
        restricted = true,
        |caller, nptr: i32, nlen: i32, ret: i32| {
            let g = guest(&mut caller, get)?;
            let name = g.read_string(&caller, nptr, nlen)?;
            let state = st(&mut caller, get);
            let registrant = (state.vm_key, state.effective_context);
            let id = state
                .process
                .lock()?
                .register_queue(&state.plugin.vm_id, name, registrant);
            g.write_u32(&mut caller, ret, id)
        }
    );
    hostcall!(
        linker,
        get,
        "proxy_resolve_shared_queue",
        restricted = true,
        |caller, vptr: i32, vlen: i32, nptr: i32, nlen: i32, ret: i32| {
            let g = guest(&mut caller, get)?;
            let vm_id = g.read_string(&caller, vptr, vlen)?;
            let name = g.read_string(&caller, nptr, nlen)?;
            let id = st(&mut caller, get)
                .process
                .lock()?
                .resolve_queue(&vm_id, &name)?;
            g.write_u32(&mut caller, ret, id)
        }
    );
    hostcall!(
        linker,
        get,
        "proxy_dequeue_shared_queue",
        restricted = true,
        |caller, id: i32, ret_ptr: i32, ret_len: i32| {
            let g = guest(&mut caller, get)?;
            let item = st(&mut caller, get).process.lock()?.dequeue(id as u32)?;
            g.return_bytes(&mut caller, &item, ret_ptr, ret_len)
        }
    );
    hostcall!(
        linker,
        get,
        "proxy_enqueue_shared_queue",
        restricted = true,
        |caller, id: i32, vptr: i32, vlen: i32| {
            let g = guest(&mut caller, get)?;
            let value = g.read(&caller, vptr, vlen)?;
            st(&mut caller, get)
                .process
                .lock()?
                .enqueue(id as u32, value)?;
            Ok(())
        }
    );

    // --- stream control and local replies ---
    hostcall!(
        linker,
        get,
        "proxy_continue_stream",
        restricted = true,
        |caller, t: i32| {
            let state = st(&mut caller, get);
            match StreamType::from_abi(t).ok_or_else(|| bad(()))? {
                StreamType::Request => {
                    if let Some(s) = state.stream.as_mut() {
                        s.resumed = true;
                    }
                    Ok(())
                }
                StreamType::Response | StreamType::Downstream => Ok(()),
                StreamType::Upstream => Err(WasmResult::Unimplemented.into()),
            }
        }
    );
    hostcall!(
        linker,
        get,
        "proxy_close_stream",
        restricted = true,
        |caller, t: i32| {
            let state = st(&mut caller, get);
            match StreamType::from_abi(t).ok_or_else(|| bad(()))? {
                StreamType::Request | StreamType::Response => {
                    if let Some(s) = state.stream.as_mut() {
                        s.closed = true;
                    }
                    Ok(())
                }
                StreamType::Downstream | StreamType::Upstream => Ok(()),
            }
        }
    );
    hostcall!(
        linker,
        get,
        "proxy_send_local_response",
        restricted = true,
        |caller,
         status: i32,
         dptr: i32,
         dlen: i32,
         bptr: i32,
         blen: i32,
         hptr: i32,
         hlen: i32,
         grpc: i32| {
            let g = guest(&mut caller, get)?;
            let details = g.read_string(&caller, dptr, dlen)?;
            let body = g.read(&caller, bptr, blen)?;
            let headers = pairs::decode(&g.read(&caller, hptr, hlen)?).map_err(bad)?;
            let state = st(&mut caller, get);
            let root = state.effective_context == state.root_context_id;
            if let Some(s) = state.stream.as_mut().filter(|_| !root) {
                // Envoy defers the reply until the callback returns; a second request is moot.
                if s.local_reply.is_none() {
                    s.local_reply = Some(LocalReply {
                        status: status as u32,
                        details: details.split_whitespace().collect::<Vec<_>>().join("_"),
                        body,
                        headers: headers
                            .into_iter()
                            .map(|(k, v)| (k.to_ascii_lowercase(), v))
                            .collect(),
                        grpc_status: grpc,
                    });
                }
            }
            Ok(())
        }
    );

    // --- outbound calls: HTTP for real to loopback clusters (http_call.rs); gRPC fails ---
    hostcall!(
        linker,
        get,
        "proxy_http_call",
        restricted = true,
        |caller,
         uptr: i32,
         ulen: i32,
         hptr: i32,
         hlen: i32,
         bptr: i32,
         blen: i32,
         tptr: i32,
         tlen: i32,
         timeout: i32,
         ret: i32| {
            let g = guest(&mut caller, get)?;
            let cluster = g.read_string(&caller, uptr, ulen)?;
            let headers = pairs::decode(&g.read(&caller, hptr, hlen)?).map_err(bad)?;
            let body = g.read(&caller, bptr, blen)?;
            pairs::decode(&g.read(&caller, tptr, tlen)?).map_err(bad)?;
            g.read_u32(&caller, ret)?;
            let state = st(&mut caller, get);
            let request = CallRequest::new(&state.http_clusters, &cluster, headers, body, timeout)?;
            let handle = request.send()?;
            state.last_http_call_token = state.last_http_call_token.wrapping_add(1).max(1);
            let token = state.last_http_call_token;
            let context = state.effective_context;
            state.http_calls.push(InFlight {
                token,
                context,
                handle,
            });
            g.write_u32(&mut caller, ret, token)
        }
    );
    hostcall!(
        linker,
        get,
        "proxy_grpc_call",
        restricted = true,
        |caller,
         uptr: i32,
         ulen: i32,
         sptr: i32,
         slen: i32,
         mptr: i32,
         mlen: i32,
         iptr: i32,
         ilen: i32,
         dptr: i32,
         dlen: i32,
         _timeout: i32,
         ret: i32| {
            let g = guest(&mut caller, get)?;
            for (p, l) in [
                (uptr, ulen),
                (sptr, slen),
                (mptr, mlen),
                (iptr, ilen),
                (dptr, dlen),
            ] {
                g.read(&caller, p, l)?;
            }
            g.read_u32(&caller, ret)?;
            Err(WasmResult::InternalFailure.into())
        }
    );
    hostcall!(
        linker,
        get,
        "proxy_grpc_stream",
        restricted = true,
        |caller,
         uptr: i32,
         ulen: i32,
         sptr: i32,
         slen: i32,
         mptr: i32,
         mlen: i32,
         iptr: i32,
         ilen: i32,
         ret: i32| {
            let g = guest(&mut caller, get)?;
            for (p, l) in [(uptr, ulen), (sptr, slen), (mptr, mlen), (iptr, ilen)] {
                g.read(&caller, p, l)?;
            }
            g.read_u32(&caller, ret)?;
            Err(WasmResult::InternalFailure.into())
        }
    );
    hostcall!(
        linker,
        get,
        "proxy_grpc_send",
        restricted = true,
        |caller, _token: i32, mptr: i32, mlen: i32, _end: i32| {
            let g = guest(&mut caller, get)?;
            g.read(&caller, mptr, mlen)?;
            Err(WasmResult::NotFound.into())
        }
    );
    hostcall!(
        linker,
        get,
        "proxy_grpc_cancel",
        restricted = true,
        |caller, _token: i32| { Err(WasmResult::NotFound.into()) }
    );
    hostcall!(
        linker,
        get,
        "proxy_grpc_close",
        restricted = true,
        |caller, _token: i32| { Err(WasmResult::NotFound.into()) }
    );
    hostcall!(
        linker,
        get,
        "proxy_get_status",
        restricted = true,
        |caller, code_ptr: i32, ret_ptr: i32, ret_len: i32| {
            let g = guest(&mut caller, get)?;
            g.write_u32(&mut caller, code_ptr, 0)?;
            g.return_bytes(&mut caller, &[], ret_ptr, ret_len)
        }
    );

    // --- contexts, foreign functions ---
    hostcall!(
        linker,
        get,
        "proxy_set_effective_context",
        restricted = true,
        |caller, id: i32| {
            let state = st(&mut caller, get);
            let id = id as u32;
            let live =
                id == state.root_context_id || state.stream.as_ref().is_some_and(|s| s.id == id);
            if !live {
                return Err(bad(()));
            }
            state.effective_context = id;
            state.log.current_context = id;
            Ok(())
        }
    );
    hostcall!(linker, get, "proxy_done", restricted = true, |caller| {
        st(&mut caller, get).done_called = true;
        Ok(())
    });
    hostcall!(
        linker,
        get,
        "proxy_call_foreign_function",
        restricted = true,
        |caller, nptr: i32, nlen: i32, aptr: i32, alen: i32, ret_ptr: i32, ret_len: i32| {
            let g = guest(&mut caller, get)?;
            let name = g.read_string(&caller, nptr, nlen)?;
            g.read(&caller, aptr, alen)?;
            if !FOREIGN_FUNCTIONS.contains(&name.as_str()) {
                return Err(WasmResult::NotFound.into());
            }
            if let Some(s) = st(&mut caller, get).stream.as_mut() {
                s.foreign_calls.push(name);
            }
            g.return_bytes(&mut caller, &[], ret_ptr, ret_len)
        }
    );

    // --- metrics ---
    hostcall!(
        linker,
        get,
        "proxy_define_metric",
        restricted = true,
        |caller, t: i32, nptr: i32, nlen: i32, ret: i32| {
            let g = guest(&mut caller, get)?;
            let name = g.read_string(&caller, nptr, nlen)?;
            let t = MetricType::from_abi(t).ok_or_else(|| bad(()))?;
            g.read_u32(&caller, ret)?;
            let id = st(&mut caller, get).metrics.define(t, &name);
            g.write_u32(&mut caller, ret, id)
        }
    );
    hostcall!(
        linker,
        get,
        "proxy_increment_metric",
        restricted = true,
        |caller, id: i32, offset: i64| {
            st(&mut caller, get)
                .metrics
                .increment(id as u32, offset)
                .map_err(CallError::from)
        }
    );
    hostcall!(
        linker,
        get,
        "proxy_record_metric",
        restricted = true,
        |caller, id: i32, value: i64| {
            st(&mut caller, get)
                .metrics
                .record(id as u32, value as u64)
                .map_err(CallError::from)
        }
    );
    hostcall!(
        linker,
        get,
        "proxy_get_metric",
        restricted = true,
        |caller, id: i32, ret: i32| {
            let g = guest(&mut caller, get)?;
            let v = st(&mut caller, get).metrics.get(id as u32)?;
            g.write_u64(&mut caller, ret, v)
        }
    );
    Ok(())
}

/// Names of every hostcall [`add_to_linker`] defines (39).
pub const HOSTCALLS: &[&str] = &[
    "proxy_log",
    "proxy_get_log_level",
    "proxy_get_current_time_nanoseconds",
    "proxy_set_tick_period_milliseconds",
    "proxy_get_buffer_bytes",
    "proxy_set_buffer_bytes",
    "proxy_get_buffer_status",
    "proxy_get_header_map_pairs",
    "proxy_get_header_map_size",
    "proxy_set_header_map_pairs",
    "proxy_get_header_map_value",
    "proxy_add_header_map_value",
    "proxy_replace_header_map_value",
    "proxy_remove_header_map_value",
    "proxy_get_property",
    "proxy_set_property",
    "proxy_get_shared_data",
    "proxy_set_shared_data",
    "proxy_register_shared_queue",
    "proxy_resolve_shared_queue",
    "proxy_dequeue_shared_queue",
    "proxy_enqueue_shared_queue",
    "proxy_continue_stream",
    "proxy_close_stream",
    "proxy_send_local_response",
    "proxy_http_call",
    "proxy_grpc_call",
    "proxy_grpc_stream",
    "proxy_grpc_send",
    "proxy_grpc_cancel",
    "proxy_grpc_close",
    "proxy_get_status",
    "proxy_set_effective_context",
    "proxy_done",
    "proxy_call_foreign_function",
    "proxy_define_metric",
    "proxy_increment_metric",
    "proxy_record_metric",
    "proxy_get_metric",
];
