//! `faultline bench store`: throughput and latency of a built-in store cluster
//! on loopback (real node processes, blocking clients writing to the leader).

use crate::store::admin::AdminClient;
use crate::store::core::{Replication, Role};
use crate::store::ops::{ClientOp, Outcome, Request};
use crate::store::wal::FsyncPolicy;
use crate::store::StoreClient;
use anyhow::{bail, Context};
use clap::ValueEnum;
use hdrhistogram::Histogram;
use std::net::{SocketAddr, TcpListener};
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

fn free_addr() -> anyhow::Result<SocketAddr> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

fn value_name<T: ValueEnum>(v: T) -> String {
    v.to_possible_value()
        .map(|p| p.get_name().to_string())
        .unwrap_or_default()
}

pub fn run(a: Args) -> anyhow::Result<i32> {
    if a.nodes == 0 || a.clients == 0 || a.secs == 0 {
        bail!("--nodes, --clients and --secs must be positive");
    }
    let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
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
            .arg(dir.path().join(&ids[i]))
            .args([
                "--fsync",
                &value_name(a.fsync),
                "--replication",
                &value_name(a.replication),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .context("cannot start a node")?;
        nodes.0.push(child);
    }
    let t = Duration::from_secs(1);
    let deadline = Instant::now() + Duration::from_secs(20);
    let leader = loop {
        let found = admin.iter().position(|ad| {
            AdminClient::connect(*ad, t)
                .and_then(|mut c| c.status())
                .is_ok_and(|s| s.role == Role::Leader && s.commit_index > 0)
        });
        if let Some(l) = found {
            break l;
        }
        if Instant::now() > deadline {
            bail!("no leader elected within 20 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let until = Instant::now() + Duration::from_secs(a.secs);
    let target = client[leader];
    let workers: Vec<_> = (0..a.clients)
        .map(|w| {
            std::thread::spawn(move || -> anyhow::Result<(Histogram<u64>, u64)> {
                let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
                let mut c = StoreClient::connect(target, t)?;
                let mut errors = 0u64;
                let mut i = 0u64;
                while Instant::now() < until {
                    let op = ClientOp::Write {
                        key: serde_json::json!(format!("k{}", (w as u64 * 7919 + i) % 1000)),
                        value: serde_json::json!(i),
                    };
                    let start = Instant::now();
                    match c.request(&Request { id: 0, op }, Duration::from_secs(5)) {
                        Ok(r) if matches!(r.outcome, Outcome::Ok { .. }) => {
                            h.record(start.elapsed().as_micros().max(1) as u64)?;
                        }
                        _ => errors += 1,
                    }
                    i += 1;
                }
                Ok((h, errors))
            })
        })
        .collect();
    let mut all = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let mut errors = 0;
    for w in workers {
        let (h, e) = w
            .join()
            .map_err(|_| anyhow::anyhow!("a client thread panicked"))??;
        all.add(h)?;
        errors += e;
    }
    let ok = all.len();
    let rate = ok as f64 / a.secs as f64;
    let ms = |q: f64| all.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "store bench: {} nodes, {} clients, {} s, replication {}, fsync {}",
        a.nodes,
        a.clients,
        a.secs,
        value_name(a.replication),
        value_name(a.fsync)
    );
    println!(
        "writes/s {:.0}  p50 {:.2} ms  p99 {:.2} ms  p99.9 {:.2} ms  max {:.2} ms  errors {}",
        rate,
        ms(0.5),
        ms(0.99),
        ms(0.999),
        all.max() as f64 / 1000.0,
        errors
    );
    println!(
        "{}",
        serde_json::json!({"writes_per_sec": rate, "p50_ms": ms(0.5), "p99_ms": ms(0.99),
            "p999_ms": ms(0.999), "ok": ok, "errors": errors, "nodes": a.nodes, "clients": a.clients})
    );
    Ok(crate::exit::VALID)
}
