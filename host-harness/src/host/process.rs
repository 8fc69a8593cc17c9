//! What an Envoy process holds for all its wasm VMs: shared data and shared queues.
//!
//! ```text
//!  Process (Arc<Mutex<ProcessState>>)  ── cloned into HostOptions; every VM of every Host built
//!     │                                   with a clone of it sees the same state
//!     ├─ shared data:   vm_id → key → (value, cas)      one CAS counter for the whole process
//!     └─ shared queues: (vm_id, name) → token → { registrant (VM, context), items }
//!                       ready notifications wait per VM until that VM runs its deferred work
//! ```
//!
//! The semantics follow proxy-wasm-cpp-host (`src/shared_data.cc`, `src/shared_queue.cc`), which
//! Envoy uses: shared data is scoped by `vm_id` (VMs with the same `vm_config.vm_id` see the same
//! keys and CAS tokens, others see nothing); a missing key is `NotFound`; a set with a non-zero CAS
//! that differs from the stored one is `CasMismatch`; every successful set takes the next CAS of
//! one process-wide counter (never 0). A queue is named by the registrant's `vm_id` and a name;
//! registering the same name again keeps the token and the queued items and makes the new
//! registrant the one `proxy_on_queue_ready` is delivered to; resolving an unknown queue is
//! `NotFound`; enqueueing appends and posts `proxy_on_queue_ready(context, token)` to the
//! registrant's VM (Envoy posts it to that VM's thread, so it never runs inside the enqueue).

use super::abi::WasmResult;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

/// Identifies one running VM inside a [`Process`] (stable across reloads of that VM).
pub type VmKey = u64;

/// The process-wide state shared by every VM started with the same [`Process`].
#[derive(Clone, Default)]
pub struct Process {
    inner: Arc<Mutex<ProcessState>>,
}

impl std::fmt::Debug for Process {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Process").finish_non_exhaustive()
    }
}

/// A queue: who is told about new items, and the items.
#[derive(Debug, Default)]
struct Queue {
    registrant: (VmKey, u32),
    items: VecDeque<Vec<u8>>,
}

/// Shared data and queues (see the module documentation).
#[derive(Debug, Default)]
pub(crate) struct ProcessState {
    data: HashMap<String, HashMap<String, (Vec<u8>, u32)>>,
    next_cas: u32,
    queue_tokens: BTreeMap<(String, String), u32>,
    queues: HashMap<u32, Queue>,
    next_queue_token: u32,
    /// `proxy_on_queue_ready(context, token)` calls due, per VM.
    ready: HashMap<VmKey, Vec<(u32, u32)>>,
    next_vm: VmKey,
}

impl Process {
    /// A new, empty process.
    pub fn new() -> Self {
        Self::default()
    }

    /// Locks the state; a poisoned lock (a panic elsewhere while holding it) is an internal
    /// failure for the hostcall, never a panic here.
    pub(crate) fn lock(&self) -> Result<MutexGuard<'_, ProcessState>, WasmResult> {
        self.inner.lock().map_err(|_| WasmResult::InternalFailure)
    }

    /// Registers a new VM and returns its key.
    pub(crate) fn add_vm(&self) -> VmKey {
        match self.lock() {
            Ok(mut state) => {
                state.next_vm = state.next_vm.wrapping_add(1);
                state.next_vm
            }
            Err(_) => 0,
        }
    }

    /// Forgets a VM that stopped: notifications for it are dropped (as Envoy does when the
    /// registrant's VM is gone).
    pub(crate) fn remove_vm(&self, vm: VmKey) {
        if let Ok(mut state) = self.lock() {
            state.ready.remove(&vm);
        }
    }

    /// Takes the queue-ready notifications due to `vm`.
    pub(crate) fn take_ready(&self, vm: VmKey) -> Vec<(u32, u32)> {
        self.lock()
            .map(|mut state| state.ready.remove(&vm).unwrap_or_default())
            .unwrap_or_default()
    }

    /// The value and CAS of `key` in `vm_id`'s shared data (for tests and tools).
    pub fn shared_data(&self, vm_id: &str, key: &str) -> Option<(Vec<u8>, u32)> {
        let state = self.lock().ok()?;
        state.get(vm_id, key).ok()
    }

    /// Keys of `vm_id`'s shared data, sorted (for tests and tools).
    pub fn shared_keys(&self, vm_id: &str) -> Vec<String> {
        let Ok(state) = self.lock() else {
            return Vec::new();
        };
        let mut keys: Vec<String> = state
            .data
            .get(vm_id)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        keys.sort();
        keys
    }
}

impl ProcessState {
    /// `proxy_get_shared_data`.
    pub(crate) fn get(&self, vm_id: &str, key: &str) -> Result<(Vec<u8>, u32), WasmResult> {
        self.data
            .get(vm_id)
            .and_then(|m| m.get(key))
            .cloned()
            .ok_or(WasmResult::NotFound)
    }

    /// `proxy_set_shared_data`.
    pub(crate) fn set(
        &mut self,
        vm_id: &str,
        key: String,
        value: Vec<u8>,
        cas: u32,
    ) -> Result<(), WasmResult> {
        let current = self
            .data
            .get(vm_id)
            .and_then(|m| m.get(&key))
            .map(|(_, c)| *c);
        if let Some(current) = current
            && cas != 0
            && cas != current
        {
            return Err(WasmResult::CasMismatch);
        }
        let next = self.next_cas();
        self.data
            .entry(vm_id.to_owned())
            .or_default()
            .insert(key, (value, next));
        Ok(())
    }

    fn next_cas(&mut self) -> u32 {
        self.next_cas = self.next_cas.wrapping_add(1);
        if self.next_cas == 0 {
            self.next_cas = 1;
        }
        self.next_cas
    }

    /// `proxy_register_shared_queue`: the token of `(vm_id, name)`, now delivering to
    /// `registrant`; queued items are kept.
    pub(crate) fn register_queue(
        &mut self,
        vm_id: &str,
        name: String,
        registrant: (VmKey, u32),
    ) -> u32 {
        let key = (vm_id.to_owned(), name);
        let token = match self.queue_tokens.get(&key) {
            Some(token) => *token,
            None => {
                let token = self.next_queue_token();
                self.queue_tokens.insert(key, token);
                token
            }
        };
        self.queues.entry(token).or_default().registrant = registrant;
        token
    }

    fn next_queue_token(&mut self) -> u32 {
        loop {
            self.next_queue_token = self.next_queue_token.wrapping_add(1);
            let token = self.next_queue_token;
            if token != 0 && !self.queues.contains_key(&token) {
                return token;
            }
        }
    }

    /// `proxy_resolve_shared_queue`.
    pub(crate) fn resolve_queue(&self, vm_id: &str, name: &str) -> Result<u32, WasmResult> {
        self.queue_tokens
            .get(&(vm_id.to_owned(), name.to_owned()))
            .copied()
            .ok_or(WasmResult::NotFound)
    }

    /// `proxy_dequeue_shared_queue`.
    pub(crate) fn dequeue(&mut self, token: u32) -> Result<Vec<u8>, WasmResult> {
        let queue = self.queues.get_mut(&token).ok_or(WasmResult::NotFound)?;
        queue.items.pop_front().ok_or(WasmResult::Empty)
    }

    /// `proxy_enqueue_shared_queue`: appends and posts the ready notification.
    pub(crate) fn enqueue(&mut self, token: u32, value: Vec<u8>) -> Result<(), WasmResult> {
        let queue = self.queues.get_mut(&token).ok_or(WasmResult::NotFound)?;
        queue.items.push_back(value);
        let (vm, context) = queue.registrant;
        self.ready.entry(vm).or_default().push((context, token));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_data_is_scoped_by_vm_id_with_one_cas_counter() {
        let process = Process::new();
        let mut s = process.lock().unwrap();
        assert_eq!(s.get("a", "k"), Err(WasmResult::NotFound));
        s.set("a", "k".into(), b"1".to_vec(), 0).unwrap();
        s.set("b", "k".into(), b"2".to_vec(), 0).unwrap();
        assert_eq!(s.get("a", "k"), Ok((b"1".to_vec(), 1)));
        assert_eq!(s.get("b", "k"), Ok((b"2".to_vec(), 2)), "one counter");
        assert_eq!(
            s.set("a", "k".into(), b"x".to_vec(), 2),
            Err(WasmResult::CasMismatch)
        );
        s.set("a", "k".into(), b"3".to_vec(), 1).unwrap();
        assert_eq!(s.get("a", "k"), Ok((b"3".to_vec(), 3)));
        // A CAS on a key that does not exist yet is ignored (the set creates it).
        s.set("a", "new".into(), b"n".to_vec(), 99).unwrap();
        drop(s);
        assert_eq!(process.shared_keys("a"), vec!["k", "new"]);
        assert_eq!(process.shared_data("b", "k"), Some((b"2".to_vec(), 2)));
    }

    #[test]
    fn queues_keep_items_and_move_to_the_last_registrant() {
        let process = Process::new();
        let (vm1, vm2) = (process.add_vm(), process.add_vm());
        let mut s = process.lock().unwrap();
        let token = s.register_queue("id", "q".into(), (vm1, 1));
        assert_ne!(token, 0);
        assert_eq!(s.resolve_queue("id", "q"), Ok(token));
        assert_eq!(s.resolve_queue("other", "q"), Err(WasmResult::NotFound));
        s.enqueue(token, b"one".to_vec()).unwrap();
        assert_eq!(s.register_queue("id", "q".into(), (vm2, 7)), token);
        s.enqueue(token, b"two".to_vec()).unwrap();
        assert_eq!(s.dequeue(token), Ok(b"one".to_vec()));
        assert_eq!(s.dequeue(token), Ok(b"two".to_vec()));
        assert_eq!(s.dequeue(token), Err(WasmResult::Empty));
        assert_eq!(s.dequeue(token + 1), Err(WasmResult::NotFound));
        assert_eq!(s.enqueue(token + 1, Vec::new()), Err(WasmResult::NotFound));
        drop(s);
        assert_eq!(process.take_ready(vm1), vec![(1, token)]);
        assert_eq!(process.take_ready(vm2), vec![(7, token)]);
        assert!(process.take_ready(vm2).is_empty());
    }
}
