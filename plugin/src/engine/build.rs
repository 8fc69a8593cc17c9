//! Compiling a parsed policy into an [`Engine`] in bounded steps.
//!
//! A worker that takes a new policy from a source must keep serving requests with its
//! current engine while it builds the next one, and a wasm VM has one thread: so the build is
//! a state machine that does a bounded amount of work per [`EngineBuild::step`] and is
//! driven from the worker's ticks (docs/policy-source.md). [`Engine::compile_owned`] is the
//! same machine run to its end in one call, so the two can never build different engines.
//!
//! The stages, in order, each resumable:
//!
//! | stage | work per unit |
//! |---|---|
//! | join | a host entry's compiled routes appended to one table, told their host, auth lists resolved |
//! | group | one route put into its (host, path match) group; identical matches are conflicts |
//! | specs | one (group, domain) pushed into the route trie's builder |
//! | freeze | one trie node laid out, flagged or examined for segment jumps ([`trie_routes::RouteTrieFreeze`]) |

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;

use trie_routes::{MatchBuffer, RouteSpec, RouteTrie, RouteTrieBuilder, RouteTrieFreeze};

use super::auth::{self, Provider};
use super::chunked::ChunkedVec;
use super::route::CompiledRoute;
use super::{ALLOW_SEMICOLON_DEFAULT, Engine, RouteGroup, route_error_issue};
use crate::config::{
    ConfigError, ConfigIssue, DecisionHeaderNames, HostConfig, PolicyConfig, Precedence, TlsVersion,
};

/// Units a stage charges per item, so that one budget means about the same time in every
/// stage (measured natively and in wasmtime by `cargo xtask bench vm`; a freeze unit, one
/// trie node, is the cheapest item).
const JOIN_COST: usize = 1;
const GROUP_COST: usize = 4;
const SPEC_COST: usize = 12;

/// `u32::MAX`: no earlier group with the same hash.
const NO_GROUP: u32 = u32::MAX;

/// An [`Engine`] being compiled; see the module docs.
pub struct EngineBuild {
    stage: Stage,
    /// Host entries not joined yet, in order.
    hosts: std::vec::IntoIter<HostConfig>,
    joined_hosts: u32,
    providers: Vec<(String, Provider)>,
    provider_index: BTreeMap<String, usize>,
    headers: DecisionHeaderNames,
    precedence: Precedence,
    routes: ChunkedVec<CompiledRoute>,
    /// (host entry, declaration index) of each compiled route, for error paths.
    origins: Vec<(u32, u32)>,
    auth_lists: Vec<Box<[usize]>>,
    auth_list_index: HashMap<Box<[usize]>, u32, foldhash::fast::RandomState>,
    host_min_tls: Vec<Option<TlsVersion>>,
    host_domains: Vec<Vec<String>>,
    groups: Grouping,
    /// The first route of each spec pushed, for error paths.
    spec_routes: Vec<u32>,
    shared_groups: Vec<Box<[u32]>>,
    issues: Vec<ConfigIssue>,
}

/// Where a build is.
enum Stage {
    Join,
    Group { next: usize },
    Specs(Box<SpecPush>),
    Freeze(Box<RouteTrieFreeze<RouteGroup>>),
    Done(Option<Box<RouteTrie<RouteGroup>>>),
}

/// Routes grouped by (host entry, path match key: kind, pattern, case sensitivity), groups in order of first
/// appearance. A group is found by the key's hash and confirmed against its first route, so
/// the table borrows nothing from the routes (the build owns both across steps).
#[derive(Default)]
struct Grouping {
    /// Hash of a key → the last group with that hash.
    by_hash: HashMap<u64, u32, foldhash::fast::RandomState>,
    /// Per group: the previous group with the same hash, or [`NO_GROUP`].
    same_hash: Vec<u32>,
    /// Per group: its first route.
    first: Vec<u32>,
    /// The other routes of the (few) groups with more than one.
    others: HashMap<u32, Vec<u32>, foldhash::fast::RandomState>,
}

/// Pushing each group's route, once per domain of its host, into the trie builder.
struct SpecPush {
    builder: RouteTrieBuilder<RouteGroup>,
    /// Per group: its first route and its trie value.
    groups: Vec<(u32, RouteGroup)>,
    group: usize,
    domain: usize,
}

impl EngineBuild {
    /// Starts compiling `config` (consumed: its strings move into the tables). Compiles the
    /// auth providers at once (they are few; a large policy's API keys are inserted later or
    /// were compiled while parsed).
    pub fn new(config: PolicyConfig) -> Self {
        let PolicyConfig {
            hosts,
            auth_providers,
            decision_headers,
            precedence,
        } = config;
        let mut issues: Vec<ConfigIssue> = Vec::new();
        let providers: Vec<(String, Provider)> =
            auth::compile_providers(auth_providers, &mut issues)
                .into_iter()
                .collect();
        let provider_index = providers
            .iter()
            .enumerate()
            .map(|(i, (name, _))| (name.clone(), i))
            .collect();
        let route_total = hosts.iter().map(|h| h.routes.routes.len()).sum();
        Self {
            stage: Stage::Join,
            host_min_tls: Vec::with_capacity(hosts.len()),
            host_domains: Vec::with_capacity(hosts.len()),
            hosts: hosts.into_iter(),
            joined_hosts: 0,
            providers,
            provider_index,
            headers: decision_headers,
            precedence,
            routes: ChunkedVec::default(),
            origins: Vec::with_capacity(route_total),
            auth_lists: Vec::new(),
            auth_list_index: HashMap::default(),
            groups: Grouping::default(),
            spec_routes: Vec::new(),
            shared_groups: Vec::new(),
            issues,
        }
    }

    /// Does about `budget` units of work (at least one item); true once [`Self::finish`]
    /// may be called.
    pub fn step(&mut self, budget: usize) -> bool {
        let mut budget = budget.max(1);
        while budget > 0 {
            match &mut self.stage {
                Stage::Join => self.join(&mut budget),
                Stage::Group { .. } => self.group(&mut budget),
                Stage::Specs(_) => self.push_specs(&mut budget),
                Stage::Freeze(freeze) => {
                    if freeze.step(budget) {
                        self.end_freeze();
                    }
                    budget = 0;
                }
                Stage::Done(_) => return true,
            }
        }
        matches!(self.stage, Stage::Done(_))
    }

    /// The stage the next step works in: `join`, `group`, `specs`, `freeze` or `done`.
    pub fn stage(&self) -> &'static str {
        match self.stage {
            Stage::Join => "join",
            Stage::Group { .. } => "group",
            Stage::Specs(_) => "specs",
            Stage::Freeze(_) => "freeze",
            Stage::Done(_) => "done",
        }
    }

    /// The engine, or every problem found, once [`Self::step`] returned true.
    pub fn finish(self) -> Result<Engine, ConfigError> {
        let Self {
            stage,
            providers,
            headers,
            precedence,
            routes,
            auth_lists,
            host_min_tls,
            shared_groups,
            mut issues,
            ..
        } = self;
        let trie = match stage {
            Stage::Done(trie) => trie,
            _ => {
                issues.push(ConfigIssue {
                    path: String::new(),
                    message: "the policy's compile was not run to its end".to_owned(),
                });
                None
            }
        };
        match (trie, issues.is_empty()) {
            (Some(trie), true) => Ok(Engine {
                trie: *trie,
                routes,
                shared_groups,
                auth_lists,
                host_min_tls,
                providers,
                headers,
                precedence,
                allow_semicolon: ALLOW_SEMICOLON_DEFAULT,
                buffer: RefCell::new(MatchBuffer::new()),
            }),
            _ => Err(ConfigError { issues }),
        }
    }

    /// The routes were compiled while parsed (`RouteList`); here they are joined into one
    /// table, told their host entry, and their auth lists resolved to provider indices. One
    /// host entry at a time (charged by its routes).
    fn join(&mut self, budget: &mut usize) {
        let Some(host) = self.hosts.next() else {
            self.routes.shrink_to_fit();
            self.auth_list_index = HashMap::default();
            self.groups.by_hash.reserve(self.routes.len());
            self.stage = Stage::Group { next: 0 };
            return;
        };
        let host_entry = self.joined_hosts;
        self.joined_hosts = self.joined_hosts.saturating_add(1);
        self.host_min_tls.push(host.min_tls);
        self.host_domains.push(host.domains);
        let list = host.routes;
        let resolved: Vec<Option<u32>> = list
            .auth_lists
            .iter()
            .map(|names| self.auth_list(names))
            .collect();
        for declared in list.declaration_indices() {
            self.origins
                .push((host_entry, u32::try_from(declared).unwrap_or(u32::MAX)));
        }
        let first = self.routes.len();
        let count = list.routes.len();
        self.routes.append(list.routes);
        for route in self.routes.iter_mut_from(first) {
            route.host_entry = host_entry;
            route.auth = route
                .auth
                .and_then(|list| resolved.get(list as usize).copied().flatten());
        }
        *budget = budget.saturating_sub(count.saturating_mul(JOIN_COST).max(1));
    }

    /// The index of an `auth.any_of` list (provider names) in the engine's distinct lists.
    fn auth_list(&mut self, names: &[String]) -> Option<u32> {
        let indices: Box<[usize]> = names
            .iter()
            .filter_map(|name| self.provider_index.get(name.as_str()).copied())
            .collect();
        if let Some(&index) = self.auth_list_index.get(&indices) {
            return Some(index);
        }
        let index = u32::try_from(self.auth_lists.len()).ok()?;
        self.auth_list_index.insert(indices.clone(), index);
        self.auth_lists.push(indices);
        Some(index)
    }

    /// Puts routes into their (host entry, path match) group; identical full matches are
    /// conflicts.
    fn group(&mut self, budget: &mut usize) {
        let Stage::Group { next } = &mut self.stage else {
            return;
        };
        let hasher = foldhash::fast::FixedState::default();
        while *budget > 0 {
            let index = *next;
            let Some(route) = self.routes.get(index) else {
                self.end_grouping();
                return;
            };
            *next += 1;
            *budget = budget.saturating_sub(GROUP_COST);
            let Ok(index) = u32::try_from(index) else {
                continue;
            };
            let key = (route.host_entry, route.path_key());
            let hash = hasher.hash_one(key);
            let groups = &mut self.groups;
            let routes = &self.routes;
            let key_of = |group: u32| {
                let first = *groups.first.get(group as usize)?;
                let r = routes.get(first as usize)?;
                Some((r.host_entry, r.path_key()))
            };
            let mut candidate = groups.by_hash.get(&hash).copied().unwrap_or(NO_GROUP);
            while candidate != NO_GROUP && key_of(candidate) != Some(key) {
                candidate = groups
                    .same_hash
                    .get(candidate as usize)
                    .copied()
                    .unwrap_or(NO_GROUP);
            }
            if candidate == NO_GROUP {
                let Ok(group) = u32::try_from(groups.first.len()) else {
                    continue;
                };
                let previous = groups.by_hash.insert(hash, group).unwrap_or(NO_GROUP);
                groups.same_hash.push(previous);
                groups.first.push(index);
                continue;
            }
            let Some(&first) = groups.first.get(candidate as usize) else {
                continue;
            };
            let others = groups.others.entry(candidate).or_default();
            let same = std::iter::once(first)
                .chain(others.iter().copied())
                .find(|&other| {
                    routes
                        .get(other as usize)
                        .is_some_and(|o| o.same_request_match(route))
                });
            match same {
                Some(existing) => {
                    let issue = ConfigIssue {
                        path: format!("{}.match", path_of(&self.origins, index as usize)),
                        message: format!(
                            "route '{}' matches exactly the same requests as route '{}' at {}",
                            route.id,
                            routes
                                .get(existing as usize)
                                .map(|r| &*r.id)
                                .unwrap_or_default(),
                            path_of(&self.origins, existing as usize)
                        ),
                    };
                    self.issues.push(issue);
                }
                None => others.push(index),
            }
        }
    }

    /// Grouping done: the larger groups get their member lists, and the trie build starts.
    fn end_grouping(&mut self) {
        let groups = std::mem::take(&mut self.groups);
        let mut members: Vec<(u32, Vec<u32>)> = groups
            .others
            .into_iter()
            .filter(|(_, others)| !others.is_empty())
            .collect();
        members.sort_unstable_by_key(|(group, _)| *group);
        let mut values: Vec<RouteGroup> =
            groups.first.iter().map(|&r| RouteGroup::one(r)).collect();
        for (group, others) in members {
            let Some(&first) = groups.first.get(group as usize) else {
                continue;
            };
            let all = std::iter::once(first).chain(others).collect();
            self.shared_groups.push(all);
            if let Some(value) = values.get_mut(group as usize) {
                *value = RouteGroup::shared(self.shared_groups.len() - 1);
            }
        }
        self.spec_routes = Vec::with_capacity(groups.first.len());
        let groups: Vec<(u32, RouteGroup)> = groups.first.into_iter().zip(values).collect();
        self.stage = Stage::Specs(Box::new(SpecPush {
            builder: RouteTrieBuilder::with_capacity(groups.len()),
            groups,
            group: 0,
            domain: 0,
        }));
    }

    /// Specs are made one at a time as the builder takes them: their strings never exist for
    /// all routes at once.
    fn push_specs(&mut self, budget: &mut usize) {
        let Stage::Specs(push) = &mut self.stage else {
            return;
        };
        while *budget > 0 {
            let Some(&(first, value)) = push.groups.get(push.group) else {
                break;
            };
            let route = self.routes.get(first as usize);
            let domain = route.and_then(|route| {
                self.host_domains
                    .get(route.host_entry as usize)?
                    .get(push.domain)
            });
            match (route, domain) {
                (Some(route), Some(domain)) => {
                    self.spec_routes.push(first);
                    push.builder.push(
                        RouteSpec::new(domain.as_str(), route.path_match.clone(), value)
                            .ignoring_case(route.ignore_case),
                    );
                    push.domain += 1;
                    *budget = budget.saturating_sub(SPEC_COST);
                }
                _ => {
                    push.group += 1;
                    push.domain = 0;
                }
            }
        }
        if push.group < push.groups.len() {
            return;
        }
        let Stage::Specs(push) = std::mem::replace(&mut self.stage, Stage::Done(None)) else {
            return;
        };
        self.host_domains = Vec::new();
        match push.builder.freeze_in_steps() {
            Ok(freeze) => self.stage = Stage::Freeze(Box::new(freeze)),
            Err(error) => self.route_errors(error),
        }
    }

    fn end_freeze(&mut self) {
        let Stage::Freeze(freeze) = std::mem::replace(&mut self.stage, Stage::Done(None)) else {
            return;
        };
        match freeze.finish() {
            Ok(trie) => self.stage = Stage::Done(Some(Box::new(trie))),
            Err(error) => self.route_errors(error),
        }
    }

    /// The trie builder's problems, with the paths of the routes they are about.
    fn route_errors(&mut self, error: trie_routes::BuildError) {
        for problem in error.into_errors() {
            let issue = route_error_issue(&problem, &|spec: usize| {
                self.spec_routes
                    .get(spec)
                    .map(|&r| path_of(&self.origins, r as usize))
                    .unwrap_or_default()
            });
            self.issues.push(issue);
        }
        self.stage = Stage::Done(None);
    }
}

/// `hosts[h].routes[r]` of a compiled route, from its origin.
fn path_of(origins: &[(u32, u32)], index: usize) -> String {
    origins
        .get(index)
        .map(|(h, r)| format!("hosts[{h}].routes[{r}]"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Request;

    /// Hosts with shared domains, groups of several routes (methods), templates, prefixes and
    /// exact paths, and auth lists: everything the stages handle.
    fn policy(routes_per_host: usize, conflict: bool) -> String {
        let mut hosts = Vec::new();
        for h in 0..3 {
            let mut routes = Vec::new();
            for r in 0..routes_per_host {
                let path = match r % 4 {
                    0 => format!(r#"{{"prefix":"/p{r}/"}}"#),
                    1 => format!(r#"{{"template":"/t{r}/{{id}}/x"}}"#),
                    2 => format!(r#"{{"exact":"/e{r}"}}"#),
                    _ => format!(r#"{{"prefix":"/p{}/","methods":["POST"]}}"#, r - 3),
                };
                let auth = if r % 5 == 0 {
                    r#","auth":{"any_of":["keys"]}"#
                } else {
                    ""
                };
                routes.push(format!(
                    r#"{{"id":"h{h}r{r}","match":{path},"upstream":{{"cluster":"c{}"}}{auth}}}"#,
                    r % 7
                ));
            }
            if conflict && h == 1 {
                routes.push(
                    r#"{"id":"dup","match":{"exact":"/e2"},"upstream":{"cluster":"c"}}"#.to_owned(),
                );
            }
            hosts.push(format!(
                r#"{{"domains":["h{h}.example","*.h{h}.example"],"routes":[{}]}}"#,
                routes.join(",")
            ));
        }
        format!(
            r#"{{"hosts":[{}],"auth_providers":{{"keys":{{"api_key":{{"keys":[]}}}}}}}}"#,
            hosts.join(",")
        )
    }

    fn in_steps(json: &str, budget: usize) -> (Result<Engine, ConfigError>, usize) {
        let config = PolicyConfig::parse_json(json.as_bytes()).unwrap();
        let mut build = EngineBuild::new(config);
        let mut steps = 1;
        while !build.step(budget) {
            steps += 1;
        }
        (build.finish(), steps)
    }

    fn requests(routes_per_host: usize) -> Vec<Request> {
        let mut out = Vec::new();
        for h in 0..3 {
            for r in 0..routes_per_host {
                for (method, path) in [
                    ("GET", format!("/p{r}/a")),
                    ("POST", format!("/p{r}/a")),
                    ("GET", format!("/t{r}/42/x")),
                    ("GET", format!("/e{r}")),
                ] {
                    out.push(Request {
                        method: method.into(),
                        authority: format!("a.h{h}.example"),
                        path,
                        ..Request::default()
                    });
                }
            }
        }
        out
    }

    #[test]
    fn an_engine_built_in_small_steps_decides_like_one_built_at_once() {
        let json = policy(200, false);
        let whole = Engine::from_json(json.as_bytes()).unwrap();
        for budget in [1, 5, 64, 5_000] {
            let (stepped, steps) = in_steps(&json, budget);
            let stepped = stepped.unwrap();
            if budget == 1 {
                assert!(steps > 2_000, "{steps}");
            }
            assert_eq!(stepped.route_count(), whole.route_count());
            assert_eq!(stepped.shared_groups, whole.shared_groups);
            assert_eq!(stepped.auth_lists, whole.auth_lists);
            for request in requests(200) {
                assert_eq!(
                    stepped.decide(&request),
                    whole.decide(&request),
                    "{request:?}"
                );
            }
        }
    }

    #[test]
    fn problems_found_in_steps_are_the_ones_found_at_once() {
        let json = policy(20, true);
        let whole =
            Engine::compile_owned(PolicyConfig::parse_json(json.as_bytes()).unwrap()).unwrap_err();
        assert!(
            whole
                .issues
                .iter()
                .any(|i| i.path == "hosts[1].routes[20].match"),
            "{whole:?}"
        );
        for budget in [1, 3, 100] {
            assert_eq!(in_steps(&json, budget).0.unwrap_err(), whole);
        }
    }

    #[test]
    fn finishing_early_is_an_error_not_a_half_engine() {
        let config = PolicyConfig::parse_json(policy(50, false).as_bytes()).unwrap();
        let mut build = EngineBuild::new(config);
        assert!(!build.step(10));
        assert!(build.finish().is_err());
    }
}
