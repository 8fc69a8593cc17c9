//! One compiled route: its predicates, upstream, rewrite, auth and access rules.

use trie_routes::PathMatch;

use crate::config::{FailMode, HeaderPredicateConfig, MatchConfig, RouteConfig, Text};
use crate::engine::request::Request;
use crate::engine::split::{ClusterNames, Upstream};

/// A route ready for requests.
///
/// Built while the policy is parsed (`config::RouteList`), so that the parsed form of a large
/// policy never exists as a whole; the engine then only fills in [`CompiledRoute::host_entry`]
/// and maps [`CompiledRoute::auth`] to its own table. A VM keeps 100k of these, so the rarely
/// used parts sit in one optional box and shared strings (cluster names) are shared.
#[derive(Debug, Clone)]
pub(crate) struct CompiledRoute {
    pub(crate) id: Box<str>,
    /// Index of the host entry declaring it.
    pub(crate) host_entry: u32,
    /// Index of the route's `auth.any_of` list: into its route list's table while parsing,
    /// into the engine's table of provider-index lists once compiled.
    pub(crate) auth: Option<u32>,
    pub(crate) fail_mode: FailMode,
    pub(crate) path_match: PathMatch,
    /// The path pattern is compared ASCII-case-insensitively (`case_sensitive: false`).
    pub(crate) ignore_case: bool,
    pub(crate) upstream: Upstream,
    /// Everything most routes leave out.
    extras: Option<Box<RouteExtras>>,
}

/// The optional parts of a route.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct RouteExtras {
    /// Allowed methods, sorted; `None` means any.
    methods: Option<Vec<String>>,
    predicates: Vec<HeaderPredicate>,
    rewrite: Option<String>,
    consumers: Option<Vec<String>>,
    device_trust: Option<DeviceTrust>,
}

/// A header predicate with its name lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum HeaderPredicate {
    Exact(String, String),
    Prefix(String, String),
    Suffix(String, String),
    Present(String),
    Absent(String),
    /// The header is present and its value fails the test (an absent header never matches,
    /// as with Envoy's `invert_match`).
    Not(Box<HeaderPredicate>),
}

impl HeaderPredicate {
    fn compile(config: &HeaderPredicateConfig) -> Option<Self> {
        let name = config.name.to_ascii_lowercase();
        let test = match (
            &config.exact,
            &config.prefix,
            &config.suffix,
            config.present,
            config.absent,
        ) {
            (Some(value), None, None, None, None) => Self::Exact(name, value.clone()),
            (None, Some(value), None, None, None) => Self::Prefix(name, value.clone()),
            (None, None, Some(value), None, None) => Self::Suffix(name, value.clone()),
            (None, None, None, Some(true), None) => Self::Present(name),
            (None, None, None, None, Some(true)) => Self::Absent(name),
            _ => return None,
        };
        match (config.invert, &test) {
            (None, _) => Some(test),
            (Some(true), Self::Exact(..) | Self::Prefix(..) | Self::Suffix(..)) => {
                Some(Self::Not(Box::new(test)))
            }
            _ => None,
        }
    }

    fn holds(&self, request: &Request) -> bool {
        match self {
            Self::Exact(name, value) => request.header(name) == Some(value.as_str()),
            Self::Prefix(name, value) => request
                .header(name)
                .is_some_and(|v| v.starts_with(value.as_str())),
            Self::Suffix(name, value) => request
                .header(name)
                .is_some_and(|v| v.ends_with(value.as_str())),
            Self::Present(name) => request.header(name).is_some(),
            Self::Absent(name) => request.header(name).is_none(),
            Self::Not(test) => request.header(test.name()).is_some() && !test.holds(request),
        }
    }

    /// The header the predicate reads.
    fn name(&self) -> &str {
        match self {
            Self::Exact(name, _)
            | Self::Prefix(name, _)
            | Self::Suffix(name, _)
            | Self::Present(name)
            | Self::Absent(name) => name,
            Self::Not(test) => test.name(),
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::Exact(name, value) => format!("header {name} == {value:?}"),
            Self::Prefix(name, value) => format!("header {name} starts with {value:?}"),
            Self::Suffix(name, value) => format!("header {name} ends with {value:?}"),
            Self::Present(name) => format!("header {name} present"),
            Self::Absent(name) => format!("header {name} absent"),
            Self::Not(test) => format!(
                "header {} present and not: {}",
                test.name(),
                test.describe()
            ),
        }
    }
}

/// Device-trust rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeviceTrust {
    header: String,
    min_score: u8,
}

impl DeviceTrust {
    /// Ok when the score header holds an integer 0–100 at or above the minimum.
    pub(crate) fn check(&self, request: &Request) -> Result<(), String> {
        let Some(raw) = request.header(&self.header) else {
            return Err(format!("no device-trust score in {}", self.header));
        };
        match raw.trim().parse::<u8>() {
            Ok(score) if score > 100 => {
                Err(format!("device-trust score {score} is out of range 0-100"))
            }
            Ok(score) if score < self.min_score => Err(format!(
                "device-trust score {score} is below the required {}",
                self.min_score
            )),
            Ok(_) => Ok(()),
            Err(_) => Err(format!(
                "device-trust score {raw:?} is not an integer 0-100"
            )),
        }
    }
}

impl CompiledRoute {
    /// Compiles a route that `validate_route` has checked; if its match is malformed
    /// (validation reported it), gives back its id. `auth` is the index of its `any_of` list; `clusters` shares
    /// cluster names between routes.
    pub(crate) fn compile(
        config: RouteConfig<'_>,
        auth: Option<u32>,
        clusters: &mut ClusterNames,
    ) -> Result<Self, Box<str>> {
        let MatchConfig {
            exact,
            prefix,
            path_separated_prefix,
            template,
            case_sensitive,
            methods,
            headers,
        } = config.matcher;
        let Some(path_match) = path_match(exact, prefix, path_separated_prefix, template) else {
            return Err(config.id.into_boxed());
        };
        let methods = methods.map(|methods| {
            let mut methods = methods.into_vec();
            methods.sort();
            methods.dedup();
            methods
        });
        let Some(mut predicates) = headers
            .iter()
            .map(HeaderPredicate::compile)
            .collect::<Option<Vec<_>>>()
        else {
            return Err(config.id.into_boxed());
        };
        predicates.sort();
        let extras = RouteExtras {
            methods,
            predicates,
            rewrite: config.rewrite.map(|r| r.prefix),
            consumers: config.consumers.map(Vec::from),
            device_trust: config.device_trust.map(|d| DeviceTrust {
                header: d.header.to_ascii_lowercase(),
                min_score: d.min_score,
            }),
        };
        Ok(Self {
            id: config.id.into_boxed(),
            host_entry: 0,
            auth,
            fail_mode: config.fail_mode,
            path_match,
            ignore_case: case_sensitive == Some(false),
            upstream: Upstream::compile(config.upstream, clusters),
            extras: (extras != RouteExtras::default()).then(|| Box::new(extras)),
        })
    }

    /// What identifies the path match: kind, pattern and case sensitivity (case-insensitive
    /// patterns compare in any case).
    pub(crate) fn path_key(&self) -> trie_routes::MatchKey<'_> {
        self.path_match.key(self.ignore_case)
    }

    /// The path match as traces show it: `prefix `/Api``, with ` (any case)` when case is
    /// ignored.
    pub(crate) fn path_shown(&self) -> PathShown<'_> {
        PathShown(&self.path_match, self.ignore_case)
    }

    /// The prefix rewrite, if any.
    pub(crate) fn rewrite(&self) -> Option<&str> {
        self.extras.as_ref()?.rewrite.as_deref()
    }

    /// The consumer allow-list, if any.
    pub(crate) fn consumers(&self) -> Option<&[String]> {
        self.extras.as_ref()?.consumers.as_deref()
    }

    /// The device-trust rule, if any.
    pub(crate) fn device_trust(&self) -> Option<&DeviceTrust> {
        self.extras.as_ref()?.device_trust.as_ref()
    }

    fn methods(&self) -> Option<&[String]> {
        self.extras.as_ref()?.methods.as_deref()
    }

    fn predicates(&self) -> &[HeaderPredicate] {
        self.extras
            .as_ref()
            .map(|e| e.predicates.as_slice())
            .unwrap_or_default()
    }

    /// True when both routes match exactly the same requests (same path, methods, headers).
    pub(crate) fn same_request_match(&self, other: &Self) -> bool {
        self.path_key() == other.path_key()
            && self.methods() == other.methods()
            && self.predicates() == other.predicates()
    }

    /// Ok when the method and every header predicate hold; else why not.
    pub(crate) fn predicates_hold(&self, request: &Request) -> Result<(), String> {
        if let Some(methods) = self.methods()
            && methods.binary_search(&request.method).is_err()
        {
            return Err(format!("method {} not in {methods:?}", request.method));
        }
        match self.predicates().iter().find(|p| !p.holds(request)) {
            Some(failed) => Err(format!("{} does not hold", failed.describe())),
            None => Ok(()),
        }
    }
}

/// A route's path match for traces and messages (see [`CompiledRoute::path_shown`]).
pub(crate) struct PathShown<'a>(&'a PathMatch, bool);

impl std::fmt::Display for PathShown<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.1 {
            true => write!(f, "{} (any case)", self.0),
            false => write!(f, "{}", self.0),
        }
    }
}

/// The one path rule of a match (validation reported any other combination).
fn path_match(
    exact: Option<Text<'_>>,
    prefix: Option<Text<'_>>,
    path_separated_prefix: Option<Text<'_>>,
    template: Option<Text<'_>>,
) -> Option<PathMatch> {
    match (exact, prefix, path_separated_prefix, template) {
        (Some(p), None, None, None) => Some(PathMatch::Exact(p.into_string())),
        (None, Some(p), None, None) => Some(PathMatch::Prefix(p.into_string())),
        (None, None, Some(p), None) => Some(PathMatch::PathSeparatedPrefix(p.into_string())),
        (None, None, None, Some(p)) => Some(PathMatch::Template(p.into_string())),
        _ => None,
    }
}
