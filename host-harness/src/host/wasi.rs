//! WASI preview 1 as Envoy provides it to proxy-wasm modules (proxy-wasm-cpp-host's `exports.cc`).
//!
//! | call | behaviour |
//! |---|---|
//! | `fd_write` | fd 1 → log at `info`, fd 2 → log at `error` (one trailing newline removed); other fds `EBADF` |
//! | `fd_read` | `ENOSYS` |
//! | `fd_fdstat_get` | fds 1 and 2 only (`fs_rights_base` = write), else `EBADF` |
//! | `fd_prestat_get` | `EBADF` (no pre-opened directories) |
//! | `fd_prestat_dir_name`, `path_open` | `ENOSYS` |
//! | `fd_seek`, `fd_close`, `fd_filestat_get`, `fd_pread`, `fd_readdir`, `path_filestat_get`, `path_remove_directory`, `path_unlink_file` | log an error naming the call, return success (as Envoy) |
//! | `environ_sizes_get` / `environ_get` | the configured environment (`vm_config.environment_variables`) |
//! | `args_sizes_get` / `args_get` | no arguments |
//! | `clock_time_get` | realtime (0) and monotonic (1); others `ENOTSUP` |
//! | `random_get` | OS randomness, at most 64 KiB a call (`EINVAL` beyond) |
//! | `proc_exit` | logs an error and returns: it does **not** trap |
//!
//! Other WASI functions are not provided: a module importing them fails to load, in Envoy and here.
//! A bad pointer answers `EFAULT`. The calls are defined under both `wasi_snapshot_preview1` and
//! `wasi_unstable`.

use super::abi::{LogLevel, errno};
use super::memory::{CallError, CallResult, Guest};
use super::state::{MAX_RANDOM_GET, WasiView};
use wasmtime::{Caller, Linker};

/// Reaches the WASI state inside the store data `T`.
pub type GetWasi<T> = for<'a> fn(&'a mut T) -> WasiView<'a>;

/// Module names under which Envoy provides WASI.
pub const MODULES: &[&str] = &["wasi_snapshot_preview1", "wasi_unstable"];

fn guest<T>(caller: &mut Caller<'_, T>, get: GetWasi<T>) -> CallResult<Guest> {
    Guest::wasi(get(caller.data_mut()).wasi.guest.clone())
}

fn done(r: CallResult<()>) -> wasmtime::Result<i32> {
    match r {
        Ok(()) => Ok(errno::SUCCESS),
        Err(CallError::Status(s)) => Ok(s),
        Err(CallError::Trap(e)) => Err(e),
    }
}

fn errno_only(e: i32) -> CallResult<()> {
    Err(CallError::Status(e))
}

fn log_error<T>(caller: &mut Caller<'_, T>, get: GetWasi<T>, what: &str) {
    get(caller.data_mut())
        .log
        .push(LogLevel::Error, format!("wasi_unstable {what}"));
}

fn fd_write<T>(
    caller: &mut Caller<'_, T>,
    get: GetWasi<T>,
    fd: i32,
    iovs: i32,
    n: i32,
    out: i32,
) -> CallResult<()> {
    let level = match fd {
        1 => LogLevel::Info,
        2 => LogLevel::Error,
        _ => return errno_only(errno::BADF),
    };
    let g = guest(caller, get)?;
    let mut text = Vec::new();
    for i in 0..n.max(0) {
        let at = iovs.wrapping_add(i.wrapping_mul(8));
        let buf = g.read_u32(&*caller, at)?;
        let len = g.read_u32(&*caller, at.wrapping_add(4))?;
        if len != 0 {
            text.extend(g.read(&*caller, buf as i32, len as i32)?);
        }
    }
    let written = text.len();
    if text.last() == Some(&b'\n') {
        text.pop();
    }
    if written != 0 {
        let msg = String::from_utf8_lossy(&text).into_owned();
        get(caller.data_mut()).log.push(level, msg);
    }
    g.write_u32(&mut *caller, out, written as u32)
}

fn environ<T>(caller: &mut Caller<'_, T>, get: GetWasi<T>) -> Vec<Vec<u8>> {
    get(caller.data_mut())
        .wasi
        .env
        .iter()
        .map(|(k, v)| format!("{k}={v}\0").into_bytes())
        .collect()
}

fn add_module<T: 'static>(
    linker: &mut Linker<T>,
    m: &str,
    get: GetWasi<T>,
) -> wasmtime::Result<()> {
    linker.func_wrap(
        m,
        "fd_write",
        move |mut c: Caller<'_, T>, fd: i32, iovs: i32, n: i32, out: i32| {
            done(fd_write(&mut c, get, fd, iovs, n, out))
        },
    )?;
    linker.func_wrap(
        m,
        "fd_read",
        |_: Caller<'_, T>, _: i32, _: i32, _: i32, _: i32| Ok(errno::NOSYS),
    )?;
    linker.func_wrap(
        m,
        "fd_fdstat_get",
        move |mut c: Caller<'_, T>, fd: i32, out: i32| {
            done((|| {
                if fd != 1 && fd != 2 {
                    return errno_only(errno::BADF);
                }
                let g = guest(&mut c, get)?;
                let mut stat = [0u8; 24];
                if let Some(rights) = stat.get_mut(8..16) {
                    rights.copy_from_slice(&64u64.to_le_bytes());
                }
                g.write(&mut c, out, &stat)
            })())
        },
    )?;
    linker.func_wrap(m, "fd_prestat_get", |_: Caller<'_, T>, _: i32, _: i32| {
        Ok(errno::BADF)
    })?;
    linker.func_wrap(
        m,
        "fd_prestat_dir_name",
        |_: Caller<'_, T>, _: i32, _: i32, _: i32| Ok(errno::NOSYS),
    )?;
    linker.func_wrap(
        m,
        "path_open",
        |_: Caller<'_, T>,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i64,
         _: i64,
         _: i32,
         _: i32| Ok(errno::NOSYS),
    )?;
    linker.func_wrap(
        m,
        "fd_seek",
        move |mut c: Caller<'_, T>, _: i32, _: i64, _: i32, _: i32| {
            log_error(&mut c, get, "fd_seek");
            Ok(errno::SUCCESS)
        },
    )?;
    linker.func_wrap(m, "fd_close", move |mut c: Caller<'_, T>, _: i32| {
        log_error(&mut c, get, "fd_close");
        Ok(errno::SUCCESS)
    })?;
    linker.func_wrap(
        m,
        "fd_filestat_get",
        move |mut c: Caller<'_, T>, _: i32, _: i32| {
            log_error(&mut c, get, "fd_filestat_get");
            Ok(errno::SUCCESS)
        },
    )?;
    linker.func_wrap(
        m,
        "fd_pread",
        move |mut c: Caller<'_, T>, _: i32, _: i32, _: i32, _: i64, _: i32| {
            log_error(&mut c, get, "fd_pread");
            Ok(errno::SUCCESS)
        },
    )?;
    linker.func_wrap(
        m,
        "fd_readdir",
        move |mut c: Caller<'_, T>, _: i32, _: i32, _: i32, _: i64, _: i32| {
            log_error(&mut c, get, "fd_readdir");
            Ok(errno::SUCCESS)
        },
    )?;
    linker.func_wrap(
        m,
        "path_filestat_get",
        move |mut c: Caller<'_, T>, _: i32, _: i32, _: i32, _: i32, _: i32| {
            log_error(&mut c, get, "path_filestat_get");
            Ok(errno::SUCCESS)
        },
    )?;
    linker.func_wrap(
        m,
        "path_remove_directory",
        move |mut c: Caller<'_, T>, _: i32, _: i32, _: i32| {
            log_error(&mut c, get, "path_remove_directory");
            Ok(errno::SUCCESS)
        },
    )?;
    linker.func_wrap(
        m,
        "path_unlink_file",
        move |mut c: Caller<'_, T>, _: i32, _: i32, _: i32| {
            log_error(&mut c, get, "path_unlink_file");
            Ok(errno::SUCCESS)
        },
    )?;
    linker.func_wrap(
        m,
        "environ_sizes_get",
        move |mut c: Caller<'_, T>, count: i32, size: i32| {
            done((|| {
                let g = guest(&mut c, get)?;
                let env = environ(&mut c, get);
                let total: usize = env.iter().map(Vec::len).sum();
                g.write_u32(&mut c, count, env.len() as u32)?;
                g.write_u32(&mut c, size, total as u32)
            })())
        },
    )?;
    linker.func_wrap(
        m,
        "environ_get",
        move |mut c: Caller<'_, T>, array: i32, buf: i32| {
            done((|| {
                let g = guest(&mut c, get)?;
                let mut at = buf;
                for (i, e) in environ(&mut c, get).into_iter().enumerate() {
                    g.write_u32(&mut c, array.wrapping_add(4 * i as i32), at as u32)?;
                    g.write(&mut c, at, &e)?;
                    at = at.wrapping_add(e.len() as i32);
                }
                Ok(())
            })())
        },
    )?;
    linker.func_wrap(
        m,
        "args_sizes_get",
        move |mut c: Caller<'_, T>, argc: i32, size: i32| {
            done((|| {
                let g = guest(&mut c, get)?;
                g.write_u32(&mut c, argc, 0)?;
                g.write_u32(&mut c, size, 0)
            })())
        },
    )?;
    linker.func_wrap(m, "args_get", |_: Caller<'_, T>, _: i32, _: i32| {
        Ok(errno::SUCCESS)
    })?;
    linker.func_wrap(m, "proc_exit", move |mut c: Caller<'_, T>, code: i32| {
        let view = get(c.data_mut());
        view.wasi.exit_code = Some(code);
        view.log
            .push(LogLevel::Error, "wasi_unstable proc_exit".to_owned());
    })?;
    linker.func_wrap(
        m,
        "clock_time_get",
        move |mut c: Caller<'_, T>, id: i32, _precision: i64, out: i32| {
            done((|| {
                let view = get(c.data_mut());
                let now = match id {
                    0 => view.clock.now_ns(),
                    1 => u64::try_from(view.monotonic_origin.elapsed().as_nanos())
                        .unwrap_or(u64::MAX),
                    _ => return errno_only(errno::NOTSUP),
                };
                let g = guest(&mut c, get)?;
                g.write_u64(&mut c, out, now)
            })())
        },
    )?;
    linker.func_wrap(
        m,
        "random_get",
        move |mut c: Caller<'_, T>, buf: i32, len: i32| {
            done((|| {
                let len = len as u32 as usize;
                if len > MAX_RANDOM_GET {
                    return errno_only(errno::INVAL);
                }
                let g = guest(&mut c, get)?;
                let mut bytes = vec![0u8; len];
                getrandom::fill(&mut bytes).map_err(|_| CallError::Status(errno::NOSYS))?;
                g.write(&mut c, buf, &bytes)
            })())
        },
    )?;
    Ok(())
}

/// Adds WASI preview 1 (both module names) to `linker`.
pub fn add_to_linker<T: 'static>(linker: &mut Linker<T>, get: GetWasi<T>) -> wasmtime::Result<()> {
    for m in MODULES {
        add_module(linker, m, get)?;
    }
    Ok(())
}
