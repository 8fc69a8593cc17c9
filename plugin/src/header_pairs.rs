//! proxy-wasm's serialized header map, read in place, and a [`Request`] refilled from it
//! without allocating once its storage has grown to the traffic's size.
//!
//! The host answers `proxy_get_header_map_pairs` with one buffer: the pair count (u32 LE),
//! then each pair's name and value lengths (u32 LE each), then each name and value followed by
//! a NUL. The SDK turns that into a `String` and a `Vec<u8>` per header; the filter instead
//! parses the buffer here and copies the bytes into strings kept from the previous request.

use std::borrow::Cow;

use thiserror::Error;

use crate::engine::Request;

/// A header map buffer that does not follow the layout above.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("malformed header map from the host: {what} (buffer of {len} bytes)")]
pub struct MalformedPairs {
    /// Which part did not fit.
    pub what: &'static str,
    /// The buffer's length.
    pub len: usize,
}

/// One header's name and value, as bytes.
pub type Pair<'a> = (&'a [u8], &'a [u8]);

/// The (name, value) pairs of a serialized header map, in order.
pub fn pairs(buffer: &[u8]) -> Result<Vec<Pair<'_>>, MalformedPairs> {
    let mut out = Vec::new();
    for_each_pair(buffer, |name, value| out.push((name, value)))?;
    Ok(out)
}

/// Calls `each` with every (name, value) pair, in order, in one pass. A malformed buffer
/// stops the pass with an error: pairs already handed out are then to be discarded (the
/// refill's request is refilled from scratch next time, and the filter fails closed).
fn for_each_pair<'a>(
    buffer: &'a [u8],
    mut each: impl FnMut(&'a [u8], &'a [u8]),
) -> Result<(), MalformedPairs> {
    let malformed = |what| MalformedPairs {
        what,
        len: buffer.len(),
    };
    if buffer.is_empty() {
        return Ok(());
    }
    let count = read_u32(buffer, 0).ok_or_else(|| malformed("no pair count"))?;
    let sizes_end = count
        .checked_mul(8)
        .and_then(|n| n.checked_add(4))
        .filter(|&end| end <= buffer.len())
        .ok_or_else(|| malformed("pair count larger than the buffer"))?;
    let mut data = sizes_end;
    for index in 0..count {
        let at = 4 + index * 8;
        let (Some(name_len), Some(value_len)) = (read_u32(buffer, at), read_u32(buffer, at + 4))
        else {
            return Err(malformed("truncated pair sizes"));
        };
        let name = take_terminated(buffer, &mut data, name_len)
            .ok_or_else(|| malformed("name past the end or not NUL-terminated"))?;
        let value = take_terminated(buffer, &mut data, value_len)
            .ok_or_else(|| malformed("value past the end or not NUL-terminated"))?;
        each(name, value);
    }
    Ok(())
}

fn read_u32(buffer: &[u8], at: usize) -> Option<usize> {
    let bytes: [u8; 4] = buffer.get(at..at.checked_add(4)?)?.try_into().ok()?;
    usize::try_from(u32::from_le_bytes(bytes)).ok()
}

/// `len` bytes at `*at` followed by a NUL; advances `*at` past the NUL.
fn take_terminated<'a>(buffer: &'a [u8], at: &mut usize, len: usize) -> Option<&'a [u8]> {
    let end = at.checked_add(len)?;
    let bytes = buffer.get(*at..end)?;
    if buffer.get(end) != Some(&0) {
        return None;
    }
    *at = end + 1;
    Some(bytes)
}

/// A [`Request`] whose strings outlive it: each refill reuses the previous request's strings
/// (and header slots), so a steady stream of similar requests allocates nothing here.
#[derive(Debug, Default)]
pub struct RequestBuffer {
    request: Request,
    /// Header slots of earlier requests, cleared, waiting to be reused.
    spare: Vec<(String, String)>,
}

impl RequestBuffer {
    /// Refills the request from a serialized header map: `:method`, `:authority` and `:path`
    /// into their fields, other pseudo-headers dropped, regular headers in order. Bytes that
    /// are not UTF-8 (Envoy accepts obs-text in values) become U+FFFD, never a trap. The
    /// optional facts (TLS version, source, clock, entropy) are reset for the caller to set.
    pub fn refill(&mut self, buffer: &[u8]) -> Result<&mut Request, MalformedPairs> {
        let request = &mut self.request;
        request.method.clear();
        request.authority.clear();
        request.path.clear();
        request.tls_version = None;
        request.source = None;
        request.now_unix_seconds = 0;
        request.entropy = 0;
        self.spare.append(&mut request.headers);
        let spare = &mut self.spare;
        let headers = &mut request.headers;
        let (method, authority, path) = (
            &mut request.method,
            &mut request.authority,
            &mut request.path,
        );
        let result = for_each_pair(buffer, |name, value| {
            let value = text(value);
            match name {
                b":method" => method.push_str(&value),
                b":authority" => authority.push_str(&value),
                b":path" => path.push_str(&value),
                [b':', ..] => {}
                _ => {
                    let (mut slot_name, mut slot_value) = spare.pop().unwrap_or_default();
                    slot_name.clear();
                    slot_name.push_str(&text(name));
                    slot_value.clear();
                    slot_value.push_str(&value);
                    headers.push((slot_name, slot_value));
                }
            }
        });
        result.map(|()| &mut self.request)
    }
}

/// The bytes as text: borrowed when UTF-8, else with U+FFFD for invalid bytes. Checked by
/// `from_utf8` first: its word-at-a-time ASCII path beats `from_utf8_lossy`'s chunk iterator,
/// which showed up in the harness profile of every header value.
fn text(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// Serializes pairs the way the host does (for tests and the harness's own checks).
pub fn serialize<'a>(pairs: impl IntoIterator<Item = Pair<'a>> + Clone) -> Vec<u8> {
    let count = pairs.clone().into_iter().count();
    let mut out = Vec::new();
    out.extend_from_slice(&u32::try_from(count).unwrap_or(u32::MAX).to_le_bytes());
    for (name, value) in pairs.clone() {
        for len in [name.len(), value.len()] {
            out.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_le_bytes());
        }
    }
    for (name, value) in pairs {
        for part in [name, value] {
            out.extend_from_slice(part);
            out.push(0);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn refill_from(buffer: &mut RequestBuffer, pairs: &[(&str, &str)]) -> Request {
        let bytes = serialize(pairs.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())));
        buffer.refill(&bytes).cloned().unwrap_or_default()
    }

    #[test]
    fn pseudo_headers_fill_their_fields_and_the_rest_stay_in_order() {
        let mut buffer = RequestBuffer::default();
        let request = refill_from(
            &mut buffer,
            &[
                (":authority", "api.example.com"),
                (":path", "/v1/orders?x=1"),
                (":method", "GET"),
                (":scheme", "https"),
                ("x-api-key", "k-1"),
                ("accept", "*/*"),
                ("x-api-key", "k-2"),
            ],
        );
        assert_eq!(request.method, "GET");
        assert_eq!(request.authority, "api.example.com");
        assert_eq!(request.path, "/v1/orders?x=1");
        assert_eq!(
            request.headers,
            [
                ("x-api-key".to_owned(), "k-1".to_owned()),
                ("accept".to_owned(), "*/*".to_owned()),
                ("x-api-key".to_owned(), "k-2".to_owned()),
            ]
        );
    }

    #[test]
    fn a_refill_forgets_the_previous_request() {
        let mut buffer = RequestBuffer::default();
        let first = [
            (":method", "POST"),
            (":path", "/long/path/of/the/first/request"),
            ("a", "1"),
            ("b", "2"),
            ("c", "3"),
        ];
        refill_from(&mut buffer, &first);
        if let Ok(request) = buffer.refill(&serialize([(&b"x"[..], &b"y"[..])])) {
            request.tls_version = Some("TLSv1.3".into());
        }
        let second = refill_from(&mut buffer, &[(":method", "GET"), ("d", "4")]);
        assert_eq!(second.method, "GET");
        assert_eq!(second.path, "");
        assert_eq!(second.authority, "");
        assert_eq!(second.tls_version, None);
        assert_eq!(second.headers, [("d".to_owned(), "4".to_owned())]);
    }

    #[test]
    fn values_that_are_not_utf8_are_kept_visible() {
        let mut buffer = RequestBuffer::default();
        let bytes = serialize([(&b"x-name"[..], &b"caf\xe9"[..])]);
        let request = buffer.refill(&bytes).cloned().unwrap_or_default();
        assert_eq!(request.header("x-name"), Some("caf\u{fffd}"));
    }

    #[test]
    fn malformed_buffers_are_refused_whole() {
        let good = serialize([(&b"a"[..], &b"1"[..]), (&b"b"[..], &b"2"[..])]);
        let mut cases: Vec<Vec<u8>> = vec![vec![1, 0, 0], vec![9, 0, 0, 0]];
        for cut in 1..good.len() {
            cases.push(good.get(..cut).unwrap_or_default().to_vec());
        }
        let mut no_nul = good.clone();
        if let Some(last) = no_nul.last_mut() {
            *last = b'x';
        }
        cases.push(no_nul);
        let mut huge = good.clone();
        huge.splice(0..4, u32::MAX.to_le_bytes());
        cases.push(huge);
        for case in cases {
            let mut buffer = RequestBuffer::default();
            assert!(pairs(&case).is_err(), "{case:?}");
            assert!(buffer.refill(&case).is_err(), "{case:?}");
        }
        assert_eq!(pairs(&[]), Ok(Vec::new()));
    }

    proptest! {
        #[test]
        fn serialized_pairs_read_back(
            headers in proptest::collection::vec(
                (proptest::collection::vec(any::<u8>(), 0..12),
                 proptest::collection::vec(any::<u8>(), 0..40)),
                0..20,
            ),
        ) {
            let bytes = serialize(headers.iter().map(|(n, v)| (n.as_slice(), v.as_slice())));
            let read = pairs(&bytes);
            let expected: Vec<Pair<'_>> =
                headers.iter().map(|(n, v)| (n.as_slice(), v.as_slice())).collect();
            prop_assert_eq!(read, Ok(expected));
        }

        #[test]
        fn refills_equal_a_fresh_parse(
            requests in proptest::collection::vec(
                proptest::collection::vec(("(:method|:path|:authority|:scheme|x-[a-c])", "[ -~]{0,24}"), 0..10),
                1..6,
            ),
        ) {
            let mut reused = RequestBuffer::default();
            for headers in &requests {
                let bytes = serialize(headers.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())));
                let again = reused.refill(&bytes).cloned();
                let fresh = RequestBuffer::default().refill(&bytes).cloned();
                prop_assert_eq!(again, fresh);
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut buffer = RequestBuffer::default();
            let _ = buffer.refill(&bytes);
            let _ = pairs(&bytes);
        }
    }
}
