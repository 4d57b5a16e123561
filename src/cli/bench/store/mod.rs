//! `faultline bench store`: throughput and latency of a built-in store cluster
//! on loopback (real node processes; clients send to the leader, or to every
//! node under `--topology leaderless`). Each client has one request in flight
//! unless `--in-flight` says more (pipelined on its connection, answers
//! matched by id); the output says which. Writes only by default;
//! `--reads-ratio` mixes in reads of `--read-mode` (lease vs linearizable),
//! each client drawing its mix from `--seed`.

mod drivers;
mod leaderless;
mod sharded;

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
    /// Node processes (default: 3 single-leader, 5 leaderless).
    #[arg(long)]
    pub nodes: Option<usize>,
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
    /// Requests each client keeps outstanding on its connection (answers are matched
    /// by id; 1 = a closed loop, one request at a time). Default 4 for the leaderless
    /// topology's event-loop clients (its figure is for pipelined clients), else 1.
    #[arg(long, conflicts_with_all = ["conns", "thread_per_client"])]
    pub in_flight: Option<usize>,
    /// The store's topology; leaderless clients spread over every node (any node
    /// coordinates) and the bench reports peer messages per op.
    #[arg(long, value_enum, default_value = "single-leader")]
    pub topology: Topology,
    /// Leaderless settings (as `faultline node`); the bench's blind writes default to
    /// `--conflict lww` (under siblings each blind write would add a sibling).
    #[command(flatten)]
    pub leaderless: crate::cli::node::LeaderlessArgs,
    /// Sharded: K single-leader groups of `--nodes` each behind one `faultline router`
    /// process that every client talks to (`--shards 1` against no `--shards`: what the
    /// router's hop costs; `--shards 3` against `--shards 1`: what more groups bring).
    #[arg(long)]
    pub shards: Option<usize>,
    /// Which group owns a key under `--shards` (as `faultline test --partitioner`).
    #[arg(long, value_enum, default_value = "hash", requires = "shards")]
    pub partitioner: crate::store::shard::PartitionerKind,
}

impl Args {
    /// The node count: `--nodes`, else the topology's default (the issue's
    /// leaderless figure is for 5 nodes, N=3).
    fn node_count(&self) -> usize {
        self.nodes.unwrap_or(match self.topology {
            Topology::Leaderless => 5,
            Topology::SingleLeader | Topology::MultiLeader => 3,
        })
    }

    /// Requests each client keeps outstanding: `--in-flight`, else 4 for
    /// leaderless clients on a connection each (one request per client
    /// waits out a replica's disk sync on every write, so 16 clients stay
    /// below 16 / sync time whatever the nodes do), else 1.
    fn depth(&self) -> usize {
        let pipelined =
            self.topology == Topology::Leaderless && !self.thread_per_client && self.conns.is_none();
        self.in_flight.unwrap_or(if pipelined { 4 } else { 1 })
    }
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

/// The started cluster: its processes and each node's client and admin address.
struct Started {
    nodes: Nodes,
    client: Vec<SocketAddr>,
    admin: Vec<SocketAddr>,
    /// The router's client address under `--shards`.
    router: Option<SocketAddr>,
}

/// Starts `a.node_count()` node processes on free loopback ports, data under `dir`
/// (under `--shards`, that many groups and their router).
fn start_nodes(a: &Args, dir: &std::path::Path) -> anyhow::Result<Started> {
    if a.shards.is_some() {
        return sharded::start(a, dir);
    }
    let ids: Vec<String> = (1..=a.node_count()).map(|i| format!("n{i}")).collect();
    let mut nodes = Nodes(Vec::new());
    let (client, admin) = spawn_group(a, dir, &ids, &mut nodes)?;
    Ok(Started {
        nodes,
        client,
        admin,
        router: None,
    })
}

/// Starts one cluster of node processes named `ids` (pushed onto `nodes`);
/// returns their client and admin addresses.
fn spawn_group(
    a: &Args,
    dir: &std::path::Path,
    ids: &[String],
    nodes: &mut Nodes,
) -> anyhow::Result<(Vec<SocketAddr>, Vec<SocketAddr>)> {
    let exe = std::env::current_exe().context("cannot find the faultline binary")?;
    let count = ids.len();
    // Reserved together, so no port is drawn twice (a node that cannot bind
    // its port never answers, and the bench fails waiting for it).
    let ports = crate::util::ports::free_ports(3 * count)?;
    let addr = |p: u16| SocketAddr::from(([127, 0, 0, 1], p));
    let peer: Vec<SocketAddr> = ports[..count].iter().map(|&p| addr(p)).collect();
    let client: Vec<SocketAddr> = ports[count..2 * count].iter().map(|&p| addr(p)).collect();
    let admin: Vec<SocketAddr> = ports[2 * count..].iter().map(|&p| addr(p)).collect();
    let cluster: Vec<String> = ids.iter().zip(&peer).map(|(i, p)| format!("{i}={p}")).collect();
    let mode_args = leaderless::node_args(a, ids)?;
    for i in 0..count {
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
            .args(["--fsync", &value_name(&a.fsync)])
            .args(&mode_args)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .context("cannot start a node")?;
        nodes.0.push(child);
    }
    Ok((client, admin))
}

/// Waits (20 s at most) for a leader that has committed; returns its index.
pub(super) fn wait_leader(admin: &[SocketAddr]) -> anyhow::Result<usize> {
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

/// The addresses clients write to: every node when leaderless, else the leader once elected.
fn wait_targets(a: &Args, started: &Started) -> anyhow::Result<Vec<SocketAddr>> {
    if let Some(router) = started.router {
        return sharded::wait(a, started, router);
    }
    Ok(match a.topology {
        Topology::Leaderless => {
            leaderless::wait_ready(&started.admin)?;
            started.client.clone()
        }
        Topology::SingleLeader => vec![started.client[wait_leader(&started.admin)?]],
        Topology::MultiLeader => anyhow::bail!("bench store does not run --topology multi-leader"),
    })
}

/// What one run measured, for [`print_figures`].
struct Figures {
    writes: Histogram<u64>,
    reads: Histogram<u64>,
    errors: u64,
    /// Peer messages sent during the run (leaderless nodes count them).
    msgs: Option<u64>,
    cpu: Option<f64>,
    cpu_us_per_op: Option<f64>,
}

pub fn run(a: Args) -> anyhow::Result<i32> {
    if a.node_count() == 0 || a.clients == 0 || a.secs == 0 || a.conns == Some(0) || a.depth() == 0 {
        bail!("--nodes, --clients, --conns, --in-flight and --secs must be positive");
    }
    if !(0.0..=1.0).contains(&a.reads_ratio) {
        bail!("--reads-ratio must be between 0 and 1 (got {})", a.reads_ratio);
    }
    sharded::check(&a)?;
    let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
    let started = start_nodes(&a, dir.path())?;
    let targets = wait_targets(&a, &started)?;
    let msgs_before = leaderless::messages_sent(&started.admin);
    let cpu_before = total_cpu(&pids(&started.nodes));
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
        depth: a.depth(),
    })?;
    let cpu_after = total_cpu(&pids(&started.nodes));
    let msgs = leaderless::messages_sent(&started.admin)
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
    let ops = writes.len() + reads.len();
    let (cpu, cpu_us_per_op) = cpu_per_op(cpu_before, cpu_after, ops);
    let figures = Figures {
        writes,
        reads,
        errors,
        msgs,
        cpu,
        cpu_us_per_op,
    };
    print_figures(&a, &driver, &figures);
    Ok(crate::exit::VALID)
}

/// The human lines and the JSON line of one run.
fn print_figures(a: &Args, driver: &Driver, f: &Figures) {
    let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    let rate = |h: &Histogram<u64>| h.len() as f64 / a.secs as f64;
    let (writes, reads) = (&f.writes, &f.reads);
    let shards = a
        .shards
        .map(|k| format!(" x {k} groups behind a router ({})", value_name(&a.partitioner)))
        .unwrap_or_default();
    println!(
        "store bench: {} {} nodes{shards}, {} clients ({}), {} s, replication {}, fsync {}, reads {} ({}), seed {}",
        value_name(&a.topology),
        a.node_count(),
        a.clients,
        driver.describe(a.clients, a.depth()),
        a.secs,
        value_name(&a.replication),
        value_name(&a.fsync),
        a.reads_ratio,
        value_name(&a.read_mode),
        a.seed
    );
    println!("{}  errors {}", line("writes", writes, a.secs), f.errors);
    if a.reads_ratio > 0.0 {
        println!("{}", line("reads", reads, a.secs));
    }
    let ops = writes.len() + reads.len();
    let per_op = f.msgs.map(|m| m as f64 / ops.max(1) as f64);
    if let Some(p) = per_op {
        println!(
            "peer messages per op: {p:.2} ({} sent: requests and their acknowledgements/replies)",
            f.msgs.unwrap_or(0)
        );
    }
    if let Some(l) = cpu_line(f.cpu, f.cpu_us_per_op, a.secs) {
        println!("{l}");
    }
    println!(
        "{}",
        serde_json::json!({"writes_per_sec": rate(writes), "p50_ms": ms(writes, 0.5),
            "p99_ms": ms(writes, 0.99), "p999_ms": ms(writes, 0.999), "ok": writes.len(),
            "reads_per_sec": rate(reads), "read_p50_ms": ms(reads, 0.5),
            "read_p99_ms": ms(reads, 0.99), "reads_ok": reads.len(), "read_mode": value_name(&a.read_mode),
            "errors": f.errors, "nodes": a.node_count(), "clients": a.clients, "in_flight": a.depth(), "seed": a.seed,
            "thread_per_client": a.thread_per_client, "conns": a.conns.unwrap_or(a.clients), "node_cpu_secs": f.cpu,
            "node_cpu_us_per_op": f.cpu_us_per_op, "topology": value_name(&a.topology),
            "shards": a.shards, "partitioner": a.shards.map(|_| value_name(&a.partitioner)),
            "messages_per_op": per_op})
    );
}
