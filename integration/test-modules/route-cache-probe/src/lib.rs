//! A purpose-built test module that settles one Envoy fact: does `cluster_header` routing see a
//! request header set in `on_http_request_headers` without calling the `clear_route_cache`
//! foreign function?
//!
//! Plugin configuration (plain text): `<cluster> keep` sets `x-trieguard-cluster: <cluster>` and
//! does nothing else; `<cluster> clear` also calls `clear_route_cache`; `- pass` does nothing at
//! all (the no-op filter the Envoy benchmark compares trieguard with). Anything else makes
//! `on_configure` fail. It answers nothing itself: Envoy's routing is what the test observes.

#[cfg(target_arch = "wasm32")]
mod probe {
    use proxy_wasm::hostcalls;
    use proxy_wasm::traits::{Context, HttpContext, RootContext};
    use proxy_wasm::types::{Action, BufferType, ContextType, LogLevel, MapType};
    use std::rc::Rc;

    proxy_wasm::main! {{
        proxy_wasm::set_log_level(LogLevel::Info);
        proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root { mode: None }) });
    }}

    struct Mode {
        /// `None`: pass-through.
        cluster: Option<String>,
        clear_route_cache: bool,
    }

    struct Root {
        mode: Option<Rc<Mode>>,
    }

    impl Context for Root {}

    impl RootContext for Root {
        fn on_configure(&mut self, _size: usize) -> bool {
            let Ok(Some(bytes)) =
                hostcalls::get_buffer(BufferType::PluginConfiguration, 0, usize::MAX)
            else {
                return false;
            };
            let text = String::from_utf8_lossy(&bytes);
            let mut words = text.split_whitespace();
            let (Some(cluster), Some(mode), None) = (words.next(), words.next(), words.next())
            else {
                return false;
            };
            let (cluster, clear_route_cache) = match mode {
                "clear" => (Some(cluster.to_owned()), true),
                "keep" => (Some(cluster.to_owned()), false),
                "pass" => (None, false),
                _ => return false,
            };
            self.mode = Some(Rc::new(Mode {
                cluster,
                clear_route_cache,
            }));
            true
        }

        fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
            Some(Box::new(Stream {
                mode: self.mode.clone(),
            }))
        }

        fn get_type(&self) -> Option<ContextType> {
            Some(ContextType::HttpContext)
        }
    }

    struct Stream {
        mode: Option<Rc<Mode>>,
    }

    impl Context for Stream {}

    impl HttpContext for Stream {
        fn on_http_request_headers(&mut self, _n: usize, _end: bool) -> Action {
            if let Some(Mode {
                cluster: Some(cluster),
                ..
            }) = self.mode.as_deref()
            {
                let _ = hostcalls::set_map_value(
                    MapType::HttpRequestHeaders,
                    "x-trieguard-cluster",
                    Some(cluster),
                );
                let mode = self.mode.as_deref();
                if mode.is_some_and(|m| m.clear_route_cache) {
                    let _ = hostcalls::call_foreign_function("clear_route_cache", None);
                }
            }
            Action::Continue
        }
    }
}
