//! The service VM's fetch cycle, as a pure state machine the ABI glue drives.
//!
//! One cycle: `GET <digest_path>` with `If-None-Match` (a `304` ends it: no work); a digest equal
//! to the serving one ends it too; otherwise the policy is fetched in `Range` pieces of
//! `piece_bytes`, every piece with the same `ETag` as the first (a policy replaced during the
//! fetch restarts the cycle later), and the assembled bytes must match the digest. The caller
//! then validates the policy and reports back ([`Fetcher::finish`]). Failures back off
//! exponentially up to `max_backoff_ms`; the serving policy is never touched by a failure.

use super::FetchPolicyConfig;
use super::digest::{DigestFileError, PolicyDigest};
use crate::config::MAX_CONFIG_BYTES;

/// A request for the glue to send (`GET`, to the configured cluster and authority).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRequest {
    /// `:path`.
    pub path: String,
    /// Extra headers (`if-none-match`, `range`).
    pub headers: Vec<(String, String)>,
}

/// What came back; `None` in [`Fetcher::on_response`] is a failed or timed-out call.
#[derive(Debug, Clone, Default)]
pub struct SourceResponse {
    /// HTTP status.
    pub status: u16,
    /// Response headers, names lower-case.
    pub headers: Vec<(String, String)>,
    /// Body (at most one piece's worth is read: [`crate::source::MAX_PIECE_BYTES`]).
    pub body: Vec<u8>,
    /// Body size Envoy announced; larger than `body.len()` when the body was cut.
    pub body_size: usize,
}

/// Bodies of the replies Envoy's router makes itself when the source could not answer: a
/// connection that failed or was reset before response headers (`503`), no healthy host
/// (`503`), no response headers within the timeout (`504`). Envoy's async client hands these
/// to `on_http_call_response` like any response; only a reset after the headers arrives with
/// no headers at all.
const PROXY_FAILURE_BODIES: &[&str] = &[
    "upstream connect error or disconnect/reset before headers",
    "no healthy upstream",
    "upstream request timeout",
];

impl SourceResponse {
    /// True when this is Envoy's own reply for a source it could not reach (see
    /// [`PROXY_FAILURE_BODIES`]), not an answer of the source.
    pub fn is_proxy_failure(&self) -> bool {
        matches!(self.status, 503 | 504)
            && PROXY_FAILURE_BODIES
                .iter()
                .any(|prefix| self.body.starts_with(prefix.as_bytes()))
    }
}

/// Why a cycle failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// No response (connection refused, reset, timeout).
    #[error("{path}: no response from the source (unreachable, reset or timed out)")]
    Unreachable {
        /// The path requested.
        path: String,
    },
    /// An HTTP status other than the expected ones.
    #[error("{path}: the source answered HTTP {status}")]
    Status {
        /// The path requested.
        path: String,
        /// The status.
        status: u16,
    },
    /// The digest file is malformed.
    #[error("{path}: {source}")]
    DigestFile {
        /// The path requested.
        path: String,
        /// What is wrong.
        source: DigestFileError,
    },
    /// A `206` without a usable `Content-Range`, or a piece not where it was asked for.
    #[error("{path}: bad Content-Range {content_range:?} for the piece at byte {offset}")]
    BadRange {
        /// The path requested.
        path: String,
        /// The header's value.
        content_range: Option<String>,
        /// The offset asked for.
        offset: usize,
    },
    /// The policy changed on the source between two pieces.
    #[error("{path}: the policy changed during the fetch (ETag {first:?} then {now:?})")]
    ChangedDuringFetch {
        /// The path requested.
        path: String,
        /// ETag of the first piece.
        first: Option<String>,
        /// ETag of this piece.
        now: Option<String>,
    },
    /// The server answered a `Range` request with the whole policy, too big for one response.
    #[error(
        "{path}: the server ignores Range and sent all {size} bytes at once, more than one response may hold ({} bytes); serve the policy from a server that honours Range",
        crate::source::MAX_PIECE_BYTES
    )]
    RangeIgnored {
        /// The path requested.
        path: String,
        /// What the server sent.
        size: usize,
    },
    /// Bigger than any policy may be.
    #[error("{path}: the policy is {size} bytes, more than the {MAX_CONFIG_BYTES}-byte limit")]
    TooLarge {
        /// The path requested.
        path: String,
        /// Its size.
        size: usize,
    },
    /// The bytes do not match the digest file.
    #[error("{path}: the policy's SHA-256 is {got}, the digest file says {expected}")]
    DigestMismatch {
        /// The path requested.
        path: String,
        /// Digest of the bytes fetched.
        got: PolicyDigest,
        /// Digest announced.
        expected: PolicyDigest,
    },
}

impl FetchError {
    /// The metric name part counting this failure.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Unreachable { .. } => "unreachable",
            Self::Status { .. } => "bad_status",
            Self::DigestFile { .. } => "bad_digest_file",
            Self::BadRange { .. } => "bad_range",
            Self::ChangedDuringFetch { .. } => "changed_during_fetch",
            Self::RangeIgnored { .. } => "range_ignored",
            Self::TooLarge { .. } => "too_large",
            Self::DigestMismatch { .. } => "digest_mismatch",
        }
    }
}

/// What one response led to.
#[derive(Debug)]
pub enum FetchStep {
    /// Send this request next, in the same cycle.
    Send(SourceRequest),
    /// The digest file did not change (`304`): nothing to do.
    NotModified,
    /// The digest names the policy already serving (or already rejected): nothing to do.
    Unchanged,
    /// A complete policy whose bytes match the digest: validate it, then call
    /// [`Fetcher::finish`].
    Fetched {
        /// The policy bytes.
        policy: Vec<u8>,
        /// Their digest.
        digest: PolicyDigest,
    },
    /// The cycle failed; the serving policy stays.
    Failed(FetchError),
}

enum Phase {
    Idle,
    Digest,
    Body {
        digest: PolicyDigest,
        digest_etag: Option<String>,
        first_etag: Option<String>,
        received: Box<Received>,
    },
}

/// A policy's bytes as they arrive, and their SHA-256 as far as computed: hashing each piece
/// while the next one is on its way keeps the 22 MB digest off the end of the fetch.
struct Received {
    bytes: Vec<u8>,
    hasher: sha2::Sha256,
    hashed: usize,
}

impl Received {
    fn new() -> Self {
        Self {
            bytes: Vec::new(),
            hasher: <sha2::Sha256 as sha2::Digest>::new(),
            hashed: 0,
        }
    }

    /// Hashes what arrived and is not hashed yet.
    fn hash_received(&mut self) {
        if let Some(fresh) = self.bytes.get(self.hashed..) {
            sha2::Digest::update(&mut self.hasher, fresh);
            self.hashed = self.bytes.len();
        }
    }

    /// Every byte received, and their SHA-256.
    fn digest(mut self) -> (Vec<u8>, PolicyDigest) {
        self.hash_received();
        (self.bytes, PolicyDigest::finish(self.hasher))
    }
}

/// The fetch cycle of one source.
pub struct Fetcher {
    config: FetchPolicyConfig,
    digest_path: String,
    phase: Phase,
    /// ETag of the digest file whose policy was handled (published or rejected).
    handled_etag: Option<String>,
    /// Digest of the policy handled last (published or rejected).
    handled: Option<PolicyDigest>,
    /// Digest of the policy published last: serving it again is no work.
    published: Option<PolicyDigest>,
    failures: u32,
    next_poll_ms: u64,
}

impl Fetcher {
    /// A fetcher that polls at once.
    pub fn new(config: FetchPolicyConfig) -> Self {
        Self {
            digest_path: config.digest_path(),
            config,
            phase: Phase::Idle,
            handled_etag: None,
            handled: None,
            published: None,
            failures: 0,
            next_poll_ms: 0,
        }
    }

    /// Takes `digest` as already published (by an earlier instance of the service, found in
    /// shared data): a source still announcing it costs no fetch and no publication.
    pub fn assume_published(&mut self, digest: PolicyDigest) {
        self.published = Some(digest);
    }

    /// The configuration.
    pub fn config(&self) -> &FetchPolicyConfig {
        &self.config
    }

    /// Starts a cycle if one is due at `now_ms` and none is running.
    pub fn poll(&mut self, now_ms: u64) -> Option<SourceRequest> {
        if !matches!(self.phase, Phase::Idle) || now_ms < self.next_poll_ms {
            return None;
        }
        self.phase = Phase::Digest;
        let mut headers = Vec::new();
        if let Some(etag) = &self.handled_etag {
            headers.push(("if-none-match".to_owned(), etag.clone()));
        }
        Some(SourceRequest {
            path: self.digest_path.clone(),
            headers,
        })
    }

    /// Feeds the response to the request last returned (`None`: the call failed). Envoy's own
    /// reply for an unreachable source counts as no response.
    pub fn on_response(&mut self, now_ms: u64, response: Option<SourceResponse>) -> FetchStep {
        let response = response.filter(|r| !r.is_proxy_failure());
        let step = match std::mem::replace(&mut self.phase, Phase::Idle) {
            Phase::Idle => return FetchStep::Unchanged,
            Phase::Digest => self.on_digest(response),
            Phase::Body {
                digest,
                digest_etag,
                first_etag,
                received,
            } => self.on_piece(response, digest, digest_etag, first_etag, received),
        };
        match &step {
            FetchStep::Send(_) | FetchStep::Fetched { .. } => {}
            FetchStep::NotModified | FetchStep::Unchanged => self.succeeded(now_ms),
            FetchStep::Failed(_) => self.failed(now_ms),
        }
        step
    }

    /// Reports what validation made of a [`FetchStep::Fetched`] policy. Either way it is not
    /// fetched again until the digest file changes; a rejected one counts as a failure for the
    /// back-off.
    pub fn finish(&mut self, now_ms: u64, digest: PolicyDigest, accepted: bool) {
        self.handled = Some(digest);
        if let Phase::Body { digest_etag, .. } = std::mem::replace(&mut self.phase, Phase::Idle) {
            self.handled_etag = digest_etag;
        }
        if accepted {
            self.published = Some(digest);
            self.succeeded(now_ms);
        } else {
            self.failed(now_ms);
        }
    }

    fn on_digest(&mut self, response: Option<SourceResponse>) -> FetchStep {
        let path = self.digest_path.clone();
        let Some(response) = response else {
            return FetchStep::Failed(FetchError::Unreachable { path });
        };
        match response.status {
            304 => return FetchStep::NotModified,
            200 => {}
            status => return FetchStep::Failed(FetchError::Status { path, status }),
        }
        let digest = match PolicyDigest::parse_sha256sum(&response.body) {
            Ok(digest) => digest,
            Err(source) => return FetchStep::Failed(FetchError::DigestFile { path, source }),
        };
        let etag = header(&response, "etag");
        if self.handled == Some(digest) || self.published == Some(digest) {
            self.handled_etag = etag;
            return FetchStep::Unchanged;
        }
        self.phase = Phase::Body {
            digest,
            digest_etag: etag,
            first_etag: None,
            received: Box::new(Received::new()),
        };
        FetchStep::Send(self.piece_request(0))
    }

    fn on_piece(
        &mut self,
        response: Option<SourceResponse>,
        digest: PolicyDigest,
        digest_etag: Option<String>,
        first_etag: Option<String>,
        mut received: Box<Received>,
    ) -> FetchStep {
        let path = self.config.path.clone();
        let offset = received.bytes.len();
        let Some(response) = response else {
            return FetchStep::Failed(FetchError::Unreachable { path });
        };
        let etag = header(&response, "etag");
        if offset > 0 && etag != first_etag {
            return FetchStep::Failed(FetchError::ChangedDuringFetch {
                path,
                first: first_etag,
                now: etag,
            });
        }
        let total = match response.status {
            // A server that ignores Range sends everything at once.
            200 if offset == 0 && response.body_size > response.body.len() => {
                return FetchStep::Failed(FetchError::RangeIgnored {
                    path,
                    size: response.body_size,
                });
            }
            200 if offset == 0 => response.body.len(),
            206 => {
                let content_range = header(&response, "content-range");
                match content_range.as_deref().and_then(parse_content_range) {
                    Some((start, end, total))
                        if start == offset && end + 1 - start == response.body.len() =>
                    {
                        total
                    }
                    _ => {
                        return FetchStep::Failed(FetchError::BadRange {
                            path,
                            content_range,
                            offset,
                        });
                    }
                }
            }
            status => return FetchStep::Failed(FetchError::Status { path, status }),
        };
        if total > MAX_CONFIG_BYTES {
            return FetchStep::Failed(FetchError::TooLarge { path, size: total });
        }
        if received.bytes.is_empty() {
            received.bytes.reserve_exact(total);
        }
        received.bytes.extend_from_slice(&response.body);
        if received.bytes.len() < total {
            let next = self.piece_request(received.bytes.len());
            self.phase = Phase::Body {
                digest,
                digest_etag,
                first_etag: etag,
                received,
            };
            return FetchStep::Send(next);
        }
        let (bytes, got) = received.digest();
        if got != digest {
            return FetchStep::Failed(FetchError::DigestMismatch {
                path,
                got,
                expected: digest,
            });
        }
        // Kept until `finish`, which records the digest file's ETag as handled.
        self.phase = Phase::Body {
            digest,
            digest_etag,
            first_etag: etag,
            received: Box::new(Received::new()),
        };
        FetchStep::Fetched {
            policy: bytes,
            digest,
        }
    }

    /// Hashes the pieces received so far: call it once the next piece is requested, so the
    /// digest is computed while that piece travels. The final check hashes whatever is left.
    pub fn hash_received(&mut self) {
        if let Phase::Body { received, .. } = &mut self.phase {
            received.hash_received();
        }
    }

    fn piece_request(&self, offset: usize) -> SourceRequest {
        let last = offset
            .saturating_add(self.config.piece_bytes)
            .saturating_sub(1);
        SourceRequest {
            path: self.config.path.clone(),
            headers: vec![("range".to_owned(), format!("bytes={offset}-{last}"))],
        }
    }

    fn succeeded(&mut self, now_ms: u64) {
        self.failures = 0;
        self.next_poll_ms = now_ms.saturating_add(self.config.poll_interval_ms);
    }

    fn failed(&mut self, now_ms: u64) {
        self.failures = self.failures.saturating_add(1);
        self.next_poll_ms = now_ms.saturating_add(self.backoff_ms());
    }

    /// The wait after the current run of failures: the poll interval doubled per failure
    /// after the first, capped at `max_backoff_ms`.
    pub fn backoff_ms(&self) -> u64 {
        let doublings = self.failures.saturating_sub(1).min(20);
        self.config
            .poll_interval_ms
            .saturating_mul(1u64 << doublings)
            .min(self.config.max_backoff_ms)
    }

    /// Failures since the last success.
    pub fn consecutive_failures(&self) -> u32 {
        self.failures
    }
}

fn header(response: &SourceResponse, name: &str) -> Option<String> {
    response
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
}

/// `bytes <start>-<end>/<total>` (RFC 9110 §14.4).
fn parse_content_range(value: &str) -> Option<(usize, usize, usize)> {
    let rest = value.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (start, end) = range.split_once('-')?;
    let (start, end, total): (usize, usize, usize) =
        (start.parse().ok()?, end.parse().ok()?, total.parse().ok()?);
    (start <= end && end < total).then_some((start, end, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> FetchPolicyConfig {
        FetchPolicyConfig {
            name: "main".into(),
            cluster: "policy".into(),
            authority: "policy".into(),
            path: "/p.json".into(),
            digest_path: None,
            poll_interval_ms: 1_000,
            timeout_ms: 1_000,
            piece_bytes: 4,
            max_backoff_ms: 8_000,
        }
    }

    fn ok(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Option<SourceResponse> {
        Some(SourceResponse {
            status,
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            body: body.to_vec(),
            body_size: body.len(),
        })
    }

    fn digest_file(policy: &[u8]) -> Vec<u8> {
        format!("{}  p.json\n", PolicyDigest::of(policy).to_hex()).into_bytes()
    }

    /// Serves `policy` in ranges, as nginx does.
    fn serve(request: &SourceRequest, policy: &[u8], etag: &str) -> Option<SourceResponse> {
        let range = request.headers.iter().find(|(n, _)| n == "range")?;
        let (start, end) = range.1.strip_prefix("bytes=")?.split_once('-')?;
        let start: usize = start.parse().ok()?;
        let end = end.parse::<usize>().ok()?.min(policy.len() - 1);
        let content_range = format!("bytes {start}-{end}/{}", policy.len());
        ok(
            206,
            &[("etag", etag), ("content-range", &content_range)],
            &policy[start..=end],
        )
    }

    #[test]
    fn a_cycle_fetches_in_pieces_then_polls_with_the_etag() {
        let policy = b"0123456789";
        let mut fetcher = Fetcher::new(config());
        let first = fetcher.poll(0).unwrap();
        assert_eq!(first.path, "/p.json.sha256");
        assert!(first.headers.is_empty());
        let mut step = fetcher.on_response(1, ok(200, &[("etag", "\"d1\"")], &digest_file(policy)));
        let mut requests = 0;
        let fetched = loop {
            match step {
                FetchStep::Send(request) => {
                    requests += 1;
                    if requests == 2 {
                        // As the service does once the next piece is requested.
                        fetcher.hash_received();
                    }
                    step = fetcher.on_response(2, serve(&request, policy, "\"b1\""));
                }
                FetchStep::Fetched { policy, digest } => break (policy, digest),
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(requests, 3);
        assert_eq!(fetched.0, policy);
        fetcher.finish(3, fetched.1, true);
        assert!(fetcher.poll(500).is_none(), "not due before the interval");
        let again = fetcher.poll(1_003).unwrap();
        assert_eq!(
            again.headers,
            vec![("if-none-match".to_owned(), "\"d1\"".to_owned())]
        );
        assert!(matches!(
            fetcher.on_response(1_004, ok(304, &[], b"")),
            FetchStep::NotModified
        ));
        // A new ETag with the same digest: no body fetch.
        fetcher.poll(2_004).unwrap();
        assert!(matches!(
            fetcher.on_response(2_005, ok(200, &[("etag", "\"d2\"")], &digest_file(policy))),
            FetchStep::Unchanged
        ));
    }

    /// Runs one cycle that fetches `policy` whole; returns its digest.
    fn fetch_cycle(fetcher: &mut Fetcher, now: u64, policy: &[u8], etag: &str) -> PolicyDigest {
        fetcher.poll(now).unwrap();
        let mut step = fetcher.on_response(now, ok(200, &[("etag", etag)], &digest_file(policy)));
        loop {
            match step {
                FetchStep::Send(request) => {
                    step = fetcher.on_response(now, serve(&request, policy, etag));
                }
                FetchStep::Fetched { digest, .. } => return digest,
                other => panic!("{other:?}"),
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn hashing_pieces_as_they_arrive_gives_the_policys_digest(
            policy in proptest::collection::vec(proptest::prelude::any::<u8>(), 1..200),
            piece_bytes in 1usize..64,
            hash_after in proptest::collection::vec(proptest::prelude::any::<bool>(), 200),
        ) {
            let mut fetcher = Fetcher::new(FetchPolicyConfig { piece_bytes, ..config() });
            fetcher.poll(0).unwrap();
            let mut step = fetcher.on_response(0, ok(200, &[], &digest_file(&policy)));
            let mut pieces = 0;
            let fetched = loop {
                match step {
                    FetchStep::Send(request) => {
                        if hash_after.get(pieces).copied().unwrap_or(false) {
                            fetcher.hash_received();
                        }
                        pieces += 1;
                        step = fetcher.on_response(0, serve(&request, &policy, "\"b\""));
                    }
                    FetchStep::Fetched { policy, digest } => break (policy, digest),
                    other => panic!("{other:?}"),
                }
            };
            proptest::prop_assert_eq!(&fetched.0, &policy);
            proptest::prop_assert_eq!(fetched.1, PolicyDigest::of(&policy));
        }
    }

    #[test]
    fn a_whole_policy_cut_to_one_piece_is_a_clear_error() {
        let policy = b"0123456789";
        let mut fetcher = Fetcher::new(config());
        fetcher.poll(0).unwrap();
        fetcher.on_response(0, ok(200, &[], &digest_file(policy)));
        let mut cut = ok(200, &[], &policy[..4]).unwrap();
        cut.body_size = policy.len();
        match fetcher.on_response(0, Some(cut)) {
            FetchStep::Failed(error) => {
                assert_eq!(error.kind(), "range_ignored");
                assert!(error.to_string().contains("ignores Range"), "{error}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_policy_published_before_a_restart_is_not_fetched_again() {
        let policy = b"published by the previous service";
        let mut fetcher = Fetcher::new(config());
        fetcher.assume_published(PolicyDigest::of(policy));
        fetcher.poll(0).unwrap();
        assert!(matches!(
            fetcher.on_response(0, ok(200, &[("etag", "\"e\"")], &digest_file(policy))),
            FetchStep::Unchanged
        ));
    }

    #[test]
    fn the_published_policy_announced_again_after_a_rejection_is_no_work() {
        let good = b"good policy";
        let mut fetcher = Fetcher::new(config());
        let digest = fetch_cycle(&mut fetcher, 0, good, "\"g\"");
        fetcher.finish(0, digest, true);
        let digest = fetch_cycle(&mut fetcher, 10_000, b"bad policy", "\"b\"");
        fetcher.finish(10_000, digest, false);
        // The operator puts the serving policy back: neither fetched nor published again.
        fetcher.poll(100_000).unwrap();
        assert!(matches!(
            fetcher.on_response(100_000, ok(200, &[("etag", "\"g2\"")], &digest_file(good))),
            FetchStep::Unchanged
        ));
    }

    #[test]
    fn a_server_ignoring_range_is_read_whole() {
        let policy = b"0123456789";
        let mut fetcher = Fetcher::new(config());
        fetcher.poll(0).unwrap();
        let step = fetcher.on_response(0, ok(200, &[], &digest_file(policy)));
        assert!(matches!(step, FetchStep::Send(_)));
        match fetcher.on_response(0, ok(200, &[], policy)) {
            FetchStep::Fetched { policy: got, .. } => assert_eq!(got, policy),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn failures_keep_nothing_and_back_off() {
        let policy = b"0123456789";
        let mut fetcher = Fetcher::new(config());
        fetcher.poll(0).unwrap();
        let step = fetcher.on_response(0, None);
        assert!(matches!(
            step,
            FetchStep::Failed(FetchError::Unreachable { .. })
        ));
        assert_eq!(fetcher.backoff_ms(), 1_000);
        assert!(fetcher.poll(999).is_none());
        fetcher.poll(1_000).unwrap();
        let step = fetcher.on_response(1_000, ok(500, &[], b""));
        assert_eq!(step_kind(&step), "bad_status");
        assert_eq!(fetcher.backoff_ms(), 2_000);
        for _ in 0..10 {
            fetcher.failures += 1;
        }
        assert_eq!(fetcher.backoff_ms(), 8_000, "capped");

        // A digest that does not match the bytes (digest file published before the policy).
        let mut fetcher = Fetcher::new(config());
        fetcher.poll(0).unwrap();
        let FetchStep::Send(mut request) =
            fetcher.on_response(0, ok(200, &[], &digest_file(b"another policy")))
        else {
            panic!()
        };
        let step = loop {
            match fetcher.on_response(0, serve(&request, policy, "\"b\"")) {
                FetchStep::Send(next) => {
                    fetcher.hash_received();
                    request = next;
                }
                other => break other,
            }
        };
        assert_eq!(step_kind(&step), "digest_mismatch");
        // Nothing was recorded as handled: the next poll asks again without If-None-Match.
        assert!(fetcher.poll(10_000).unwrap().headers.is_empty());
    }

    #[test]
    fn a_policy_replaced_mid_fetch_or_a_bad_range_fails_the_cycle() {
        let policy = b"0123456789";
        let mut fetcher = Fetcher::new(config());
        fetcher.poll(0).unwrap();
        let FetchStep::Send(request) = fetcher.on_response(0, ok(200, &[], &digest_file(policy)))
        else {
            panic!()
        };
        let FetchStep::Send(request) = fetcher.on_response(0, serve(&request, policy, "\"a\""))
        else {
            panic!()
        };
        let step = fetcher.on_response(0, serve(&request, policy, "\"b\""));
        assert_eq!(step_kind(&step), "changed_during_fetch");

        fetcher.poll(10_000).unwrap();
        fetcher.on_response(10_000, ok(200, &[], &digest_file(policy)));
        let step = fetcher.on_response(
            10_000,
            ok(206, &[("content-range", "bytes 4-7/10")], b"4567"),
        );
        assert_eq!(step_kind(&step), "bad_range");
    }

    #[test]
    fn a_rejected_policy_is_not_fetched_again_until_its_digest_changes() {
        let policy = b"0123";
        let mut fetcher = Fetcher::new(config());
        fetcher.poll(0).unwrap();
        let FetchStep::Send(request) =
            fetcher.on_response(0, ok(200, &[("etag", "\"d\"")], &digest_file(policy)))
        else {
            panic!()
        };
        let FetchStep::Fetched { digest, .. } =
            fetcher.on_response(0, serve(&request, policy, "\"b\""))
        else {
            panic!()
        };
        fetcher.finish(0, digest, false);
        let next = fetcher.poll(1_000).unwrap();
        assert_eq!(next.headers[0].1, "\"d\"");
    }

    #[test]
    fn envoys_own_failure_replies_count_as_unreachable() {
        let policy = b"0123";
        let envoy_503 = ok(
            503,
            &[("content-type", "text/plain")],
            b"upstream connect error or disconnect/reset before headers. reset reason: remote connection failure",
        );
        let mut fetcher = Fetcher::new(config());
        fetcher.poll(0).unwrap();
        let step = fetcher.on_response(0, envoy_503.clone());
        assert_eq!(step_kind(&step), "unreachable");
        fetcher.poll(10_000).unwrap();
        let step = fetcher.on_response(10_000, ok(504, &[], b"upstream request timeout"));
        assert_eq!(step_kind(&step), "unreachable");
        // Mid-fetch too.
        fetcher.poll(100_000).unwrap();
        let FetchStep::Send(_) = fetcher.on_response(100_000, ok(200, &[], &digest_file(policy)))
        else {
            panic!()
        };
        let step = fetcher.on_response(100_000, envoy_503);
        assert_eq!(step_kind(&step), "unreachable");
        // The source's own 503 stays a bad status.
        fetcher.poll(1_000_000).unwrap();
        let step = fetcher.on_response(1_000_000, ok(503, &[], b"maintenance"));
        assert_eq!(step_kind(&step), "bad_status");
    }

    #[test]
    fn content_range_parsing() {
        assert_eq!(parse_content_range("bytes 0-3/10"), Some((0, 3, 10)));
        assert_eq!(parse_content_range("bytes 3-2/10"), None);
        assert_eq!(parse_content_range("bytes 0-10/10"), None);
        assert_eq!(parse_content_range("bytes */10"), None);
        assert_eq!(parse_content_range("items 0-3/10"), None);
    }

    fn step_kind(step: &FetchStep) -> &'static str {
        match step {
            FetchStep::Failed(error) => error.kind(),
            _ => "not a failure",
        }
    }
}
