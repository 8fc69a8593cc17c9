//! `trieguard verify-chain --roots ROOTS.pem [--at RFC3339] CHAIN.pem`
//!
//! The first certificate of CHAIN.pem is the leaf, the others are untrusted intermediates in any
//! order. Prints `valid: <subject of each certificate, leaf to root, joined by " -> ">` and exits 0,
//! or prints `invalid: <reason>` and exits 1 — for every certificate input that can be read,
//! including trust anchors that cannot be used (malformed or too large). Unreadable files, a roots
//! file without any certificate, a bad `--at` or `--sm2-id` exit 2.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use certs::{ChainError, StoreError, TrustStore, UnixTime, ValidationOptions};

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
    /// Refuse an end-entity certificate without extendedKeyUsage.
    #[arg(long)]
    require_client_auth_eku: bool,
    /// Accept anyExtendedKeyUsage in place of id-kp-clientAuth.
    #[arg(long)]
    allow_any_extended_key_usage: bool,
    /// Accept certificates without authorityKeyIdentifier (legacy PKIs).
    #[arg(long)]
    no_require_authority_key_id: bool,
    /// Accept CA certificates without subjectKeyIdentifier (legacy PKIs).
    #[arg(long)]
    no_require_subject_key_id: bool,
    /// Accept CA certificates whose basicConstraints is not marked critical (legacy CAs).
    #[arg(long)]
    no_require_critical_basic_constraints: bool,
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
    /// The trust store, or why the roots' certificates cannot be trust anchors (a verdict).
    store: Result<TrustStore, StoreError>,
    chain_pem: Vec<u8>,
    at: UnixTime,
}

impl Config {
    fn resolve(args: Args) -> anyhow::Result<Self> {
        let roots = std::fs::read(&args.roots)
            .with_context(|| format!("cannot read roots file {}", args.roots.display()))?;
        let mut options = ValidationOptions::default();
        options.require_client_auth_eku = args.require_client_auth_eku;
        options.allow_any_extended_key_usage = args.allow_any_extended_key_usage;
        options.require_authority_key_id = !args.no_require_authority_key_id;
        options.require_subject_key_id = !args.no_require_subject_key_id;
        options.require_critical_basic_constraints = !args.no_require_critical_basic_constraints;
        let store = match TrustStore::from_pem_with_id(&roots, &args.sm2_id) {
            Ok(store) => Ok(store.with_options(options)),
            // No trust anchor at all, or an unusable --sm2-id: the invocation is wrong.
            Err(e @ (StoreError::NoCertificates | StoreError::InvalidSm2Id(_))) => {
                return Err(e)
                    .with_context(|| format!("cannot use roots file {}", args.roots.display()));
            }
            // A certificate that cannot be a trust anchor: a verdict about the input.
            Err(e) => Err(e),
        };
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

/// Why a chain is not valid: the chain itself, or the trust anchors it was checked against.
#[derive(Debug, thiserror::Error)]
enum Invalid {
    /// A root cannot be a trust anchor.
    #[error("unusable trust anchor: {0}")]
    Store(#[from] StoreError),
    /// The chain failed validation.
    #[error(transparent)]
    Chain(#[from] ChainError),
}

fn verify(config: &Config) -> Result<Vec<String>, Invalid> {
    let store = config.store.as_ref().map_err(Clone::clone)?;
    let ders = certs::pem_certificates(&config.chain_pem)?;
    let (leaf, intermediates) = ders.split_first().ok_or(ChainError::Empty)?;
    Ok(certs::verify_chain(store, leaf, intermediates, config.at)
        .map(|path| path.subjects().to_vec())?)
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
