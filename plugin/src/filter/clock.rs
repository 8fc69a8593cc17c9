//! The host's wall clock (`proxy_get_current_time_nanoseconds`), read without trapping.

use std::time::{Duration, UNIX_EPOCH};

use proxy_wasm::hostcalls;

/// Time since the Unix epoch by the host's clock, if it can be read.
fn since_epoch() -> Option<Duration> {
    hostcalls::get_current_time()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
}

/// Milliseconds since the Unix epoch (0 if the clock cannot be read).
pub(crate) fn now_ms() -> u64 {
    since_epoch().map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Nanoseconds since the Unix epoch (0 if the clock cannot be read).
pub(crate) fn now_ns() -> u64 {
    since_epoch().map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Seconds since the Unix epoch (0 if the clock cannot be read).
pub(crate) fn now_unix_seconds() -> u64 {
    since_epoch().map_or(0, |d| d.as_secs())
}
