//! `faultline bench ...`: measured figures for the issue notes. Speed targets
//! live here, not in timed tests.

mod check;
mod checkers;
mod elle;
mod entropy;
mod etcd;
mod fuzz;
mod measure;
mod rebalance;
mod report;
mod runner;
mod store;

use clap::Subcommand;

/// Arguments of `faultline bench`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub what: What,
}

#[derive(Subcommand, Debug)]
pub enum What {
    /// Linearizability checker: per-file median times over a history corpus.
    Check(check::Args),
    /// Anomaly checkers (set, elle) on generated histories.
    Checkers(checkers::Args),
    /// Elle checker on a generated list-append history: time and peak RSS.
    Elle(elle::Args),
    /// Built-in store throughput and latency.
    Store(store::Args),
    /// Leaderless anti-entropy: bytes and time of one Merkle exchange between two replicas.
    AntiEntropy(entropy::Args),
    /// The same write load against a real etcd cluster on this machine (for comparison).
    Etcd(etcd::Args),
    /// Runner overhead: recorded vs unrecorded ops/s.
    Runner(runner::Args),
    /// Sharding: share of keys moved when a group is added, per partitioner, against theory.
    Rebalance(rebalance::Args),
    /// Report page: size and headless-Chromium render time of a synthetic run.
    Report(report::Args),
    /// Hostile files of every format (and plans) through check, convert and --html: aborts,
    /// panics, budget, memory and damaged histories called valid (all must be zero).
    Fuzz(fuzz::Args),
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    match args.what {
        What::Check(a) => check::run(a),
        What::Checkers(a) => checkers::run(a),
        What::Elle(a) => elle::run(a),
        What::Store(a) => store::run(a),
        What::AntiEntropy(a) => entropy::run(a),
        What::Etcd(a) => etcd::run(a),
        What::Runner(a) => runner::run(a),
        What::Rebalance(a) => rebalance::run(a),
        What::Report(a) => report::run(a),
        What::Fuzz(a) => fuzz::run(a),
    }
}
