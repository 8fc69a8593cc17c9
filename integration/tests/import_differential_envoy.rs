//! Envoy's router vs the same route table imported by `trieguard import-envoy`.
//!
//! A seeded generator writes a random Envoy route table (several virtual hosts with exact,
//! `*.suffix`, `*-x.suffix`, `prefix*` and `*` domains; overlapping prefixes, routes shadowed
//! by broader ones declared earlier, exact paths, `path_separated_prefix`, `case_sensitive:
//! false` (patterns with letters in mixed case, also on URI templates, where Envoy ignores
//! it), header predicates exact/prefix/present/absent, `:method`) and random requests aimed
//! to hit, nearly miss and miss its routes (also in another letter case). Each request goes to
//!
//! - **native** Envoy 1.40, where every route answers `direct_response` with its own name
//!   (and no route is Envoy's empty 404),
//! - **filter**: Envoy 1.40 with `trieguard.wasm` running the imported first-match policy
//!   (the route id read back from the echo upstream, or the `route.*` deny),
//! - **harness**: the same module and policy in the wasmtime host.
//!
//! The three route choices must be the same for every request. On a divergence the table is
//! shrunk (routes removed while the divergence persists, within a budget) and the first
//! divergent request is printed with the smaller table. `TRIEGUARD_DIFF_SEED=N` replays a seed.
//!
//! Constructs the importer does not translate faithfully (and so skips) are never generated.
//! The test asserts that the import skipped nothing.

// A test crate: unwrap/expect/panic/indexing are how tests fail.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use host_harness::host::{FailurePolicy, Host, HostOptions, HttpRequest, Routing, Vm};
use host_harness::import_envoy::{self, Options};
use integration::client::send;
use integration::{ClusterSpec, EchoUpstream, EnvoyConfig, EnvoyProcess, PluginSpec, paths};
use serde_json::{Value, json};

/// Seed used unless `TRIEGUARD_DIFF_SEED` says otherwise.
const DEFAULT_SEED: u64 = 0x13b0_0001;
/// Routes in the generated table (all virtual hosts together).
const ROUTES: usize = 1500;
/// Requests sent to each side.
const REQUESTS: usize = 1200;
/// Most divergence checks (each starts two Envoys) spent shrinking a failing table.
const SHRINK_CHECKS: usize = 20;
/// Wall-clock budget for shrinking.
const SHRINK_BUDGET: Duration = Duration::from_secs(30);
/// The one upstream every imported route forwards to: the route id tells routes apart.
const CLUSTER: &str = "echo";

/// splitmix64: small, seeded, the same on every platform.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn word(&mut self, words: &[&'static str]) -> &'static str {
        words[self.below(words.len())]
    }
}

#[derive(Debug, Clone)]
enum PathMatch {
    Prefix(String),
    Exact(String),
    Separated(String),
    /// An Envoy URI template of whole-segment variables (`{v1}`, `*`) and literal segments.
    Template(String),
}

impl PathMatch {
    fn pattern(&self) -> &str {
        match self {
            PathMatch::Prefix(p)
            | PathMatch::Exact(p)
            | PathMatch::Separated(p)
            | PathMatch::Template(p) => p,
        }
    }

    /// A path the match is about: the pattern, with a template's variables filled in.
    fn sample(&self, rng: &mut Rng) -> String {
        match self {
            PathMatch::Template(t) => t
                .split('/')
                .map(|segment| {
                    if segment == "*" || segment.starts_with('{') {
                        rng.word(SEGMENTS).to_owned()
                    } else {
                        segment.to_owned()
                    }
                })
                .collect::<Vec<_>>()
                .join("/"),
            other => other.pattern().to_owned(),
        }
    }
}

#[derive(Debug, Clone)]
enum HeaderMatch {
    Exact(String, String),
    Prefix(String, String),
    Suffix(String, String),
    /// `invert_match` on a value matcher: holds unless the value matches (absent included).
    NotExact(String, String),
    NotPrefix(String, String),
    Present(String),
    Absent(String),
}

#[derive(Debug, Clone)]
struct Route {
    name: String,
    path: PathMatch,
    case_insensitive: bool,
    method: Option<String>,
    headers: Vec<HeaderMatch>,
}

#[derive(Debug, Clone)]
struct VirtualHost {
    name: String,
    domains: Vec<String>,
    routes: Vec<Route>,
}

/// The generated table; `hosts[0]` is always the `*` virtual host.
#[derive(Debug, Clone)]
struct Table {
    hosts: Vec<VirtualHost>,
}

#[derive(Debug, Clone)]
struct Request {
    method: String,
    host: String,
    path: String,
    headers: Vec<(String, String)>,
}

const SEGMENTS: &[&str] = &[
    "api", "v1", "v2", "users", "Users", "orders", "ord", "a", "ab", "abc", "x-y", "1", "12",
    "123", "7",
];
const DIGITS: &[&str] = &["1", "12", "123", "7", "0", "42"];

/// `text` with each ASCII letter upper- or lower-cased at random.
fn mixed_case(rng: &mut Rng, text: &str) -> String {
    text.chars()
        .map(|c| match rng.chance(50) {
            true => c.to_ascii_uppercase(),
            false => c.to_ascii_lowercase(),
        })
        .collect()
}
const HEADER_NAMES: &[&str] = &["x-a", "x-b", "x-tenant"];
const HEADER_VALUES: &[&str] = &["1", "12", "beta", "b", "Beta", "beta-2"];
const METHODS: &[&str] = &["GET", "POST", "PUT"];

fn random_path(rng: &mut Rng, segments: &[&'static str], max: usize) -> String {
    let n = 1 + rng.below(max);
    (0..n).fold(String::new(), |mut p, _| {
        p.push('/');
        p.push_str(rng.word(segments));
        p
    })
}

/// `/seg/{v1}/seg/*`: one to four segments, at least one of them a variable.
fn random_template(rng: &mut Rng) -> String {
    let n = 1 + rng.below(4);
    let variable_at = rng.below(n);
    (0..n)
        .map(|i| {
            if i == variable_at || rng.chance(25) {
                if rng.chance(30) {
                    "/*".to_owned()
                } else {
                    format!("/{{v{i}}}")
                }
            } else {
                format!("/{}", rng.word(SEGMENTS))
            }
        })
        .collect()
}

fn random_route(rng: &mut Rng, name: String) -> Route {
    if rng.chance(5) {
        return Route {
            name,
            path: PathMatch::Template(random_template(rng)),
            // Envoy ignores it on templates (the importer notes that and keeps the template).
            case_insensitive: rng.chance(20),
            method: None,
            headers: Vec::new(),
        };
    }
    let case_insensitive = rng.chance(20);
    let mut base = random_path(rng, SEGMENTS, 3);
    if case_insensitive && rng.chance(50) {
        base = mixed_case(rng, &base);
    }
    let path = match rng.below(10) {
        0..=3 => {
            match rng.below(6) {
                // Ends inside a segment: `/api/us`.
                0 if base.len() > 3 => {
                    let cut = 3 + rng.below(base.len() - 3);
                    base.truncate(cut);
                }
                1 => base.push('/'),
                _ => {}
            }
            PathMatch::Prefix(base)
        }
        4..=6 => {
            if rng.chance(15) {
                base.push('/');
            }
            PathMatch::Exact(base)
        }
        _ => PathMatch::Separated(base),
    };
    let method = rng.chance(8).then(|| (*rng.pick(METHODS)).to_owned());
    let mut headers = Vec::new();
    if rng.chance(25) {
        for _ in 0..1 + rng.below(2) {
            let name = (*rng.pick(HEADER_NAMES)).to_owned();
            let value = (*rng.pick(HEADER_VALUES)).to_owned();
            headers.push(match rng.below(7) {
                0 => HeaderMatch::Exact(name, value),
                1 => HeaderMatch::Prefix(name, value),
                2 => HeaderMatch::Suffix(name, value),
                3 => HeaderMatch::NotExact(name, value),
                4 => HeaderMatch::NotPrefix(name, value),
                5 => HeaderMatch::Present(name),
                _ => HeaderMatch::Absent(name),
            });
        }
    }
    Route {
        name,
        path,
        case_insensitive,
        method,
        headers,
    }
}

fn generate(rng: &mut Rng) -> Table {
    // Domains: exact names, nested `*.suffix` wildcards, and the `*` host.
    let domain_sets: Vec<Vec<String>> = vec![
        vec!["*".into()],
        vec!["api.example.com".into(), "API2.example.com".into()],
        vec!["*.example.com".into()],
        vec!["*.shop.example.com".into(), "shop.test".into()],
        vec!["*.a-b.test".into(), "exact.a-b.test".into()],
        vec!["api.*".into(), "shop-*".into(), "api.eu.*".into()],
        // Partial-label suffix wildcards, overlapping `*.example.com` and `shop.test`.
        vec![
            "*-x.test".into(),
            "*-shop.example.com".into(),
            "*hop.test".into(),
        ],
    ];
    let mut hosts: Vec<VirtualHost> = domain_sets
        .into_iter()
        .enumerate()
        .map(|(i, domains)| VirtualHost {
            name: if i == 0 {
                "everything".into()
            } else {
                format!("vh{i}")
            },
            domains,
            routes: Vec::new(),
        })
        .collect();
    for n in 0..ROUTES {
        // The `*` host gets the most routes; the others share the rest.
        let h = if rng.chance(40) {
            0
        } else {
            1 + rng.below(hosts.len() - 1)
        };
        let route = random_route(rng, format!("r{n}"));
        hosts[h].routes.push(route);
    }
    // Catch-alls near the end of some hosts (everything after them is shadowed).
    for host in hosts.iter_mut().skip(1) {
        if rng.chance(50) && !host.routes.is_empty() {
            let at = host.routes.len() - rng.below(host.routes.len().min(20));
            let name = format!("{}-all", host.name);
            host.routes.insert(
                at,
                Route {
                    name,
                    path: PathMatch::Prefix("/".into()),
                    case_insensitive: false,
                    method: None,
                    headers: Vec::new(),
                },
            );
        }
    }
    Table { hosts }
}

/// A path aimed at `route`: the pattern itself, longer, one character off, another case.
fn path_near(rng: &mut Rng, route: &Route) -> String {
    let mut p = route.path.sample(rng);
    match rng.below(8) {
        0 | 1 => {}
        2 => {
            if !p.ends_with('/') {
                p.push('/');
            }
            p.push_str(rng.word(SEGMENTS));
        }
        3 => p.push_str(rng.word(&["x", "1", "-", "/"])),
        4 if p.len() > 1 => {
            p.pop();
            if p.is_empty() {
                p.push('/');
            }
        }
        5 => {
            // Flip the case of one letter, if any.
            let letters: Vec<usize> = p
                .char_indices()
                .filter(|(_, c)| c.is_ascii_alphabetic())
                .map(|(i, _)| i)
                .collect();
            if !letters.is_empty() {
                let i = letters[rng.below(letters.len())];
                let c = p[i..].chars().next().unwrap();
                let flipped = if c.is_ascii_lowercase() {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                };
                p.replace_range(i..=i, &flipped.to_string());
            }
        }
        6 => p = mixed_case(rng, &p),
        _ => {
            p.push('/');
            p.push_str(rng.word(DIGITS));
        }
    }
    p.replace("//", "/")
}

/// A request `Host` for a virtual host: a name it holds, one below a wildcard, another case,
/// the bare suffix of a wildcard, or an unrelated name.
fn host_near(rng: &mut Rng, table: &Table) -> String {
    let host = rng.pick(&table.hosts);
    let domain = rng.pick(&host.domains).clone();
    let name = match domain.strip_prefix("*.") {
        Some(suffix) => match rng.below(5) {
            0 => suffix.to_owned(),
            1 => format!("deep.er.{suffix}"),
            _ => format!("{}.{suffix}", rng.pick(&["api", "m", "shop", "x-1"])),
        },
        None if domain.starts_with('*') && domain != "*" => {
            // A partial-label suffix: `-x.test` of `*-x.test`.
            let suffix = &domain[1..];
            match rng.below(6) {
                0 => suffix.trim_start_matches('-').to_owned(),
                1 => suffix.to_owned(),
                2 => format!("deep.er{suffix}"),
                3 => format!("a.{}", suffix.trim_start_matches('-')),
                _ => format!("{}{suffix}", rng.pick(&["api", "m", "s", "x-1"])),
            }
        }
        None if domain.ends_with('*') && domain != "*" => {
            let prefix = domain.trim_end_matches('*');
            match rng.below(5) {
                0 => prefix.to_owned(),
                1 => format!("{prefix}example.com"),
                2 => format!("x{prefix}1"),
                _ => format!(
                    "{prefix}{}",
                    rng.pick(&["1", "test", "example.org", "eu.x"])
                ),
            }
        }
        None if domain == "*" => {
            (*rng.pick(&["other.org", "example.com", "localhost", "test"])).to_owned()
        }
        None => domain,
    };
    if rng.chance(15) {
        name.to_ascii_uppercase()
    } else {
        name.to_ascii_lowercase()
    }
}

fn requests(rng: &mut Rng, table: &Table) -> Vec<Request> {
    let routes: Vec<&Route> = table.hosts.iter().flat_map(|h| &h.routes).collect();
    (0..REQUESTS)
        .map(|_| {
            let host = host_near(rng, table);
            let path = if rng.chance(85) {
                let route = routes[rng.below(routes.len())];
                path_near(rng, route)
            } else {
                format!(
                    "/{}{}",
                    rng.pick(&["z", "q", "none"]),
                    random_path(rng, SEGMENTS, 3)
                )
            };
            let method = if rng.chance(80) {
                "GET".to_owned()
            } else {
                (*rng.pick(METHODS)).to_owned()
            };
            let mut headers = Vec::new();
            for name in HEADER_NAMES {
                if rng.chance(40) {
                    headers.push(((*name).to_owned(), (*rng.pick(HEADER_VALUES)).to_owned()));
                }
            }
            Request {
                method,
                host,
                path,
                headers,
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Rendering the table for Envoy and for the importer.

fn header_json(h: &HeaderMatch) -> Value {
    match h {
        HeaderMatch::Exact(n, v) => json!({"name": n, "string_match": {"exact": v}}),
        HeaderMatch::Prefix(n, v) => json!({"name": n, "string_match": {"prefix": v}}),
        HeaderMatch::Suffix(n, v) => json!({"name": n, "string_match": {"suffix": v}}),
        HeaderMatch::NotExact(n, v) => {
            json!({"name": n, "string_match": {"exact": v}, "invert_match": true})
        }
        HeaderMatch::NotPrefix(n, v) => {
            json!({"name": n, "string_match": {"prefix": v}, "invert_match": true})
        }
        HeaderMatch::Present(n) => json!({"name": n, "present_match": true}),
        HeaderMatch::Absent(n) => json!({"name": n, "present_match": true, "invert_match": true}),
    }
}

/// The route's `match`.
fn match_json(route: &Route) -> Value {
    let mut m = serde_json::Map::new();
    let (key, pattern) = match &route.path {
        PathMatch::Prefix(p) => ("prefix", json!(p)),
        PathMatch::Exact(p) => ("path", json!(p)),
        PathMatch::Separated(p) => ("path_separated_prefix", json!(p)),
        PathMatch::Template(t) => (
            "path_match_policy",
            json!({
                "name": "envoy.path.match.uri_template.uri_template_matcher",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig",
                    "path_template": t,
                },
            }),
        ),
    };
    m.insert(key.into(), pattern);
    if route.case_insensitive {
        m.insert("case_sensitive".into(), json!(false));
    }
    let mut headers: Vec<Value> = route.headers.iter().map(header_json).collect();
    if let Some(method) = &route.method {
        headers.push(json!({"name": ":method", "string_match": {"exact": method}}));
    }
    if !headers.is_empty() {
        m.insert("headers".into(), Value::Array(headers));
    }
    Value::Object(m)
}

/// A route as Envoy runs it natively: it answers with its own name.
fn native_route(route: &Route) -> Value {
    json!({
        "name": route.name,
        "match": match_json(route),
        "direct_response": {"status": 200, "body": {"inline_string": format!("route:{}", route.name)}},
    })
}

/// A route as the importer reads it.
fn import_route(route: &Route) -> Value {
    json!({"name": route.name, "match": match_json(route), "route": {"cluster": CLUSTER}})
}

/// The `RouteConfiguration` given to `import-envoy`.
fn route_configuration(table: &Table) -> Value {
    let hosts: Vec<Value> = table
        .hosts
        .iter()
        .map(|h| {
            let routes: Vec<Value> = h.routes.iter().map(import_route).collect();
            json!({"name": h.name, "domains": h.domains, "routes": routes})
        })
        .collect();
    json!({"name": "generated", "ignore_port_in_host_matching": true, "virtual_hosts": hosts})
}

/// The native table as `EnvoyConfig::virtual_host_body`: the `*` host's routes at 14 spaces,
/// then the other virtual hosts as further items of `virtual_hosts` (12 spaces). JSON is YAML.
fn native_body(table: &Table) -> String {
    let mut body = String::from("              routes:\n");
    for route in &table.hosts[0].routes {
        let _ = writeln!(body, "              - {}", native_route(route));
    }
    if table.hosts[0].routes.is_empty() {
        body = "              routes: []\n".into();
    }
    for host in table.hosts.iter().skip(1) {
        let routes: Vec<Value> = host.routes.iter().map(native_route).collect();
        let vhost = json!({"name": host.name, "domains": host.domains, "routes": routes});
        let _ = writeln!(body, "            - {vhost}");
    }
    body.trim_end().to_owned()
}

// ---------------------------------------------------------------------------------------------
// Running the three sides.

/// The route chosen (`None`: no route), or what went wrong.
type Choice = Result<Option<String>, String>;

struct Sides {
    _echo: EchoUpstream,
    native: EnvoyProcess,
    /// Not started while shrinking a divergence the harness already shows.
    filter: Option<EnvoyProcess>,
    vm: Vm,
}

fn import(table: &Table) -> String {
    let text = route_configuration(table).to_string();
    let imported = import_envoy::import(&text, &Options::default()).unwrap();
    assert!(
        imported.skipped.is_empty(),
        "the generator made constructs the importer skips: {:?}",
        imported.skipped
    );
    serde_json::to_string_pretty(&imported.policy).unwrap()
}

fn start(table: &Table, with_filter: bool) -> Sides {
    let policy = import(table);
    let echo = EchoUpstream::start(CLUSTER).unwrap();
    let clusters = ClusterSpec::for_upstreams(&[&echo]);

    let mut native = EnvoyConfig::new(clusters.clone(), None);
    native.virtual_host_body = Some(native_body(table));
    let native = EnvoyProcess::start(&native).unwrap();
    let filter = with_filter.then(|| {
        let config = EnvoyConfig::new(clusters, Some(PluginSpec::trieguard(&policy)));
        EnvoyProcess::start(&config).unwrap()
    });

    let options = HostOptions {
        routing: Routing {
            cluster_header: Some("x-trieguard-cluster".into()),
            clusters: Some([CLUSTER.to_owned()].into()),
        },
        failure_policy: FailurePolicy::FailClosed,
        ..HostOptions::default()
    };
    let host = Host::from_file(&paths::plugin_wasm(), options).unwrap();
    let vm = host.start(policy.as_bytes()).unwrap();
    Sides {
        _echo: echo,
        native,
        filter,
        vm,
    }
}

fn headers_of(req: &Request) -> Vec<(&str, &str)> {
    let mut headers = vec![("host", req.host.as_str())];
    headers.extend(req.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    headers
}

fn native_choice(envoy: &EnvoyProcess, req: &Request) -> Choice {
    let reply = send(
        &req.method,
        &format!("{}{}", envoy.url(), req.path),
        &headers_of(req),
    )
    .map_err(|e| format!("{e:#}"))?;
    match (reply.status, reply.body.strip_prefix("route:")) {
        (200, Some(name)) => Ok(Some(name.to_owned())),
        (404, None) if reply.body.is_empty() => Ok(None),
        _ => Err(format!("native {}: {}", reply.status, reply.body)),
    }
}

fn filter_choice(envoy: &EnvoyProcess, req: &Request) -> Choice {
    let reply = send(
        &req.method,
        &format!("{}{}", envoy.url(), req.path),
        &headers_of(req),
    )
    .map_err(|e| format!("{e:#}"))?;
    if let Some(reason) = reply.header("x-trieguard-reason") {
        return if reply.status == 404 && reason.starts_with("route.") {
            Ok(None)
        } else {
            Err(format!("filter denied {} {reason}", reply.status))
        };
    }
    let seen = reply.echoed().map_err(|e| format!("{e:#}"))?;
    Ok(seen.header("x-trieguard-route").map(str::to_owned))
}

fn harness_choice(vm: &mut Vm, req: &Request) -> Choice {
    let request = HttpRequest {
        id: None,
        method: req.method.clone(),
        authority: req.host.clone(),
        path: req.path.clone(),
        scheme: None,
        headers: req.headers.clone(),
        tls: None,
        source: Some("127.0.0.1:40000".into()),
    };
    let outcome = vm.handle(&request);
    let header = |name: &str| outcome.request_header(name).map(str::to_owned);
    match outcome.action {
        host_harness::host::Action::Continue => Ok(header("x-trieguard-route")),
        host_harness::host::Action::Deny => {
            let reason = outcome.response_header("x-trieguard-reason").unwrap_or("");
            if outcome.status == Some(404) && reason.starts_with("route.") {
                Ok(None)
            } else {
                Err(format!("harness denied {:?} {reason}", outcome.status))
            }
        }
        other => Err(format!("harness {other:?} {:?}", outcome.trap)),
    }
}

/// The three choices for `req` (native, filter, harness), or `None` when they agree. Without
/// the filter Envoy, its choice is taken to be the harness's.
fn divergence(sides: &mut Sides, req: &Request) -> Option<[Choice; 3]> {
    let harness = harness_choice(&mut sides.vm, req);
    let filter = match &sides.filter {
        Some(envoy) => filter_choice(envoy, req),
        None => harness.clone(),
    };
    let choices = [native_choice(&sides.native, req), filter, harness];
    let agree = choices[0].is_ok() && choices[0] == choices[1] && choices[1] == choices[2];
    (!agree).then_some(choices)
}

fn seed() -> u64 {
    match std::env::var("TRIEGUARD_DIFF_SEED") {
        Ok(text) => {
            let text = text.trim();
            let parsed = match text.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => text.parse(),
            };
            parsed.unwrap_or_else(|e| panic!("TRIEGUARD_DIFF_SEED={text:?}: {e}"))
        }
        Err(_) => DEFAULT_SEED,
    }
}

/// Removes routes from `table` while `req` still diverges (delta debugging, bounded). When
/// the harness disagrees with native Envoy, the filter Envoy is not needed to see it.
fn shrink(table: &Table, req: &Request, with_filter: bool) -> Table {
    let started = Instant::now();
    let mut checks = 0;
    let mut best = table.clone();
    let mut chunk = best.hosts.iter().map(|h| h.routes.len()).sum::<usize>() / 2;
    while chunk >= 1 && checks < SHRINK_CHECKS && started.elapsed() < SHRINK_BUDGET {
        let names: Vec<String> = best
            .hosts
            .iter()
            .flat_map(|h| h.routes.iter().map(|r| r.name.clone()))
            .collect();
        let mut removed_any = false;
        for group in names.chunks(chunk) {
            if checks >= SHRINK_CHECKS || started.elapsed() >= SHRINK_BUDGET {
                break;
            }
            let mut candidate = best.clone();
            for host in &mut candidate.hosts {
                host.routes.retain(|r| !group.contains(&r.name));
            }
            if candidate.hosts.iter().all(|h| h.routes.is_empty()) {
                continue;
            }
            checks += 1;
            let mut sides = start(&candidate, with_filter);
            if divergence(&mut sides, req).is_some() {
                best = candidate;
                removed_any = true;
            }
        }
        if !removed_any {
            chunk /= 2;
        }
    }
    eprintln!(
        "shrunk with {checks} checks in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    best
}

fn describe(table: &Table) -> String {
    let mut out = String::new();
    for host in table.hosts.iter().filter(|h| !h.routes.is_empty()) {
        let _ = writeln!(
            out,
            "- name: {}\n  domains: {:?}\n  routes:",
            host.name, host.domains
        );
        for route in &host.routes {
            let _ = writeln!(out, "  - {}", import_route(route));
        }
    }
    out
}

#[test]
fn imported_tables_route_like_envoy() {
    let started = Instant::now();
    let seed = seed();
    eprintln!("seed {seed:#x} (set TRIEGUARD_DIFF_SEED to replay another)");
    let mut rng = Rng(seed);
    let table = generate(&mut rng);
    let requests = requests(&mut rng, &table);

    let mut sides = start(&table, true);
    eprintln!(
        "{} routes in {} virtual hosts, {} requests; started in {:.1} s",
        table.hosts.iter().map(|h| h.routes.len()).sum::<usize>(),
        table.hosts.len(),
        requests.len(),
        started.elapsed().as_secs_f64()
    );
    let mut routed = 0;
    let mut unrouted = 0;
    // Requests taken by a case-insensitive route whose pattern, as written, their path does
    // not match: what only ignoring case can get right.
    let mut other_case = 0;
    let by_name: std::collections::HashMap<&str, &Route> = table
        .hosts
        .iter()
        .flat_map(|h| &h.routes)
        .map(|r| (r.name.as_str(), r))
        .collect();
    // Requests routed in a virtual host that only partial-label suffix wildcards select.
    let mut partial_host = 0;
    let partial_routes: std::collections::HashSet<&str> = table
        .hosts
        .iter()
        .filter(|h| {
            h.domains
                .iter()
                .all(|d| d.starts_with('*') && !d.starts_with("*.") && d != "*")
        })
        .flat_map(|h| h.routes.iter().map(|r| r.name.as_str()))
        .collect();
    let mut first: Option<(usize, [Choice; 3])> = None;
    let mut diverging = 0;
    for (i, req) in requests.iter().enumerate() {
        match divergence(&mut sides, req) {
            None => match harness_choice(&mut sides.vm, req) {
                Ok(None) => unrouted += 1,
                Ok(Some(name)) => {
                    routed += 1;
                    if partial_routes.contains(name.as_str()) {
                        partial_host += 1;
                    }
                    let taken = by_name.get(name.as_str());
                    if taken.is_some_and(|r| {
                        r.case_insensitive
                            && !matches!(r.path, PathMatch::Template(_))
                            && !req.path.starts_with(r.path.pattern())
                    }) {
                        other_case += 1;
                    }
                }
                Err(_) => routed += 1,
            },
            Some(choices) => {
                diverging += 1;
                first.get_or_insert((i, choices));
            }
        }
    }
    drop(sides);
    let Some((i, choices)) = first else {
        eprintln!(
            "all agree: {routed} routed ({other_case} by a case-insensitive route to a path in \
             another case, {partial_host} in the host of partial-label wildcards), {unrouted} \
             without a route, in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        // The requests really exercise both outcomes, case folding and partial wildcards.
        assert!(
            routed > REQUESTS / 3 && unrouted > REQUESTS / 60 && other_case > 0 && partial_host > 0,
            "{routed} / {unrouted} / {other_case} / {partial_host}"
        );
        return;
    };
    let req = &requests[i];
    let small = shrink(&table, req, choices[2] == choices[0]);
    panic!(
        "seed {seed:#x}: {diverging} of {} requests diverge; first: #{i} {} {}{} headers {:?}\n  \
         native Envoy: {:?}\n  Envoy + trieguard: {:?}\n  harness: {:?}\nsmaller table \
         (still diverging):\n{}",
        requests.len(),
        req.method,
        req.host,
        req.path,
        req.headers,
        choices[0],
        choices[1],
        choices[2],
        describe(&small)
    );
}
