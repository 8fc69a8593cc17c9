//! trieguard certs (being built).
