//! `faultline model-check`: every interleaving of a small single-leader
//! cluster's messages, client ops and a bounded set of faults (stateright).
//! Exit 0: no violation in the bounded space; 1: a counterexample (printed as
//! a step list and as a faultline history); 3: bad flags.

use crate::exit;
use crate::history::{jsonl, History};
use crate::modelcheck::{check, Report, Settings, Violation};
use crate::store::core::{Reads, Replication};
use anyhow::Context;

/// Arguments of `faultline model-check`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// When a write is acknowledged (`async` is unsafe: a failover loses acknowledged writes).
    #[arg(long, value_enum, default_value = "quorum")]
    pub replication: Replication,
    /// Who answers reads (`leader` is unsafe: a deposed leader answers stale).
    #[arg(long, value_enum, default_value = "linearizable")]
    pub reads: Reads,
    /// Nodes in the cluster (1 to 5; n1 starts as the leader of term 1).
    #[arg(long, default_value_t = 3)]
    pub nodes: usize,
    /// Concurrent clients (1 to 4).
    #[arg(long, default_value_t = 2)]
    pub clients: usize,
    /// Ops per client (1 to 6): even ones write a unique value, odd ones read.
    #[arg(long, default_value_t = 2)]
    pub ops: usize,
    /// Node crashes the search may inject (each crashed node may restart).
    #[arg(long, default_value_t = 1)]
    pub crashes: u8,
    /// Election timeouts that may fire (each jumps the clock past every deadline).
    #[arg(long, default_value_t = 1)]
    pub timeouts: u8,
    /// Partitions (one node cut off from the rest, healed by a later step).
    #[arg(long, default_value_t = 1)]
    pub partitions: u8,
    /// Faults of all kinds together (each also within its own kind's limit). Two faults
    /// multiply the space many times over: add --depth.
    #[arg(long, default_value_t = 1)]
    pub faults: u8,
    /// Explore at most this many steps from the start (default: the whole bounded space).
    #[arg(long)]
    pub depth: Option<usize>,
    /// Checker threads (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Explore states that differ only by a renaming of nodes separately (slower;
    /// to cross-check the symmetry reduction).
    #[arg(long)]
    pub no_symmetry: bool,
    /// Explore every order of deliveries, also where one commutes with all else (slower;
    /// to cross-check the partial-order reduction).
    #[arg(long)]
    pub no_por: bool,
    /// Write a counterexample's history (JSON Lines, for `faultline check`) to this
    /// file instead of printing it after the steps.
    #[arg(long, value_name = "FILE")]
    pub history: Option<std::path::PathBuf>,
}

pub fn run(a: Args) -> anyhow::Result<i32> {
    let settings = Settings {
        nodes: a.nodes,
        clients: a.clients,
        ops: a.ops,
        replication: a.replication,
        reads: a.reads,
        crashes: a.crashes,
        timeouts: a.timeouts,
        partitions: a.partitions,
        faults: a.faults,
        depth: a.depth,
        threads: a
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from)),
        symmetry: !a.no_symmetry,
        por: !a.no_por,
    };
    settings.validate()?;
    if let Some(path) = &a.history {
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
        if dir.is_some_and(|d| !d.is_dir()) {
            anyhow::bail!("--history {}: its directory does not exist", path.display());
        }
    }
    println!(
        "model-check: {} nodes, replication {:?}, reads {:?}, {} clients x {} ops; faults at most: {} in all, {} crash(es), {} timeout(s), {} partition(s){}",
        a.nodes,
        a.replication,
        a.reads,
        a.clients,
        a.ops,
        a.faults,
        a.crashes,
        a.timeouts,
        a.partitions,
        a.depth.map(|d| format!("; depth {d}")).unwrap_or_default()
    );
    println!(
        "threads: {}, symmetry reduction: {}, partial-order reduction: {}",
        settings.threads,
        settings.symmetric(),
        settings.por
    );
    let report = check(settings)?;
    print_counts(&report);
    match &report.violation {
        None => {
            match a.depth {
                Some(d) if report.max_depth >= d => {
                    println!("no violation up to depth {d} (the space goes deeper)")
                }
                _ => println!("no violation in the bounded space"),
            }
            if !report.write_acknowledged {
                println!("warning: no explored state acknowledged a write");
            }
            Ok(exit::VALID)
        }
        Some(v) => {
            println!(
                "violation: {} ({} steps from n1 leading term 1)",
                v.property,
                v.steps.len()
            );
            for (i, s) in v.steps.iter().enumerate() {
                println!("{:>3}. {s}", i + 1);
            }
            print_history(v, a.history.as_deref())?;
            Ok(exit::INVALID)
        }
    }
}

fn print_counts(r: &Report) {
    println!(
        "states explored: {}, unique states: {}, max depth: {}, time: {:.2} s ({:.0} states/s)",
        r.states,
        r.unique_states,
        r.max_depth,
        r.elapsed.as_secs_f64(),
        r.states as f64 / r.elapsed.as_secs_f64().max(1e-9)
    );
}

/// The counterexample as a history: into `path`, or printed.
fn print_history(v: &Violation, path: Option<&std::path::Path>) -> anyhow::Result<()> {
    let h = History::new(v.history.clone());
    match path {
        Some(p) => {
            jsonl::write_file(&h, p).with_context(|| format!("--history {}", p.display()))?;
            println!(
                "history ({} ops) written to {}: `faultline check {}` explains it",
                h.len(),
                p.display(),
                p.display()
            );
        }
        None => {
            println!(
                "history ({} ops; `--history FILE` writes it for `faultline check`):",
                h.len()
            );
            let mut out = Vec::new();
            jsonl::write(&h, &mut out)?;
            print!("{}", String::from_utf8_lossy(&out));
        }
    }
    Ok(())
}
