//! `faultline test`: run a test (or `--test-count` of them) and exit with the
//! verdict's code; any harness failure exits 3 after tearing everything down.

use crate::checker::Validity;
use crate::nemesis::net::{self, NetKind, RunTag};
use crate::runner::{self, recorder::monotonic_ns, StoreModes, TestConfig};
use crate::target::builtin::Builtin;
use crate::target::reference::Reference;
use crate::target::Target;
use anyhow::{bail, Context};
use std::path::PathBuf;

/// Arguments of `faultline test`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// System under test: `builtin` (the built-in store), `etcd`, `redis` (Redis + Sentinel),
    /// `reference` (in-process, for plumbing), or a target definition file `PATH.toml`
    /// (e.g. targets/command-example.toml: any system, driven through a client command).
    #[arg(long, default_value = "builtin")]
    pub target: String,
    /// Nodes in the cluster (default 5; for `--target FILE.toml`, the file's `nodes`).
    #[arg(long)]
    pub nodes: Option<usize>,
    /// Concurrent clients (one logical process each).
    #[arg(long, default_value_t = 10)]
    pub concurrency: usize,
    /// Seconds of client activity.
    #[arg(long, default_value_t = 30.0)]
    pub time_limit: f64,
    /// Target ops/s over all clients (0 = unlimited).
    #[arg(long, default_value_t = 200.0)]
    pub rate: f64,
    /// register, set, append, bank, counter, session.
    #[arg(long, default_value = "register")]
    pub workload: String,
    /// Fault kinds, comma separated: partition, kill, pause, clock, kill-leader,
    /// partition-leader, kill-majority, kill-all, clock-drift (the leader's clock runs at
    /// 0.2-0.4x through the next fault; builtin only); `all` = partition,kill,pause,clock; none.
    #[arg(long, default_value = "all")]
    pub nemesis: String,
    /// Seconds between nemesis steps.
    #[arg(long, default_value_t = 3.0)]
    pub nemesis_interval: f64,
    /// Seed for generator and nemesis schedule, below 2^63 (random and printed when absent).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Run N tests, each with its own seed derived from --seed.
    #[arg(long, default_value_t = 1)]
    pub test_count: u32,
    /// Network back end: netns, proxy or auto.
    #[arg(long, default_value = "auto")]
    pub net: String,
    #[arg(long, default_value = "quorum")]
    pub replication: String,
    #[arg(long, default_value = "linearizable")]
    pub reads: String,
    #[arg(long)]
    pub no_fencing: bool,
    #[arg(long, default_value = "batch")]
    pub fsync: String,
    /// Where run directories go.
    #[arg(long, default_value = "store")]
    pub store_dir: PathBuf,
    /// Test name (default `<target>-<workload>-<nemesis>`).
    #[arg(long, default_value = "")]
    pub name: String,
    #[arg(long, default_value_t = 1000)]
    pub op_timeout_ms: u64,
    /// Seconds to let the cluster recover before final reads.
    #[arg(long, default_value_t = 3.0)]
    pub recovery: f64,
    /// Binary for `node` processes (default: this executable).
    #[arg(long)]
    pub node_binary: Option<PathBuf>,
    /// TOML plan file(s) (workload, nemesis, checkers, [target] modes); repeatable,
    /// later files win; keys a plan sets override the flags. See workloads/*.toml.
    #[arg(long)]
    pub plan: Vec<PathBuf>,
    /// Re-run the test recorded in DIR/test.toml.
    #[arg(long)]
    pub replay: Option<PathBuf>,
}

fn expand_nemesis(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty() && *s != "none")
        .flat_map(|s| {
            if s == "all" {
                vec!["partition", "kill", "pause", "clock"]
            } else {
                vec![s]
            }
        })
        .map(String::from)
        .collect()
}

fn config(a: &Args) -> anyhow::Result<TestConfig> {
    let mut cfg = TestConfig {
        name: a.name.clone(),
        target: a.target.clone(),
        nodes: match a.nodes {
            Some(n) => n,
            None if is_def_file(&a.target) => load_def_file(&a.target)?.0.nodes,
            None => 5,
        },
        concurrency: a.concurrency,
        time_limit_s: a.time_limit,
        rate: a.rate,
        workload: a.workload.clone(),
        nemesis: expand_nemesis(&a.nemesis),
        nemesis_interval_s: a.nemesis_interval,
        seed: a.seed.unwrap_or_else(|| rand::random::<u64>() >> 1),
        net: a.net.clone(),
        store: StoreModes {
            replication: a.replication.clone(),
            reads: a.reads.clone(),
            fencing: !a.no_fencing,
            fsync: a.fsync.clone(),
            ..StoreModes::default()
        },
        store_dir: a.store_dir.clone(),
        op_timeout_ms: a.op_timeout_ms,
        recovery_s: a.recovery,
        node_binary: a.node_binary.clone(),
        checkers: Vec::new(),
    };
    for p in &a.plan {
        runner::plan::Plan::load(p)?.apply(&mut cfg, expand_nemesis);
    }
    if cfg.name.is_empty() && is_def_file(&cfg.target) {
        // The default name becomes a directory: the definition's name, not its path.
        let (def, _) = load_def_file(&cfg.target)?;
        let mut c = cfg.clone();
        c.target = def.name;
        cfg.name = c.resolved_name();
    }
    Ok(cfg)
}

/// Whether `--target` names a definition file rather than a built-in target.
fn is_def_file(target: &str) -> bool {
    target.ends_with(".toml")
}

fn load_def_file(target: &str) -> anyhow::Result<(crate::target::external::TargetDef, PathBuf)> {
    let path = PathBuf::from(target);
    if !path.is_file() {
        bail!("--target {target}: no such file (give a target definition like targets/command-example.toml, or one of: builtin, reference, etcd, redis)");
    }
    Ok((crate::target::external::TargetDef::load(&path)?, path))
}

/// A target from a definition file: its `client` picks the adapter.
fn target_from_file(target: &str, cfg: &TestConfig, origin: u64) -> anyhow::Result<Box<dyn Target>> {
    use crate::target::external::{EtcdTarget, RedisTarget};
    let (def, path) = load_def_file(target)?;
    Ok(match def.client.as_str() {
        "command" => Box::new(crate::target::command::CommandTarget::new(def, &path)?),
        "etcd" => Box::new(EtcdTarget::from_def(def, &path, is_serializable(&cfg.store.reads))),
        "redis" => Box::new(RedisTarget::from_def(def, &path, origin)),
        other => bail!(
            "--target {target}: client `{other}` is not one a definition file can use (known: command, etcd, redis)"
        ),
    })
}

fn is_serializable(reads: &str) -> bool {
    matches!(reads, "follower" | "serializable")
}

fn build_target(cfg: &TestConfig, origin: u64, tag: &RunTag) -> anyhow::Result<Box<dyn Target>> {
    if is_def_file(&cfg.target) {
        return target_from_file(&cfg.target, cfg, origin);
    }
    Ok(match cfg.target.as_str() {
        "builtin" => {
            for (flag, v, ok) in [
                (
                    "--replication",
                    &cfg.store.replication,
                    &["sync", "semi-sync", "quorum", "async"][..],
                ),
                (
                    "--reads",
                    &cfg.store.reads,
                    &["linearizable", "lease", "leader", "follower"][..],
                ),
                ("--fsync", &cfg.store.fsync, &["always", "batch", "never"][..]),
            ] {
                if !ok.contains(&v.as_str()) {
                    bail!("{flag}: unknown value `{v}` (known: {})", ok.join(", "));
                }
            }
            let bin = match &cfg.node_binary {
                Some(b) => b.clone(),
                None => std::env::current_exe().context("locating the faultline binary")?,
            };
            Box::new(Builtin::new(bin, cfg.store.clone(), origin, tag.as_str()))
        }
        "reference" => Box::new(Reference::new()),
        // External targets (targets/etcd.toml, targets/redis-sentinel.toml); `--reads follower`
        // or `serializable` gives etcd serializable reads.
        "etcd" => Box::new(faultline_etcd(&cfg.store.reads)?),
        "redis" | "redis-sentinel" => {
            Box::new(crate::target::external::RedisTarget::with_time_origin(origin)?)
        },
        other => bail!(
            "--target: unknown target `{other}` (known: builtin, reference, etcd, redis, or a definition file PATH.toml)"
        ),
    })
}

fn faultline_etcd(reads: &str) -> anyhow::Result<crate::target::external::EtcdTarget> {
    Ok(crate::target::external::EtcdTarget::new(is_serializable(reads))?)
}

/// Runs one resolved config; returns the verdict.
pub fn run_one(cfg: &TestConfig) -> anyhow::Result<Validity> {
    runner::validate(cfg)?;
    let kind: NetKind = cfg.net.parse()?;
    let tag = RunTag::current();
    let origin = monotonic_ns();
    let target = build_target(cfg, origin, &tag)?;
    let (net, note) = net::build(kind, &tag)?;
    let out = runner::run(cfg, target, net, &note, origin)?;
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
        out.dir.display()
    );
    Ok(r.valid)
}

pub fn run(a: Args) -> anyhow::Result<i32> {
    runner::install_ctrlc();
    let base = match &a.replay {
        Some(dir) => runner::rundir::read_config(dir)?,
        None => config(&a)?,
    };
    if a.test_count == 0 {
        bail!("--test-count must be at least 1");
    }
    let mut verdict = Validity::Valid;
    for i in 0..a.test_count {
        let mut cfg = base.clone();
        if i > 0 {
            cfg.seed = base
                .seed
                .wrapping_add(i as u64)
                .wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
        eprintln!("faultline: test {}/{} seed {}", i + 1, a.test_count, cfg.seed);
        verdict = verdict.combine(run_one(&cfg)?);
        if runner::STOP.load(std::sync::atomic::Ordering::SeqCst) {
            break;
        }
    }
    Ok(verdict.exit_code())
}
