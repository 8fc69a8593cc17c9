//! The policy engine: a compiled policy and `decide(&Request) -> Decision`.
//!
//! Pure Rust with no proxy-wasm types, so every rule is tested natively and the same engine
//! runs in Envoy, in the replay harness and as a component. The steps of [`Engine::decide`],
//! each with its stable reason when it refuses:
//!
//! | step | refusal |
//! |---|---|
//! | normalise the path ([`normalize`]) | 400 `path.*` |
//! | drop client-sent copies of the decision headers | – |
//! | host lookup | 404 `route.no_host` |
//! | route candidates (most specific first) and their method/header predicates | 404 `route.no_match` |
//! | the host's minimum TLS version | 426 `tls.too_old` |
//! | the route's device-trust rule | 403 `device.untrusted` |
//! | the route's auth requirement, any of its providers | 401 `auth.missing` / `auth.<kind>.<why>` |
//! | the route's consumer allow-list | 403 `auth.forbidden` |
//! | upstream choice (cluster or sticky weighted split), rewrite, headers to set | – |

pub mod auth;
mod build;
pub(crate) mod chunked;
pub mod client_cert;
mod keys;
pub mod normalize;
pub mod request;
mod retire;
pub(crate) mod route;
pub(crate) mod split;
pub mod util;

use std::cell::RefCell;
use std::fmt;

use trie_routes::{MatchBuffer, PathMatch, RouteTrie};

use crate::config::{
    ConfigError, ConfigIssue, DecisionHeaderNames, PolicyConfig, Precedence, TlsVersion,
};
use auth::{AuthOutcome, Provider};
pub use build::EngineBuild;
use chunked::ChunkedVec;
pub use request::{Allow, Decision, Deny, Request, RequestNeeds};
pub use retire::RetiredEngine;
use route::CompiledRoute;

/// A policy compiled for lookups; immutable after [`Engine::compile`] and shared by every
/// stream of a worker.
#[derive(Debug)]
pub struct Engine {
    /// (host pattern, path match) → indices into `routes` of the routes sharing that exact
    /// path match, in declaration order (they differ by methods/headers).
    trie: RouteTrie<RouteGroup>,
    routes: ChunkedVec<CompiledRoute>,
    /// The members of the groups with more than one route.
    shared_groups: Vec<Box<[u32]>>,
    /// The distinct `auth.any_of` lists as provider indices; `CompiledRoute::auth` indexes it.
    auth_lists: Vec<Box<[usize]>>,
    /// Minimum TLS version of each host entry.
    host_min_tls: Vec<Option<TlsVersion>>,
    providers: Vec<(String, Provider)>,
    headers: DecisionHeaderNames,
    /// Which matching route wins.
    precedence: Precedence,
    allow_semicolon: bool,
    /// Lookup scratch space, reused across requests (a worker VM is single-threaded).
    buffer: RefCell<MatchBuffer>,
}

/// Options of path handling that are policy-wide.
const ALLOW_SEMICOLON_DEFAULT: bool = false;

impl Engine {
    /// Parses, validates and compiles a JSON policy, reporting every problem: what validation
    /// finds and what only compiling finds, together.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ConfigError> {
        Self::from_config(PolicyConfig::parse_json(bytes)?)
    }

    /// Validates and compiles a parsed policy (consumed), reporting every problem. The filter
    /// parses, frees the raw bytes, then calls this, to keep the VM's peak memory low.
    pub fn from_config(config: PolicyConfig) -> Result<Self, ConfigError> {
        let structural = config
            .validate()
            .err()
            .map(|e| e.issues)
            .unwrap_or_default();
        match Self::compile_owned(config) {
            Ok(engine) if structural.is_empty() => Ok(engine),
            Ok(_) => Err(ConfigError { issues: structural }),
            Err(compiled) => {
                // A field validation already flagged is not reported again by compilation.
                let related = |a: &str, b: &str| a.starts_with(b) || b.starts_with(a);
                let mut issues = structural;
                for issue in compiled.issues {
                    if !issues.iter().any(|s| related(&s.path, &issue.path)) {
                        issues.push(issue);
                    }
                }
                Err(ConfigError { issues })
            }
        }
    }

    /// Compiles a validated policy into lookup tables. Problems only compilation finds (two
    /// routes with identical matches, bad keys or certificates) are reported with their paths.
    pub fn compile(config: &PolicyConfig) -> Result<Self, ConfigError> {
        Self::compile_owned(config.clone())
    }

    /// [`Engine::compile`], consuming the configuration: its strings move into the tables
    /// instead of being copied, so a large policy's peak memory (which a wasm VM keeps as linear
    /// memory for good) holds one copy of them, not two.
    pub fn compile_owned(config: PolicyConfig) -> Result<Self, ConfigError> {
        let mut build = EngineBuild::new(config);
        while !build.step(usize::MAX) {}
        build.finish()
    }

    /// The routes of a group, in declaration order.
    fn group_members<'a>(&'a self, group: &'a RouteGroup) -> &'a [u32] {
        match group.shared_index() {
            None => std::slice::from_ref(&group.0),
            Some(shared) => self.shared_groups.get(shared).map_or(&[], |m| &m[..]),
        }
    }

    /// Which optional request facts this policy reads (the filter fetches only those).
    pub fn request_needs(&self) -> RequestNeeds {
        RequestNeeds {
            tls_version: self.host_min_tls.iter().any(Option::is_some),
            source_address: self.providers.iter().any(|(_, p)| p.reads_source_address()),
            clock: self.providers.iter().any(|(_, p)| p.reads_clock()),
        }
    }

    /// The decision header names this engine writes.
    pub fn decision_headers(&self) -> &DecisionHeaderNames {
        &self.headers
    }

    /// Number of compiled routes.
    pub fn route_count(&self) -> usize {
        self.routes.len()
    }

    /// Route ids in declaration order (for metrics).
    pub fn route_ids(&self) -> impl Iterator<Item = &str> {
        self.routes.iter().map(|r| &*r.id)
    }

    /// Decides what happens to one request.
    pub fn decide(&self, request: &Request) -> Decision<'_> {
        self.decide_traced(request, &mut NoTrace)
    }

    /// [`Engine::decide`], reporting every step to `trace` (what `trieguard explain` prints).
    pub fn decide_traced<T: Trace + ?Sized>(
        &self,
        request: &Request,
        trace: &mut T,
    ) -> Decision<'_> {
        let normalized = match normalize::normalize(&request.path, self.allow_semicolon) {
            Ok(n) => n,
            Err(rejection) => {
                trace.step(format_args!(
                    "path {:?} refused: {}",
                    request.path,
                    rejection.message()
                ));
                return Decision::Deny(Deny::new(400, rejection.reason(), rejection.message()));
            }
        };
        trace.step(format_args!(
            "path {:?} normalised to {:?}",
            request.path, normalized.path
        ));
        let host = util::normalize_host(&request.authority);

        let mut fresh = MatchBuffer::new();
        let mut cached = self.buffer.try_borrow_mut();
        let buffer = match cached.as_deref_mut() {
            Ok(buffer) => buffer,
            Err(_) => &mut fresh,
        };
        let Some(host_id) = self.trie.lookup_host(&host) else {
            trace.step(format_args!("no host entry serves {host:?}"));
            return Decision::Deny(Deny::new(
                404,
                "route.no_host",
                format!("no host entry serves '{host}'"),
            ));
        };
        let candidates = self.trie.lookup_path(host_id, &normalized.path, buffer);
        trace.step(format_args!(
            "host {host:?} → pattern {}; {} path candidate group(s)",
            util::OrEmpty(self.trie.host_pattern(host_id)),
            candidates.len()
        ));
        let chosen = match self.precedence {
            Precedence::MostSpecific => self.most_specific(request, &candidates, trace),
            Precedence::FirstMatch => self.first_match(request, &candidates, trace),
        };
        let Some(route) = chosen else {
            return Decision::Deny(Deny::new(
                404,
                "route.no_match",
                format!("no route matches {} {}", request.method, normalized.path),
            ));
        };
        drop(cached);
        self.decide_on_route(request, route, &normalized, trace)
    }

    /// The first candidate, most specific first, whose methods and headers hold.
    fn most_specific<T: Trace + ?Sized>(
        &self,
        request: &Request,
        candidates: &trie_routes::Candidates<'_, RouteGroup>,
        trace: &mut T,
    ) -> Option<&CompiledRoute> {
        for candidate in candidates.iter() {
            for &index in self.group_members(candidate.value) {
                let Some(route) = self.routes.get(index as usize) else {
                    continue;
                };
                match route.predicates_hold(request) {
                    Ok(()) => {
                        trace.step(format_args!(
                            "route '{}' ({}) taken: precedence most_specific, the most specific \
                             candidate whose predicates hold",
                            route.id,
                            route.path_shown()
                        ));
                        return Some(route);
                    }
                    Err(why) => trace.step(format_args!(
                        "route '{}' ({}) skipped: {why}",
                        route.id,
                        route.path_shown()
                    )),
                }
            }
        }
        None
    }

    /// Among all candidates (every route of the host matching the path, which the trie lists
    /// whatever their count in the policy), the one declared first whose methods and headers
    /// hold: Envoy's linear first-match order, without the linear scan. Route indices grow
    /// with declaration order, and all candidates belong to the one host entry selected.
    fn first_match<T: Trace + ?Sized>(
        &self,
        request: &Request,
        candidates: &trie_routes::Candidates<'_, RouteGroup>,
        trace: &mut T,
    ) -> Option<&CompiledRoute> {
        let mut best: Option<(u32, &CompiledRoute)> = None;
        for candidate in candidates.iter() {
            // A group's members are in declaration order: past the best so far, none can win.
            for &index in self.group_members(candidate.value) {
                if best.is_some_and(|(declared, _)| declared < index) {
                    break;
                }
                let Some(route) = self.routes.get(index as usize) else {
                    continue;
                };
                match route.predicates_hold(request) {
                    Ok(()) => {
                        trace.step(format_args!(
                            "route '{}' ({}) holds",
                            route.id,
                            route.path_shown()
                        ));
                        best = Some((index, route));
                        break;
                    }
                    Err(why) => trace.step(format_args!(
                        "route '{}' ({}) skipped: {why}",
                        route.id,
                        route.path_shown()
                    )),
                }
            }
        }
        let (_, route) = best?;
        trace.step(format_args!(
            "route '{}' ({}) taken: precedence first_match, declared first among the \
             candidates whose predicates hold",
            route.id,
            route.path_shown()
        ));
        Some(route)
    }

    fn decide_on_route<'e, T: Trace + ?Sized>(
        &'e self,
        request: &Request,
        route: &'e CompiledRoute,
        normalized: &normalize::NormalizedPath<'_>,
        trace: &mut T,
    ) -> Decision<'e> {
        let deny = |status: u16, reason: String, message: String| {
            Decision::Deny(Deny {
                status,
                reason,
                message,
                route: Some(route.id.to_string()),
            })
        };
        if let Some(min) = self
            .host_min_tls
            .get(route.host_entry as usize)
            .copied()
            .flatten()
        {
            let version = request
                .tls_version
                .as_deref()
                .and_then(TlsVersion::from_envoy);
            let ok = version.is_some_and(|v| v >= min);
            trace.step(format_args!(
                "min TLS {}: connection {} → {}",
                min.as_str(),
                request.tls_version.as_deref().unwrap_or("plaintext"),
                if ok { "ok" } else { "too old" }
            ));
            if !ok {
                return deny(
                    426,
                    "tls.too_old".into(),
                    format!(
                        "this host requires {} or newer; the connection uses {}",
                        min.as_str(),
                        request.tls_version.as_deref().unwrap_or("plaintext")
                    ),
                );
            }
        }
        if let Some(device) = route.device_trust() {
            if let Err(message) = device.check(request) {
                trace.step(format_args!("device trust refused: {message}"));
                return deny(403, "device.untrusted".into(), message);
            }
            trace.step(format_args!("device trust ok"));
        }
        let mut consumer = None;
        let any_of = route
            .auth
            .and_then(|list| self.auth_lists.get(list as usize));
        if let Some(any_of) = any_of {
            let mut first_failure: Option<(String, String)> = None;
            for &index in any_of.iter() {
                let Some((name, provider)) = self.providers.get(index) else {
                    continue;
                };
                match provider.authenticate(request) {
                    AuthOutcome::Authenticated(who) => {
                        trace.step(format_args!(
                            "auth provider '{name}': authenticated '{who}'"
                        ));
                        consumer = Some(who);
                        break;
                    }
                    AuthOutcome::Absent => {
                        trace.step(format_args!("auth provider '{name}': no credential"));
                    }
                    AuthOutcome::Invalid { reason, message } => {
                        trace.step(format_args!("auth provider '{name}': {reason}: {message}"));
                        first_failure.get_or_insert((reason, message));
                    }
                }
            }
            if consumer.is_none() {
                return match first_failure {
                    Some((reason, message)) => deny(401, reason, message),
                    None => deny(
                        401,
                        "auth.missing".into(),
                        "this route requires credentials and none were presented".into(),
                    ),
                };
            }
        }
        if let (Some(allowed), Some(who)) = (route.consumers(), &consumer)
            && !allowed.iter().any(|c| c == who)
        {
            trace.step(format_args!(
                "consumer '{who}' is not in the route's allow-list"
            ));
            return deny(
                403,
                "auth.forbidden".into(),
                format!("consumer '{who}' may not use this route"),
            );
        }
        let cluster = route.upstream.choose(request);
        trace.step(format_args!("upstream cluster '{cluster}'"));
        let target = match route.rewrite() {
            Some(rewrite) => {
                let rest = normalized
                    .path
                    .get(route.path_match.pattern().len()..)
                    .unwrap_or_default();
                let rest = match route.path_match {
                    PathMatch::Exact(_) => "",
                    _ => rest,
                };
                Some(format!("{rewrite}{rest}{}", normalized.query))
            }
            None if normalized.is_target(&request.path) => None,
            None => Some(normalized.to_request_target()),
        };
        let new_path = target.filter(|t| *t != request.path);
        if let Some(path) = &new_path {
            trace.step(format_args!("forwarded path {path:?}"));
        }
        let names = &self.headers;
        let remove_headers = [&names.route, &names.cluster, &names.consumer]
            .into_iter()
            .filter(|name| request.headers.iter().any(|(n, _)| n == *name))
            .map(String::as_str)
            .collect();
        Decision::Allow(Allow {
            route: &route.id,
            cluster,
            consumer,
            new_path,
            remove_headers,
            headers: names,
            reason: "ok",
            fail_mode: route.fail_mode,
        })
    }
}

/// A trie value: the routes sharing one (host entry, path match), in declaration order.
/// Most groups are one route, whose index is then the value itself; a larger group is an
/// index into `Engine::shared_groups`, marked by the top bit.
#[derive(Debug, Clone, Copy)]
struct RouteGroup(u32);

impl RouteGroup {
    const SHARED: u32 = 1 << 31;

    fn one(route: u32) -> Self {
        Self(route & !Self::SHARED)
    }

    fn shared(index: usize) -> Self {
        Self(u32::try_from(index).unwrap_or(u32::MAX) | Self::SHARED)
    }

    fn shared_index(self) -> Option<usize> {
        (self.0 & Self::SHARED != 0).then_some((self.0 & !Self::SHARED) as usize)
    }
}

/// Receives the steps of a decision (for `trieguard explain`).
///
/// Steps arrive as unformatted [`fmt::Arguments`], so [`Engine::decide`] (which traces to
/// nowhere) never pays for formatting them.
pub trait Trace {
    /// One step, as a sentence.
    fn step(&mut self, what: fmt::Arguments<'_>);
}

struct NoTrace;

impl Trace for NoTrace {
    fn step(&mut self, _what: fmt::Arguments<'_>) {}
}

impl Trace for Vec<String> {
    fn step(&mut self, what: fmt::Arguments<'_>) {
        self.push(what.to_string());
    }
}

fn route_error_issue(
    error: &trie_routes::RouteError,
    spec_path: &dyn Fn(usize) -> String,
) -> ConfigIssue {
    use trie_routes::RouteError;
    let path_of = |id: trie_routes::RouteId| spec_path(id.index());
    let path = match error {
        RouteError::Conflict { new, .. } => format!("{}.match", path_of(*new)),
        RouteError::InvalidHost { route, .. } => path_of(*route),
        RouteError::InvalidPath { route, .. } => format!("{}.match", path_of(*route)),
        _ => String::new(),
    };
    let message = match error {
        RouteError::InvalidPath { path, reason, .. } => format!("invalid {path}: {reason}"),
        RouteError::InvalidHost { host, reason, .. } => {
            format!("invalid domain {host:?}: {reason}")
        }
        other => other.to_string(),
    };
    ConfigIssue { path, message }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod client_cert_tests;

#[cfg(test)]
mod precedence_tests;
