//! `cargo xtask demo [--once]`: setup, build, then the demo binary of the integration crate
//! (Envoy on 127.0.0.1:10000 + plugin + `examples/policy.json` + echo upstreams).

use xshell::{Shell, cmd};

use crate::{build, setup, step};

pub fn run(sh: &Shell, args: &[String]) -> anyhow::Result<()> {
    setup::run(sh)?;
    build::run(sh)?;
    step("demo");
    cmd!(
        sh,
        "cargo run --quiet -p integration --bin trieguard-demo -- {args...}"
    )
    .run()?;
    Ok(())
}
