//! Path normalisation, done before matching so that matching, auth and the upstream all see
//! the same path (DESIGN "Security rules"; Envoy's `normalize_path` + `merge_slashes`).
//!
//! Rules, in order, on the part before `?` (a `#fragment` is dropped, as Envoy does):
//! 1. The path must start with `/`.
//! 2. Raw `\` and NUL are refused; `;` is refused unless the policy allows it (a `;` path
//!    parameter is read as a segment end by Tomcat/Jetty upstreams: `/admin;x` would reach
//!    `/admin` while matching as something else).
//! 3. Percent-escapes: `%2F` (encoded `/`) → 400, `%5C` (encoded `\`) → 400, `%00` → 400;
//!    an escape of an unreserved character (`A-Z a-z 0-9 - . _ ~`) is decoded; any other
//!    escape is kept with upper-case hex; a malformed escape (`%zz`, `%4`) → 400.
//! 4. Repeated slashes merge (`//` → `/`).
//! 5. Dot segments resolve (`.` dropped, `..` removes the previous segment, never above `/`),
//!    after decoding, so `%2e%2e` is `..`.
//!
//! The query string is kept byte for byte.
//!
//! Most paths are already normal; those are recognised in one scan and borrowed, so the
//! common request allocates nothing here.

use std::borrow::Cow;

/// Paths longer than this are refused: Envoy's default `max_request_headers_kb` is 60 KiB, and
/// no route is that long.
pub const MAX_PATH_BYTES: usize = 16 * 1024;

/// Why a path was refused (all are 400s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathRejection {
    /// Not starting with `/`, malformed escape, or too long.
    Invalid,
    /// `%2F` / `%2f`.
    EncodedSlash,
    /// `\` or `%5C`.
    Backslash,
    /// NUL or `%00`.
    Nul,
    /// `;` while the policy does not allow path parameters.
    Semicolon,
}

impl PathRejection {
    /// Stable dotted reason.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Invalid => "path.invalid",
            Self::EncodedSlash => "path.encoded_slash",
            Self::Backslash => "path.backslash",
            Self::Nul => "path.nul",
            Self::Semicolon => "path.semicolon",
        }
    }

    /// Human-readable explanation.
    pub fn message(self) -> &'static str {
        match self {
            Self::Invalid => "the request path is malformed",
            Self::EncodedSlash => "encoded '/' (%2F) is not allowed in the path",
            Self::Backslash => "'\\' (raw or %5C) is not allowed in the path",
            Self::Nul => "NUL (raw or %00) is not allowed in the path",
            Self::Semicolon => "';' path parameters are not allowed by this policy",
        }
    }
}

/// A normalised request target, borrowing from the request where nothing changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NormalizedPath<'a> {
    /// The normalised path, without query.
    pub path: Cow<'a, str>,
    /// `?query` (with the `?`), or empty.
    pub query: &'a str,
}

impl NormalizedPath<'_> {
    /// Path and query as sent upstream.
    pub fn to_request_target(&self) -> String {
        let mut target = String::with_capacity(self.path.len() + self.query.len());
        target.push_str(&self.path);
        target.push_str(self.query);
        target
    }

    /// Whether [`NormalizedPath::to_request_target`] equals `target` (without building it).
    pub fn is_target(&self, target: &str) -> bool {
        target.len() == self.path.len() + self.query.len()
            && target.starts_with(&*self.path)
            && target.ends_with(self.query)
    }
}

/// Normalises `target` (`:path` with its query).
pub fn normalize(target: &str, allow_semicolon: bool) -> Result<NormalizedPath<'_>, PathRejection> {
    let (raw_path, query) = split_path(target)?;
    let path = if is_normal(raw_path, allow_semicolon) {
        Cow::Borrowed(raw_path)
    } else {
        Cow::Owned(resolve_segments(&decode_unreserved(
            raw_path,
            allow_semicolon,
        )?))
    };
    Ok(NormalizedPath { path, query })
}

/// Rule 1 and the split: the path before `?` (without any `#fragment`) and the `?query`.
fn split_path(target: &str) -> Result<(&str, &str), PathRejection> {
    if target.len() > MAX_PATH_BYTES {
        return Err(PathRejection::Invalid);
    }
    let (before_fragment, _fragment) = target.split_once('#').unwrap_or((target, ""));
    let (raw_path, query) = match before_fragment.find('?') {
        Some(at) => before_fragment.split_at(at),
        None => (before_fragment, ""),
    };
    if !raw_path.starts_with('/') {
        return Err(PathRejection::Invalid);
    }
    Ok((raw_path, query))
}

/// Whether rules 2–5 would leave `path` (starting with `/`) unchanged: no escape, no byte
/// that is refused, no empty segment except a trailing one, no `.` or `..` segment.
fn is_normal(path: &str, allow_semicolon: bool) -> bool {
    let clean_bytes = path
        .bytes()
        .all(|b| !matches!(b, b'%' | b'\\' | 0) && (allow_semicolon || b != b';'));
    clean_bytes
        && path
            .split('/')
            .skip(1)
            .enumerate()
            .all(|(i, segment)| match segment {
                "." | ".." => false,
                // The one empty segment allowed is the last ("/" or a trailing slash).
                "" => path.len() == 1 || i + 2 == path.split('/').count(),
                _ => true,
            })
}

/// Step 2 and 3: refuses forbidden bytes and escapes, decodes unreserved escapes.
fn decode_unreserved(raw: &str, allow_semicolon: bool) -> Result<String, PathRejection> {
    let bytes = raw.as_bytes();
    let mut out = String::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\\' => return Err(PathRejection::Backslash),
            0 => return Err(PathRejection::Nul),
            b';' if !allow_semicolon => return Err(PathRejection::Semicolon),
            b'%' => {
                let hi = bytes.get(i + 1).copied().and_then(hex_value);
                let lo = bytes.get(i + 2).copied().and_then(hex_value);
                let (Some(hi), Some(lo)) = (hi, lo) else {
                    return Err(PathRejection::Invalid);
                };
                let value = hi * 16 + lo;
                match value {
                    b'/' => return Err(PathRejection::EncodedSlash),
                    b'\\' => return Err(PathRejection::Backslash),
                    0 => return Err(PathRejection::Nul),
                    b';' if !allow_semicolon => return Err(PathRejection::Semicolon),
                    v if is_unreserved(v) => out.push(char::from(v)),
                    v => {
                        out.push('%');
                        out.push(hex_upper(v >> 4));
                        out.push(hex_upper(v & 0x0f));
                    }
                }
                i += 3;
            }
            _ => {
                // Multi-byte UTF-8 passes through unchanged: copy the whole character.
                let len = utf8_len(b);
                match raw.get(i..i + len) {
                    Some(chunk) => out.push_str(chunk),
                    None => return Err(PathRejection::Invalid),
                }
                i += len;
            }
        }
    }
    Ok(out)
}

/// The upper-case hex digit of a nibble (`0..=15`).
fn hex_upper(nibble: u8) -> char {
    char::from_digit(u32::from(nibble), 16)
        .unwrap_or('0')
        .to_ascii_uppercase()
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

/// Steps 4 and 5: merges slashes and resolves dot segments. `path` starts with `/`.
fn resolve_segments(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    let trailing_slash = path.ends_with('/') || path.ends_with("/.") || path.ends_with("/..");
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = String::with_capacity(path.len());
    for segment in &segments {
        out.push('/');
        out.push_str(segment);
    }
    if out.is_empty() || trailing_slash {
        out.push('/');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The full decode-and-resolve path, without the already-normal shortcut.
    fn slow(input: &str, allow_semicolon: bool) -> Result<String, PathRejection> {
        let (raw_path, query) = split_path(input)?;
        let path = resolve_segments(&decode_unreserved(raw_path, allow_semicolon)?);
        Ok(format!("{path}{query}"))
    }

    fn ok(input: &str) -> String {
        normalize(input, false)
            .map(|n| n.to_request_target())
            .unwrap_or_else(|e| format!("ERR {e:?}"))
    }

    /// The path-confusion table: input, what matching and the upstream see (or the refusal).
    #[test]
    fn path_confusion_table() {
        let table: &[(&str, &str)] = &[
            ("/", "/"),
            ("/orders/42", "/orders/42"),
            ("//admin", "/admin"),
            ("///admin//users", "/admin/users"),
            ("/admin/.", "/admin/"),
            ("/admin/./users", "/admin/users"),
            ("/public/../admin", "/admin"),
            ("/public/..", "/"),
            ("/../admin", "/admin"),
            ("/../../../etc/passwd", "/etc/passwd"),
            ("/public/%2e%2e/admin", "/admin"),
            ("/public/%2E%2E/admin", "/admin"),
            ("/public/.%2e/admin", "/admin"),
            ("/%2e/admin", "/admin"),
            ("/admin%2Fusers", "ERR EncodedSlash"),
            ("/admin%2fusers", "ERR EncodedSlash"),
            ("/admin%5Cusers", "ERR Backslash"),
            ("/admin%5cusers", "ERR Backslash"),
            ("/admin\\users", "ERR Backslash"),
            ("/admin%00", "ERR Nul"),
            ("/admin\0", "ERR Nul"),
            ("/admin;jsessionid=1", "ERR Semicolon"),
            ("/admin%3Bx", "ERR Semicolon"),
            ("/public;/../admin", "ERR Semicolon"),
            ("/%61dmin", "/admin"),
            ("/%7Euser", "/~user"),
            ("/a%20b", "/a%20b"),
            ("/a%2a", "/a%2A"),
            ("/caf%C3%A9", "/caf%C3%A9"),
            ("/café", "/café"),
            ("/orders?x=1&y=%2F", "/orders?x=1&y=%2F"),
            ("/orders/../admin?next=/../x", "/admin?next=/../x"),
            ("/orders#frag", "/orders"),
            ("/bad%zz", "ERR Invalid"),
            ("/bad%4", "ERR Invalid"),
            ("/bad%", "ERR Invalid"),
            ("admin", "ERR Invalid"),
            ("*", "ERR Invalid"),
            ("", "ERR Invalid"),
            ("/users/", "/users/"),
            ("/users/./", "/users/"),
            ("/users/x/..", "/users/"),
        ];
        for (input, expected) in table {
            assert_eq!(ok(input), *expected, "input {input:?}");
        }
        assert!(table.len() >= 30);
    }

    #[test]
    fn semicolons_pass_when_allowed_and_still_resolve_dots() {
        let n = normalize("/public;x/../admin;y", true).unwrap();
        assert_eq!(n.path, "/admin;y");
    }

    #[test]
    fn overlong_paths_are_refused() {
        let long = format!("/{}", "a".repeat(MAX_PATH_BYTES));
        assert_eq!(normalize(&long, false), Err(PathRejection::Invalid));
    }

    proptest::proptest! {
        #[test]
        fn normalisation_is_idempotent_and_never_panics(input in "\\PC{0,64}") {
            if let Ok(first) = normalize(&input, false) {
                let target = first.to_request_target();
                let second = normalize(&target, false).unwrap();
                proptest::prop_assert_eq!(first, second);
            }
        }

        #[test]
        fn the_already_normal_shortcut_agrees_with_the_full_path(
            input in "[/a.;%2eE?#\\\\é\u{0}]{0,24}",
            allow_semicolon: bool,
        ) {
            let fast = normalize(&input, allow_semicolon).map(|n| n.to_request_target());
            proptest::prop_assert_eq!(fast, slow(&input, allow_semicolon));
            if let Ok(n) = normalize(&input, allow_semicolon) {
                proptest::prop_assert!(n.is_target(&n.to_request_target()));
            }
        }

        #[test]
        fn normalised_paths_have_no_dot_segments_or_double_slashes(input in "[/a.%2eE]{0,24}") {
            if let Ok(n) = normalize(&input, false) {
                proptest::prop_assert!(!n.path.contains("//"));
                proptest::prop_assert!(n.path.split('/').all(|s| s != "." && s != ".."));
            }
        }
    }
}
