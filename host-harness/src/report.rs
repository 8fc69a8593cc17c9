//! Replay summaries: counts by action, status, route and reason; in-VM latency percentiles;
//! requests per second. Rendered as a table or JSON.

use crate::replay::OutcomeLine;
use crate::stats::percentile;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

/// In-VM latency percentiles, nanoseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Latency {
    /// Median.
    pub p50: u64,
    /// 95th percentile.
    pub p95: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Maximum.
    pub max: u64,
    /// Mean.
    pub mean: f64,
}

impl Latency {
    /// Percentiles of `values` (nearest rank).
    pub fn of(values: &[u64]) -> Self {
        let mut v = values.to_vec();
        v.sort_unstable();
        let p = |q| percentile(&v, q).unwrap_or(0);
        let mean = if v.is_empty() {
            0.0
        } else {
            v.iter().map(|x| *x as f64).sum::<f64>() / v.len() as f64
        };
        Self {
            p50: p(50.0),
            p95: p(95.0),
            p99: p(99.0),
            max: v.last().copied().unwrap_or(0),
            mean,
        }
    }
}

/// What `trieguard replay` prints.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Requests replayed.
    pub requests: usize,
    /// Malformed traffic lines skipped.
    pub malformed: usize,
    /// Counts by action.
    pub by_action: BTreeMap<String, usize>,
    /// Counts by status of non-upstream replies.
    pub by_status: BTreeMap<u32, usize>,
    /// Counts by route (forwarded requests).
    pub by_route: BTreeMap<String, usize>,
    /// Counts by deny reason (or Envoy's details for `error`).
    pub by_reason: BTreeMap<String, usize>,
    /// Requests during which the plugin trapped.
    pub traps: usize,
    /// In-VM latency per request.
    pub latency_ns: Latency,
    /// Wall-clock seconds of the replay loop.
    pub wall_seconds: f64,
    /// Requests per second over the wall-clock time.
    pub requests_per_second: f64,
    /// VM linear memory at the end, bytes.
    pub memory_bytes: usize,
}

impl Summary {
    /// Summarises replayed lines.
    pub fn new(
        lines: &[OutcomeLine],
        malformed: usize,
        wall: Duration,
        memory_bytes: usize,
    ) -> Self {
        let mut s = Self {
            requests: lines.len(),
            malformed,
            memory_bytes,
            ..Self::default()
        };
        for l in lines {
            *s.by_action.entry(l.action.clone()).or_default() += 1;
            if let Some(st) = l.status {
                *s.by_status.entry(st).or_default() += 1;
            }
            if let Some(r) = &l.route {
                *s.by_route.entry(r.clone()).or_default() += 1;
            }
            if let Some(r) = l.reason.as_ref().or(l.details.as_ref()) {
                *s.by_reason.entry(r.clone()).or_default() += 1;
            }
            if l.trap.is_some() {
                s.traps += 1;
            }
        }
        let lat: Vec<u64> = lines.iter().map(|l| l.latency_ns).collect();
        s.latency_ns = Latency::of(&lat);
        s.wall_seconds = wall.as_secs_f64();
        s.requests_per_second = if s.wall_seconds > 0.0 {
            lines.len() as f64 / s.wall_seconds
        } else {
            0.0
        };
        s
    }

    /// Human-readable table.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "requests   {:>10}   malformed lines skipped {}",
            self.requests, self.malformed
        );
        section(
            &mut out,
            "action",
            self.by_action.iter().map(|(k, v)| (k.clone(), *v)),
        );
        section(
            &mut out,
            "status",
            self.by_status.iter().map(|(k, v)| (k.to_string(), *v)),
        );
        section(
            &mut out,
            "route",
            self.by_route.iter().map(|(k, v)| (k.clone(), *v)),
        );
        section(
            &mut out,
            "reason",
            self.by_reason.iter().map(|(k, v)| (k.clone(), *v)),
        );
        if self.traps > 0 {
            let _ = writeln!(out, "traps      {:>10}", self.traps);
        }
        let l = &self.latency_ns;
        let _ = writeln!(
            out,
            "in-VM latency  p50 {}  p95 {}  p99 {}  max {}",
            micros(l.p50),
            micros(l.p95),
            micros(l.p99),
            micros(l.max)
        );
        let _ = writeln!(
            out,
            "throughput     {:.0} requests/s ({} requests in {:.3} s, one VM)",
            self.requests_per_second, self.requests, self.wall_seconds
        );
        let _ = writeln!(
            out,
            "VM memory      {:.1} MiB",
            self.memory_bytes as f64 / (1024.0 * 1024.0)
        );
        out
    }
}

/// `ns` as microseconds with two decimals.
pub fn micros(ns: u64) -> String {
    format!("{:.2} µs", ns as f64 / 1000.0)
}

fn section(out: &mut String, title: &str, rows: impl Iterator<Item = (String, usize)>) {
    let rows: Vec<(String, usize)> = rows.collect();
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(out, "{title}");
    let width = rows
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    for (k, v) in rows {
        let _ = writeln!(out, "  {k:<width$}  {v:>10}");
    }
}
