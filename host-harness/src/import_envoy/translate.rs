//! Envoy `RouteConfiguration` → trieguard policy, one construct at a time.
//!
//! Every object is read against the list of fields this module translates; any other field
//! is a [`Finding`] with its JSON path, and the virtual host or route holding it is skipped.
//! Nothing is dropped or approximated without a finding or a note.

use std::collections::HashSet;

use serde_json::{Map, Value, json};

use super::Finding;

/// The translated virtual host: its domains and routes, in Envoy's order.
#[derive(Debug, Clone)]
pub(super) struct HostOut {
    pub(super) domains: Vec<String>,
    pub(super) routes: Vec<RouteOut>,
}

/// One translated route and where it came from.
#[derive(Debug, Clone)]
pub(super) struct RouteOut {
    /// JSON path of the Envoy route.
    pub(super) source: String,
    /// The trieguard route (policy JSON).
    pub(super) json: Value,
    /// Path, methods and header predicates, to find routes Envoy never reaches.
    match_key: String,
    id: String,
}

/// Collects findings (constructs skipped) and notes (faithful but worth knowing).
#[derive(Debug, Default)]
pub(super) struct Translator {
    pub(super) untranslatable: Vec<Finding>,
    pub(super) notes: Vec<Finding>,
    ids: HashSet<String>,
}

/// Route ids trieguard accepts: `[A-Za-z0-9_-]{1,128}`.
const MAX_ID_LEN: usize = 128;

fn finding(path: &str, message: impl Into<String>) -> Finding {
    Finding {
        path: path.to_owned(),
        message: message.into(),
    }
}

/// The fields of `map` not in `known`, as findings.
fn unknown_fields(
    map: &Map<String, Value>,
    path: &str,
    known: &[&str],
    what: &str,
) -> Vec<Finding> {
    map.keys()
        .filter(|k| !known.contains(&k.as_str()))
        .map(|k| {
            finding(
                &format!("{path}.{k}"),
                format!("{what} field `{k}` is not translated"),
            )
        })
        .collect()
}

/// True when trieguard's normaliser leaves `path` as it is (it normalises every request path
/// before matching, so a pattern it would change is never reached).
fn is_normal_path(path: &str) -> bool {
    trieguard::engine::normalize::normalize(path, false).is_ok_and(|n| n.path == path)
}

fn has_ascii_letters(s: &str) -> bool {
    s.bytes().any(|b| b.is_ascii_alphabetic())
}

impl Translator {
    /// The route configuration's own fields (not its virtual hosts).
    pub(super) fn config_fields(&mut self, config: &Map<String, Value>, path: &str) {
        let known = [
            "name",
            "virtual_hosts",
            "validate_clusters",
            "ignore_port_in_host_matching",
        ];
        self.untranslatable
            .extend(unknown_fields(config, path, &known, "RouteConfiguration"));
        if config.get("ignore_port_in_host_matching") != Some(&Value::Bool(true)) {
            self.notes.push(finding(
                path,
                "trieguard ignores the port of :authority; Envoy matches it unless \
                 ignore_port_in_host_matching is true (same choice for authorities without a port)",
            ));
        }
    }

    /// One virtual host; `None` when it is skipped (its findings are recorded).
    pub(super) fn virtual_host(&mut self, vhost: &Value, path: &str) -> Option<HostOut> {
        let Some(vhost) = vhost.as_object() else {
            self.untranslatable
                .push(finding(path, "a virtual host must be an object"));
            return None;
        };
        let problems = unknown_fields(vhost, path, &["name", "domains", "routes"], "VirtualHost");
        if !problems.is_empty() {
            self.untranslatable.extend(problems);
            return None;
        }
        let mut domains = Vec::new();
        let listed = vhost.get("domains").and_then(Value::as_array);
        for (i, domain) in listed.into_iter().flatten().enumerate() {
            let at = format!("{path}.domains[{i}]");
            match domain.as_str().map(|d| self.domain(d, &at)) {
                Some(Some(d)) => domains.push(d),
                Some(None) => {}
                None => self
                    .untranslatable
                    .push(finding(&at, "a domain must be a string")),
            }
        }
        if domains.is_empty() {
            self.untranslatable.push(finding(
                &format!("{path}.domains"),
                "no translatable domain: virtual host skipped",
            ));
            return None;
        }
        let mut routes: Vec<RouteOut> = Vec::new();
        let listed = vhost.get("routes").and_then(Value::as_array);
        for (i, route) in listed.into_iter().flatten().enumerate() {
            let at = format!("{path}.routes[{i}]");
            let Some(out) = self.route(route, &at, vhost_name(vhost), i) else {
                continue;
            };
            if let Some(earlier) = routes.iter().find(|r| r.match_key == out.match_key) {
                self.notes.push(finding(
                    &at,
                    format!(
                        "never reached in Envoy (same match as route '{}' at {}): dropped",
                        earlier.id, earlier.source
                    ),
                ));
                continue;
            }
            routes.push(out);
        }
        Some(HostOut { domains, routes })
    }

    /// A domain as trieguard writes it, or `None` (finding recorded).
    fn domain(&mut self, domain: &str, path: &str) -> Option<String> {
        let lower = domain.to_ascii_lowercase();
        let fits = |name: &str| {
            !name.is_empty()
                && !name.contains('*')
                && !name.contains(':')
                && name.split('.').all(|label| !label.is_empty())
        };
        // `api.*` / `api-*`: a prefix wildcard (the rest of the name, at least one character).
        let prefix_wildcard = lower.strip_suffix('*').is_some_and(|prefix| {
            !prefix.is_empty()
                && !prefix.contains(['*', ':'])
                && !prefix.starts_with('.')
                && !prefix.contains("..")
        });
        // `*.suffix`, or `*-x.suffix`: a partial-label suffix wildcard (the `*` ends inside
        // the first label), which trieguard ranks with the others by suffix length, as Envoy.
        let ok = lower == "*"
            || lower
                .strip_prefix('*')
                .is_some_and(|rest| fits(rest.strip_prefix('.').unwrap_or(rest)))
            || prefix_wildcard
            || fits(&lower);
        if ok {
            Some(lower)
        } else {
            self.untranslatable.push(finding(
                path,
                format!(
                    "domain {domain:?}: trieguard has exact names, `*.suffix`, `*-partial.suffix`, \
                     `prefix*` and `*` (no ports, no other wildcards): domain skipped"
                ),
            ));
            None
        }
    }

    /// One route; `None` when skipped.
    fn route(&mut self, route: &Value, path: &str, vhost: &str, index: usize) -> Option<RouteOut> {
        let Some(route) = route.as_object() else {
            self.untranslatable
                .push(finding(path, "a route must be an object"));
            return None;
        };
        let mut problems = unknown_fields(route, path, &["name", "match", "route"], "Route");
        let matcher = match route.get("match").and_then(Value::as_object) {
            Some(m) => translate_match(m, &format!("{path}.match"), &mut problems, &mut self.notes),
            None => {
                problems.push(finding(
                    &format!("{path}.match"),
                    "a route needs a `match` object",
                ));
                None
            }
        };
        let action = match route.get("route").and_then(Value::as_object) {
            Some(a) => {
                translate_action(a, &format!("{path}.route"), &mut problems, &mut self.notes)
            }
            None => None, // direct_response, redirect, ... already reported as unknown fields
        };
        if route.get("route").is_none()
            && !route.contains_key("direct_response")
            && !route.contains_key("redirect")
        {
            problems.push(finding(
                path,
                "a route without a `route` action is not translated",
            ));
        }
        if !problems.is_empty() {
            self.untranslatable.extend(problems);
            return None;
        }
        let (matcher, match_key) = matcher?;
        let (upstream, rewrite) = action?;
        let id = self.route_id(
            route.get("name").and_then(Value::as_str),
            vhost,
            index,
            path,
        );
        let mut json = json!({"id": id, "match": matcher, "upstream": upstream});
        if let (Some(rewrite), Some(obj)) = (rewrite, json.as_object_mut()) {
            obj.insert("rewrite".into(), json!({"prefix": rewrite}));
        }
        Some(RouteOut {
            source: path.to_owned(),
            json,
            match_key,
            id,
        })
    }

    /// A unique trieguard id from the Envoy route name (or the virtual host's name and the index).
    fn route_id(&mut self, name: Option<&str>, vhost: &str, index: usize, path: &str) -> String {
        let wanted = name.map_or_else(|| format!("{vhost}-{index}"), str::to_owned);
        let mut id: String = wanted
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .take(MAX_ID_LEN - 8)
            .collect();
        if id.is_empty() {
            id = format!("route-{index}");
        }
        let base = id.clone();
        let mut n = 2;
        while !self.ids.insert(id.clone()) {
            id = format!("{base}-{n}");
            n += 1;
        }
        if name.is_some_and(|name| name != id) {
            self.notes.push(finding(
                path,
                format!("route name {wanted:?} is reported as id '{id}'"),
            ));
        }
        id
    }
}

fn vhost_name(vhost: &Map<String, Value>) -> &str {
    vhost.get("name").and_then(Value::as_str).unwrap_or("vhost")
}

/// The match: (trieguard `match` object, a key equal for routes matching the same requests).
fn translate_match(
    m: &Map<String, Value>,
    path: &str,
    problems: &mut Vec<Finding>,
    notes: &mut Vec<Finding>,
) -> Option<(Value, String)> {
    let known = [
        "prefix",
        "path",
        "path_separated_prefix",
        "path_match_policy",
        "case_sensitive",
        "headers",
    ];
    problems.extend(unknown_fields(m, path, &known, "RouteMatch"));
    let case_insensitive = m.get("case_sensitive") == Some(&Value::Bool(false));
    let mut out = Map::new();
    let mut kinds = 0;
    if let Some(policy) = m.get("path_match_policy") {
        kinds += 1;
        let at = format!("{path}.path_match_policy");
        match uri_template(policy, &at) {
            Ok(template) => {
                // Envoy builds a URI-template route's matcher without the flag.
                if case_insensitive && has_ascii_letters(&template) {
                    notes.push(finding(
                        &format!("{path}.case_sensitive"),
                        format!(
                            "Envoy ignores case_sensitive for URI templates: {template:?} \
                             matches case-sensitively, in Envoy and in trieguard"
                        ),
                    ));
                }
                out.insert("template".into(), Value::String(template));
            }
            Err(found) => problems.push(found),
        }
    }
    for (envoy, ours) in [
        ("prefix", "prefix"),
        ("path", "exact"),
        ("path_separated_prefix", "path_separated_prefix"),
    ] {
        let Some(value) = m.get(envoy) else { continue };
        kinds += 1;
        let at = format!("{path}.{envoy}");
        let Some(mut pattern) = value.as_str().map(str::to_owned) else {
            problems.push(finding(&at, "must be a string"));
            continue;
        };
        if envoy == "prefix" && pattern.is_empty() {
            // Every path trieguard accepts starts with `/`.
            pattern = "/".to_owned();
        }
        if !pattern.starts_with('/') || pattern.contains(['?', '#']) {
            problems.push(finding(
                &at,
                format!("{pattern:?}: trieguard paths start with `/` and never hold `?` or `#`"),
            ));
            continue;
        }
        if !is_normal_path(&pattern) {
            problems.push(finding(
                &at,
                format!(
                    "{pattern:?} changes under trieguard's path normalisation (`//`, `.`/`..` \
                     segments, escapes, `;`): no normalised request path can reach it"
                ),
            ));
            continue;
        }
        // Without letters, ignoring case changes nothing: the plain match is the same.
        if case_insensitive && has_ascii_letters(&pattern) {
            out.insert("case_sensitive".into(), Value::Bool(false));
        }
        out.insert(ours.into(), Value::String(pattern));
    }
    if kinds != 1 && !problems.iter().any(|p| p.path.starts_with(path)) {
        problems.push(finding(
            path,
            "needs exactly one of prefix, path, path_separated_prefix, path_match_policy",
        ));
    }
    let mut methods: Option<String> = None;
    let mut predicates = Vec::new();
    let headers = m.get("headers").and_then(Value::as_array);
    for (i, header) in headers.into_iter().flatten().enumerate() {
        let at = format!("{path}.headers[{i}]");
        match translate_header(header, &at) {
            Ok(HeaderOut::Method(method)) => {
                if methods.as_ref().is_some_and(|m| *m != method) {
                    problems.push(finding(
                        &at,
                        "two different `:method` matchers (never matches)",
                    ));
                }
                methods = Some(method);
            }
            Ok(HeaderOut::Predicate(p)) => predicates.push(p),
            Err(found) => problems.push(found),
        }
    }
    if let Some(method) = &methods {
        out.insert("methods".into(), json!([method]));
    }
    let mut sorted: Vec<String> = predicates.iter().map(Value::to_string).collect();
    sorted.sort();
    if !predicates.is_empty() {
        out.insert("headers".into(), Value::Array(predicates));
    }
    let key = format!(
        "{}|{:?}|{}",
        Value::Object(
            out.iter()
                .filter(|(k, _)| *k != "methods" && *k != "headers")
                .map(|(k, v)| match (k.as_str(), v.as_str()) {
                    // Variable names do not change what a template matches.
                    ("template", Some(t)) => (k.clone(), Value::String(template_shape(t))),
                    // Nor does the case of letters compared in any case.
                    (_, Some(p)) if out.contains_key("case_sensitive") => {
                        (k.clone(), Value::String(p.to_ascii_lowercase()))
                    }
                    _ => (k.clone(), v.clone()),
                })
                .collect()
        ),
        methods,
        sorted.join(",")
    );
    Some((Value::Object(out), key))
}

/// The Envoy URI template matcher whose template trieguard can run as its own `template`:
/// whole-segment variables (`{name}`, `{name=*}`, `*`) between literal segments. `**`,
/// multi-segment variables and segments mixing literals with variables match differently and
/// are reported.
fn uri_template(policy: &Value, path: &str) -> Result<String, Finding> {
    const MATCHER: &str = "envoy.path.match.uri_template.uri_template_matcher";
    const CONFIG: &str =
        "type.googleapis.com/envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig";
    let config = policy.get("typed_config");
    let name = policy.get("name").and_then(Value::as_str);
    let kind = config.and_then(|c| c.get("@type")).and_then(Value::as_str);
    if name.is_some_and(|n| n != MATCHER) || kind != Some(CONFIG) {
        return Err(finding(
            path,
            "only the uri_template matcher (UriTemplateMatchConfig) can be translated",
        ));
    }
    let Some(template) = config
        .and_then(|c| c.get("path_template"))
        .and_then(Value::as_str)
    else {
        return Err(finding(
            &format!("{path}.typed_config.path_template"),
            "must be a string",
        ));
    };
    let at = format!("{path}.typed_config.path_template");
    let Some(rest) = template.strip_prefix('/') else {
        return Err(finding(
            &at,
            format!("{template:?} does not start with `/`"),
        ));
    };
    let mut out = String::new();
    let mut anonymous = 0;
    for segment in rest.split('/') {
        out.push('/');
        let variable = match segment {
            "*" => {
                anonymous += 1;
                Some(format!("_{anonymous}"))
            }
            s if s.starts_with('{') && s.ends_with('}') => {
                let inner = s.trim_start_matches('{').trim_end_matches('}');
                let name = inner.strip_suffix("=*").unwrap_or(inner);
                let valid = !name.is_empty()
                    && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
                if !valid {
                    return Err(finding(
                        &at,
                        format!(
                            "{template:?}: `{s}` matches more than one segment (or is not a plain variable); trieguard templates bind whole single segments"
                        ),
                    ));
                }
                Some(name.to_owned())
            }
            s if s.is_empty() || s.contains(['{', '}', '*']) => {
                return Err(finding(
                    &at,
                    format!(
                        "{template:?}: segment `{s}` (`**`, literals mixed with variables, empty segments) has no trieguard equivalent"
                    ),
                ));
            }
            literal => {
                out.push_str(literal);
                None
            }
        };
        if let Some(variable) = variable {
            out.push('{');
            out.push_str(&variable);
            out.push('}');
        }
    }
    if !is_normal_path(&out.replace(['{', '}'], "")) {
        return Err(finding(
            &at,
            format!("{template:?} changes under trieguard's path normalisation"),
        ));
    }
    Ok(out)
}

/// A trieguard template with its variable names left out: `/a/{x}/{y}` → `/a/{}/{}`.
fn template_shape(template: &str) -> String {
    template
        .split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                "{}"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// A header matcher: a method restriction or a trieguard header predicate.
enum HeaderOut {
    Method(String),
    Predicate(Value),
}

fn translate_header(header: &Value, path: &str) -> Result<HeaderOut, Finding> {
    let Some(h) = header.as_object() else {
        return Err(finding(path, "a header matcher must be an object"));
    };
    let known = [
        "name",
        "exact_match",
        "prefix_match",
        "suffix_match",
        "present_match",
        "string_match",
        "invert_match",
        "treat_missing_header_as_empty",
    ];
    if let Some(first) = unknown_fields(h, path, &known, "HeaderMatcher")
        .into_iter()
        .next()
    {
        return Err(first);
    }
    let Some(name) = h
        .get("name")
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase)
    else {
        return Err(finding(
            &format!("{path}.name"),
            "a header matcher needs a name",
        ));
    };
    if h.get("treat_missing_header_as_empty") == Some(&Value::Bool(true)) {
        return Err(finding(
            &format!("{path}.treat_missing_header_as_empty"),
            "not expressible",
        ));
    }
    let invert = h.get("invert_match") == Some(&Value::Bool(true));
    enum Kind {
        Exact(String),
        Prefix(String),
        Suffix(String),
        Present(bool),
    }
    let text = |field: &str| -> Result<String, Finding> {
        h.get(field)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| finding(&format!("{path}.{field}"), "must be a string"))
    };
    let kind = if h.contains_key("exact_match") {
        Kind::Exact(text("exact_match")?)
    } else if h.contains_key("prefix_match") {
        Kind::Prefix(text("prefix_match")?)
    } else if h.contains_key("suffix_match") {
        Kind::Suffix(text("suffix_match")?)
    } else if let Some(present) = h.get("present_match") {
        Kind::Present(present.as_bool().unwrap_or(true))
    } else if let Some(sm) = h.get("string_match") {
        let at = format!("{path}.string_match");
        let Some(sm) = sm.as_object() else {
            return Err(finding(&at, "must be an object"));
        };
        if let Some(first) = unknown_fields(
            sm,
            &at,
            &["exact", "prefix", "suffix", "ignore_case"],
            "StringMatcher",
        )
        .into_iter()
        .next()
        {
            return Err(first);
        }
        let value = |field: &str| sm.get(field).and_then(Value::as_str).map(str::to_owned);
        let kind = match (value("exact"), value("prefix"), value("suffix")) {
            (Some(v), None, None) => Kind::Exact(v),
            (None, Some(v), None) => Kind::Prefix(v),
            (None, None, Some(v)) => Kind::Suffix(v),
            _ => return Err(finding(&at, "needs exactly one of exact, prefix, suffix")),
        };
        let (Kind::Exact(v) | Kind::Prefix(v) | Kind::Suffix(v)) = &kind else {
            return Err(finding(&at, "needs exactly one of exact, prefix, suffix"));
        };
        if sm.get("ignore_case") == Some(&Value::Bool(true)) && has_ascii_letters(v) {
            return Err(finding(
                &format!("{at}.ignore_case"),
                "case-insensitive header values are not expressible",
            ));
        }
        kind
    } else {
        // No specifier: Envoy requires the header to be present.
        Kind::Present(true)
    };
    if name.starts_with(':') {
        return match (name.as_str(), kind, invert) {
            (":method", Kind::Exact(method), false) => Ok(HeaderOut::Method(method)),
            _ => Err(finding(
                path,
                format!("matcher on {name}: only `:method` exact is translated"),
            )),
        };
    }
    let mut predicate = match kind {
        Kind::Exact(v) => json!({"name": name, "exact": v}),
        Kind::Prefix(v) => json!({"name": name, "prefix": v}),
        Kind::Suffix(v) => json!({"name": name, "suffix": v}),
        Kind::Present(present) if present != invert => {
            return Ok(HeaderOut::Predicate(json!({"name": name, "present": true})));
        }
        Kind::Present(_) => return Ok(HeaderOut::Predicate(json!({"name": name, "absent": true}))),
    };
    if invert && let Some(object) = predicate.as_object_mut() {
        // Envoy's inverted value matcher needs the header present, as trieguard's does.
        object.insert("invert".into(), Value::Bool(true));
    }
    Ok(HeaderOut::Predicate(predicate))
}

/// The action: (trieguard `upstream`, prefix rewrite).
fn translate_action(
    a: &Map<String, Value>,
    path: &str,
    problems: &mut Vec<Finding>,
    notes: &mut Vec<Finding>,
) -> Option<(Value, Option<String>)> {
    let known = [
        "cluster",
        "weighted_clusters",
        "prefix_rewrite",
        "hash_policy",
    ];
    problems.extend(unknown_fields(a, path, &known, "RouteAction"));
    let rewrite = match a.get("prefix_rewrite") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            problems.push(finding(
                &format!("{path}.prefix_rewrite"),
                "must be a string",
            ));
            None
        }
    };
    let uses_hash = a
        .get("weighted_clusters")
        .and_then(|w| w.get("use_hash_policy"))
        == Some(&Value::Bool(true));
    if a.contains_key("hash_policy") && !uses_hash {
        problems.push(finding(
            &format!("{path}.hash_policy"),
            "load-balancer hashing is Envoy's, not the policy's: set it on the Envoy route that \
             forwards trieguard's cluster header",
        ));
    }
    match (a.get("cluster"), a.get("weighted_clusters")) {
        (Some(Value::String(c)), None) => Some((json!({"cluster": c}), rewrite)),
        (None, Some(w)) => {
            let at = format!("{path}.weighted_clusters");
            let split = translate_split(
                w,
                &at,
                a.get("hash_policy"),
                &format!("{path}.hash_policy"),
                problems,
                notes,
            )?;
            Some((json!({"split": split}), rewrite))
        }
        _ => {
            problems.push(finding(
                path,
                "needs exactly one of cluster (a string), weighted_clusters",
            ));
            None
        }
    }
}

fn translate_split(
    w: &Value,
    path: &str,
    hash_policy: Option<&Value>,
    hash_path: &str,
    problems: &mut Vec<Finding>,
    notes: &mut Vec<Finding>,
) -> Option<Value> {
    let Some(w) = w.as_object() else {
        problems.push(finding(path, "must be an object"));
        return None;
    };
    problems.extend(unknown_fields(
        w,
        path,
        &["clusters", "total_weight", "use_hash_policy"],
        "WeightedCluster",
    ));
    let mut clusters = Vec::new();
    let mut sum: u64 = 0;
    for (i, c) in w
        .get("clusters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let at = format!("{path}.clusters[{i}]");
        let Some(c) = c.as_object() else {
            problems.push(finding(&at, "must be an object"));
            continue;
        };
        problems.extend(unknown_fields(c, &at, &["name", "weight"], "ClusterWeight"));
        let name = c.get("name").and_then(Value::as_str);
        let weight = c
            .get("weight")
            .map_or(Some(0), Value::as_u64)
            .and_then(|w| u32::try_from(w).ok());
        match (name, weight) {
            (Some(name), Some(weight)) => {
                sum += u64::from(weight);
                clusters.push(json!({"cluster": name, "weight": weight}));
            }
            _ => problems.push(finding(&at, "needs a name and a 32-bit weight")),
        }
    }
    if let Some(total) = w.get("total_weight").and_then(Value::as_u64)
        && total != sum
    {
        problems.push(finding(
            &format!("{path}.total_weight"),
            format!("{total} is not the sum of the weights ({sum})"),
        ));
    }
    let mut split = json!({"clusters": clusters});
    if let Some(policies) =
        hash_policy.filter(|_| w.get("use_hash_policy") == Some(&Value::Bool(true)))
    {
        let key = policies
            .as_array()
            .filter(|p| p.len() == 1)
            .and_then(|p| p.first())
            .and_then(split_key);
        match (key, split.as_object_mut()) {
            (Some(key), Some(obj)) => {
                obj.insert("key".into(), key);
                notes.push(finding(
                    hash_path,
                    "sticky split: the same key always lands on the same cluster, but trieguard \
                     hashes with FNV-1a, so which cluster a given key gets may differ from Envoy's",
                ));
            }
            _ => problems.push(finding(
                hash_path,
                "only one hash policy naming a header, or a cookie without ttl/path, becomes a split key",
            )),
        }
    }
    Some(split)
}

/// The split key a single hash policy names: a header, or a cookie Envoy only reads (no `ttl`
/// or `path`, with which Envoy would set the cookie itself).
fn split_key(policy: &Value) -> Option<Value> {
    if let Some(header) = policy.get("header") {
        let name = header.get("header_name")?.as_str()?;
        return Some(json!({"header": name.to_ascii_lowercase()}));
    }
    let cookie = policy.get("cookie")?;
    if cookie.get("ttl").is_some() || cookie.get("path").is_some() {
        return None;
    }
    Some(json!({"cookie": cookie.get("name")?.as_str()?}))
}
