//! Certificate times (RFC 5280 §4.1.2.5) as Unix seconds, and RFC 3339 text for messages and the CLI.
//!
//! The library never reads the clock: every check takes "now" as a parameter (the plugin passes
//! Envoy's clock, tests pass a pinned instant).

use crate::der::{DerError, DerResult, tag};

/// Seconds since 1970-01-01T00:00:00Z, the unit every time in this crate uses.
pub type UnixTime = i64;

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count (inverse of [`days_from_civil`]).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn digits(s: &[u8]) -> Option<i64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        s.iter()
            .fold(0i64, |acc, &b| acc * 10 + i64::from(b - b'0')),
    )
}

fn from_fields(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64) -> Option<UnixTime> {
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 59 {
        return None;
    }
    Some(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s)
}

/// Decodes a certificate `Time` (RFC 5280 §4.1.2.5): UTCTime `YYMMDDHHMMSSZ` (years 1950–2049,
/// §4.1.2.5.1) or GeneralizedTime `YYYYMMDDHHMMSSZ` (§4.1.2.5.2). Both must be in UTC ("Z") with
/// seconds and no fractions, as the profile requires.
pub(crate) fn decode_time(tag_byte: u8, contents: &[u8]) -> DerResult<UnixTime> {
    let bad = DerError("invalid time");
    let (year, rest) = match (tag_byte, contents.len()) {
        (tag::UTC_TIME, 13) => {
            let yy = digits(contents.get(..2).ok_or(bad)?).ok_or(bad)?;
            (
                if yy >= 50 { 1900 + yy } else { 2000 + yy },
                contents.get(2..).ok_or(bad)?,
            )
        }
        (tag::GENERALIZED_TIME, 15) => (
            digits(contents.get(..4).ok_or(bad)?).ok_or(bad)?,
            contents.get(4..).ok_or(bad)?,
        ),
        _ => return Err(bad),
    };
    let field = |i: usize| rest.get(i..i + 2).and_then(digits).ok_or(bad);
    if rest.get(10) != Some(&b'Z') {
        return Err(bad);
    }
    from_fields(year, field(0)?, field(2)?, field(4)?, field(6)?, field(8)?).ok_or(bad)
}

/// Formats Unix seconds as RFC 3339 in UTC, e.g. `2025-01-01T00:00:00Z`.
pub fn format_rfc3339(t: UnixTime) -> String {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

/// Parses an RFC 3339 date-time (`2026-06-01T12:00:00Z`, `2026-06-01T14:00:00+02:00`, fractions
/// of a second are accepted and dropped) into Unix seconds. Returns `None` for anything else.
pub fn parse_rfc3339(s: &str) -> Option<UnixTime> {
    let b = s.as_bytes();
    let num = |r: core::ops::Range<usize>| b.get(r).and_then(digits);
    let sep = |i: usize, c: &[u8]| b.get(i).is_some_and(|x| c.contains(x));
    if b.len() < 20
        || !sep(4, b"-")
        || !sep(7, b"-")
        || !sep(10, b"Tt ")
        || !sep(13, b":")
        || !sep(16, b":")
    {
        return None;
    }
    let base = from_fields(
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    )?;
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    match b.get(i..)? {
        b"Z" | b"z" => Some(base),
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let h = digits(&[*h1, *h2])?;
            let m = digits(&[*m1, *m2])?;
            if h > 23 || m > 59 {
                return None;
            }
            let offset = h * 3600 + m * 60;
            Some(if *sign == b'+' {
                base - offset
            } else {
                base + offset
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        let t = parse_rfc3339("2026-06-01T00:00:00Z").unwrap();
        assert_eq!(t, 1_780_272_000);
        assert_eq!(format_rfc3339(t), "2026-06-01T00:00:00Z");
        assert_eq!(parse_rfc3339("2026-06-01T02:00:00.123+02:00"), Some(t));
        assert_eq!(format_rfc3339(-1), "1969-12-31T23:59:59Z");
        assert_eq!(
            format_rfc3339(parse_rfc3339("2000-02-29T23:59:59Z").unwrap()),
            "2000-02-29T23:59:59Z"
        );
    }

    #[test]
    fn rejects_bad_text() {
        for s in [
            "",
            "2026-06-01",
            "2026-13-01T00:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-06-01T00:00:00",
            "2026-06-01T00:00:60Z",
        ] {
            assert_eq!(parse_rfc3339(s), None, "{s}");
        }
    }

    #[test]
    fn decodes_certificate_times() {
        assert_eq!(
            decode_time(tag::UTC_TIME, b"250101000000Z").unwrap(),
            1_735_689_600
        );
        assert_eq!(
            decode_time(tag::UTC_TIME, b"500101000000Z").unwrap(),
            -631_152_000
        );
        assert_eq!(
            decode_time(tag::GENERALIZED_TIME, b"20550101000000Z").unwrap(),
            2_682_374_400
        );
        assert!(decode_time(tag::UTC_TIME, b"250101000000+0100").is_err());
        assert!(decode_time(tag::GENERALIZED_TIME, b"2055010100000Z").is_err());
        assert!(decode_time(tag::UTC_TIME, b"25013a000000Z").is_err());
    }
}
