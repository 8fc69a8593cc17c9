//! Metrics defined by the plugin, with Envoy's naming and type rules.
//!
//! Envoy stores a metric defined as `name` under `wasmcustom.name` (see `/stats`). Ids encode the
//! type in their two low bits (counter 0, gauge 1, histogram 2) and start at 4, 5, 6, growing by 4.
//! Defining the same name again gives a new id that refers to the same stat. Rules reproduced from
//! Envoy's `context.cc`: a counter only grows (`increment` with an offset ≤ 0 is `BadArgument`);
//! `record` adds to a counter, sets a gauge, and records a histogram sample; `get` of a histogram
//! is `BadArgument`; an unknown id is `NotFound`.

use super::abi::{MetricType, WasmResult};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// Envoy's namespace for plugin-defined metrics.
pub const CUSTOM_STAT_NAMESPACE: &str = "wasmcustom";

/// Bits of a metric id that carry its type.
const TYPE_MASK: u32 = 0x3;
/// Step between two ids of the same type.
const ID_INCREMENT: u32 = 0x4;

/// The value of one stat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum MetricValue {
    /// A counter's total.
    Counter {
        /// Total.
        value: u64,
    },
    /// A gauge's current value.
    Gauge {
        /// Value (Envoy gauges are unsigned; a subtraction below zero wraps, as in Envoy).
        value: u64,
    },
    /// Summary of a histogram's samples.
    Histogram {
        /// Number of samples.
        count: u64,
        /// Sum of the samples (saturating).
        sum: u64,
        /// Smallest sample.
        min: u64,
        /// Largest sample.
        max: u64,
    },
}

/// All stats of one VM (and of the VMs that replace it on reload), by full name.
#[derive(Debug, Default, Clone)]
pub struct Metrics {
    ids: HashMap<u32, String>,
    stats: BTreeMap<String, MetricValue>,
    next: [u32; 3],
}

fn type_index(t: MetricType) -> usize {
    match t {
        MetricType::Counter => 0,
        MetricType::Gauge => 1,
        MetricType::Histogram => 2,
    }
}

fn type_of(id: u32) -> Option<MetricType> {
    MetricType::from_abi((id & TYPE_MASK) as i32)
}

impl Metrics {
    /// `proxy_define_metric`.
    pub fn define(&mut self, t: MetricType, name: &str) -> u32 {
        let idx = type_index(t);
        let base = idx as u32;
        let slot = self.next.get_mut(idx);
        let id = match slot {
            Some(n) => {
                if *n == 0 {
                    *n = base;
                }
                *n = n.wrapping_add(ID_INCREMENT);
                *n
            }
            None => base,
        };
        let full = format!("{CUSTOM_STAT_NAMESPACE}.{name}");
        self.stats.entry(full.clone()).or_insert(match t {
            MetricType::Counter => MetricValue::Counter { value: 0 },
            MetricType::Gauge => MetricValue::Gauge { value: 0 },
            MetricType::Histogram => MetricValue::Histogram {
                count: 0,
                sum: 0,
                min: 0,
                max: 0,
            },
        });
        self.ids.insert(id, full);
        id
    }

    fn stat(&mut self, id: u32) -> Option<&mut MetricValue> {
        let name = self.ids.get(&id)?;
        self.stats.get_mut(name)
    }

    /// `proxy_increment_metric`.
    pub fn increment(&mut self, id: u32, offset: i64) -> Result<(), WasmResult> {
        match type_of(id) {
            Some(MetricType::Counter) => match self.stat(id) {
                Some(MetricValue::Counter { value }) if offset > 0 => {
                    *value = value.saturating_add(offset as u64);
                    Ok(())
                }
                Some(_) => Err(WasmResult::BadArgument),
                None => Err(WasmResult::NotFound),
            },
            Some(MetricType::Gauge) => match self.stat(id) {
                Some(MetricValue::Gauge { value }) => {
                    *value = value.wrapping_add(offset as u64);
                    Ok(())
                }
                _ => Err(WasmResult::NotFound),
            },
            _ => Err(WasmResult::BadArgument),
        }
    }

    /// `proxy_record_metric`.
    pub fn record(&mut self, id: u32, v: u64) -> Result<(), WasmResult> {
        match self.stat(id) {
            Some(MetricValue::Counter { value }) => *value = value.saturating_add(v),
            Some(MetricValue::Gauge { value }) => *value = v,
            Some(MetricValue::Histogram {
                count,
                sum,
                min,
                max,
            }) => {
                if *count == 0 || v < *min {
                    *min = v;
                }
                if *count == 0 || v > *max {
                    *max = v;
                }
                *count += 1;
                *sum = sum.saturating_add(v);
            }
            None => return Err(WasmResult::NotFound),
        }
        Ok(())
    }

    /// `proxy_get_metric`.
    pub fn get(&self, id: u32) -> Result<u64, WasmResult> {
        if type_of(id) == Some(MetricType::Histogram) || type_of(id).is_none() {
            return Err(WasmResult::BadArgument);
        }
        let v = self.ids.get(&id).and_then(|n| self.stats.get(n));
        match v {
            Some(MetricValue::Counter { value } | MetricValue::Gauge { value }) => Ok(*value),
            _ => Err(WasmResult::NotFound),
        }
    }

    /// Every stat by full name (`wasmcustom.…`), sorted.
    pub fn snapshot(&self) -> &BTreeMap<String, MetricValue> {
        &self.stats
    }

    /// The value of the stat `full_name` (including the `wasmcustom.` prefix).
    pub fn value(&self, full_name: &str) -> Option<&MetricValue> {
        self.stats.get(full_name)
    }
}

/// The name `/stats/prometheus` shows: namespace stripped, characters outside
/// `[a-zA-Z0-9_]` replaced by `_`.
pub fn prometheus_name(full_name: &str) -> String {
    let bare = full_name
        .strip_prefix(CUSTOM_STAT_NAMESPACE)
        .and_then(|s| s.strip_prefix('.'))
        .unwrap_or(full_name);
    bare.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_envoy_layout() {
        let mut m = Metrics::default();
        assert_eq!(m.define(MetricType::Counter, "a"), 4);
        assert_eq!(m.define(MetricType::Gauge, "g"), 5);
        assert_eq!(m.define(MetricType::Histogram, "h"), 6);
        assert_eq!(m.define(MetricType::Counter, "b"), 8);
        // Same name again: new id, same stat.
        let again = m.define(MetricType::Counter, "a");
        assert_eq!(again, 12);
        m.increment(4, 2).unwrap();
        m.increment(12, 3).unwrap();
        assert_eq!(m.get(4), Ok(5));
        assert_eq!(
            m.value("wasmcustom.a"),
            Some(&MetricValue::Counter { value: 5 })
        );
    }

    #[test]
    fn type_rules() {
        let mut m = Metrics::default();
        let c = m.define(MetricType::Counter, "c");
        let g = m.define(MetricType::Gauge, "g");
        let h = m.define(MetricType::Histogram, "h");
        assert_eq!(m.increment(c, 0), Err(WasmResult::BadArgument));
        assert_eq!(m.increment(c, -1), Err(WasmResult::BadArgument));
        m.increment(g, 5).unwrap();
        m.increment(g, -2).unwrap();
        assert_eq!(m.get(g), Ok(3));
        m.record(g, 10).unwrap();
        assert_eq!(m.get(g), Ok(10));
        assert_eq!(m.increment(h, 1), Err(WasmResult::BadArgument));
        m.record(h, 7).unwrap();
        m.record(h, 3).unwrap();
        assert_eq!(m.get(h), Err(WasmResult::BadArgument));
        assert_eq!(
            m.value("wasmcustom.h"),
            Some(&MetricValue::Histogram {
                count: 2,
                sum: 10,
                min: 3,
                max: 7
            })
        );
        assert_eq!(m.get(400), Err(WasmResult::NotFound));
        assert_eq!(m.record(400, 1), Err(WasmResult::NotFound));
        assert_eq!(m.increment(401, 1), Err(WasmResult::NotFound));
    }

    #[test]
    fn prometheus_names_are_sanitised() {
        assert_eq!(
            prometheus_name("wasmcustom.trieguard_route=orders.x-y"),
            "trieguard_route_orders_x_y"
        );
    }
}
