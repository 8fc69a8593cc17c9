//! Builds `x-forwarded-client-cert` values the way Envoy and front TLS terminators write them,
//! from the `certs` crate's committed fixtures.

use std::path::PathBuf;

/// `certs/testdata`.
pub fn fixtures_dir() -> PathBuf {
    crate::paths::workspace_root()
        .join("certs")
        .join("testdata")
}

/// A fixture file's text.
pub fn fixture(name: &str) -> anyhow::Result<String> {
    let path = fixtures_dir().join(name);
    std::fs::read_to_string(&path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// Envoy's URL encoding of a PEM value in XFCC.
pub fn url_encode(pem: &str) -> String {
    pem.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// One XFCC element carrying `chain_pem` (leaf first) as `Cert` (the leaf) and `Chain` (all).
pub fn element(chain_pem: &str) -> String {
    const END: &str = "-----END CERTIFICATE-----";
    let leaf = chain_pem
        .find(END)
        .and_then(|at| chain_pem.get(..at + END.len()))
        .unwrap_or(chain_pem);
    format!(
        "By=spiffe://front.test;Hash=00;Cert=\"{}\";Chain=\"{}\"",
        url_encode(&format!("{leaf}\n")),
        url_encode(chain_pem)
    )
}
