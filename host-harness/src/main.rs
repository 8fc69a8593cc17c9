//! `trieguard`: the command-line tool (verify-chain; replay, ab, explain and check-config follow).
//!
//! `main` only dispatches: argument parsing and each subcommand live in `cli`.

mod cli;

fn main() -> std::process::ExitCode {
    cli::run()
}
