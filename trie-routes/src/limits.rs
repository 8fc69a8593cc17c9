//! Named limits. Each one bounds memory or work that a config or a request could otherwise
//! make unbounded.

/// Route ids are `u32` and `u32::MAX` marks an empty slot in the node layout.
pub const MAX_ROUTES: usize = (u32::MAX - 1) as usize;

/// Longest path pattern accepted; longer ones are config mistakes and would bloat the label pool.
pub const MAX_PATTERN_LEN: usize = 8 * 1024;

/// Most parameters in one template; keeps the per-lookup parameter stack small.
pub const MAX_TEMPLATE_PARAMS: usize = 32;

/// Longest host name (RFC 1035 §2.3.4: 255 octets on the wire, 253 characters as text).
/// Longer authorities can only match the default host `*`.
pub const MAX_HOST_LEN: usize = 253;
