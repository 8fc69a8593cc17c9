//! Summaries of a policy push under load: how long until the new policy answered, and the
//! latencies and errors of the requests before and after the push.
//!
//! ```text
//!   ──────────── before ───────────┬──────────────── after ────────────────▶ time
//!   requests answered before push  │ push   requests in flight at the push or sent
//!                                  │        before push + after window
//!                                  └─ applied: first answer by the new policy
//! ```
//!
//! A request in flight at the push counts as "after": a stall the push causes must show.

use std::time::Duration;

use crate::steady_load::{Outcome, Sample};

/// Latency and errors of the requests of one window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// Requests in the window.
    pub requests: usize,
    /// Longest request.
    pub max: Duration,
    /// 99th percentile (nearest rank).
    pub p99: Duration,
    /// Requests that failed (not a 200 from either policy).
    pub errors: usize,
}

/// What one push did to the load.
#[derive(Debug, Clone, PartialEq)]
pub struct PushSummary {
    /// From the push to the first answer by the new policy (`None`: never in the run).
    pub applied: Option<Duration>,
    /// From the push until every client had had an answer by the new policy.
    pub all_clients_applied: Option<Duration>,
    /// Answers by the old policy that arrived after the first answer by the new one.
    pub old_after_new: usize,
    /// The requests of the `before` window ending at the push.
    pub before: Window,
    /// The requests of the `after` window starting at the push.
    pub after: Window,
    /// Errors over the whole run (warm-up included).
    pub errors: usize,
}

/// Summarises `samples` of `clients` clients around a push at `push` (times from the start of
/// the load).
pub fn summarise(
    samples: &[Sample],
    clients: usize,
    push: Duration,
    before: Duration,
    after: Duration,
) -> PushSummary {
    let first_new = samples
        .iter()
        .filter(|s| s.outcome == Outcome::New)
        .map(Sample::done)
        .min();
    let applied = first_new.map(|t| t.saturating_sub(push));
    let mut per_client = vec![None::<Duration>; clients];
    for sample in samples.iter().filter(|s| s.outcome == Outcome::New) {
        if let Some(slot) = per_client.get_mut(sample.client) {
            let done = sample.done();
            *slot = Some(slot.map_or(done, |t: Duration| t.min(done)));
        }
    }
    let all_clients_applied = per_client
        .iter()
        .try_fold(Duration::ZERO, |latest, t| t.map(|t| latest.max(t)))
        .filter(|_| clients > 0)
        .map(|t| t.saturating_sub(push));
    let old_after_new = first_new.map_or(0, |first| {
        samples
            .iter()
            .filter(|s| s.outcome == Outcome::Old && s.done() > first)
            .count()
    });
    let start = push.saturating_sub(before);
    let before_window = window(
        samples
            .iter()
            .filter(|s| s.sent >= start && s.done() < push),
    );
    let after_window = window(
        samples
            .iter()
            .filter(|s| s.done() >= push && s.sent < push + after),
    );
    PushSummary {
        applied,
        all_clients_applied,
        old_after_new,
        before: before_window,
        after: after_window,
        errors: samples.iter().filter(|s| s.outcome.is_error()).count(),
    }
}

fn window<'a>(samples: impl Iterator<Item = &'a Sample>) -> Window {
    let mut latencies = Vec::new();
    let mut errors = 0;
    for sample in samples {
        latencies.push(sample.latency);
        errors += usize::from(sample.outcome.is_error());
    }
    latencies.sort_unstable();
    Window {
        requests: latencies.len(),
        max: latencies.last().copied().unwrap_or_default(),
        p99: percentile(&latencies, 99),
        errors,
    }
}

/// The nearest-rank `pct`-th percentile of sorted values (zero when empty).
pub fn percentile(sorted: &[Duration], pct: usize) -> Duration {
    let rank = (sorted.len() * pct).div_ceil(100);
    sorted
        .get(rank.saturating_sub(1))
        .copied()
        .unwrap_or_default()
}

/// A duration in milliseconds, for reports.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(client: usize, sent_ms: u64, latency_ms: u64, outcome: Outcome) -> Sample {
        Sample {
            client,
            sent: Duration::from_millis(sent_ms),
            latency: Duration::from_millis(latency_ms),
            outcome,
        }
    }

    #[test]
    fn nearest_rank_percentiles() {
        let values: Vec<Duration> = (1..=200).map(Duration::from_millis).collect();
        assert_eq!(percentile(&values, 99), Duration::from_millis(198));
        assert_eq!(percentile(&values, 100), Duration::from_millis(200));
        assert_eq!(percentile(&values[..1], 99), Duration::from_millis(1));
        assert_eq!(percentile(&[], 99), Duration::ZERO);
    }

    #[test]
    fn splits_the_run_at_the_push_and_finds_when_the_new_policy_answered() {
        let push = Duration::from_millis(1000);
        let samples = [
            sample(0, 100, 5, Outcome::Old), // before the before-window: ignored
            sample(0, 600, 3, Outcome::Old), // before
            sample(1, 700, 4, Outcome::Status(503)), // before, an error
            sample(0, 990, 40, Outcome::Old), // in flight at the push: after
            sample(1, 1100, 2, Outcome::New), // first new answer, done at 1102
            sample(0, 1200, 9, Outcome::Old), // old after new
            sample(0, 1300, 1, Outcome::New), // client 0 sees the new policy at 1301
            sample(1, 5000, 1, Outcome::Transport), // after the after-window
        ];
        let summary = summarise(
            &samples,
            2,
            push,
            Duration::from_millis(500),
            Duration::from_millis(2000),
        );
        assert_eq!(summary.applied, Some(Duration::from_millis(102)));
        assert_eq!(
            summary.all_clients_applied,
            Some(Duration::from_millis(301))
        );
        assert_eq!(summary.old_after_new, 1);
        assert_eq!(summary.before.requests, 2);
        assert_eq!(summary.before.max, Duration::from_millis(4));
        assert_eq!(summary.before.errors, 1);
        assert_eq!(summary.after.requests, 4);
        assert_eq!(summary.after.max, Duration::from_millis(40));
        assert_eq!(summary.after.p99, Duration::from_millis(40));
        assert_eq!(summary.after.errors, 0);
        assert_eq!(summary.errors, 2);
    }

    #[test]
    fn a_push_never_applied_has_no_applied_time() {
        let samples = [
            sample(0, 1500, 1, Outcome::Old),
            sample(1, 1500, 1, Outcome::New),
        ];
        let summary = summarise(
            &samples,
            3,
            Duration::from_secs(1),
            Duration::ZERO,
            Duration::ZERO,
        );
        assert_eq!(summary.applied, Some(Duration::from_millis(501)));
        assert_eq!(summary.all_clients_applied, None, "client 2 never saw it");
        let summary = summarise(
            &samples[..1],
            1,
            Duration::from_secs(1),
            Duration::ZERO,
            Duration::ZERO,
        );
        assert_eq!(summary.applied, None);
    }
}
