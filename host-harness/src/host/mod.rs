//! A proxy-wasm 0.2.1 host on wasmtime that behaves like an Envoy worker.
//!
//! ```text
//!  Host::new(wasm, options) ── compile once (one process-wide Engine + Linker<HostState>)
//!        │                     Host::with_options(options): same module, other options
//!  Host::start(config) ──► Vm: _initialize → on_context_create(root=1, 0) → on_vm_start → on_configure
//!        │
//!  Vm::handle(&HttpRequest) ──► Outcome        (one VM reused for every request)
//!     on_context_create(id, root) → on_request_headers   (id = 2, 3, …, never reused)
//!       ├─ local reply requested? → the client gets it; on_response_headers(/body) for it
//!       ├─ paused and not resumed? → Stalled
//!       └─ continue → cluster_header routing on the final headers → upstream 200 → on_response_headers
//!     on_log → on_done → on_delete
//!  Vm::tick()   ──► on_tick(root)
//!  Vm::pump()   ──► queue-ready notifications, then every proxy_http_call in flight, oldest first
//!  run_for(clock, [vms], d) ──► ticks each VM at its tick period in virtual time, pumping all
//! ```
//!
//! A trap is handled per [`FailurePolicy`]; the time spent inside the VM is measured per request.
//!
//! Several VMs make one Envoy process when their [`HostOptions::process`] is the same
//! [`Process`] (every VM of one `Host` shares it): shared data is scoped by `vm_id` and shared
//! queues by `(vm_id, name)` across them, as in Envoy ([`process`]). An `envoy.bootstrap.wasm`
//! service VM is started like any other ([`Host::start`]: on_vm_start, then on_configure of the
//! root context) and simply never gets requests. `proxy_http_call` is made for real over
//! HTTP/1.1 to the loopback address [`HostOptions::http_clusters`] gives the cluster, with the
//! outcomes of Envoy's async client ([`http_call`]). [`Clock::Virtual`] lets a test move time
//! (and [`run_for`] fire ticks) without waiting. Stats stay per VM (in Envoy, VMs defining the
//! same metric name share one stat).

pub mod abi;
mod event_loop;
pub mod http_call;
mod memory;
pub mod metrics;
pub mod pairs;
pub mod process;
pub(crate) mod properties;
pub mod proxy;
pub mod request;
pub mod state;
mod vm;
pub mod wasi;

pub use event_loop::run_for;
pub use http_call::{HttpClusterError, HttpClusters};
pub use memory::GuestExports;
pub use metrics::{MetricValue, Metrics};
pub use process::Process;
pub use request::{HttpRequest, Tls};
pub use state::{Clock, HostState, LogLine, PluginInfo, VirtualClock};
pub use vm::{
    Action, FailurePolicy, Host, HostError, HostOptions, MAX_PUMPED_CALLS, Outcome, Routing, Vm,
    engine,
};
