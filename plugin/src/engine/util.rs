//! Small request-parsing helpers shared by the engine's steps.

/// Splits a request target into path and `?query` (query includes the `?`, or is empty).
pub fn split_target(target: &str) -> (&str, &str) {
    match target.find('?') {
        Some(at) => target.split_at(at),
        None => (target, ""),
    }
}

/// The percent-decoded value of query parameter `name` in `query` (with or without `?`).
pub fn query_param(query: &str, name: &str) -> Option<String> {
    let query = query.strip_prefix('?').unwrap_or(query);
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(key) == name).then(|| percent_decode(value))
    })
}

/// Decodes `%XX` escapes and `+` (form encoding) leniently: malformed escapes stay as they are.
pub fn percent_decode(input: &str) -> String {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let escaped = (b == b'%')
            .then(|| {
                let hi = char::from(*bytes.get(i + 1)?).to_digit(16)?;
                let lo = char::from(*bytes.get(i + 2)?).to_digit(16)?;
                u8::try_from(hi * 16 + lo).ok()
            })
            .flatten();
        match (b, escaped) {
            (_, Some(decoded)) => {
                out.push(decoded);
                i += 3;
            }
            (b'+', None) => {
                out.push(b' ');
                i += 1;
            }
            (other, None) => {
                out.push(other);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The value of cookie `name` from every `cookie` header of the request.
pub fn cookie<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .filter(|(n, _)| n == "cookie")
        .flat_map(|(_, v)| v.split(';'))
        .find_map(|pair| {
            let (key, value) = pair.trim().split_once('=')?;
            (key.trim() == name).then(|| value.trim().trim_matches('"'))
        })
}

/// The host of an `:authority`: lower-cased, port and one trailing dot removed.
pub fn normalize_host(authority: &str) -> std::borrow::Cow<'_, str> {
    let host = trie_routes::host::host_of(authority);
    let host = host.strip_suffix('.').unwrap_or(host);
    if host.bytes().any(|b| b.is_ascii_uppercase()) {
        std::borrow::Cow::Owned(host.to_ascii_lowercase())
    } else {
        std::borrow::Cow::Borrowed(host)
    }
}

/// Displays the value, or nothing when absent, without allocating (for trace steps).
pub struct OrEmpty<T>(pub Option<T>);

impl<T: std::fmt::Display> std::fmt::Display for OrEmpty<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(value) => value.fmt(f),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameters_are_decoded() {
        assert_eq!(
            query_param("?a=1&key=k%2D1+x", "key").as_deref(),
            Some("k-1 x")
        );
        assert_eq!(query_param("a=1", "key"), None);
        assert_eq!(query_param("flag&key=", "key").as_deref(), Some(""));
    }

    #[test]
    fn cookies_are_found_across_headers() {
        let headers = vec![
            ("cookie".to_owned(), "a=1; uid=u-7".to_owned()),
            ("cookie".to_owned(), "b=2".to_owned()),
        ];
        assert_eq!(cookie(&headers, "uid"), Some("u-7"));
        assert_eq!(cookie(&headers, "b"), Some("2"));
        assert_eq!(cookie(&headers, "c"), None);
    }

    #[test]
    fn hosts_lose_port_case_and_trailing_dot() {
        assert_eq!(normalize_host("API.Example.com.:8443"), "api.example.com");
        assert_eq!(normalize_host("[::1]:80"), "[::1]");
    }

    #[test]
    fn malformed_escapes_stay() {
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }
}
