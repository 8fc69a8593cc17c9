//! The routes of a full publication, handed over apart from the rest of the policy so that a
//! worker can parse and compile them in slices while its current policy keeps serving.
//!
//! The service splits the policy's skeleton (`key_delta::policy_skeleton`) into its *frame*
//! — the skeleton with every `hosts[i].routes` list emptied, small whatever the route count —
//! and the routes as text, one route's JSON per line under a line naming its host entry:
//!
//! ```text
//! host <index>\t<count>
//! {"id":"orders","match":{"prefix":"/orders"},"upstream":{"cluster":"orders"}}
//! …
//! ```
//!
//! A route's JSON is copied byte for byte from the policy, its line breaks (which JSON allows
//! only between tokens) turned into spaces. A worker parses the frame in one call, then each
//! line with the same per-route code as the policy's own parser (`RouteListBuilder`), so the
//! frame plus its route set compile to exactly the engine the skeleton compiles to.

use std::ops::Range;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::lines::{SetLines, SetLoader};
use crate::config::{ConfigIssue, PolicyConfig, RouteConfig, RouteListBuilder};

/// Why a route set cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteSetError {
    /// A line is not what the service writes.
    #[error("route set line {line}: {problem}")]
    Malformed {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        problem: String,
    },
    /// A route of the set does not compile: the service would not have published it.
    #[error("route set: {0}")]
    Invalid(String),
    /// The bytes do not match the manifest's checksum, or end early.
    #[error("the route set does not match its checksum ({got} of {expected} bytes)")]
    ChecksumMismatch {
        /// Bytes read.
        got: usize,
        /// Bytes announced.
        expected: usize,
    },
}

/// The policy's top level, as far as its host entries' route lists go.
#[derive(Deserialize)]
struct FrameTop<'a> {
    #[serde(borrow)]
    hosts: Vec<FrameHost<'a>>,
}

#[derive(Deserialize)]
struct FrameHost<'a> {
    #[serde(borrow, default)]
    routes: Option<&'a RawValue>,
}

/// A skeleton split into its frame and its route set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitPolicy {
    /// The skeleton with every route list emptied.
    pub frame: Vec<u8>,
    /// One line per route, under a `host` line per host entry with routes.
    pub routes: Vec<u8>,
}

/// Splits a (compiled, so well-formed) skeleton; `None` when its route lists cannot be found
/// (it is then published whole).
pub fn split(skeleton: &[u8]) -> Option<SplitPolicy> {
    let text = std::str::from_utf8(skeleton).ok()?;
    let top: FrameTop<'_> = serde_json::from_str(text).ok()?;
    let base = text.as_ptr() as usize;
    // `RawValue::get` borrows from `text`: its offset is the distance between the two.
    let span_of = |raw: &RawValue| -> Range<usize> {
        let start = (raw.get().as_ptr() as usize).saturating_sub(base);
        start..start.saturating_add(raw.get().len())
    };
    let mut frame = Vec::with_capacity(skeleton.len() / 8);
    let mut routes = Vec::with_capacity(skeleton.len());
    let mut at = 0;
    for (index, host) in top.hosts.iter().enumerate() {
        let Some(list) = host.routes else {
            continue;
        };
        let items: Vec<&RawValue> = serde_json::from_str(list.get()).ok()?;
        let span = span_of(list);
        frame.extend_from_slice(skeleton.get(at..span.start)?);
        frame.extend_from_slice(b"[]");
        at = span.end;
        if items.is_empty() {
            continue;
        }
        routes.extend_from_slice(format!("host {index}\t{}\n", items.len()).as_bytes());
        for item in items {
            routes.extend(item.get().bytes().map(|b| match b {
                b'\n' | b'\r' => b' ',
                other => other,
            }));
            routes.push(b'\n');
        }
    }
    frame.extend_from_slice(skeleton.get(at..)?);
    Some(SplitPolicy { frame, routes })
}

/// Parses a route set into a parsed frame, piece by piece and a bounded number of lines at a
/// time ([`SetLoader`]). The routes count only once the whole checksum and the routes announced
/// are checked.
pub type RouteSetLoader = SetLoader<RouteLines>;

/// What a route set's lines mean (see the module docs).
#[derive(Default)]
pub struct RouteLines {
    /// The host entry the lines belong to, its routes so far, and how many are announced.
    host: Option<(usize, RouteListBuilder, usize)>,
}

impl SetLines for RouteLines {
    type Target = PolicyConfig;
    type Error = RouteSetError;

    fn take(
        &mut self,
        frame: &mut PolicyConfig,
        number: usize,
        line: &[u8],
    ) -> Result<(), RouteSetError> {
        let malformed = |problem: String| RouteSetError::Malformed {
            line: number,
            problem,
        };
        if let Some(header) = line.strip_prefix(b"host ") {
            let header = std::str::from_utf8(header).map_err(|e| malformed(e.to_string()))?;
            let (index, count) = header
                .split_once('\t')
                .ok_or_else(|| malformed("host line without a count".to_owned()))?;
            let index: usize = index
                .parse()
                .map_err(|_| malformed("bad host index".to_owned()))?;
            let count: usize = count
                .parse()
                .map_err(|_| malformed("bad route count".to_owned()))?;
            let list = frame
                .hosts
                .get(index)
                .map(|host| &host.routes)
                .ok_or_else(|| malformed(format!("the frame has no host entry {index}")))?;
            if !list.is_empty() {
                return Err(malformed(format!("host entry {index} appears twice")));
            }
            close_host(frame, self.host.take())?;
            self.host = Some((index, RouteListBuilder::default(), count));
            return Ok(());
        }
        let Some((_, builder, _)) = self.host.as_mut() else {
            return Err(malformed("a route before any host line".to_owned()));
        };
        let route: RouteConfig<'_> =
            serde_json::from_slice(line).map_err(|e| malformed(e.to_string()))?;
        builder.push(route);
        Ok(())
    }

    /// Gives the last host entry its routes.
    fn close(mut self, frame: &mut PolicyConfig) -> Result<(), RouteSetError> {
        close_host(frame, self.host.take())
    }

    fn mismatch(got: usize, expected: usize) -> RouteSetError {
        RouteSetError::ChecksumMismatch { got, expected }
    }
}

/// Gives a host entry the routes parsed for it, refusing a count other than announced or a
/// route that did not compile.
fn close_host(
    frame: &mut PolicyConfig,
    host: Option<(usize, RouteListBuilder, usize)>,
) -> Result<(), RouteSetError> {
    let Some((index, builder, count)) = host else {
        return Ok(());
    };
    let list = builder.finish();
    if list.len() != count {
        return Err(RouteSetError::Invalid(format!(
            "host entry {index} announces {count} routes and has {}",
            list.len()
        )));
    }
    if let Some(ConfigIssue { path, message }) = list.issues.first() {
        return Err(RouteSetError::Invalid(format!(
            "hosts[{index}].{path}: {message}"
        )));
    }
    if let Some(entry) = frame.hosts.get_mut(index) {
        entry.routes = list;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Engine, Request};
    use crate::source::checksum::PartChecksum;

    fn policy() -> String {
        let mut routes = Vec::new();
        for r in 0..300 {
            routes.push(format!(
                "{{\"id\": \"r{r}\",\n  \"match\": {{\"prefix\": \"/p{r}/\"}},\r\n \"upstream\": {{\"cluster\": \"c{}\"}}}}",
                r % 3
            ));
        }
        format!(
            r#"{{"hosts": [
  {{"domains": ["a.example"], "routes": [{}]}},
  {{"domains": ["empty.example"], "routes": []}},
  {{"min_tls": "TLSv1.2", "routes": [{{"id": "b", "match": {{"exact": "/b"}}, "upstream": {{"cluster": "b"}}}}], "domains": ["b.example"]}}
], "decision_headers": {{"route": "x-r"}}}}"#,
            routes.join(",\n")
        )
    }

    fn load(split: &SplitPolicy, piece: usize, budget: usize) -> Result<Engine, String> {
        let mut frame = PolicyConfig::parse_json(&split.frame).map_err(|e| e.to_string())?;
        let mut loader =
            RouteSetLoader::new(split.routes.len(), Some(PartChecksum::of(&split.routes)));
        for piece in split.routes.chunks(piece) {
            loader.feed(piece);
            while !loader.wants_piece() && !loader.is_drained() {
                loader.step(&mut frame, budget).map_err(|e| e.to_string())?;
            }
        }
        loader.finish(&mut frame).map_err(|e| e.to_string())?;
        Engine::from_config(frame).map_err(|e| e.to_string())
    }

    #[test]
    fn a_frame_plus_its_route_set_is_the_policy() {
        let text = policy();
        let whole = Engine::from_json(text.as_bytes()).unwrap();
        let split = split(text.as_bytes()).unwrap();
        assert!(
            split.frame.len() < 400,
            "{}",
            String::from_utf8_lossy(&split.frame)
        );
        assert_eq!(split.routes.iter().filter(|&&b| b == b'\n').count(), 303);
        let engine = load(&split, 1000, 7).unwrap();
        assert_eq!(engine.route_count(), whole.route_count());
        for path in ["/p0/x", "/p299/", "/b", "/nope"] {
            for authority in ["a.example", "b.example", "empty.example"] {
                let request = Request {
                    method: "GET".into(),
                    authority: authority.into(),
                    path: path.into(),
                    tls_version: Some("TLSv1.3".into()),
                    ..Request::default()
                };
                assert_eq!(engine.decide(&request), whole.decide(&request));
            }
        }
    }

    #[test]
    fn damaged_or_reordered_route_sets_are_refused() {
        let text = policy();
        let good = split(text.as_bytes()).unwrap();
        // A route changed in transit: still well-formed, no longer what was published.
        let mut changed = good.clone();
        let at = changed
            .routes
            .windows(4)
            .position(|w| w == b"/p7/")
            .unwrap()
            + 2;
        changed.routes[at] = b'8';
        let checksum = PartChecksum::of(&good.routes);
        let mut frame = PolicyConfig::parse_json(&changed.frame).unwrap();
        let mut loader = RouteSetLoader::new(changed.routes.len(), Some(checksum));
        loader.feed(&changed.routes);
        loader.step(&mut frame, usize::MAX).unwrap();
        assert!(matches!(
            loader.finish(&mut frame),
            Err(RouteSetError::ChecksumMismatch { .. })
        ));
        // Lines the service never writes.
        for bad in [
            "{\"id\":\"x\"}\n",
            "host 9\t1\n{}\n",
            "host 0\t2\n{\"id\":\"a\",\"match\":{\"prefix\":\"/a\"},\"upstream\":{\"cluster\":\"c\"}}\n",
            "host 0\t1\n{\"id\":\"a\",\"match\":{},\"upstream\":{\"cluster\":\"c\"}}\n",
        ] {
            let set = SplitPolicy {
                frame: good.frame.clone(),
                routes: bad.as_bytes().to_vec(),
            };
            assert!(load(&set, 64, 10).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_policy_without_routes_splits_into_itself() {
        let text = br#"{"hosts":[{"domains":["*"],"routes":[]}]}"#;
        let split = split(text).unwrap();
        assert_eq!(split.frame, text.to_vec());
        assert!(split.routes.is_empty());
    }
}
