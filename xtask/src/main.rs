//! trieguard xtask (being built).
fn main() {}
