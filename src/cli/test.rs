//! `faultline test`: resolve the test once (replayed test.toml, plan files, then the flags
//! given on the command line: see `runner::plan`), run it (or `--test-count` of them) and
//! exit with the verdict's code; any harness failure exits 3 after tearing everything down.
//!
//! Every flag is parsed into its type by clap, so a bad value is refused naming the flag
//! before anything is read or started; defaults come from [`TestConfig::default`].

use super::args;
use crate::checker::registry::CheckerId;
use crate::checker::Validity;
use crate::nemesis::Kinds;
use crate::net::NetKind;
use crate::runner::{self, plan::Resolver, TestConfig};
use crate::store::core::{Reads, Replication};
use crate::store::wal::FsyncPolicy;
use crate::system::config::{parse_reads, MAX_NODES};
use crate::system::SystemKind;
use crate::util::Secs;
use crate::workload::WorkloadKind;
use anyhow::Context;
use clap::parser::ValueSource;
use clap::ArgMatches;
use std::path::PathBuf;
use toml::{Table, Value};

fn d() -> TestConfig {
    TestConfig::default()
}

/// Arguments of `faultline test`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// System under test: `builtin` (the built-in store), `etcd`, `redis` (Redis + Sentinel),
    /// `reference` (in-process, for plumbing), or a target definition file `PATH.toml`
    /// (e.g. targets/command-example.toml: any system, driven through a client command).
    #[arg(long, default_value_t = SystemKind::Builtin, value_parser = parse_target)]
    pub target: SystemKind,
    /// Nodes in the cluster (default 5; for `--target FILE.toml`, the file's `nodes`).
    #[arg(long, allow_negative_numbers = true, value_parser = args::count(MAX_NODES))]
    pub nodes: Option<usize>,
    /// Concurrent clients (one logical process each).
    #[arg(long, default_value_t = d().concurrency, allow_negative_numbers = true,
          value_parser = args::count(runner::config::MAX_CONCURRENCY))]
    pub concurrency: usize,
    /// At most this many client operations, all clients together (default: until the time limit).
    #[arg(long, allow_negative_numbers = true, value_parser = args::count(i64::MAX as usize))]
    pub ops: Option<usize>,
    /// Seconds of client activity.
    #[arg(long, default_value_t = d().time_limit, allow_negative_numbers = true, value_parser = args::positive_secs)]
    pub time_limit: Secs,
    /// Target ops/s over all clients (0 = unlimited).
    #[arg(long, default_value_t = d().rate, allow_negative_numbers = true, value_parser = args::rate)]
    pub rate: f64,
    /// What clients do (each workload has its checkers): register, set, append (Elle
    /// list-append), bank, counter, session.
    #[arg(long, value_enum, default_value_t = d().workload)]
    pub workload: WorkloadKind,
    /// Fault kinds, comma separated: partition, kill, pause, clock, clock-drift (clocks run
    /// at 0.2-0.4x through the next fault), each optionally `:TARGET` (one, leader, minority,
    /// majority, all; drawn per fault from the seed when absent); kill-leader, partition-leader,
    /// kill-majority, kill-all; `all` = every kind the system can take; none.
    #[arg(long, default_value = "all", value_parser = parse_nemesis)]
    pub nemesis: Kinds,
    /// Seconds a fault lasts; the next starts half as long after its undo.
    #[arg(long, default_value_t = d().nemesis_interval, allow_negative_numbers = true,
          value_parser = args::positive_secs)]
    pub nemesis_interval: Secs,
    /// Checkers to run, comma separated (default: the workload's own list).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub checker: Vec<CheckerId>,
    /// Seed for generator and nemesis schedule, below 2^63 (random and printed when absent).
    #[arg(long, allow_negative_numbers = true, value_parser = args::seed)]
    pub seed: Option<u64>,
    /// Run N tests, each with its own seed derived from --seed.
    #[arg(long, default_value_t = 1, allow_negative_numbers = true, value_parser = args::count(1_000_000))]
    pub test_count: usize,
    /// Network back end: netns, proxy or auto.
    #[arg(long, value_enum, default_value_t = d().net)]
    pub net: NetKind,
    /// When the built-in store acknowledges a write: sync, semi-sync, quorum, async.
    #[arg(long, value_enum, default_value_t = d().system.builtin.replication)]
    pub replication: Replication,
    /// Who answers reads: linearizable, lease, leader, follower (built-in store);
    /// etcd: linearizable or serializable (= follower).
    #[arg(long, default_value = "linearizable", value_parser = parse_reads)]
    pub reads: Reads,
    /// Unsafe: the built-in store's old leaders keep acknowledging writes.
    #[arg(long)]
    pub no_fencing: bool,
    /// The built-in store's WAL syncing: always, batch, never.
    #[arg(long, value_enum, default_value_t = d().system.builtin.fsync)]
    pub fsync: FsyncPolicy,
    /// Where run directories go.
    #[arg(long, default_value = "store")]
    pub store_dir: PathBuf,
    /// Test name (default `<target>-<workload>-<nemesis>`); no path separators or `..`.
    #[arg(long, value_parser = parse_name)]
    pub name: Option<String>,
    /// Milliseconds a client waits for an answer before the op is indeterminate (`info`).
    /// Default: 500 for the built-in single-leader store (it fails over in about two
    /// election timeouts of 300 ms: a client waiting longer is stuck on a dead leader), else 1000.
    #[arg(long, allow_negative_numbers = true, value_parser = args::millis)]
    pub op_timeout_ms: Option<u64>,
    /// Seconds to let the cluster recover before final reads.
    #[arg(long, default_value_t = d().recovery, allow_negative_numbers = true, value_parser = args::secs)]
    pub recovery: Secs,
    /// Binary for `node` processes (default: this executable).
    #[arg(long)]
    pub node_binary: Option<PathBuf>,
    /// TOML plan file(s): any keys of a test.toml (workload, nemesis, checkers, [target]
    /// modes, ...); repeatable, later files win; a flag given on the command line wins over
    /// them. See workloads/*.toml.
    #[arg(long)]
    pub plan: Vec<PathBuf>,
    /// Re-run the test recorded in DIR/test.toml (plans and flags given as well win over it).
    #[arg(long)]
    pub replay: Option<PathBuf>,
    /// The built-in store's topology and its leaderless settings.
    #[command(flatten)]
    pub topology: super::test_topology::TopologyArgs,
    /// Run in the deterministic simulator: the built-in store's own driver and core, with
    /// clients, network, disks and clocks simulated in one thread from the seed.
    #[arg(long)]
    pub sim: bool,
    /// Simulate the seed twice and compare a digest of every event (exit 3 if they differ).
    #[arg(long)]
    pub check_determinism: bool,
    /// Run the nodes on the remote hosts listed in FILE, over SSH (one node per host; --nodes
    /// defaults to the host count). See README, "Testing a cluster of real hosts".
    #[arg(long, value_name = "FILE")]
    pub hosts: Option<PathBuf>,
    /// With --hosts: clock offsets (--nemesis clock) step each host's real system clock with
    /// `date -s` where the system has no clock of its own to skew there (etcd, command
    /// targets, Redis without libfaketime); healed at the end, on Ctrl-C and by
    /// `faultline cleanup --hosts`. Never on this machine's kernel. Clock rates stay refused.
    #[arg(long)]
    pub set_host_clocks: bool,
}

fn parse_target(s: &str) -> Result<SystemKind, String> {
    s.parse()
}

fn parse_nemesis(s: &str) -> Result<Kinds, String> {
    s.parse()
        .map_err(|e: crate::nemesis::ScheduleError| e.to_string())
}

fn parse_name(s: &str) -> Result<String, String> {
    runner::config::check_name(s).map(|_| s.to_string())
}

/// The keys the flags given on the command line set, as a plan layer (flags left at their
/// defaults set nothing, so a plan's value stands).
fn flags_layer(a: &Args, m: &ArgMatches) -> anyhow::Result<Table> {
    let given = |id: &str| m.value_source(id) == Some(ValueSource::CommandLine);
    let mut top = Table::new();
    let mut target = Table::new();
    fn put<T: serde::Serialize>(t: &mut Table, key: &str, v: &T) -> anyhow::Result<()> {
        let v = Value::try_from(v)
            .with_context(|| format!("--{}: not representable in test.toml", key.replace('_', "-")))?;
        t.insert(key.into(), v);
        Ok(())
    }
    if let Some(n) = &a.name {
        put(&mut top, "name", n)?;
    }
    if let Some(s) = a.seed {
        put(&mut top, "seed", &s)?;
    }
    if given("workload") {
        put(&mut top, "workload", &a.workload)?;
    }
    if given("checker") {
        put(&mut top, "checkers", &a.checker)?;
    }
    if given("nemesis") {
        put(&mut top, "nemesis", &a.nemesis)?;
    }
    if given("nemesis_interval") {
        put(&mut top, "nemesis_interval", &a.nemesis_interval)?;
    }
    if given("concurrency") {
        put(&mut top, "concurrency", &a.concurrency)?;
    }
    if let Some(n) = a.ops {
        put(&mut top, "ops", &(n as u64))?;
    }
    if given("rate") {
        put(&mut top, "rate", &a.rate)?;
    }
    if given("time_limit") {
        put(&mut top, "time_limit", &a.time_limit)?;
    }
    if given("op_timeout_ms") {
        put(&mut top, "op_timeout_ms", &a.op_timeout_ms)?;
    }
    if given("recovery") {
        put(&mut top, "recovery", &a.recovery)?;
    }
    if given("net") {
        put(&mut top, "net", &a.net)?;
    }
    if given("store_dir") {
        put(&mut top, "store_dir", &a.store_dir)?;
    }
    if given("target") {
        put(&mut target, "name", &a.target)?;
    }
    if let Some(n) = a.nodes {
        put(&mut target, "nodes", &n)?;
    }
    if let Some(b) = &a.node_binary {
        put(&mut target, "node_binary", b)?;
    }
    if given("replication") {
        put(&mut target, "replication", &a.replication)?;
    }
    if given("reads") {
        put(&mut target, "reads", &a.reads)?;
    }
    if a.no_fencing {
        put(&mut target, "fencing", &false)?;
    }
    if given("fsync") {
        put(&mut target, "fsync", &a.fsync)?;
    }
    a.topology.put(&mut target, given)?;
    if a.sim || a.check_determinism {
        put(&mut top, "simulated", &true)?;
    }
    if let Some(p) = &a.hosts {
        put(&mut top, "hosts", &crate::net::hosts::Inventory::load(p)?)?;
    }
    if a.set_host_clocks {
        put(&mut top, "set_host_clocks", &true)?;
    }
    if !target.is_empty() {
        top.insert("target".into(), Value::Table(target));
    }
    Ok(top)
}

/// The test these arguments ask for, resolved and checked; nothing is started.
pub fn config(a: &Args, m: &ArgMatches) -> anyhow::Result<TestConfig> {
    let mut r = Resolver::new();
    if let Some(dir) = &a.replay {
        r.replay(&crate::rundir::RunDir::at(dir).test_toml())?;
    }
    for p in &a.plan {
        r.plan(p)?;
    }
    r.flags(flags_layer(a, m)?)?;
    Ok(r.finish()?)
}

/// Runs one resolved config; returns the verdict.
pub fn run_one(cfg: &TestConfig) -> anyhow::Result<Validity> {
    if cfg.simulated {
        return super::simtest::run_one(cfg);
    }
    let out = runner::execute(cfg)?;
    let r = &out.results;
    for v in &r.results {
        eprintln!("  {:<14} {:<8} {}", v.checker, v.valid.to_string(), v.summary);
    }
    for w in &r.warnings {
        eprintln!("  warning: {w}");
    }
    println!(
        "{}: {} ({} ops, seed {}) in {}",
        r.name,
        r.valid,
        r.ops,
        cfg.seed,
        out.dir.path().display()
    );
    Ok(r.valid)
}

pub fn run(a: Args, m: &ArgMatches) -> anyhow::Result<i32> {
    let base = config(&a, m)?;
    if a.check_determinism {
        return super::simtest::determinism(&base, a.test_count);
    }
    runner::install_ctrlc();
    let mut verdict = Validity::Valid;
    for i in 0..a.test_count {
        let mut cfg = base.clone();
        cfg.seed = super::simtest::nth_seed(base.seed, i);
        eprintln!("faultline: test {}/{} seed {}", i + 1, a.test_count, cfg.seed);
        verdict = verdict.combine(run_one(&cfg)?);
        if runner::STOP.load(std::sync::atomic::Ordering::SeqCst) {
            break;
        }
    }
    Ok(verdict.exit_code())
}
