//! `faultline bench etcd`: the comparison figure for `bench store`. The same
//! closed-loop writes (keys `k0..k999`, small values, one request outstanding
//! per client, to the leader) against a real etcd cluster on this machine,
//! started from `targets/etcd.toml` by the harness's own etcd code and measured
//! and printed the way `bench store` is, so the two JSON lines compare field
//! for field.
//!
//! Clients speak etcd's JSON gateway (the test adapter's put encoding and HTTP
//! parser), each over its own keep-alive HTTP/1.1 connection from its own
//! thread. The gateway costs etcd some HTTP and JSON work that gRPC clients
//! (etcd's own `benchmark` tool) do not; the member CPU per operation includes it.

use super::measure::{cpu_line, cpu_per_op, histogram, line, total_cpu};
use crate::runner::{install_ctrlc, STOP};
use crate::system::etcd::{http, put_body, EtcdCluster};
use crate::system::external::check_binary;
use anyhow::{anyhow, bail, Context};
use hdrhistogram::Histogram;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Arguments of `faultline bench etcd`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// etcd members.
    #[arg(long, default_value_t = 3)]
    pub nodes: usize,
    #[arg(long, default_value_t = 16)]
    pub clients: usize,
    #[arg(long, default_value_t = 10)]
    pub secs: u64,
    /// Seed of the clients' key choices.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// One client's results.
struct Tally {
    writes: Histogram<u64>,
    errors: u64,
    /// The first failure, printed so that a run with errors says why.
    first_error: Option<String>,
}

impl Tally {
    fn error(&mut self, why: String) {
        self.errors += 1;
        self.first_error.get_or_insert(why);
    }
}

/// The version `etcd --version` prints on its first line (`etcd Version: 3.4.23`).
fn version(etcd: &Path) -> anyhow::Result<String> {
    let out = std::process::Command::new(etcd)
        .arg("--version")
        .output()
        .with_context(|| format!("cannot run `{} --version`", etcd.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("etcd Version:"))
        .map(|v| v.trim().to_string())
        .ok_or_else(|| anyhow!("`{} --version` printed no version: {text}", etcd.display()))
}

/// Whether the run should end: its time is up, or Ctrl-C asked to stop.
fn over(until: Instant) -> bool {
    Instant::now() >= until || STOP.load(Ordering::SeqCst)
}

/// Client `w`: puts until `until` on its own keep-alive connection to `addr`.
/// Failed puts are counted, not fatal (the connection is then opened afresh),
/// as `bench store` counts its clients' failed writes.
fn client(addr: SocketAddr, w: usize, seed: u64, until: Instant) -> anyhow::Result<Tally> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ (w as u64).wrapping_mul(0x9e37_79b9));
    let mut tally = Tally {
        writes: histogram()?,
        errors: 0,
        first_error: None,
    };
    let t = Duration::from_secs(5);
    let mut conn = Some(http::Conn::connect(addr, Instant::now() + t)?);
    let mut i = 0u64;
    while !over(until) {
        i += 1;
        let key = format!("k{}", rng.gen_range(0..1000u32));
        let body = serde_json::to_vec(&put_body(&key, &serde_json::json!(i)))?;
        let start = Instant::now();
        let deadline = start + t;
        let sent = match conn.take() {
            Some(c) => Ok(c),
            None => http::Conn::connect(addr, deadline),
        }
        .and_then(|mut c| {
            let r = c.request("POST", "/v3/kv/put", &body, deadline)?;
            conn = Some(c);
            Ok(r)
        });
        match sent {
            Ok(r) if r.status == 200 => tally.writes.record(start.elapsed().as_micros().max(1) as u64)?,
            Ok(r) => tally.error(format!("HTTP {}: {}", r.status, String::from_utf8_lossy(&r.body))),
            Err(e) => {
                tally.error(e.to_string());
                // Not a hot loop against a member that refuses connections.
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
    Ok(tally)
}

/// Polls until the members agree on a leader (bounded; Ctrl-C ends it).
fn wait_leader(cluster: &EtcdCluster) -> anyhow::Result<String> {
    let limit = Duration::from_secs(20);
    let until = Instant::now() + limit;
    loop {
        if let Some(l) = cluster.leader(Duration::from_secs(1)) {
            return Ok(l);
        }
        if over(until) {
            bail!("no etcd leader within {limit:?} (or interrupted)");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn run(a: Args) -> anyhow::Result<i32> {
    if a.nodes == 0 || a.clients == 0 || a.secs == 0 {
        bail!("--nodes, --clients and --secs must be positive");
    }
    let (mut def, def_path) = crate::system::etcd::definition()?;
    // Before anything is started: a missing etcd is the clear "install it" error.
    let etcd = check_binary("etcd", &def.install)?;
    let version = version(&etcd)?;
    def.nodes = a.nodes;
    // Ctrl-C ends the run early, but still through the teardown below (members run in
    // their own process groups, so the terminal's SIGINT would not reach them).
    install_ctrlc();
    // Declared before the cluster so that it is removed after the members are killed.
    let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
    // Dropping the cluster kills every member: an error return leaves no etcd behind.
    let cluster = EtcdCluster::start_local(def, &def_path, dir.path())?;
    let leader = wait_leader(&cluster)?;
    let target = cluster.spec(&leader)?.client_dial;
    let pids: Vec<u32> = cluster
        .nodes()
        .iter()
        .map(|n| cluster.pid(n))
        .collect::<Option<_>>()
        .context("an etcd member has no process")?;
    let cpu_before = total_cpu(&pids);
    let until = Instant::now() + Duration::from_secs(a.secs);
    let workers: Vec<_> = (0..a.clients)
        .map(|w| {
            let seed = a.seed;
            std::thread::spawn(move || client(target, w, seed, until))
        })
        .collect();
    let tallies: Vec<anyhow::Result<Tally>> = workers
        .into_iter()
        .map(|w| {
            w.join()
                .unwrap_or_else(|_| Err(anyhow!("a client thread panicked")))
        })
        .collect();
    let cpu_after = total_cpu(&pids);
    cluster.teardown();
    if STOP.load(Ordering::SeqCst) {
        bail!("interrupted; the etcd members were stopped");
    }
    let mut writes = histogram()?;
    let mut errors = 0;
    let mut first_error = None;
    for t in tallies {
        let t = t?;
        writes.add(t.writes)?;
        errors += t.errors;
        first_error = first_error.or(t.first_error);
    }
    println!(
        "etcd bench: etcd {version}, {} members, {} clients (a thread and a keep-alive HTTP/1.1 \
         connection each, JSON gateway), puts to the leader ({leader}), {} s, seed {}",
        a.nodes, a.clients, a.secs, a.seed
    );
    println!("{}  errors {}", line("writes", &writes, a.secs), errors);
    if let Some(e) = first_error {
        eprintln!("first error: {e}");
    }
    let (cpu, cpu_us_per_op) = cpu_per_op(cpu_before, cpu_after, writes.len());
    if let Some(l) = cpu_line(cpu, cpu_us_per_op, a.secs) {
        println!("{l}");
    }
    let ms = |q: f64| writes.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "{}",
        serde_json::json!({"system": "etcd", "etcd_version": version,
            "writes_per_sec": writes.len() as f64 / a.secs as f64, "p50_ms": ms(0.5),
            "p99_ms": ms(0.99), "p999_ms": ms(0.999), "ok": writes.len(), "errors": errors,
            "nodes": a.nodes, "clients": a.clients, "seed": a.seed, "target": "leader",
            "node_cpu_secs": cpu, "node_cpu_us_per_op": cpu_us_per_op})
    );
    Ok(crate::exit::VALID)
}
