//! A worker serving a policy published by the service VM (`policy_source`).
//!
//! On every tick the worker reads the source's small manifest from shared data; when it names
//! a publication the worker has not tried yet, it assembles the pieces, checks their checksum,
//! compiles them, and only then replaces the engine its new streams get. Streams already
//! running keep the engine they started with (an `Rc`), so every request sees one policy.

use proxy_wasm::hostcalls;

use crate::engine::Engine;
use crate::source::PolicySourceConfig;
use crate::source::digest::PolicyDigest;
use crate::source::handoff::{self, HandoffError, Manifest};
use crate::source::key_delta::KeyDelta;
use crate::source::load::{LoadError, PolicyLoad, Progress};

use super::clock::now_ns;
use super::named_metrics::NamedMetrics;

/// Work a worker does per tick while it loads a publication: a request arriving meanwhile
/// waits at most this long plus one slice (`source::load::SLICE_UNITS`).
const TICK_WORK_NS: u64 = 1_500_000;
/// Slices per tick at most.
const MAX_SLICES_PER_TICK: usize = 8;

/// The host-clock cost of loading one publication (logged, and the slowest slice a gauge).
#[derive(Debug, Default)]
struct LoadCost {
    started_ns: u64,
    slices: u64,
    work_ns: u64,
    slowest_ns: u64,
}

impl LoadCost {
    fn add_slice(&mut self, ns: u64) {
        self.slices += 1;
        self.work_ns = self.work_ns.saturating_add(ns);
        self.slowest_ns = self.slowest_ns.max(ns);
    }
}

/// What a worker knows about its source.
pub(crate) struct WorkerSource {
    config: PolicySourceConfig,
    manifest_key: String,
    /// The generation last tried (applied or rejected): not tried again.
    tried_generation: Option<u64>,
    /// Key deltas of that generation applied so far.
    applied_deltas: usize,
    /// CAS token of a manifest that could not be read: refused (and logged) once, not on
    /// every tick.
    refused_manifest: Option<u32>,
    /// Digest of the policy serving.
    serving: Option<PolicyDigest>,
    /// A full publication being loaded in slices while the current policy serves.
    loading: Option<PolicyLoad>,
    /// What loading the publication took so far, by the host's clock.
    load_cost: LoadCost,
    metrics: NamedMetrics,
}

impl WorkerSource {
    /// A worker for this source; nothing serves until the first publication is read.
    pub(crate) fn new(config: PolicySourceConfig) -> Self {
        Self {
            manifest_key: handoff::manifest_key(&config.name),
            config,
            tried_generation: None,
            applied_deltas: 0,
            refused_manifest: None,
            serving: None,
            loading: None,
            load_cost: LoadCost::default(),
            metrics: NamedMetrics::default(),
        }
    }

    /// True while a publication is being loaded (ticks should come often).
    pub(crate) fn is_loading(&self) -> bool {
        self.loading.is_some()
    }

    /// The source's configuration.
    pub(crate) fn config(&self) -> &PolicySourceConfig {
        &self.config
    }

    /// Digest of the policy serving, if any.
    pub(crate) fn serving(&self) -> Option<PolicyDigest> {
        self.serving
    }

    /// Looks for a new publication. A new full publication is compiled (with the key deltas
    /// published on top of it applied) and returned; key deltas on top of the serving one are
    /// applied to `serving` in place, routes untouched. Failures are logged and counted, and
    /// the serving engine stays.
    pub(crate) fn check(&mut self, serving: Option<&mut Engine>) -> Option<Engine> {
        let (manifest, cas) = match hostcalls::get_shared_data(&self.manifest_key) {
            Ok((Some(_), cas)) if cas.is_some() && cas == self.refused_manifest => return None,
            Ok((Some(bytes), cas)) => (Manifest::decode(&bytes), cas),
            Ok((None, _)) => return None,
            Err(status) => {
                log::warn!(
                    "trieguard: reading {} from shared data failed: {status:?}",
                    self.manifest_key
                );
                return None;
            }
        };
        let manifest = match manifest {
            Ok(manifest) => manifest,
            Err(error) => {
                self.refused_manifest = cas;
                self.reject("bad_manifest", &error.to_string());
                return None;
            }
        };
        match &self.loading {
            Some(load) if load.generation() == manifest.generation => {
                return self.continue_load(&manifest);
            }
            Some(_) => {
                log::info!(
                    "trieguard: source '{}': a newer publication replaces the one being loaded",
                    self.config.name
                );
                self.loading = None;
            }
            None => {}
        }
        if self.tried_generation == Some(manifest.generation) {
            if manifest.deltas.len() > self.applied_deltas
                && let Some(engine) = serving
                && self.serving.is_some()
            {
                self.apply_deltas(&manifest, engine);
            }
            return None;
        }
        let name = self.config.name.clone();
        let assembled = manifest.assemble(|index| {
            match hostcalls::get_shared_data(&handoff::piece_key(&name, manifest.generation, index))
            {
                Ok((Some(bytes), _)) => Some(bytes),
                _ => None,
            }
        });
        let policy = match assembled {
            Ok(policy) => policy,
            // Read while the service publishes a newer policy: the next tick sees its manifest.
            Err(
                error @ (HandoffError::MissingPiece { .. } | HandoffError::ChecksumMismatch { .. }),
            ) => {
                log::debug!("trieguard: source '{name}': {error}; retrying");
                return None;
            }
            Err(error) => {
                self.refused_manifest = cas;
                self.reject("bad_manifest", &error.to_string());
                return None;
            }
        };
        self.tried_generation = Some(manifest.generation);
        self.applied_deltas = 0;
        self.load_cost = LoadCost {
            started_ns: now_ns(),
            ..LoadCost::default()
        };
        let started = now_ns();
        let load = PolicyLoad::start(&name, &manifest, &policy);
        self.load_cost.add_slice(now_ns().saturating_sub(started));
        match load {
            Ok(load) => {
                drop(policy);
                self.loading = Some(load);
                self.continue_load(&manifest)
            }
            Err(error) => {
                // The service validates before publishing, so this means the two disagree
                // (different builds): keep serving, say so.
                self.reject("rejected", &error.to_string());
                None
            }
        }
    }

    /// Loads more of the publication: all of it when nothing serves yet, else one slice
    /// (`source::load`). Returns the engine once it is complete and checked.
    fn continue_load(&mut self, manifest: &Manifest) -> Option<Engine> {
        let mut load = self.loading.take()?;
        let sliced = self.serving.is_some();
        let mut read = |key: &str| match hostcalls::get_shared_data(key) {
            Ok((Some(bytes), _)) => Some(bytes),
            _ => None,
        };
        // Slices until about TICK_WORK_NS of the host's clock went by (a host whose clock
        // stands still within a tick gets MAX_SLICES_PER_TICK).
        let started = now_ns();
        let mut progress = Ok(Progress::Pending);
        for _ in 0..MAX_SLICES_PER_TICK {
            let slice_started = now_ns();
            progress = load.advance(sliced, &mut read);
            let now = now_ns();
            self.load_cost.add_slice(now.saturating_sub(slice_started));
            if !matches!(progress, Ok(Progress::Pending))
                || now.saturating_sub(started) >= TICK_WORK_NS
            {
                break;
            }
        }
        match progress {
            Ok(Progress::Pending) => {
                self.loading = Some(load);
                None
            }
            Ok(Progress::Done(engine)) => self.finish_publication(manifest, *engine),
            Err(LoadError::Superseded(key)) => {
                // Emptied by a newer publication: its manifest comes next.
                log::debug!(
                    "trieguard: source '{}': {key} is gone; waiting",
                    self.config.name
                );
                None
            }
            Err(error @ LoadError::Rejected(_)) => {
                self.reject("rejected", &error.to_string());
                None
            }
        }
    }

    /// Applies the deltas on top of a complete publication and hands it over.
    fn finish_publication(&mut self, manifest: &Manifest, mut engine: Engine) -> Option<Engine> {
        if !self.apply_deltas(manifest, &mut engine) {
            // Keys this publication revoked could still be accepted: keep the old.
            return None;
        }
        let digest = self.serving?;
        let name = &self.config.name;
        let cost = &self.load_cost;
        log::info!(
            "trieguard: source '{name}': serving policy {digest} (generation {}, {} key delta(s), {} routes); loaded in {} slice(s) over {:.1} ms, {:.1} ms of work, slowest slice {:.2} ms",
            manifest.generation,
            manifest.deltas.len(),
            engine.route_count(),
            cost.slices,
            now_ns().saturating_sub(cost.started_ns) as f64 / 1e6,
            cost.work_ns as f64 / 1e6,
            cost.slowest_ns as f64 / 1e6,
        );
        self.metrics.set(
            &format!("trieguard.policy.{name}.load_slowest_slice_us"),
            cost.slowest_ns / 1_000,
        );
        self.metrics
            .count(&format!("trieguard.policy.{name}.applied"));
        self.metrics.set(
            &format!("trieguard.policy.{name}.generation"),
            manifest.generation,
        );
        Some(engine)
    }

    /// Applies the manifest's key deltas not applied yet, in order, and records the serving
    /// digest. False when one is unusable: the engine then holds the deltas before it, and
    /// the publication is not tried again (the next one is).
    fn apply_deltas(&mut self, manifest: &Manifest, engine: &mut Engine) -> bool {
        let name = self.config.name.clone();
        for (index, reference) in manifest.deltas.iter().enumerate().skip(self.applied_deltas) {
            let key = handoff::delta_key(&name, manifest.generation, index);
            let delta = match hostcalls::get_shared_data(&key) {
                Ok((Some(bytes), _)) => reference.open(&bytes),
                _ => Err(HandoffError::BadDelta(format!("{key} is missing"))),
            };
            let applied = delta.and_then(|delta: KeyDelta| {
                engine
                    .apply_key_delta(&delta)
                    .map_err(|error| HandoffError::BadDelta(error.to_string()))
            });
            match applied {
                Ok(changes) => {
                    self.applied_deltas = index + 1;
                    log::info!(
                        "trieguard: source '{name}': applied key delta {} of generation {} ({changes} key(s)); serving policy sha256:{}",
                        index + 1,
                        manifest.generation,
                        reference.sha256
                    );
                    self.metrics
                        .count(&format!("trieguard.policy.{name}.key_delta_applied"));
                }
                Err(error) => {
                    self.reject("rejected", &error.to_string());
                    return false;
                }
            }
        }
        self.serving = manifest.serving_digest();
        if let Some(digest) = self.serving {
            self.metrics.set(
                &format!("trieguard.policy.{name}.digest"),
                digest.gauge_value(),
            );
        }
        true
    }

    fn reject(&mut self, kind: &str, what: &str) {
        let name = &self.config.name;
        log::error!("trieguard: source '{name}': publication refused ({kind}): {what}");
        self.metrics
            .count(&format!("trieguard.policy.{name}.{kind}"));
    }
}
