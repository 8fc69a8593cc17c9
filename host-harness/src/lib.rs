//! trieguard host-harness (being built).
