//! `faultline bench store`: throughput and latency of a built-in store cluster
//! on loopback (real node processes, blocking clients sending to the leader).
//! Writes only by default; `--reads-ratio` mixes in reads of `--read-mode`
//! (lease vs linearizable), each client drawing its mix from `--seed`.

mod drivers;
mod leaderless;

use super::measure::{cpu_line, cpu_per_op, histogram, line, total_cpu};
use crate::store::admin::AdminClient;
use crate::store::core::{Reads, Replication, Role};
use crate::store::wal::FsyncPolicy;
use crate::store::Topology;
use crate::system::builtin::value_name;
use anyhow::{bail, Context};
use drivers::{Driver, Load};
use hdrhistogram::Histogram;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Arguments of `faultline bench store`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(long, default_value_t = 3)]
    pub nodes: usize,
    #[arg(long, default_value_t = 16)]
    pub clients: usize,
    #[arg(long, default_value_t = 10)]
    pub secs: u64,
    #[arg(long, value_enum, default_value = "batch")]
    pub fsync: FsyncPolicy,
    #[arg(long, value_enum, default_value = "quorum")]
    pub replication: Replication,
    /// Seed of the clients' key and read/write choices.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Fraction of operations that are reads (0 = writes only).
    #[arg(long, default_value_t = 0.0)]
    pub reads_ratio: f64,
    /// How the nodes answer reads (`--reads` of `faultline node`).
    #[arg(long, value_enum, default_value = "linearizable")]
    pub read_mode: Reads,
    /// Drive each client from its own blocking thread instead of all from one event-loop
    /// thread (the default: each client is still one connection with one request
    /// outstanding, but the load generator takes fewer context switches from the cores the
    /// nodes share).
    #[arg(long, conflicts_with = "conns")]
    pub thread_per_client: bool,
    /// Connections the event-loop clients share (default: one per client). Fewer
    /// connections than clients multiplex them, each client still with one request
    /// outstanding, as etcd's `benchmark --clients N --conns M` does.
    #[arg(long)]
    pub conns: Option<usize>,
    /// The store's topology; leaderless clients spread over every node (any node
    /// coordinates) and the bench reports peer messages per op.
    #[arg(long, value_enum, default_value = "single-leader")]
    pub topology: Topology,
    /// Leaderless settings (as `faultline node`); the bench's blind writes default to
    /// `--conflict lww` (under siblings each blind write would add a sibling).
    #[command(flatten)]
    pub leaderless: crate::cli::node::LeaderlessArgs,
}

struct Nodes(Vec<Child>);

impl Drop for Nodes {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The node processes' ids, for their CPU time.
fn pids(nodes: &Nodes) -> Vec<u32> {
    nodes.0.iter().map(|c| c.id()).collect()
}

fn free_addr() -> anyhow::Result<SocketAddr> {
    Ok(crate::util::ports::free_addr()?)
}

/// Waits (20 s at most) for a leader that has committed; returns its index.
fn wait_leader(admin: &[SocketAddr]) -> anyhow::Result<usize> {
    let t = Duration::from_secs(1);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let found = admin.iter().position(|ad| {
            AdminClient::connect(*ad, t)
                .and_then(|mut c| c.status())
                .is_ok_and(|s| s.role == Role::Leader && s.commit_index > 0)
        });
        if let Some(l) = found {
            return Ok(l);
        }
        if Instant::now() > deadline {
            bail!("no leader elected within 20 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn run(a: Args) -> anyhow::Result<i32> {
    if a.nodes == 0 || a.clients == 0 || a.secs == 0 || a.conns == Some(0) {
        bail!("--nodes, --clients, --conns and --secs must be positive");
    }
    if !(0.0..=1.0).contains(&a.reads_ratio) {
        bail!("--reads-ratio must be between 0 and 1 (got {})", a.reads_ratio);
    }
    let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
    let exe = std::env::current_exe().context("cannot find the faultline binary")?;
    let ids: Vec<String> = (1..=a.nodes).map(|i| format!("n{i}")).collect();
    let peer: Vec<SocketAddr> = (0..a.nodes).map(|_| free_addr()).collect::<Result<_, _>>()?;
    let client: Vec<SocketAddr> = (0..a.nodes).map(|_| free_addr()).collect::<Result<_, _>>()?;
    let admin: Vec<SocketAddr> = (0..a.nodes).map(|_| free_addr()).collect::<Result<_, _>>()?;
    let cluster: Vec<String> = ids.iter().zip(&peer).map(|(i, p)| format!("{i}={p}")).collect();
    let mode_args = leaderless::node_args(&a, &ids)?;
    let mut nodes = Nodes(Vec::new());
    for i in 0..a.nodes {
        let child = Command::new(&exe)
            .args(["node", "--id", &ids[i], "--cluster", &cluster.join(",")])
            .args([
                "--listen",
                &peer[i].to_string(),
                "--client",
                &client[i].to_string(),
            ])
            .args(["--admin", &admin[i].to_string()])
            .arg("--data-dir")
            .arg(dir.path().join(&ids[i]))
            .args(["--fsync", &value_name(&a.fsync)])
            .args(&mode_args)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .context("cannot start a node")?;
        nodes.0.push(child);
    }
    let targets = match a.topology {
        Topology::Leaderless => {
            leaderless::wait_ready(&admin)?;
            client.clone()
        }
        Topology::SingleLeader => vec![client[wait_leader(&admin)?]],
    };
    let msgs_before = leaderless::messages_sent(&admin);
    let cpu_before = total_cpu(&pids(&nodes));
    let until = Instant::now() + Duration::from_secs(a.secs);
    let driver = if a.thread_per_client {
        Driver::Threads
    } else {
        Driver::EventLoop {
            conns: a.conns.unwrap_or(a.clients),
        }
    };
    let tallies = driver.run(Load {
        targets: std::sync::Arc::new(targets),
        clients: a.clients,
        seed: a.seed,
        ratio: a.reads_ratio,
        until,
    })?;
    let cpu_after = total_cpu(&pids(&nodes));
    let msgs = leaderless::messages_sent(&admin)
        .zip(msgs_before)
        .map(|(b, a)| b.saturating_sub(a));
    let mut writes = histogram()?;
    let mut reads = histogram()?;
    let mut errors = 0;
    for t in tallies {
        writes.add(t.writes)?;
        reads.add(t.reads)?;
        errors += t.errors;
    }
    let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    let rate = |h: &Histogram<u64>| h.len() as f64 / a.secs as f64;
    println!(
        "store bench: {} {} nodes, {} clients ({}), {} s, replication {}, fsync {}, reads {} ({}), seed {}",
        value_name(&a.topology),
        a.nodes,
        a.clients,
        driver.describe(a.clients),
        a.secs,
        value_name(&a.replication),
        value_name(&a.fsync),
        a.reads_ratio,
        value_name(&a.read_mode),
        a.seed
    );
    println!("{}  errors {}", line("writes", &writes, a.secs), errors);
    if a.reads_ratio > 0.0 {
        println!("{}", line("reads", &reads, a.secs));
    }
    let ops = writes.len() + reads.len();
    let per_op = msgs.map(|m| m as f64 / ops.max(1) as f64);
    if let Some(p) = per_op {
        println!("peer messages per op: {p:.2} ({} sent)", msgs.unwrap_or(0));
    }
    let (cpu, cpu_us_per_op) = cpu_per_op(cpu_before, cpu_after, ops);
    if let Some(l) = cpu_line(cpu, cpu_us_per_op, a.secs) {
        println!("{l}");
    }
    println!(
        "{}",
        serde_json::json!({"writes_per_sec": rate(&writes), "p50_ms": ms(&writes, 0.5),
            "p99_ms": ms(&writes, 0.99), "p999_ms": ms(&writes, 0.999), "ok": writes.len(),
            "reads_per_sec": rate(&reads), "read_p50_ms": ms(&reads, 0.5),
            "read_p99_ms": ms(&reads, 0.99), "reads_ok": reads.len(), "read_mode": value_name(&a.read_mode),
            "errors": errors, "nodes": a.nodes, "clients": a.clients, "seed": a.seed,
            "thread_per_client": a.thread_per_client, "conns": a.conns.unwrap_or(a.clients), "node_cpu_secs": cpu,
            "node_cpu_us_per_op": cpu_us_per_op, "topology": value_name(&a.topology),
            "messages_per_op": per_op})
    );
    Ok(crate::exit::VALID)
}
