//! The command line (clap). `anyhow` lives here at the edge; library modules
//! use their own `thiserror` enums. Every error path exits with code 3.

mod args;
mod bench;
mod check;
mod cleanup;
mod convert;
mod kv;
mod model_check;
mod node;
mod report;
mod router;
mod sim;
mod sim_shrink;
mod simtest;
mod suite;
mod test;
mod test_topology;

use crate::exit;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "faultline",
    version,
    about = "Jepsen-style consistency verification harness"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a test: start a cluster, drive clients under faults, check, report.
    Test(test::Args),
    /// Check a recorded or imported history.
    Check(check::Args),
    /// Convert a Jepsen/Knossos EDN or Porcupine history to faultline JSONL.
    Convert(convert::Args),
    /// Write report.html for a run directory.
    Report(report::Args),
    /// Run a suite of tests (CI gate): summary, junit.xml, baselines.
    Suite(suite::Args),
    /// Sweep seeds in the simulator: `faultline sim --seeds 1..1000 [test flags]`.
    Sim(sim::SweepArgs),
    /// Explore every interleaving of a small cluster under bounded faults (stateright).
    ModelCheck(model_check::Args),
    /// Run one node of the built-in replicated store.
    Node(node::Args),
    /// Run the router of a sharded built-in store (forwards requests to the owning group).
    Router(router::Args),
    /// Talk to a built-in store cluster by hand.
    Kv(kv::Args),
    /// Remove every namespace, rule, proxy and node process faultline left behind.
    Cleanup(cleanup::Args),
    /// Benchmarks: checker timings over a corpus, store throughput.
    Bench(bench::Args),
}

/// Parses arguments, runs the command, and returns the process exit code.
pub fn main() -> i32 {
    let parsed = Cli::command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m).map(|c| (c, m)));
    let (cli, matches) = match parsed {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            let code = match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => 0,
                _ => exit::HARNESS,
            };
            let _ = e.print();
            return code;
        }
    };
    init_tracing();
    let result = match cli.command {
        Command::Test(a) => {
            let m = matches.subcommand_matches("test").cloned().unwrap_or_default();
            test::run(a, &m)
        }
        Command::Sim(a) => {
            let m = matches.subcommand_matches("sim").cloned().unwrap_or_default();
            sim::sweep(a, &m)
        }
        Command::Check(a) => check::run(a),
        Command::Convert(a) => convert::run(a),
        Command::Report(a) => report::run(a),
        Command::Suite(a) => suite::run(a),
        Command::ModelCheck(a) => model_check::run(a),
        Command::Node(a) => node::run(a),
        Command::Router(a) => router::run(a),
        Command::Kv(a) => kv::run(a),
        Command::Cleanup(a) => cleanup::run(a),
        Command::Bench(a) => bench::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            exit::HARNESS
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("FAULTLINE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
