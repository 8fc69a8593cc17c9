//! trieguard plugin (being built).
