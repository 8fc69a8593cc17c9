//! Numeric constants of the proxy-wasm ABI 0.2.1 as the host sees them.
//!
//! Values follow the spec (`abi-versions/v0.2.1`) and proxy-wasm-rust-sdk 0.2.5's `types.rs`.

/// Status codes returned by every `proxy_*` hostcall (`WasmResult` in Envoy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum WasmResult {
    /// Success.
    Ok = 0,
    /// The key, value, context or metric does not exist.
    NotFound = 1,
    /// An argument is out of range or malformed.
    BadArgument = 2,
    /// A value could not be serialised.
    SerializationFailure = 3,
    /// A value could not be parsed.
    ParseFailure = 4,
    /// A guest pointer/length pair lies outside linear memory.
    InvalidMemoryAccess = 6,
    /// A queue is empty.
    Empty = 7,
    /// Compare-and-swap of shared data failed.
    CasMismatch = 8,
    /// The host failed internally.
    InternalFailure = 10,
    /// The host does not implement the call.
    Unimplemented = 12,
}

/// Header-map types (`proxy_map_type_t`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapType {
    /// Request headers (0).
    RequestHeaders,
    /// Request trailers (1).
    RequestTrailers,
    /// Response headers (2).
    ResponseHeaders,
    /// Response trailers (3).
    ResponseTrailers,
    /// gRPC initial metadata received (4).
    GrpcReceiveInitialMetadata,
    /// gRPC trailing metadata received (5).
    GrpcReceiveTrailingMetadata,
    /// `proxy_http_call` response headers (6).
    HttpCallResponseHeaders,
    /// `proxy_http_call` response trailers (7).
    HttpCallResponseTrailers,
}

impl MapType {
    /// Decodes the ABI value; `None` for unknown types (the hostcall answers `BadArgument`).
    pub fn from_abi(v: i32) -> Option<Self> {
        Some(match v {
            0 => Self::RequestHeaders,
            1 => Self::RequestTrailers,
            2 => Self::ResponseHeaders,
            3 => Self::ResponseTrailers,
            4 => Self::GrpcReceiveInitialMetadata,
            5 => Self::GrpcReceiveTrailingMetadata,
            6 => Self::HttpCallResponseHeaders,
            7 => Self::HttpCallResponseTrailers,
            _ => return None,
        })
    }
}

/// Buffer types (`proxy_buffer_type_t`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BufferType {
    /// HTTP request body (0).
    RequestBody,
    /// HTTP response body (1).
    ResponseBody,
    /// Downstream TCP data (2).
    DownstreamData,
    /// Upstream TCP data (3).
    UpstreamData,
    /// `proxy_http_call` response body (4).
    HttpCallResponseBody,
    /// gRPC message received (5).
    GrpcReceiveBuffer,
    /// VM configuration (6).
    VmConfiguration,
    /// Plugin configuration (7).
    PluginConfiguration,
    /// Foreign-function call data (8).
    CallData,
}

impl BufferType {
    /// Decodes the ABI value; `None` for unknown types.
    pub fn from_abi(v: i32) -> Option<Self> {
        Some(match v {
            0 => Self::RequestBody,
            1 => Self::ResponseBody,
            2 => Self::DownstreamData,
            3 => Self::UpstreamData,
            4 => Self::HttpCallResponseBody,
            5 => Self::GrpcReceiveBuffer,
            6 => Self::VmConfiguration,
            7 => Self::PluginConfiguration,
            8 => Self::CallData,
            _ => return None,
        })
    }
}

/// Metric types (`proxy_metric_type_t`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricType {
    /// Monotonic counter (0).
    Counter,
    /// Gauge (1).
    Gauge,
    /// Histogram (2).
    Histogram,
}

impl MetricType {
    /// Decodes the ABI value.
    pub fn from_abi(v: i32) -> Option<Self> {
        Some(match v {
            0 => Self::Counter,
            1 => Self::Gauge,
            2 => Self::Histogram,
            _ => return None,
        })
    }
}

/// Stream types for `proxy_continue_stream` / `proxy_close_stream`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamType {
    /// HTTP request (0).
    Request,
    /// HTTP response (1).
    Response,
    /// Downstream connection (2).
    Downstream,
    /// Upstream connection (3).
    Upstream,
}

impl StreamType {
    /// Decodes the ABI value.
    pub fn from_abi(v: i32) -> Option<Self> {
        Some(match v {
            0 => Self::Request,
            1 => Self::Response,
            2 => Self::Downstream,
            3 => Self::Upstream,
            _ => return None,
        })
    }
}

/// Log levels (`proxy_log_level_t`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// 0.
    Trace,
    /// 1.
    Debug,
    /// 2.
    Info,
    /// 3.
    Warn,
    /// 4.
    Error,
    /// 5.
    Critical,
}

impl LogLevel {
    /// Decodes the ABI value; Envoy answers `BadArgument` to anything above `Critical`.
    pub fn from_abi(v: i32) -> Option<Self> {
        Some(match v {
            0 => Self::Trace,
            1 => Self::Debug,
            2 => Self::Info,
            3 => Self::Warn,
            4 => Self::Error,
            5 => Self::Critical,
            _ => return None,
        })
    }

    /// The ABI value.
    pub fn to_abi(self) -> i32 {
        self as i32
    }
}

/// Filter actions returned by the header/body callbacks.
pub const ACTION_CONTINUE: i32 = 0;

/// WASI preview 1 errno values the host returns.
pub mod errno {
    /// Success.
    pub const SUCCESS: i32 = 0;
    /// Bad file descriptor.
    pub const BADF: i32 = 8;
    /// Bad address (a guest pointer outside linear memory).
    pub const FAULT: i32 = 21;
    /// Invalid argument.
    pub const INVAL: i32 = 28;
    /// Function not implemented.
    pub const NOSYS: i32 = 52;
    /// Not supported.
    pub const NOTSUP: i32 = 58;
}
