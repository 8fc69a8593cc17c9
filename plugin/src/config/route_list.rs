//! A host entry's routes, validated and compiled one by one while the policy is parsed.
//!
//! A policy with 100k routes is about 23 MB of JSON. Parsed into [`RouteConfig`] records it
//! would take twice that again, all alive next to the JSON bytes; and a wasm VM keeps its
//! peak as linear memory for good. So the list's deserializer checks each route
//! (`validate_route`) and turns it into its compiled form as soon as it is read: at no point
//! does the parsed form of more than one route exist. What needs the rest of the policy (route
//! ids unique across hosts, `auth.any_of` naming existing providers, route conflicts) is checked
//! afterwards, on the compiled routes. Design note 11 explains the choice.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher};

use serde::de::{Deserialize, Deserializer, SeqAccess, Visitor};

use super::validate::{Issues, validate_route};
use super::{ConfigIssue, RouteConfig};
use crate::engine::chunked::ChunkedVec;
use crate::engine::route::CompiledRoute;
use crate::engine::split::ClusterNames;

/// The routes of one host entry, compiled as they were parsed.
#[derive(Debug, Clone, Default)]
pub struct RouteList {
    /// The routes that compiled, in declaration order (in chunks: no doubling while parsing).
    pub(crate) routes: ChunkedVec<CompiledRoute>,
    /// The routes that did not compile (an issue says why), in declaration order.
    pub(crate) skipped: Vec<SkippedRoute>,
    /// Problems found route by route, with paths relative to the host entry (`routes[3].id`),
    /// in declaration order.
    pub(crate) issues: Vec<ConfigIssue>,
    /// The distinct `auth.any_of` lists; [`CompiledRoute::auth`] indexes this table.
    pub(crate) auth_lists: Vec<Box<[String]>>,
}

impl RouteList {
    /// Number of routes declared (compiled or not).
    pub fn len(&self) -> usize {
        self.routes.len() + self.skipped.len()
    }

    /// True when the host entry declares no route.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The declaration index of each compiled route, in order (one pass over both lists).
    pub(crate) fn declaration_indices(&self) -> impl Iterator<Item = usize> {
        let mut skipped = self.skipped.iter().map(|s| s.declared as usize).peekable();
        let mut next = 0usize;
        (0..self.routes.len()).map(move |_| {
            while skipped.next_if_eq(&next).is_some() {
                next += 1;
            }
            next += 1;
            next - 1
        })
    }

    /// Every declared route, compiled or not, in declaration order: (declaration index, id,
    /// auth list index).
    pub(crate) fn declared(&self) -> impl Iterator<Item = (usize, &str, Option<u32>)> {
        let mut compiled = self.routes.iter().peekable();
        let mut skipped = self.skipped.iter().peekable();
        (0..self.len()).filter_map(move |index| {
            let next_skipped = skipped.peek().is_some_and(|s| s.declared as usize == index);
            if next_skipped {
                skipped.next().map(|s| (index, &*s.id, s.auth))
            } else {
                compiled.next().map(|r| (index, &*r.id, r.auth))
            }
        })
    }
}

/// What is kept of a route that did not compile: enough for the checks across routes.
#[derive(Debug, Clone)]
pub(crate) struct SkippedRoute {
    pub(crate) declared: u32,
    pub(crate) id: Box<str>,
    pub(crate) auth: Option<u32>,
}

/// `routes[r]`: a route's path relative to its host entry, formatted only for an issue.
#[derive(Clone, Copy)]
struct RouteIndex(usize);

impl fmt::Display for RouteIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "routes[{}]", self.0)
    }
}

impl<'de> Deserialize<'de> for RouteList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_seq(RouteListVisitor)
    }
}

struct RouteListVisitor;

impl<'de> Visitor<'de> for RouteListVisitor {
    type Value = RouteList;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of routes")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RouteList, A::Error> {
        let mut builder = RouteListBuilder::default();
        while let Some(route) = seq.next_element::<RouteConfig>()? {
            builder.push(route);
        }
        Ok(builder.finish())
    }
}

/// Builds a [`RouteList`] one parsed route at a time: what the list's deserializer does, and
/// what a worker does with a route set's lines (`source::route_sets`).
#[derive(Default)]
pub(crate) struct RouteListBuilder {
    list: RouteList,
    issues: Vec<ConfigIssue>,
    /// Hash of an `any_of` list → indices of the distinct lists with that hash.
    auth_index: HashMap<u64, Vec<u32>, foldhash::fast::RandomState>,
    clusters: ClusterNames,
    declared: usize,
}

impl RouteListBuilder {
    /// Checks the next route, compiles it and adds it (or records why it did not compile).
    pub(crate) fn push(&mut self, route: RouteConfig<'_>) {
        let at = RouteIndex(self.declared);
        let mut issues = Issues(std::mem::take(&mut self.issues));
        validate_route(&mut issues, &at, &route);
        self.issues = issues.0;
        let auth = route.auth.as_ref().map(|auth| {
            let names = || auth.any_of.iter().map(|name| &**name);
            let hash = foldhash::fast::FixedState::default().hash_one(HashedNames(names));
            let list = &mut self.list;
            let same = self
                .auth_index
                .get(&hash)
                .into_iter()
                .flatten()
                .find(|&&index| {
                    list.auth_lists
                        .get(index as usize)
                        .is_some_and(|known| known.iter().map(|n| n.as_str()).eq(names()))
                });
            if let Some(&index) = same {
                return index;
            }
            let index = u32::try_from(list.auth_lists.len()).unwrap_or(u32::MAX);
            self.auth_index.entry(hash).or_default().push(index);
            list.auth_lists.push(names().map(str::to_owned).collect());
            index
        });
        match CompiledRoute::compile(route, auth, &mut self.clusters) {
            Ok(compiled) => self.list.routes.push(compiled),
            Err(id) => self.list.skipped.push(SkippedRoute {
                declared: u32::try_from(self.declared).unwrap_or(u32::MAX),
                id,
                auth,
            }),
        }
        self.declared += 1;
    }

    /// The list of every route pushed.
    pub(crate) fn finish(self) -> RouteList {
        let mut list = self.list;
        list.routes.shrink_to_fit();
        list.issues = self.issues;
        list
    }
}

/// Hashes a list of names as the names in order (each as `str::hash` does).
struct HashedNames<F>(F);

impl<'a, F: Fn() -> I, I: Iterator<Item = &'a str>> Hash for HashedNames<F> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (self.0)().for_each(|name| name.hash(state));
    }
}

json_schema_like!(RouteList, Vec<RouteConfig<'static>>);

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::sync::Arc;

    use super::*;
    use crate::engine::split::Upstream;

    fn list(json: &str) -> RouteList {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn routes_that_do_not_compile_keep_their_declaration_index() {
        let routes = list(
            r#"[{"id":"a","match":{"prefix":"/a"},"upstream":{"cluster":"c"}},
                {"id":"bad","match":{"prefix":"/b","exact":"/b"},"upstream":{"cluster":"c"},
                 "auth":{"any_of":["k"]}},
                {"id":"c","match":{"exact":"/c"},"upstream":{"cluster":"c"}},
                {"id":"bad2","match":{},"upstream":{"cluster":"c"}},
                {"id":"e","match":{"template":"/e/{x}"},"upstream":{"cluster":"c"}}]"#,
        );
        assert_eq!(routes.len(), 5);
        assert_eq!(routes.routes.len(), 3);
        let declared: Vec<(usize, &str, Option<u32>)> = routes.declared().collect();
        assert_eq!(
            declared,
            vec![
                (0, "a", None),
                (1, "bad", Some(0)),
                (2, "c", None),
                (3, "bad2", None),
                (4, "e", None)
            ]
        );
        assert_eq!(
            routes.declaration_indices().collect::<Vec<_>>(),
            vec![0, 2, 4]
        );
        let paths: Vec<&str> = routes.issues.iter().map(|i| i.path.as_str()).collect();
        assert_eq!(paths, vec!["routes[1].match", "routes[3].match"]);
    }

    #[test]
    fn declaration_indices_skip_leading_and_consecutive_failures() {
        let bad = r#"{"id":"x","match":{},"upstream":{"cluster":"c"}}"#;
        let good = r#"{"id":"y","match":{"prefix":"/y"},"upstream":{"cluster":"c"}}"#;
        let routes = list(&format!("[{bad},{bad},{good},{bad},{bad},{good},{bad}]"));
        assert_eq!(routes.declaration_indices().collect::<Vec<_>>(), vec![2, 5]);
        assert_eq!(routes.len(), 7);
    }

    #[test]
    fn auth_lists_and_cluster_names_are_stored_once() {
        let routes = list(
            r#"[{"id":"a","match":{"prefix":"/a"},"upstream":{"cluster":"orders"},"auth":{"any_of":["k","j"]}},
                {"id":"b","match":{"prefix":"/b"},"upstream":{"cluster":"orders"},"auth":{"any_of":["k"]}},
                {"id":"c","match":{"prefix":"/c"},"upstream":{"cluster":"orders"},"auth":{"any_of":["k","j"]}}]"#,
        );
        assert_eq!(
            routes.auth_lists,
            vec![
                vec!["k".to_owned(), "j".to_owned()].into_boxed_slice(),
                vec!["k".to_owned()].into_boxed_slice()
            ]
        );
        let auth: Vec<Option<u32>> = routes.iter_auth();
        assert_eq!(auth, vec![Some(0), Some(1), Some(0)]);
        let clusters: Vec<Arc<str>> = routes
            .routes
            .iter()
            .filter_map(|r| match &r.upstream {
                Upstream::Cluster(name) => Some(Arc::clone(name)),
                Upstream::Split(_) => None,
            })
            .collect();
        assert_eq!(clusters.len(), 3);
        assert!(clusters.iter().all(|c| Arc::ptr_eq(c, &clusters[0])));
    }

    #[test]
    fn strings_without_escapes_are_borrowed_from_the_json() {
        use crate::config::Text;
        let plain: Text<'_> = serde_json::from_str(r#""/tenants/t42""#).unwrap();
        assert!(matches!(plain.0, Cow::Borrowed("/tenants/t42")));
        let escaped: Text<'_> = serde_json::from_str(r#""a\/b""#).unwrap();
        assert!(matches!(&escaped.0, Cow::Owned(s) if s == "a/b"));
    }

    impl RouteList {
        fn iter_auth(&self) -> Vec<Option<u32>> {
            self.routes.iter().map(|r| r.auth).collect()
        }
    }
}
