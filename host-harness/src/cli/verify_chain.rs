//! `trieguard verify-chain --roots ROOTS.pem [--at RFC3339] CHAIN.pem`
//!
//! The first certificate of CHAIN.pem is the leaf, the others are untrusted intermediates in any
//! order. Prints `valid: <subject of each certificate, leaf to root, joined by " -> ">` and exits 0,
//! or prints `invalid: <reason>` and exits 1. Unreadable files, unusable roots and a bad `--at`
//! exit 2.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use certs::{ChainError, TrustStore, UnixTime};

/// Raw arguments of `verify-chain`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// PEM file with the trust anchors (one or more CERTIFICATE blocks).
    #[arg(long, value_name = "ROOTS.pem")]
    roots: PathBuf,
    /// Validation time, RFC 3339 (e.g. 2026-06-01T00:00:00Z); default: now.
    #[arg(long, value_name = "RFC3339", value_parser = parse_time)]
    at: Option<UnixTime>,
    /// SM2 distinguishing ID used for SM2 signatures.
    #[arg(long, value_name = "ID", default_value = certs::DEFAULT_SM2_ID)]
    sm2_id: String,
    /// PEM file with the chain: the leaf first, then intermediates in any order.
    #[arg(value_name = "CHAIN.pem")]
    chain: PathBuf,
}

fn parse_time(s: &str) -> Result<UnixTime, String> {
    certs::parse_rfc3339(s).ok_or_else(|| {
        format!("not an RFC 3339 date-time: {s:?} (expected e.g. 2026-06-01T00:00:00Z)")
    })
}

/// Arguments resolved into what verification needs.
struct Config {
    store: TrustStore,
    chain_pem: Vec<u8>,
    at: UnixTime,
}

impl Config {
    fn resolve(args: Args) -> anyhow::Result<Self> {
        let roots = std::fs::read(&args.roots)
            .with_context(|| format!("cannot read roots file {}", args.roots.display()))?;
        let store = TrustStore::from_pem_with_id(&roots, &args.sm2_id)
            .with_context(|| format!("cannot use roots file {}", args.roots.display()))?;
        let chain_pem = std::fs::read(&args.chain)
            .with_context(|| format!("cannot read chain file {}", args.chain.display()))?;
        let at = match args.at {
            Some(t) => t,
            None => {
                let since_epoch = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .context("system clock is before 1970")?;
                i64::try_from(since_epoch.as_secs()).context("system clock out of range")?
            }
        };
        Ok(Self {
            store,
            chain_pem,
            at,
        })
    }
}

fn verify(config: &Config) -> Result<Vec<String>, ChainError> {
    let ders = certs::pem_certificates(&config.chain_pem)?;
    let (leaf, intermediates) = ders.split_first().ok_or(ChainError::Empty)?;
    certs::verify_chain(&config.store, leaf, intermediates, config.at)
        .map(|path| path.subjects().to_vec())
}

/// Runs the subcommand: `Ok(0)` valid, `Ok(1)` invalid, `Err` for usage and I/O errors.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = Config::resolve(args)?;
    let mut out = std::io::stdout().lock();
    match verify(&config) {
        Ok(subjects) => {
            writeln!(out, "valid: {}", subjects.join(" -> ")).context("cannot write to stdout")?;
            Ok(ExitCode::SUCCESS)
        }
        Err(reason) => {
            writeln!(out, "invalid: {reason}").context("cannot write to stdout")?;
            Ok(ExitCode::from(1))
        }
    }
}
