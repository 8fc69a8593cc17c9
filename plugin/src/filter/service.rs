//! The singleton service VM (`envoy.bootstrap.wasm`, `fetch_policy`): polls the source, checks
//! and compiles what it fetched, and publishes it to the workers through shared data.
//!
//! The service runs on Envoy's main thread, so the compile that validates a policy never holds
//! a worker's event loop. A policy that fails any check is never published: workers keep the
//! last good one.

use std::time::Duration;

use proxy_wasm::hostcalls;
use proxy_wasm::types::{BufferType, MapType};

use crate::config::PolicyConfig;
use crate::engine::Engine;
use crate::source::FetchPolicyConfig;
use crate::source::digest::PolicyDigest;
use crate::source::fetch::{FetchStep, Fetcher, SourceRequest, SourceResponse};
use crate::source::handoff::{self, DeltaRef, Manifest, PiecesRef};
use crate::source::key_delta::{self, KeyDelta, PolicyShape};
use crate::source::key_sets;

use super::clock::{now_ms, now_ns};
use super::named_metrics::NamedMetrics;

/// Largest response body read from the source: a piece, or a digest file.
const MAX_RESPONSE_BYTES: usize = crate::source::MAX_PIECE_BYTES;

/// Most key deltas published on top of one full publication; the next change is published
/// whole (and every worker recompiles once).
const MAX_DELTAS: usize = 256;

/// The service's state.
pub(crate) struct PolicyService {
    fetcher: Fetcher,
    /// The call in flight, if any.
    in_flight: Option<u32>,
    /// The manifest shared data holds, written by this instance or an earlier one (a VM
    /// reload): its pieces are emptied when it is replaced.
    last_manifest: Option<Manifest>,
    /// The generation last published in shared data, by this instance or an earlier one (even
    /// one of another build, whose manifest this one cannot read): the next follows it.
    last_generation: u64,
    /// What this instance published (the serving policy): the base of the next key delta.
    published: Option<Published>,
    metrics: NamedMetrics,
}

/// The serving policy as this instance published it.
struct Published {
    /// The policy's shape (`key_delta::PolicyShape`); `None` if it could not be read.
    shape: Option<PolicyShape>,
    /// The serving policy compiled: key deltas are computed against its key tables.
    engine: Engine,
}

/// How the service sends a request (the root context's `dispatch_http_call`).
pub(crate) type Dispatch<'a> =
    &'a dyn Fn(&str, Vec<(&str, &str)>, Duration) -> Result<u32, proxy_wasm::types::Status>;

impl PolicyService {
    /// A service for this source; the first poll happens on the first tick.
    pub(crate) fn new(config: FetchPolicyConfig) -> Self {
        // A service restarted in a running Envoy (a VM reload) continues from what shared data
        // holds: the next generation number, and no second publication of the serving policy.
        let stored = hostcalls::get_shared_data(&handoff::manifest_key(&config.name))
            .ok()
            .and_then(|(bytes, _)| bytes)
            .unwrap_or_default();
        let last_manifest = Manifest::decode(&stored).ok();
        let last_generation = Manifest::generation_of(&stored).unwrap_or(0);
        let mut fetcher = Fetcher::new(config);
        if let Some(digest) = last_manifest.as_ref().and_then(Manifest::serving_digest) {
            fetcher.assume_published(digest);
        }
        Self {
            fetcher,
            in_flight: None,
            last_manifest,
            last_generation,
            published: None,
            metrics: NamedMetrics::default(),
        }
    }

    /// The tick period: often enough to honour the poll interval closely.
    pub(crate) fn tick_period(&self) -> Duration {
        Duration::from_millis(self.fetcher.config().poll_interval_ms.clamp(100, 1_000) / 2)
    }

    /// Starts a cycle if one is due.
    pub(crate) fn on_tick(&mut self, dispatch: Dispatch<'_>) {
        if self.in_flight.is_some() {
            return;
        }
        let now = now_ms();
        if let Some(request) = self.fetcher.poll(now) {
            self.send(now, request, dispatch);
        }
    }

    /// Handles the response to call `token`.
    pub(crate) fn on_response(
        &mut self,
        token: u32,
        num_headers: usize,
        body_size: usize,
        dispatch: Dispatch<'_>,
    ) {
        if self.in_flight != Some(token) {
            return;
        }
        self.in_flight = None;
        let response = read_response(num_headers, body_size);
        let now = now_ms();
        let step = self.fetcher.on_response(now, response);
        self.advance(now, step, dispatch);
    }

    fn advance(&mut self, now: u64, step: FetchStep, dispatch: Dispatch<'_>) {
        let name = self.fetcher.config().name.clone();
        match step {
            FetchStep::Send(request) => {
                self.send(now, request, dispatch);
                // The piece just received is hashed while the next one travels.
                self.fetcher.hash_received();
            }
            FetchStep::NotModified => self.count("not_modified"),
            FetchStep::Unchanged => self.count("unchanged"),
            FetchStep::Failed(error) => {
                log::error!(
                    "trieguard: source '{name}': {error} (failure {} in a row; next try in {} ms; the serving policy stays)",
                    self.fetcher.consecutive_failures(),
                    self.fetcher.backoff_ms()
                );
                self.count(&format!("error.{}", error.kind()));
            }
            FetchStep::Fetched { policy, digest } => {
                let accepted = self.validate_and_publish(&policy, digest);
                self.fetcher.finish(now_ms(), digest, accepted);
            }
        }
    }

    fn validate_and_publish(&mut self, policy: &[u8], digest: PolicyDigest) -> bool {
        let name = self.fetcher.config().name.clone();
        let started = now_ns();
        let compiled = PolicyConfig::parse_json(policy).and_then(Engine::from_config);
        let compiled_ns = now_ns();
        let engine = match compiled {
            Ok(engine) => engine,
            Err(error) => {
                log::error!(
                    "trieguard: source '{name}': policy {digest} rejected ({} problem(s)); the serving policy stays",
                    error.issues.len()
                );
                for issue in &error.issues {
                    log::error!("trieguard: source '{name}': config error at {issue}");
                }
                self.count("rejected");
                return false;
            }
        };
        // The skeleton (key lists emptied), split into a frame and a route set, is both the
        // shape a key delta is judged by and what a full publication hands over.
        let shape = PolicyShape::of_policy(policy).ok();
        let Some(engine) = self.publish_key_delta(&name, engine, shape.as_ref(), digest) else {
            return true;
        };
        let routes = engine.route_count();
        let generation = self.last_generation.saturating_add(1);
        // Workers get the policy in parts they can load a slice per tick while their current
        // policy serves: the skeleton's frame (route lists emptied), its route set, and with
        // API keys the key set; a policy that cannot be split is handed over whole.
        let keys = engine
            .api_key_tables()
            .next()
            .is_some()
            .then(|| key_sets::encode(&engine))
            .flatten();
        let split = match &shape {
            Some(PolicyShape::Split(parts)) => Some((
                parts.frame.as_slice(),
                Some(parts.routes.as_slice()),
                keys.as_deref(),
            )),
            Some(PolicyShape::Whole(skeleton)) if keys.is_some() => {
                Some((skeleton.as_slice(), None, keys.as_deref()))
            }
            _ => None,
        };
        let (manifest, main_bytes, route_bytes, key_bytes) = match split {
            Some((main, routes, keys)) => (
                Manifest::for_parts(
                    main,
                    routes.map(PiecesRef::of),
                    keys.map(PiecesRef::of),
                    digest,
                    generation,
                ),
                main,
                routes.unwrap_or_default(),
                keys.unwrap_or_default(),
            ),
            None => (
                Manifest::for_policy(policy, digest, generation),
                policy,
                &[][..],
                &[][..],
            ),
        };
        let pieces = handoff::pieces(main_bytes)
            .enumerate()
            .map(|(index, piece)| (handoff::piece_key(&name, generation, index), piece));
        let route_pieces = handoff::set_pieces(route_bytes)
            .enumerate()
            .map(|(index, piece)| (handoff::routes_piece_key(&name, generation, index), piece));
        let key_pieces = handoff::set_pieces(key_bytes)
            .enumerate()
            .map(|(index, piece)| (handoff::keys_piece_key(&name, generation, index), piece));
        for (key, piece) in pieces.chain(route_pieces).chain(key_pieces) {
            if let Err(status) = hostcalls::set_shared_data(&key, Some(piece), None) {
                log::error!("trieguard: source '{name}': writing {key} failed: {status:?}");
                self.count("error.shared_data");
                return false;
            }
        }
        drop(keys);
        let manifest_key = handoff::manifest_key(&name);
        if let Err(status) =
            hostcalls::set_shared_data(&manifest_key, Some(&manifest.encode()), None)
        {
            log::error!("trieguard: source '{name}': writing {manifest_key} failed: {status:?}");
            self.count("error.shared_data");
            return false;
        }
        // The previous publication's pieces are emptied: a worker still reading them sees a
        // missing piece and reads the new manifest on its next tick.
        self.last_generation = generation;
        if let Some(previous) = self.last_manifest.replace(manifest) {
            empty_publication(&name, &previous);
        }
        self.published = Some(Published { shape, engine });
        let done_ns = now_ns();
        log::info!(
            "trieguard: source '{name}': published policy {digest} (generation {generation}, {} bytes, {routes} routes; compiled in {:.1} ms, split and published in {:.1} ms)",
            policy.len(),
            compiled_ns.saturating_sub(started) as f64 / 1e6,
            done_ns.saturating_sub(compiled_ns) as f64 / 1e6,
        );
        self.count("published");
        self.metrics.set(
            &format!("trieguard.source.{name}.digest"),
            digest.gauge_value(),
        );
        true
    }

    /// Publishes `engine`'s policy as a key delta on top of the last publication when the two
    /// differ in API keys only (`None`); gives the engine back when it must be published whole.
    fn publish_key_delta(
        &mut self,
        name: &str,
        engine: Engine,
        shape: Option<&PolicyShape>,
        digest: PolicyDigest,
    ) -> Option<Engine> {
        let (Some(published), Some(last)) = (self.published.as_mut(), self.last_manifest.as_mut())
        else {
            return Some(engine);
        };
        if shape.is_none() || shape != published.shape.as_ref() || last.deltas.len() >= MAX_DELTAS {
            return Some(engine);
        }
        let Some(delta) = KeyDelta::between(&published.engine, &engine) else {
            return Some(engine);
        };
        let changes = delta.changes();
        let encoded = delta.encode();
        if changes > key_delta::MAX_DELTA_CHANGES || encoded.len() > handoff::SHARED_PIECE_BYTES {
            return Some(engine);
        }
        let generation = last.generation;
        let index = last.deltas.len();
        let key = handoff::delta_key(name, generation, index);
        let mut manifest = last.clone();
        manifest.deltas.push(DeltaRef::new(&encoded, digest));
        let manifest_key = handoff::manifest_key(name);
        let written = hostcalls::set_shared_data(&key, Some(&encoded), None).and_then(|()| {
            hostcalls::set_shared_data(&manifest_key, Some(&manifest.encode()), None)
        });
        if let Err(status) = written {
            log::error!("trieguard: source '{name}': writing key delta {key} failed: {status:?}");
            self.count("error.shared_data");
            // Published whole instead, which rewrites every key the workers read.
            return Some(engine);
        }
        *last = manifest;
        published.engine = engine;
        log::info!(
            "trieguard: source '{name}': published policy {digest} as a key delta ({changes} key(s) set or revoked, delta {} on generation {generation}; routes not recompiled)",
            index + 1
        );
        self.count("delta_published");
        self.metrics.set(
            &format!("trieguard.source.{name}.digest"),
            digest.gauge_value(),
        );
        None
    }

    fn send(&mut self, now: u64, request: SourceRequest, dispatch: Dispatch<'_>) {
        let config = self.fetcher.config();
        let mut headers: Vec<(&str, &str)> = vec![
            (":method", "GET"),
            (":path", &request.path),
            (":authority", &config.authority),
        ];
        headers.extend(
            request
                .headers
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str())),
        );
        let timeout = Duration::from_millis(config.timeout_ms);
        match dispatch(&config.cluster, headers, timeout) {
            Ok(token) => self.in_flight = Some(token),
            Err(status) => {
                log::error!(
                    "trieguard: source '{}': cannot call cluster '{}': {status:?}",
                    config.name,
                    config.cluster
                );
                let step = self.fetcher.on_response(now, None);
                self.advance(now, step, dispatch);
            }
        }
    }

    fn count(&mut self, outcome: &str) {
        let name = format!("trieguard.source.{}.{outcome}", self.fetcher.config().name);
        self.metrics.count(&name);
    }
}

/// Empties every shared-data entry of publication `manifest`: its pieces, its key set's
/// pieces, its route set's pieces and its key deltas (the manifest says how many there are).
fn empty_publication(name: &str, manifest: &Manifest) {
    let generation = manifest.generation;
    let pieces = (0..manifest.pieces).map(|i| handoff::piece_key(name, generation, i));
    let key_pieces = (0..manifest.keys.as_ref().map_or(0, |keys| keys.pieces))
        .map(|i| handoff::keys_piece_key(name, generation, i));
    let route_pieces = (0..manifest.routes.as_ref().map_or(0, |routes| routes.pieces))
        .map(|i| handoff::routes_piece_key(name, generation, i));
    let deltas = (0..manifest.deltas.len()).map(|i| handoff::delta_key(name, generation, i));
    for key in pieces.chain(route_pieces).chain(key_pieces).chain(deltas) {
        let _ = hostcalls::set_shared_data(&key, Some(&[]), None);
    }
}

/// The http_call's response; `None` when the call failed (Envoy then reports no headers).
fn read_response(num_headers: usize, body_size: usize) -> Option<SourceResponse> {
    if num_headers == 0 {
        return None;
    }
    let headers = hostcalls::get_map_bytes(MapType::HttpCallResponseHeaders).ok()?;
    let headers: Vec<(String, String)> = headers
        .into_iter()
        .map(|(n, v)| {
            (
                n.to_ascii_lowercase(),
                String::from_utf8_lossy(&v).into_owned(),
            )
        })
        .collect();
    let status = headers
        .iter()
        .find(|(n, _)| n == ":status")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let body = if body_size == 0 {
        Vec::new()
    } else {
        hostcalls::get_buffer(
            BufferType::HttpCallResponseBody,
            0,
            body_size.min(MAX_RESPONSE_BYTES.saturating_add(1)),
        )
        .ok()
        .flatten()
        .unwrap_or_default()
    };
    Some(SourceResponse {
        status,
        headers,
        body,
        body_size,
    })
}
