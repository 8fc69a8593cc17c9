//! A worker's load of a full publication, in slices: the frame parsed, the route set parsed a
//! bounded number of routes at a time, the engine compiled in bounded steps
//! ([`EngineBuild`]), the key set inserted a bounded number of keys at a time. Between two
//! slices the worker's current policy serves; a request never waits for more than one slice.
//!
//! Pure Rust: shared-data pieces are read through a closure, so the same machine runs in the
//! filter (`filter::worker_source`), in tests and in benchmarks.

use super::checksum::PartChecksum;
use super::handoff::{self, Manifest};
use super::key_sets::KeyLines;
use super::lines::{SetLines, SetLoader};
use super::route_sets::RouteLines;
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
    /// The publication does not compile here, or a part does not match its checksum.
    #[error("{0}")]
    Rejected(String),
}

/// Where a load is.
enum Stage {
    Routes(SetLoad<RouteLines>),
    Compile(Box<EngineBuild>),
    /// Compiled; its keys (if any) not loaded yet.
    Built(Box<Engine>),
    Keys(SetLoad<KeyLines>),
    /// Between two stages (never seen outside [`PolicyLoad::advance`]).
    Moving,
}

/// A route set or key set being loaded into its target, and the next piece to read.
struct SetLoad<L: SetLines> {
    target: Box<L::Target>,
    loader: SetLoader<L>,
    next_piece: usize,
}

impl<L: SetLines> SetLoad<L>
where
    L::Error: std::fmt::Display,
{
    fn new(target: Box<L::Target>, size: usize, checksum: Option<PartChecksum>) -> Self {
        Self {
            target,
            loader: SetLoader::new(size, checksum),
            next_piece: 0,
        }
    }

    /// One move: reads the next piece (`piece_key(i)`; at most one per slice when `sliced`) or
    /// takes lines for the budget, each line costing `line_units`. True once every line is in.
    fn advance(
        &mut self,
        piece_key: &dyn Fn(usize) -> String,
        line_units: usize,
        slice: &mut SliceState<'_>,
    ) -> Result<bool, LoadError> {
        if self.loader.is_drained() {
            return Ok(true);
        }
        if self.loader.wants_piece() {
            if slice.sliced && slice.pieces_read > 0 {
                slice.budget = 0;
                return Ok(false);
            }
            self.loader
                .feed(&read_piece(slice.read, piece_key(self.next_piece))?);
            self.next_piece += 1;
            slice.pieces_read += 1;
            return Ok(false);
        }
        let lines = slice.budget.div_ceil(line_units);
        let done = self
            .loader
            .step(&mut self.target, lines)
            .map_err(rejected)?;
        if done == 0 {
            return Err(LoadError::Rejected(
                "the published set ends inside a line".to_owned(),
            ));
        }
        slice.budget = slice.budget.saturating_sub(done.saturating_mul(line_units));
        Ok(false)
    }

    /// The target, once every line is in and the checksum checks.
    fn finish(self) -> Result<Box<L::Target>, LoadError> {
        let Self {
            mut target, loader, ..
        } = self;
        loader.finish(&mut target).map_err(rejected)?;
        Ok(target)
    }
}

/// What one call of [`PolicyLoad::advance`] has left.
struct SliceState<'a> {
    sliced: bool,
    budget: usize,
    pieces_read: usize,
    read: &'a mut dyn FnMut(&str) -> Option<Vec<u8>>,
}

/// A full publication being loaded.
pub struct PolicyLoad {
    name: String,
    generation: u64,
    stage: Stage,
    keys: Option<(usize, Option<PartChecksum>)>,
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
            .map(|keys| (keys.size, keys.checksum()));
        let stage = match &manifest.routes {
            Some(routes) => Stage::Routes(SetLoad::new(
                Box::new(PolicyConfig::parse_json(main).map_err(rejected)?),
                routes.size,
                routes.checksum(),
            )),
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
            Stage::Routes(_) => "routes",
            Stage::Compile(build) => build.stage(),
            Stage::Built(_) | Stage::Moving => "built",
            Stage::Keys(_) => "keys",
        }
    }

    /// Loads one slice (`sliced`) or everything. `read` reads a shared-data entry.
    pub fn advance(
        &mut self,
        sliced: bool,
        read: &mut dyn FnMut(&str) -> Option<Vec<u8>>,
    ) -> Result<Progress, LoadError> {
        let mut slice = SliceState {
            sliced,
            budget: if sliced { SLICE_UNITS } else { usize::MAX },
            pieces_read: 0,
            read,
        };
        let (name, generation) = (self.name.clone(), self.generation);
        let route_piece = |i| handoff::routes_piece_key(&name, generation, i);
        let key_piece = |i| handoff::keys_piece_key(&name, generation, i);
        while slice.budget > 0 {
            match std::mem::replace(&mut self.stage, Stage::Moving) {
                Stage::Routes(mut set) => {
                    self.stage = if set.advance(&route_piece, ROUTE_LINE_UNITS, &mut slice)? {
                        Stage::Compile(Box::new(EngineBuild::new(*set.finish()?)))
                    } else {
                        Stage::Routes(set)
                    };
                }
                Stage::Compile(mut build) => {
                    if !build.step(slice.budget) {
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
                    Some((size, checksum)) => {
                        self.stage = Stage::Keys(SetLoad::new(engine, size, checksum));
                    }
                    None => return Ok(Progress::Done(engine)),
                },
                Stage::Keys(mut set) => {
                    if set.advance(&key_piece, KEY_UNITS, &mut slice)? {
                        return Ok(Progress::Done(set.finish()?));
                    }
                    self.stage = Stage::Keys(set);
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
