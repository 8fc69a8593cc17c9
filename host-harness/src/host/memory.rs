//! Checked access to the guest's linear memory.
//!
//! Every read and write goes through these helpers: a pointer/length pair outside memory becomes
//! [`CallError::Status`] (`InvalidMemoryAccess` for proxy calls, `EFAULT` for WASI), never a host
//! panic. Data the host returns to the guest is placed in memory the guest allocates itself
//! (`malloc`, else `proxy_on_memory_allocate`), as Envoy does.

use super::abi::WasmResult;
use wasmtime::{AsContext, AsContextMut, Caller, Memory, TypedFunc};

/// How a hostcall ends when it does not succeed.
#[derive(Debug)]
pub(crate) enum CallError {
    /// Return this status to the guest.
    Status(i32),
    /// Trap the guest (the error propagates out of the wasm call).
    Trap(wasmtime::Error),
}

impl From<WasmResult> for CallError {
    fn from(r: WasmResult) -> Self {
        Self::Status(r as i32)
    }
}

impl From<wasmtime::Error> for CallError {
    fn from(e: wasmtime::Error) -> Self {
        Self::Trap(e)
    }
}

/// Result of a hostcall body.
pub(crate) type CallResult<T> = Result<T, CallError>;

/// Turns a hostcall body's result into what wasmtime returns to the guest.
pub(crate) fn finish(r: CallResult<()>) -> wasmtime::Result<i32> {
    match r {
        Ok(()) => Ok(WasmResult::Ok as i32),
        Err(CallError::Status(s)) => Ok(s),
        Err(CallError::Trap(e)) => Err(e),
    }
}

/// The guest's memory and allocator, looked up once after instantiation.
#[derive(Clone)]
pub struct GuestExports {
    /// The exported `memory`.
    pub(crate) memory: Memory,
    /// `malloc`, or `proxy_on_memory_allocate` when there is no `malloc`.
    pub(crate) alloc: Option<TypedFunc<i32, i32>>,
}

/// Checked memory operations bound to one guest; `fault` is the status for a bad pointer.
pub(crate) struct Guest {
    exports: GuestExports,
    fault: i32,
}

impl Guest {
    /// For proxy hostcalls: a bad pointer answers `InvalidMemoryAccess`.
    pub(crate) fn proxy(exports: Option<GuestExports>) -> CallResult<Self> {
        let exports = exports.ok_or(CallError::from(WasmResult::InvalidMemoryAccess))?;
        Ok(Self {
            exports,
            fault: WasmResult::InvalidMemoryAccess as i32,
        })
    }

    /// For WASI calls: a bad pointer answers `EFAULT`.
    pub(crate) fn wasi(exports: Option<GuestExports>) -> CallResult<Self> {
        let fault = super::abi::errno::FAULT;
        let exports = exports.ok_or(CallError::Status(fault))?;
        Ok(Self { exports, fault })
    }

    fn range(&self, len_total: usize, ptr: i32, len: i32) -> CallResult<std::ops::Range<usize>> {
        let start = ptr as u32 as usize;
        let end = start
            .checked_add(len as u32 as usize)
            .ok_or(CallError::Status(self.fault))?;
        if end > len_total {
            return Err(CallError::Status(self.fault));
        }
        Ok(start..end)
    }

    /// Copies `len` bytes at `ptr` out of guest memory.
    pub(crate) fn read(&self, store: impl AsContext, ptr: i32, len: i32) -> CallResult<Vec<u8>> {
        let data = self.exports.memory.data(&store);
        let range = self.range(data.len(), ptr, len)?;
        data.get(range)
            .map(<[u8]>::to_vec)
            .ok_or(CallError::Status(self.fault))
    }

    /// Reads a UTF-8 string (lossily: invalid sequences become U+FFFD).
    pub(crate) fn read_string(
        &self,
        store: impl AsContext,
        ptr: i32,
        len: i32,
    ) -> CallResult<String> {
        let bytes = self.read(store, ptr, len)?;
        Ok(match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        })
    }

    /// Reads a little-endian `u32`.
    pub(crate) fn read_u32(&self, store: impl AsContext, ptr: i32) -> CallResult<u32> {
        let b = self.read(store, ptr, 4)?;
        let arr: [u8; 4] = b
            .as_slice()
            .try_into()
            .map_err(|_| CallError::Status(self.fault))?;
        Ok(u32::from_le_bytes(arr))
    }

    /// Writes `bytes` at `ptr`.
    pub(crate) fn write(
        &self,
        mut store: impl AsContextMut,
        ptr: i32,
        bytes: &[u8],
    ) -> CallResult<()> {
        let data = self.exports.memory.data_mut(&mut store);
        let len = i32::try_from(bytes.len()).map_err(|_| CallError::Status(self.fault))?;
        let range = self.range(data.len(), ptr, len)?;
        let dst = data.get_mut(range).ok_or(CallError::Status(self.fault))?;
        dst.copy_from_slice(bytes);
        Ok(())
    }

    /// Writes a little-endian `u32`.
    pub(crate) fn write_u32(&self, store: impl AsContextMut, ptr: i32, v: u32) -> CallResult<()> {
        self.write(store, ptr, &v.to_le_bytes())
    }

    /// Writes a little-endian `u64`.
    pub(crate) fn write_u64(&self, store: impl AsContextMut, ptr: i32, v: u64) -> CallResult<()> {
        self.write(store, ptr, &v.to_le_bytes())
    }

    /// Copies `bytes` into a fresh guest allocation and stores its address and length at
    /// `ptr_ptr` / `len_ptr`. Empty data is returned as address 0, length 0 (no allocation).
    pub(crate) fn return_bytes<T: 'static>(
        &self,
        caller: &mut Caller<'_, T>,
        bytes: &[u8],
        ptr_ptr: i32,
        len_ptr: i32,
    ) -> CallResult<()> {
        // Check the out-pointers first so that a bad pointer does not leak a guest allocation.
        self.check_writable(&*caller, ptr_ptr, 4)?;
        self.check_writable(&*caller, len_ptr, 4)?;
        let addr = if bytes.is_empty() {
            0
        } else {
            self.alloc_copy(caller, bytes)?
        };
        let len =
            u32::try_from(bytes.len()).map_err(|_| CallError::from(WasmResult::InternalFailure))?;
        self.write_u32(&mut *caller, ptr_ptr, addr as u32)?;
        self.write_u32(&mut *caller, len_ptr, len)
    }

    fn check_writable(&self, store: impl AsContext, ptr: i32, len: i32) -> CallResult<()> {
        let total = self.exports.memory.data_size(&store);
        self.range(total, ptr, len).map(|_| ())
    }

    /// Allocates `bytes.len()` bytes in the guest and copies `bytes` there.
    pub(crate) fn alloc_copy<T: 'static>(
        &self,
        caller: &mut Caller<'_, T>,
        bytes: &[u8],
    ) -> CallResult<i32> {
        let alloc = self
            .exports
            .alloc
            .clone()
            .ok_or(CallError::from(WasmResult::InternalFailure))?;
        let size =
            i32::try_from(bytes.len()).map_err(|_| CallError::from(WasmResult::InternalFailure))?;
        // A trap inside the guest allocator fails the VM like any other trap.
        let addr = alloc.call(&mut *caller, size)?;
        if addr == 0 {
            return Err(WasmResult::InternalFailure.into());
        }
        self.write(&mut *caller, addr, bytes)?;
        Ok(addr)
    }
}

impl std::fmt::Debug for GuestExports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuestExports")
            .field("has_alloc", &self.alloc.is_some())
            .finish_non_exhaustive()
    }
}
