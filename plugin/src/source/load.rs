//! A worker's load of a full publication, in slices: the frame parsed, the route set parsed a
//! bounded number of routes at a time, the engine compiled in bounded steps
//! ([`EngineBuild`]), the key set inserted a bounded number of keys at a time. Between two
//! slices the worker's current policy serves; a request never waits for more than one slice.
//!
//! Pure Rust: shared-data pieces are read through a closure, so the same machine runs in the
//! filter (`filter::worker_source`), in tests and in benchmarks.

use super::digest::PolicyDigest;
use super::handoff::{self, Manifest};
use super::key_sets::KeySetLoader;
use super::route_sets::RouteSetLoader;
use crate::config::PolicyConfig;
use crate::engine::{Engine, EngineBuild};

/// Units of work one slice may do: about a millisecond natively (`cargo xtask bench vm`
/// reports the slowest slice). A unit is one trie node in the engine's compile.
pub const SLICE_UNITS: usize = 16_384;
/// Units charged per route line parsed and compiled.
const ROUTE_LINE_UNITS: usize = 48;
/// Units charged per API key inserted.
const KEY_UNITS: usize = 12;

/// Why a publication cannot be loaded. The serving policy stays either way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// A piece is gone: the service is publishing a newer policy, whose manifest comes next.
    #[error("{0} is gone (a newer publication replaces it)")]
    Superseded(String),
    /// The publication does not compile here, or a part does not match its digest.
    #[error("{0}")]
    Rejected(String),
}

/// Where a load is.
enum Stage {
    Routes {
        frame: Box<PolicyConfig>,
        loader: RouteSetLoader,
        next_piece: usize,
    },
    Compile(Box<EngineBuild>),
    /// Compiled; its keys (if any) not loaded yet.
    Built(Box<Engine>),
    Keys {
        engine: Box<Engine>,
        loader: KeySetLoader,
        next_piece: usize,
    },
    /// Between two stages (never seen outside [`PolicyLoad::advance`]).
    Moving,
}

/// A full publication being loaded.
pub struct PolicyLoad {
    name: String,
    generation: u64,
    stage: Stage,
    keys: Option<(usize, Option<PolicyDigest>)>,
}

/// What one call of [`PolicyLoad::advance`] ended with.
pub enum Progress {
    /// More slices to go.
    Pending,
    /// Loaded: the engine to serve (key deltas not applied yet).
    Done(Box<Engine>),
}

impl PolicyLoad {
    /// Starts loading publication `manifest` of source `name`, whose main pieces assembled
    /// to `main` (the policy, its skeleton, or the skeleton's frame).
    pub fn start(name: &str, manifest: &Manifest, main: &[u8]) -> Result<Self, LoadError> {
        let keys = manifest
            .keys
            .as_ref()
            .map(|keys| (keys.size, PolicyDigest::parse_hex(&keys.sha256)));
        let stage = match &manifest.routes {
            Some(routes) => Stage::Routes {
                frame: Box::new(PolicyConfig::parse_json(main).map_err(rejected)?),
                loader: RouteSetLoader::new(routes.size, PolicyDigest::parse_hex(&routes.sha256)),
                next_piece: 0,
            },
            // Published whole or as a skeleton without a route set: small, or from a service
            // that could not split it; validated and compiled in one call.
            None => {
                let engine = PolicyConfig::parse_json(main)
                    .and_then(Engine::from_config)
                    .map_err(rejected)?;
                Stage::Built(Box::new(engine))
            }
        };
        Ok(Self {
            name: name.to_owned(),
            generation: manifest.generation,
            stage,
            keys,
        })
    }

    /// The publication being loaded.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// What the next slice works on: `routes`, `compile <stage>`, `keys`.
    pub fn stage(&self) -> &'static str {
        match &self.stage {
            Stage::Routes { .. } => "routes",
            Stage::Compile(build) => build.stage(),
            Stage::Built(_) | Stage::Moving => "built",
            Stage::Keys { .. } => "keys",
        }
    }

    /// Loads one slice (`sliced`) or everything. `read` reads a shared-data entry.
    pub fn advance(
        &mut self,
        sliced: bool,
        read: &mut dyn FnMut(&str) -> Option<Vec<u8>>,
    ) -> Result<Progress, LoadError> {
        let mut budget = if sliced { SLICE_UNITS } else { usize::MAX };
        let mut pieces_read = 0;
        while budget > 0 {
            match std::mem::replace(&mut self.stage, Stage::Moving) {
                Stage::Routes {
                    mut frame,
                    mut loader,
                    mut next_piece,
                } => {
                    if loader.is_drained() {
                        loader.finish(&mut frame).map_err(rejected)?;
                        self.stage = Stage::Compile(Box::new(EngineBuild::new(*frame)));
                        continue;
                    }
                    if loader.wants_piece() {
                        if sliced && pieces_read > 0 {
                            budget = 0;
                        } else {
                            let key =
                                handoff::routes_piece_key(&self.name, self.generation, next_piece);
                            loader.feed(&read_piece(read, key)?);
                            next_piece += 1;
                            pieces_read += 1;
                        }
                    } else {
                        let lines = budget.div_ceil(ROUTE_LINE_UNITS);
                        let done = loader.step(&mut frame, lines).map_err(rejected)?;
                        if done == 0 {
                            return Err(LoadError::Rejected(
                                "the route set ends inside a line".to_owned(),
                            ));
                        }
                        budget = budget.saturating_sub(done.saturating_mul(ROUTE_LINE_UNITS));
                    }
                    self.stage = Stage::Routes {
                        frame,
                        loader,
                        next_piece,
                    };
                }
                Stage::Compile(mut build) => {
                    if !build.step(budget) {
                        self.stage = Stage::Compile(build);
                        break;
                    }
                    self.stage = Stage::Built(Box::new(build.finish().map_err(rejected)?));
                    // The step may have spent the whole budget.
                    if sliced {
                        break;
                    }
                }
                Stage::Built(engine) => match self.keys {
                    Some((size, digest)) => {
                        self.stage = Stage::Keys {
                            engine,
                            loader: KeySetLoader::new(size, digest),
                            next_piece: 0,
                        };
                    }
                    None => return Ok(Progress::Done(engine)),
                },
                Stage::Keys {
                    mut engine,
                    mut loader,
                    mut next_piece,
                } => {
                    if loader.is_drained() {
                        loader.finish().map_err(rejected)?;
                        return Ok(Progress::Done(engine));
                    }
                    if loader.wants_piece() {
                        if sliced && pieces_read > 0 {
                            budget = 0;
                        } else {
                            let key =
                                handoff::keys_piece_key(&self.name, self.generation, next_piece);
                            loader.feed(&read_piece(read, key)?);
                            next_piece += 1;
                            pieces_read += 1;
                        }
                    } else {
                        let keys = budget.div_ceil(KEY_UNITS);
                        let done = loader.step(&mut engine, keys).map_err(rejected)?;
                        if done == 0 {
                            return Err(LoadError::Rejected(
                                "the key set ends inside a line".to_owned(),
                            ));
                        }
                        budget = budget.saturating_sub(done.saturating_mul(KEY_UNITS));
                    }
                    self.stage = Stage::Keys {
                        engine,
                        loader,
                        next_piece,
                    };
                }
                Stage::Moving => {
                    return Err(LoadError::Rejected(
                        "the load was interrupted by an earlier failure".to_owned(),
                    ));
                }
            }
        }
        Ok(Progress::Pending)
    }
}

fn read_piece(
    read: &mut dyn FnMut(&str) -> Option<Vec<u8>>,
    key: String,
) -> Result<Vec<u8>, LoadError> {
    read(&key)
        .filter(|bytes| !bytes.is_empty())
        .ok_or(LoadError::Superseded(key))
}

fn rejected(error: impl std::fmt::Display) -> LoadError {
    LoadError::Rejected(error.to_string())
}
