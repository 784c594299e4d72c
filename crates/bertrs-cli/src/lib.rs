//! `bertrs-cli`: a thin layer that parses arguments, validates them into a config and calls
//! the libraries. The backend is chosen here (`--backend`), from those compiled in.
//!
//! A library too, only so that the fuzz targets (`fuzz/`) reach the `--config` reader; the
//! command is `src/main.rs`.

pub mod args;
pub mod config;
mod curves;
mod dataset;
mod eval;
mod hiargs;
mod malloc;
mod model_dir;
mod output_dir;
mod predict;
mod serve;
mod task;
mod train;

use clap::Parser;

/// The command: parses `std::env::args_os()`, runs it, exits 1 with the error chain on failure.
pub fn main() {
    malloc::tune();
    let argv = config::expand(std::env::args_os().collect()).unwrap_or_else(|e| fail(e));
    let cli = args::Cli::parse_from(argv);
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let result = match cli.command {
        args::Command::Predict(a) => predict::run(a),
        args::Command::Train(a) => train::run(a),
        args::Command::Eval(a) => eval::run(a),
        args::Command::Serve(a) => serve::run(a),
    };
    if let Err(e) = result {
        fail(e);
    }
}

fn fail(e: anyhow::Error) -> ! {
    eprintln!("error: {e}");
    for cause in e.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
    std::process::exit(1);
}
