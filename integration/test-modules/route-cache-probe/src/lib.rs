//! A purpose-built test module for two jobs.
//!
//! 1. It settles one Envoy fact: does `cluster_header` routing see a request header set in
//!    `on_http_request_headers` without calling the `clear_route_cache` foreign function?
//!    Plugin configuration (plain text): `<cluster> keep` sets `x-trieguard-cluster: <cluster>`
//!    and does nothing else; `<cluster> clear` also calls `clear_route_cache`; `- pass` does
//!    nothing at all (the no-op filter the Envoy benchmark compares trieguard with).
//! 2. It measures what single hostcalls cost inside Envoy (`trieguard-envoy-bench
//!    --hostcall-costs`): `ops <op>*<n> …` performs each listed hostcall `n` times per request,
//!    where `<op>` is `headers` (read the whole request header map), `property`
//!    (`source.address`), `time` (the clock), `metric` (increment a counter), `set_header`
//!    (set one request header), `route_to_app` (set `x-trieguard-cluster: app`, for the
//!    `cluster_header` variants), `replace_headers` (read the header map and write it back with
//!    three headers added, in one `set_header_map_pairs` call) or `clear_route_cache` (the
//!    foreign function).
//!
//! Anything else makes `on_configure` fail. It answers nothing itself: Envoy's routing is what
//! the test observes.

#[cfg(target_arch = "wasm32")]
mod probe {
    use proxy_wasm::hostcalls;
    use proxy_wasm::traits::{Context, HttpContext, RootContext};
    use proxy_wasm::types::{Action, BufferType, ContextType, LogLevel, MapType, MetricType};
    use std::rc::Rc;

    proxy_wasm::main! {{
        proxy_wasm::set_log_level(LogLevel::Info);
        proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root { mode: None }) });
    }}

    /// One hostcall the cost mode can repeat.
    #[derive(Clone, Copy)]
    enum Op {
        Headers,
        Property,
        Time,
        Metric(u32),
        SetHeader,
        RouteToApp,
        ReplaceHeaders,
        ClearRouteCache,
    }

    enum Mode {
        /// Does nothing.
        Pass,
        /// Sets the cluster header, optionally clearing the route cache.
        Route {
            cluster: String,
            clear_route_cache: bool,
        },
        /// Performs these hostcalls on every request.
        Ops(Vec<Op>),
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
            let words: Vec<&str> = text.split_whitespace().collect();
            let mode = match words.as_slice() {
                ["ops", ops @ ..] => parse_ops(ops).map(Mode::Ops),
                [_, "pass"] => Some(Mode::Pass),
                [cluster, "keep"] => Some(Mode::Route {
                    cluster: (*cluster).to_owned(),
                    clear_route_cache: false,
                }),
                [cluster, "clear"] => Some(Mode::Route {
                    cluster: (*cluster).to_owned(),
                    clear_route_cache: true,
                }),
                _ => None,
            };
            self.mode = mode.map(Rc::new);
            self.mode.is_some()
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

    /// Parses `op*n` words; `None` on anything unknown.
    fn parse_ops(words: &[&str]) -> Option<Vec<Op>> {
        let mut ops = Vec::new();
        for word in words {
            let (name, count) = match word.split_once('*') {
                Some((name, count)) => (name, count.parse::<usize>().ok()?),
                None => (*word, 1),
            };
            let op = match name {
                "headers" => Op::Headers,
                "property" => Op::Property,
                "time" => Op::Time,
                "metric" => Op::Metric(
                    hostcalls::define_metric(MetricType::Counter, "probe.requests").ok()?,
                ),
                "set_header" => Op::SetHeader,
                "route_to_app" => Op::RouteToApp,
                "replace_headers" => Op::ReplaceHeaders,
                "clear_route_cache" => Op::ClearRouteCache,
                _ => return None,
            };
            ops.extend(std::iter::repeat_n(op, count));
        }
        Some(ops)
    }

    struct Stream {
        mode: Option<Rc<Mode>>,
    }

    impl Context for Stream {}

    impl HttpContext for Stream {
        fn on_http_request_headers(&mut self, _n: usize, _end: bool) -> Action {
            match self.mode.as_deref() {
                Some(Mode::Route {
                    cluster,
                    clear_route_cache,
                }) => {
                    let _ = hostcalls::set_map_value(
                        MapType::HttpRequestHeaders,
                        "x-trieguard-cluster",
                        Some(cluster),
                    );
                    if *clear_route_cache {
                        let _ = hostcalls::call_foreign_function("clear_route_cache", None);
                    }
                }
                Some(Mode::Ops(ops)) => ops.iter().for_each(|op| perform(*op)),
                Some(Mode::Pass) | None => {}
            }
            Action::Continue
        }
    }

    /// Performs one hostcall, ignoring its result (only its cost matters).
    fn perform(op: Op) {
        match op {
            Op::Headers => {
                let _ = hostcalls::get_map_bytes(MapType::HttpRequestHeaders);
            }
            Op::Property => {
                let _ = hostcalls::get_property(vec!["source", "address"]);
            }
            Op::Time => {
                let _ = hostcalls::get_current_time();
            }
            Op::Metric(id) => {
                let _ = hostcalls::increment_metric(id, 1);
            }
            Op::SetHeader => {
                let _ = hostcalls::set_map_value(MapType::HttpRequestHeaders, "x-probe", Some("1"));
            }
            Op::RouteToApp => {
                let _ = hostcalls::set_map_value(
                    MapType::HttpRequestHeaders,
                    "x-trieguard-cluster",
                    Some("app"),
                );
            }
            Op::ReplaceHeaders => {
                if let Ok(mut pairs) = hostcalls::get_map_bytes(MapType::HttpRequestHeaders) {
                    for name in ["x-probe-route", "x-probe-cluster", "x-probe-consumer"] {
                        pairs.push((name.to_owned(), b"1".to_vec()));
                    }
                    let pairs: Vec<(&str, &[u8])> = pairs
                        .iter()
                        .map(|(name, value)| (name.as_str(), value.as_slice()))
                        .collect();
                    let _ = hostcalls::set_map_bytes(MapType::HttpRequestHeaders, pairs);
                }
            }
            Op::ClearRouteCache => {
                let _ = hostcalls::call_foreign_function("clear_route_cache", None);
            }
        }
    }
}
