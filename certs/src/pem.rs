//! PEM (RFC 7468 §5.1): extracts the DER of every `CERTIFICATE` block, ignoring text between
//! blocks and blocks of other labels (OpenSSL writes explanatory text and may add keys).

use base64::Engine as _;

/// Largest PEM text accepted. A bundle of every public web root is about 250 KiB; client chains are
/// a few KiB. The cap bounds decoding work on untrusted input.
pub const MAX_PEM_BYTES: usize = 1024 * 1024;

const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
const END: &str = "-----END CERTIFICATE-----";

/// Why PEM text could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PemError {
    TooLarge(usize),
    NotUtf8,
    Unterminated(usize),
    BadBase64(usize),
}

/// Decodes every `CERTIFICATE` block in `text`, in order.
pub(crate) fn certificates(text: &[u8]) -> Result<Vec<Vec<u8>>, PemError> {
    if text.len() > MAX_PEM_BYTES {
        return Err(PemError::TooLarge(text.len()));
    }
    let text = core::str::from_utf8(text).map_err(|_| PemError::NotUtf8)?;
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN) {
        let after_begin = rest.get(start + BEGIN.len()..).unwrap_or("");
        let end = after_begin
            .find(END)
            .ok_or(PemError::Unterminated(out.len()))?;
        let body: String = after_begin
            .get(..end)
            .unwrap_or("")
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(body.as_bytes())
            .map_err(|_| PemError::BadBase64(out.len()))?;
        out.push(der);
        rest = after_begin.get(end + END.len()..).unwrap_or("");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_blocks_and_skips_text() {
        let text = "junk\n-----BEGIN CERTIFICATE-----\nAAEC\nAw==\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n-----BEGIN CERTIFICATE-----\nBA==\n-----END CERTIFICATE-----";
        assert_eq!(
            certificates(text.as_bytes()).unwrap(),
            vec![vec![0, 1, 2, 3], vec![4]]
        );
        assert_eq!(
            certificates(b"-----BEGIN CERTIFICATE-----\nAA=="),
            Err(PemError::Unterminated(0))
        );
        assert_eq!(
            certificates(b"-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----"),
            Err(PemError::BadBase64(0))
        );
        assert!(certificates(b"no blocks").unwrap().is_empty());
    }
}
