//! trieguard integration (being built).
