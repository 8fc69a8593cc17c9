//! The header-map pair encoding of proxy-wasm 0.2.1.
//!
//! `u32 N`, then N × (`u32 key_len`, `u32 value_len`), then every key and value each followed by
//! a NUL byte; lengths exclude the NUL; all integers little-endian. An empty map is returned to
//! the guest as zero bytes (address 0, length 0), not as a 4-byte `N = 0`.

/// A header as the host keeps it: lower-case name, value.
pub type Header = (String, String);

/// Serialises `pairs`; an empty list gives an empty buffer.
pub fn encode(pairs: &[Header]) -> Vec<u8> {
    if pairs.is_empty() {
        return Vec::new();
    }
    let data: usize = pairs.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
    let mut out = Vec::with_capacity(4 + pairs.len() * 8 + data);
    out.extend_from_slice(&(pairs.len() as u32).to_le_bytes());
    for (k, v) in pairs {
        out.extend_from_slice(&(k.len() as u32).to_le_bytes());
        out.extend_from_slice(&(v.len() as u32).to_le_bytes());
    }
    for (k, v) in pairs {
        out.extend_from_slice(k.as_bytes());
        out.push(0);
        out.extend_from_slice(v.as_bytes());
        out.push(0);
    }
    out
}

/// Why a serialised map from the guest was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed header-map pairs: {0}")]
pub struct PairsError(&'static str);

fn take<'a>(buf: &mut &'a [u8], n: usize) -> Result<&'a [u8], PairsError> {
    if buf.len() < n {
        return Err(PairsError("truncated"));
    }
    let (head, rest) = buf.split_at(n);
    *buf = rest;
    Ok(head)
}

fn take_u32(buf: &mut &[u8]) -> Result<usize, PairsError> {
    let b = take(buf, 4)?;
    let arr: [u8; 4] = b.try_into().map_err(|_| PairsError("truncated"))?;
    Ok(u32::from_le_bytes(arr) as usize)
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Parses a serialised map from the guest. An empty buffer is an empty map.
pub fn decode(bytes: &[u8]) -> Result<Vec<Header>, PairsError> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    let mut buf = bytes;
    let n = take_u32(&mut buf)?;
    // Each pair needs at least 8 bytes of lengths and 2 NULs: bound N before allocating.
    if n > buf.len() / 10 + 1 {
        return Err(PairsError("pair count larger than the buffer"));
    }
    let mut lens = Vec::with_capacity(n);
    for _ in 0..n {
        lens.push((take_u32(&mut buf)?, take_u32(&mut buf)?));
    }
    let mut out = Vec::with_capacity(n);
    for (kl, vl) in lens {
        let k = take(&mut buf, kl)?;
        if take(&mut buf, 1)? != [0] {
            return Err(PairsError("key not NUL-terminated"));
        }
        let v = take(&mut buf, vl)?;
        if take(&mut buf, 1)? != [0] {
            return Err(PairsError("value not NUL-terminated"));
        }
        out.push((lossy(k), lossy(v)));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_order_and_duplicates() {
        let pairs = vec![
            (":path".to_owned(), "/a".to_owned()),
            ("x".to_owned(), "1".to_owned()),
            ("x".to_owned(), "".to_owned()),
        ];
        let enc = encode(&pairs);
        assert_eq!(&enc[..4], &3u32.to_le_bytes());
        assert_eq!(decode(&enc).unwrap(), pairs);
    }

    #[test]
    fn empty_map_is_zero_bytes() {
        assert!(encode(&[]).is_empty());
        assert_eq!(decode(&[]).unwrap(), vec![]);
    }

    #[test]
    fn malformed_maps_are_rejected() {
        assert!(decode(&[1, 0, 0]).is_err());
        assert!(decode(&[1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, b'a', 0, 0]).is_ok());
        assert!(decode(&[1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, b'a', 1, 0]).is_err());
        assert!(decode(&[255, 255, 255, 255]).is_err());
    }
}
