//! Structural validation of a parsed policy: every problem, with its JSON path.
//!
//! What needs compiling to check (route conflicts, JWKS keys, PEM roots) is checked by
//! `Engine::compile`, which reports in the same form.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::net::IpAddr;

use super::{
    AuthProviderConfig, ConfigIssue, HeaderPredicateConfig, MatchConfig, PolicyConfig, RouteConfig,
    UpstreamConfig,
};

/// Longest route id accepted: ids travel in a header and in metric names.
pub const MAX_ROUTE_ID_LEN: usize = 128;

/// Collects issues with their paths.
pub(super) struct Issues(pub(super) Vec<ConfigIssue>);

impl Issues {
    pub(super) fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(ConfigIssue {
            path: path.into(),
            message: message.into(),
        });
    }
}

/// A hash map with a fast hasher: the keys come from the operator's own configuration.
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// `hosts[h].routes[r]`, formatted only when an issue is reported (a policy with 100k routes
/// would otherwise build 100k path strings to report nothing).
#[derive(Clone, Copy)]
struct RouteAt {
    host: usize,
    route: usize,
}

impl fmt::Display for RouteAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "hosts[{}].routes[{}]", self.host, self.route)
    }
}

/// `<parent>.<field>`, formatted only when an issue is reported.
struct Field<'a>(&'a dyn fmt::Display, &'a str);

impl fmt::Display for Field<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.0, self.1)
    }
}

pub(super) fn validate(config: &PolicyConfig) -> Vec<ConfigIssue> {
    let mut issues = Issues(Vec::new());
    if config.hosts.is_empty() {
        issues.add("hosts", "at least one host entry is required");
    }
    let mut domains_seen: BTreeMap<String, String> = BTreeMap::new();
    let mut route_ids: FastMap<&str, RouteAt> = FastMap::default();
    for (h, host) in config.hosts.iter().enumerate() {
        let at = format!("hosts[{h}]");
        if host.domains.is_empty() {
            issues.add(format!("{at}.domains"), "at least one domain is required");
        }
        for (d, domain) in host.domains.iter().enumerate() {
            let path = format!("{at}.domains[{d}]");
            if let Err(error) = trie_routes::HostPattern::parse(domain) {
                issues.add(&path, error.to_string());
                continue;
            }
            let key = domain.to_ascii_lowercase();
            if let Some(first) = domains_seen.get(&key) {
                issues.add(
                    &path,
                    format!("domain '{domain}' is already served by {first}"),
                );
            } else {
                domains_seen.insert(key, path);
            }
        }
        // Found while parsing (`RouteList`), relative to this host entry.
        issues
            .0
            .extend(host.routes.issues.iter().map(|issue| ConfigIssue {
                path: format!("{at}.{}", issue.path),
                message: issue.message.clone(),
            }));
        // Each distinct `auth.any_of` list, checked once: the positions naming no provider.
        let unknown_providers: Vec<Vec<(usize, &str)>> = host
            .routes
            .auth_lists
            .iter()
            .map(|names| {
                names
                    .iter()
                    .enumerate()
                    .filter(|(_, name)| !config.auth_providers.contains_key(name.as_str()))
                    .map(|(i, name)| (i, name.as_str()))
                    .collect()
            })
            .collect();
        for (r, id, auth) in host.routes.declared() {
            let at = RouteAt { host: h, route: r };
            if let Some(first) = route_ids.get(id) {
                issues.add(
                    format!("{at}.id"),
                    format!("route id '{id}' is already used by {first}"),
                );
            } else {
                route_ids.insert(id, at);
            }
            let unknown = auth.and_then(|list| unknown_providers.get(list as usize));
            for (i, name) in unknown.into_iter().flatten() {
                issues.add(
                    format!("{at}.auth.any_of[{i}]"),
                    format!("no auth provider named '{name}' in auth_providers"),
                );
            }
        }
    }
    for (name, provider) in &config.auth_providers {
        validate_provider(&mut issues, &format!("auth_providers.{name}"), provider);
    }
    let names = &config.decision_headers;
    let mut seen = HashSet::new();
    for (field, value) in [
        ("route", &names.route),
        ("cluster", &names.cluster),
        ("consumer", &names.consumer),
    ] {
        let path = format!("decision_headers.{field}");
        if !is_header_name(value) {
            issues.add(&path, format!("'{value}' is not a lower-case header name"));
        } else if !seen.insert(value.as_str()) {
            issues.add(&path, format!("'{value}' is used for two decision headers"));
        }
    }
    issues.0
}

/// Checks one route on its own (what needs the rest of the policy is checked in [`validate`]).
pub(super) fn validate_route(issues: &mut Issues, at: &dyn fmt::Display, route: &RouteConfig) {
    if route.id.is_empty() {
        issues.add(format!("{at}.id"), "route id is empty");
    } else if route.id.len() > MAX_ROUTE_ID_LEN
        || !route
            .id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
    {
        issues.add(
            format!("{at}.id"),
            format!(
                "route id must be 1-{MAX_ROUTE_ID_LEN} characters of [A-Za-z0-9_-] (it is sent in a header and used in metric names)"
            ),
        );
    }
    validate_match(issues, &Field(at, "match"), &route.matcher);
    match &route.upstream {
        UpstreamConfig::Cluster(cluster) => {
            if cluster.is_empty() {
                issues.add(format!("{at}.upstream.cluster"), "cluster name is empty");
            }
        }
        UpstreamConfig::Split(split) => {
            let at = format!("{at}.upstream.split");
            if split.clusters.is_empty() {
                issues.add(format!("{at}.clusters"), "at least one cluster is required");
            } else if split
                .clusters
                .iter()
                .map(|c| u64::from(c.weight))
                .sum::<u64>()
                == 0
            {
                issues.add(format!("{at}.clusters"), "weights sum to 0");
            }
            for (c, cluster) in split.clusters.iter().enumerate() {
                if cluster.cluster.is_empty() {
                    issues.add(
                        format!("{at}.clusters[{c}].cluster"),
                        "cluster name is empty",
                    );
                }
            }
            match &split.key {
                Some(super::SplitKey::Header(name))
                    if !is_header_name(&name.to_ascii_lowercase()) =>
                {
                    issues.add(
                        format!("{at}.key.header"),
                        format!("'{name}' is not a header name"),
                    );
                }
                Some(super::SplitKey::Cookie(name)) if name.is_empty() => {
                    issues.add(format!("{at}.key.cookie"), "cookie name is empty");
                }
                _ => {}
            }
        }
    }
    if let Some(rewrite) = &route.rewrite {
        if !rewrite.prefix.starts_with('/') {
            issues.add(format!("{at}.rewrite.prefix"), "must start with '/'");
        }
        if route.matcher.template.is_some() {
            issues.add(
                format!("{at}.rewrite"),
                "a prefix rewrite needs an exact, prefix or path_separated_prefix match",
            );
        }
    }
    if let Some(auth) = &route.auth
        && auth.any_of.is_empty()
    {
        issues.add(format!("{at}.auth.any_of"), "name at least one provider");
    }
    if let Some(consumers) = &route.consumers {
        if route.auth.is_none() {
            issues.add(
                format!("{at}.consumers"),
                "a consumer allow-list needs an auth requirement on the route",
            );
        }
        for (i, consumer) in consumers.iter().enumerate() {
            if consumer.is_empty() {
                issues.add(format!("{at}.consumers[{i}]"), "consumer name is empty");
            }
        }
    }
    if let Some(device) = &route.device_trust {
        if !is_header_name(&device.header.to_ascii_lowercase()) {
            issues.add(
                format!("{at}.device_trust.header"),
                format!("'{}' is not a header name", device.header),
            );
        }
        if device.min_score > 100 {
            issues.add(
                format!("{at}.device_trust.min_score"),
                "scores range from 0 to 100",
            );
        }
    }
}

fn validate_match(issues: &mut Issues, at: &dyn fmt::Display, matcher: &MatchConfig) {
    let rules = [
        ("exact", &matcher.exact),
        ("prefix", &matcher.prefix),
        ("path_separated_prefix", &matcher.path_separated_prefix),
        ("template", &matcher.template),
    ];
    let given = rules.iter().filter(|(_, v)| v.is_some()).count();
    if given != 1 {
        issues.add(
            at.to_string(),
            format!(
                "exactly one of exact, prefix, path_separated_prefix, template is required ({given} given)"
            ),
        );
    }
    for (kind, value) in &rules {
        if let Some(path) = value {
            if !path.starts_with('/') {
                issues.add(format!("{at}.{kind}"), "path must start with '/'");
            } else if path.contains('?') || path.contains('#') {
                issues.add(
                    format!("{at}.{kind}"),
                    "the query string never takes part in matching; remove '?'/'#'",
                );
            }
        }
    }
    if matcher.case_sensitive == Some(false) && matcher.template.is_some() {
        issues.add(
            format!("{at}.case_sensitive"),
            "templates always match case-sensitively (Envoy ignores case_sensitive for URI \
             templates); use exact, prefix or path_separated_prefix",
        );
    }
    if let Some(methods) = &matcher.methods {
        if methods.is_empty() {
            issues.add(
                format!("{at}.methods"),
                "empty list: omit it to allow any method",
            );
        }
        for (i, method) in methods.iter().enumerate() {
            if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
                issues.add(
                    format!("{at}.methods[{i}]"),
                    format!("'{method}' is not an upper-case method name"),
                );
            }
        }
    }
    for (i, predicate) in matcher.headers.iter().enumerate() {
        validate_predicate(issues, &format!("{at}.headers[{i}]"), predicate);
    }
}

fn validate_predicate(issues: &mut Issues, at: &str, predicate: &HeaderPredicateConfig) {
    if !is_header_name(&predicate.name.to_ascii_lowercase()) || predicate.name.starts_with(':') {
        issues.add(
            format!("{at}.name"),
            format!("'{}' is not a header name", predicate.name),
        );
    }
    let count = [
        predicate.exact.is_some(),
        predicate.prefix.is_some(),
        predicate.suffix.is_some(),
        predicate.present.is_some(),
        predicate.absent.is_some(),
    ]
    .iter()
    .filter(|set| **set)
    .count();
    if count != 1 {
        issues.add(
            at,
            format!(
                "exactly one of exact, prefix, suffix, present, absent is required ({count} given)"
            ),
        );
    }
    let value_test =
        predicate.exact.is_some() || predicate.prefix.is_some() || predicate.suffix.is_some();
    match predicate.invert {
        Some(false) => issues.add(
            format!("{at}.invert"),
            "only `true` is meaningful; leave it out",
        ),
        Some(true) if !value_test => issues.add(
            format!("{at}.invert"),
            "inverts exact, prefix or suffix; for presence use present or absent",
        ),
        _ => {}
    }
    for (field, value) in [("present", predicate.present), ("absent", predicate.absent)] {
        if value == Some(false) {
            issues.add(
                format!("{at}.{field}"),
                "only `true` is meaningful; use the other predicate",
            );
        }
    }
}

fn validate_provider(issues: &mut Issues, at: &str, provider: &AuthProviderConfig) {
    match provider {
        AuthProviderConfig::ApiKey(keys) => {
            let at = format!("{at}.api_key");
            let source_name = match &keys.from {
                super::CredentialSource::Header(name) | super::CredentialSource::Query(name) => {
                    name
                }
            };
            if source_name.is_empty() {
                issues.add(format!("{at}.from"), "source name is empty");
            }
            // Each key was checked while parsed (`ApiKeyTable`).
            issues.0.extend(
                keys.keys
                    .problems
                    .iter()
                    .map(|(k, problem)| problem.issue(&at, *k)),
            );
        }
        AuthProviderConfig::Jwt(_) => {
            // Checked when compiled (keys must be decoded to be checked).
        }
        AuthProviderConfig::ClientCert(store) => {
            let at = format!("{at}.client_cert");
            if store.sm2_id.is_empty() {
                issues.add(format!("{at}.sm2_id"), "SM2 distinguishing ID is empty");
            }
            if !is_header_name(&store.header) {
                issues.add(
                    format!("{at}.header"),
                    format!("'{}' is not a lower-case header name", store.header),
                );
            }
            for (i, proxy) in store.trusted_proxies.iter().flatten().enumerate() {
                if proxy.parse::<IpAddr>().is_err() {
                    issues.add(
                        format!("{at}.trusted_proxies[{i}]"),
                        format!("'{proxy}' is not an IP address"),
                    );
                }
            }
        }
    }
}

/// A lower-case HTTP header name token.
fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|b| {
            b.is_ascii_lowercase()
                || b.is_ascii_digit()
                || matches!(
                    b,
                    b'-' | b'_'
                        | b'.'
                        | b'!'
                        | b'#'
                        | b'$'
                        | b'%'
                        | b'&'
                        | b'\''
                        | b'*'
                        | b'+'
                        | b'^'
                        | b'`'
                        | b'|'
                        | b'~'
                )
        })
}
