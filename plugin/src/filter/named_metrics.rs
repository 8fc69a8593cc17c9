//! Counters and gauges of the policy source and service, named once, defined lazily, never
//! trapping.

use std::collections::HashMap;

use proxy_wasm::hostcalls;
use proxy_wasm::types::MetricType;

/// Metrics of one root context (source, service), by full name.
#[derive(Default)]
pub(crate) struct NamedMetrics {
    ids: HashMap<String, u32>,
}

impl NamedMetrics {
    /// Adds one to counter `name`.
    pub(crate) fn count(&mut self, name: &str) {
        if let Some(id) = self.id(MetricType::Counter, name) {
            let _ = hostcalls::increment_metric(id, 1);
        }
    }

    /// Sets gauge `name`.
    pub(crate) fn set(&mut self, name: &str, value: u64) {
        if let Some(id) = self.id(MetricType::Gauge, name) {
            let _ = hostcalls::record_metric(id, value);
        }
    }

    fn id(&mut self, kind: MetricType, name: &str) -> Option<u32> {
        if let Some(id) = self.ids.get(name) {
            return Some(*id);
        }
        match hostcalls::define_metric(kind, name) {
            Ok(id) => {
                self.ids.insert(name.to_owned(), id);
                Some(id)
            }
            Err(status) => {
                log::debug!("trieguard: defining metric {name} failed: {status:?}");
                None
            }
        }
    }
}
