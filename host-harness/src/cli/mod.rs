//! Argument parsing and dispatch, one module per subcommand.
//!
//! Exit codes shared by every subcommand: 0 success, 1 a negative verdict (e.g. an invalid chain),
//! 2 usage or I/O errors (clap's own usage errors also exit 2).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod ab;
mod check_config;
mod explain;
mod import_envoy;
mod replay;
mod replay_component;
mod verify_chain;

/// trieguard: policy-and-routing plugin for Envoy — command-line tools.
#[derive(Debug, Parser)]
#[command(name = "trieguard", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Verify a client certificate chain (SM2, ECDSA P-256, RSA) against trust anchors.
    VerifyChain(verify_chain::Args),
    /// Check a policy: exit 0, or every problem with its JSON path.
    CheckConfig(check_config::Args),
    /// Run the policy engine on one request and print every step of the decision.
    Explain(explain::Args),
    /// Translate an Envoy route configuration into a first-match trieguard policy.
    ImportEnvoy(import_envoy::Args),
    /// Replay recorded traffic through a plugin in the harness and summarise the outcomes.
    Replay(replay::Args),
    /// Compare two (plugin, configuration) pairs on the same traffic: decisions and latency.
    Ab(ab::Args),
}

/// Exit code for usage and I/O errors.
const EXIT_ERROR: u8 = 2;

/// Parses the command line, runs the subcommand and turns its outcome into an exit code. Errors
/// are printed with their whole cause chain; a closed stdout (broken pipe) counts as success.
pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(EXIT_ERROR));
        }
    };
    let result = match cli.command {
        Command::VerifyChain(args) => verify_chain::run(args),
        Command::CheckConfig(args) => check_config::run(args),
        Command::Explain(args) => explain::run(args),
        Command::ImportEnvoy(args) => import_envoy::run(args),
        Command::Replay(args) => replay::run(args),
        Command::Ab(args) => ab::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            for cause in err.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain()
        .filter_map(|e| e.downcast_ref::<std::io::Error>())
        .any(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}
