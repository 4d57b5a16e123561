//! `faultline bench store`: throughput and latency of a built-in store cluster
//! on loopback (real node processes, blocking clients sending to the leader).
//! Writes only by default; `--reads-ratio` mixes in reads of `--read-mode`
//! (lease vs linearizable), each client drawing its mix from `--seed`.

mod drivers;

use super::measure::{cpu_line, cpu_per_op, histogram, line, total_cpu};
use crate::store::admin::AdminClient;
use crate::store::core::{Reads, Replication, Role};
use crate::store::wal::FsyncPolicy;
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

/// The started cluster: its processes and each node's client and admin address.
struct Started {
    nodes: Nodes,
    client: Vec<SocketAddr>,
    admin: Vec<SocketAddr>,
}

/// Starts `a.nodes` node processes on free loopback ports, data under `dir`.
fn start_nodes(a: &Args, dir: &std::path::Path) -> anyhow::Result<Started> {
    let exe = std::env::current_exe().context("cannot find the faultline binary")?;
    let ids: Vec<String> = (1..=a.nodes).map(|i| format!("n{i}")).collect();
    let peer: Vec<SocketAddr> = (0..a.nodes).map(|_| free_addr()).collect::<Result<_, _>>()?;
    let client: Vec<SocketAddr> = (0..a.nodes).map(|_| free_addr()).collect::<Result<_, _>>()?;
    let admin: Vec<SocketAddr> = (0..a.nodes).map(|_| free_addr()).collect::<Result<_, _>>()?;
    let cluster: Vec<String> = ids.iter().zip(&peer).map(|(i, p)| format!("{i}={p}")).collect();
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
            .arg(dir.join(&ids[i]))
            .args([
                "--fsync",
                &value_name(&a.fsync),
                "--replication",
                &value_name(&a.replication),
                "--reads",
                &value_name(&a.read_mode),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .context("cannot start a node")?;
        nodes.0.push(child);
    }
    Ok(Started { nodes, client, admin })
}

/// The index of the node that leads with a committed entry, waiting up to 20 s.
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
    let Started { nodes, client, admin } = start_nodes(&a, dir.path())?;
    let leader = wait_leader(&admin)?;
    let cpu_before = total_cpu(&pids(&nodes));
    let until = Instant::now() + Duration::from_secs(a.secs);
    let target = client[leader];
    let driver = if a.thread_per_client {
        Driver::Threads
    } else {
        Driver::EventLoop {
            conns: a.conns.unwrap_or(a.clients),
        }
    };
    let tallies = driver.run(Load {
        target,
        clients: a.clients,
        seed: a.seed,
        ratio: a.reads_ratio,
        until,
    })?;
    let cpu_after = total_cpu(&pids(&nodes));
    let mut writes = histogram()?;
    let mut reads = histogram()?;
    let mut errors = 0;
    for t in tallies {
        writes.add(t.writes)?;
        reads.add(t.reads)?;
        errors += t.errors;
    }
    let ops = writes.len() + reads.len();
    let (cpu, cpu_us_per_op) = cpu_per_op(cpu_before, cpu_after, ops);
    print_figures(&a, &driver, &writes, &reads, errors, (cpu, cpu_us_per_op));
    Ok(crate::exit::VALID)
}

/// The human lines and the JSON line of one run.
fn print_figures(
    a: &Args,
    driver: &Driver,
    writes: &Histogram<u64>,
    reads: &Histogram<u64>,
    errors: u64,
    (cpu, cpu_us_per_op): (Option<f64>, Option<f64>),
) {
    let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    let rate = |h: &Histogram<u64>| h.len() as f64 / a.secs as f64;
    println!(
        "store bench: {} nodes, {} clients ({}), {} s, replication {}, fsync {}, reads {} ({}), seed {}",
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
    println!("{}  errors {}", line("writes", writes, a.secs), errors);
    if a.reads_ratio > 0.0 {
        println!("{}", line("reads", reads, a.secs));
    }
    if let Some(l) = cpu_line(cpu, cpu_us_per_op, a.secs) {
        println!("{l}");
    }
    println!(
        "{}",
        serde_json::json!({"writes_per_sec": rate(writes), "p50_ms": ms(writes, 0.5),
            "p99_ms": ms(writes, 0.99), "p999_ms": ms(writes, 0.999), "ok": writes.len(),
            "reads_per_sec": rate(reads), "read_p50_ms": ms(reads, 0.5),
            "read_p99_ms": ms(reads, 0.99), "reads_ok": reads.len(), "read_mode": value_name(&a.read_mode),
            "errors": errors, "nodes": a.nodes, "clients": a.clients, "seed": a.seed,
            "thread_per_client": a.thread_per_client, "conns": a.conns.unwrap_or(a.clients), "node_cpu_secs": cpu,
            "node_cpu_us_per_op": cpu_us_per_op})
    );
}
