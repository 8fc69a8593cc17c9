//! Steady load for the policy-push benchmark: K client threads, each on its own keep-alive
//! connection ([`KeepAlive`]), sending the same request back to back and recording every
//! request's start, latency and which policy answered it.
//!
//! Which policy answered is read from the echo upstream's answer: the old and the new policy
//! send the request to differently named upstreams.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::keepalive::KeepAlive;

/// Which policy answered one request, or how it failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 200 from the old policy's upstream.
    Old,
    /// 200 from the new policy's upstream.
    New,
    /// Any status other than 200.
    Status(u16),
    /// 200 whose body names neither upstream (or is no echo answer).
    Unexpected,
    /// No answer: connect, reset, timeout or a malformed answer.
    Transport,
}

impl Outcome {
    /// Whether this is an error (not a 200 from either policy).
    pub fn is_error(self) -> bool {
        !matches!(self, Outcome::Old | Outcome::New)
    }
}

/// One request as a client saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// The client that sent it (0..K).
    pub client: usize,
    /// When it was sent, from the start of the load.
    pub sent: Duration,
    /// How long until its whole answer (or the error) arrived.
    pub latency: Duration,
    /// What came back.
    pub outcome: Outcome,
}

impl Sample {
    /// When the answer arrived, from the start of the load.
    pub fn done(&self) -> Duration {
        self.sent + self.latency
    }
}

/// What every client sends and how answers are told apart.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    /// Envoy's listener.
    pub addr: SocketAddr,
    /// Request path.
    pub path: String,
    /// Extra request headers (e.g. the API key).
    pub headers: Vec<(String, String)>,
    /// Number of client threads (K).
    pub clients: usize,
    /// Upstream name in the old policy's answers.
    pub old_upstream: String,
    /// Upstream name in the new policy's answers.
    pub new_upstream: String,
}

/// Why the load could not run.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A client thread could not be started.
    #[error("starting load client {client}: {source}")]
    Spawn {
        /// Its index.
        client: usize,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A client thread panicked (a bug; its samples are lost).
    #[error("load client {0} panicked")]
    ClientPanicked(usize),
}

/// A running load; [`SteadyLoad::stop`] ends it and returns every sample.
pub struct SteadyLoad {
    epoch: Instant,
    stop: Arc<AtomicBool>,
    first_new_ns: Arc<AtomicU64>,
    threads: Vec<JoinHandle<Vec<Sample>>>,
}

/// Reads an echo answer's `upstream` and maps it to an outcome.
pub fn classify(status: u16, body: &[u8], old: &str, new: &str) -> Outcome {
    #[derive(serde::Deserialize)]
    struct Upstream<'a> {
        #[serde(borrow)]
        upstream: std::borrow::Cow<'a, str>,
    }
    if status != 200 {
        return Outcome::Status(status);
    }
    match serde_json::from_slice::<Upstream<'_>>(body) {
        Ok(answer) if answer.upstream == new => Outcome::New,
        Ok(answer) if answer.upstream == old => Outcome::Old,
        _ => Outcome::Unexpected,
    }
}

impl SteadyLoad {
    /// Starts `spec.clients` client threads.
    pub fn start(spec: &LoadSpec) -> Result<Self, LoadError> {
        let epoch = Instant::now();
        let stop = Arc::new(AtomicBool::new(false));
        let first_new_ns = Arc::new(AtomicU64::new(u64::MAX));
        let mut load = Self {
            epoch,
            stop,
            first_new_ns,
            threads: Vec::with_capacity(spec.clients),
        };
        for client in 0..spec.clients {
            let spec = spec.clone();
            let stop = Arc::clone(&load.stop);
            let first_new = Arc::clone(&load.first_new_ns);
            let thread = std::thread::Builder::new()
                .name(format!("load-{client}"))
                .spawn(move || run_client(client, &spec, epoch, &stop, &first_new))
                .map_err(|source| LoadError::Spawn { client, source });
            match thread {
                Ok(thread) => load.threads.push(thread),
                Err(error) => {
                    load.stop.store(true, Ordering::Relaxed);
                    return Err(error);
                }
            }
        }
        Ok(load)
    }

    /// Time since the load started (the clock samples are measured on).
    pub fn elapsed(&self) -> Duration {
        self.epoch.elapsed()
    }

    /// When the first answer from the new policy arrived, from the start of the load.
    pub fn first_new(&self) -> Option<Duration> {
        match self.first_new_ns.load(Ordering::Relaxed) {
            u64::MAX => None,
            ns => Some(Duration::from_nanos(ns)),
        }
    }

    /// Stops every client after its current request and returns all samples, by client.
    pub fn stop(mut self) -> Result<Vec<Sample>, LoadError> {
        self.stop.store(true, Ordering::Relaxed);
        let mut samples = Vec::new();
        for (client, thread) in self.threads.drain(..).enumerate() {
            samples.extend(
                thread
                    .join()
                    .map_err(|_| LoadError::ClientPanicked(client))?,
            );
        }
        Ok(samples)
    }
}

impl Drop for SteadyLoad {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

fn run_client(
    client: usize,
    spec: &LoadSpec,
    epoch: Instant,
    stop: &AtomicBool,
    first_new_ns: &AtomicU64,
) -> Vec<Sample> {
    let mut connection = KeepAlive::new(spec.addr);
    let mut samples = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let start = Instant::now();
        let outcome = match connection.get(&spec.path, &spec.headers) {
            Ok(answer) => classify(
                answer.status,
                &answer.body,
                &spec.old_upstream,
                &spec.new_upstream,
            ),
            Err(_) => Outcome::Transport,
        };
        let latency = start.elapsed();
        let sample = Sample {
            client,
            sent: start.duration_since(epoch),
            latency,
            outcome,
        };
        if outcome == Outcome::New {
            let done = u64::try_from(sample.done().as_nanos()).unwrap_or(u64::MAX - 1);
            first_new_ns.fetch_min(done, Ordering::Relaxed);
        }
        if outcome == Outcome::Transport {
            // Do not spin on a refused connection.
            std::thread::sleep(Duration::from_millis(1));
        }
        samples.push(sample);
    }
    samples
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_the_policies_apart_by_upstream() {
        let body = br#"{"body_bytes":0,"method":"GET","upstream":"new"}"#;
        assert_eq!(classify(200, body, "old", "new"), Outcome::New);
        assert_eq!(
            classify(200, br#"{"upstream":"old"}"#, "old", "new"),
            Outcome::Old
        );
        assert_eq!(
            classify(200, br#"{"upstream":"other"}"#, "old", "new"),
            Outcome::Unexpected
        );
        assert_eq!(
            classify(200, b"not json", "old", "new"),
            Outcome::Unexpected
        );
        assert_eq!(classify(503, body, "old", "new"), Outcome::Status(503));
        assert!(Outcome::Status(503).is_error() && !Outcome::New.is_error());
    }

    #[test]
    fn clients_record_every_request_until_stopped() {
        let upstream = crate::EchoUpstream::start("old").unwrap();
        let spec = LoadSpec {
            addr: upstream.addr(),
            path: "/x".into(),
            headers: vec![],
            clients: 2,
            old_upstream: "old".into(),
            new_upstream: "new".into(),
        };
        let load = SteadyLoad::start(&spec).unwrap();
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(load.first_new(), None);
        let samples = load.stop().unwrap();
        assert!(samples.len() >= 2);
        assert!(samples.iter().all(|s| s.outcome == Outcome::Old));
        assert!(samples.iter().any(|s| s.client == 1));
        assert_eq!(samples.len() as u64, upstream.requests_served() as u64);
    }
}
