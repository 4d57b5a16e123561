//! `faultline bench runner`: recorded ops/s with N clients against a built-in
//! `quorum` cluster without faults, versus the same clients without recording
//! (the recorder's overhead). Phases alternate (plain, recorded, plain,
//! recorded) so drift in the cluster affects both alike.

use crate::client::Client;
use crate::history::OpType;
use crate::net::null::NullNet;
use crate::net::RunTag;
use crate::runner::clients::{complete, Gen};
use crate::runner::phases::{start_cluster, NodeFiles};
use crate::runner::recorder::Recorder;
use crate::runner::Cluster;
use crate::system::builtin::Builtin;
use crate::system::{BuiltinModes, Target};
use crate::util::clock::monotonic_ns;
use crate::workload::WorkloadKind;
use anyhow::Context;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Arguments of `faultline bench runner`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(long, default_value_t = 3)]
    pub nodes: usize,
    #[arg(long, default_value_t = 16)]
    pub clients: usize,
    /// Seconds per phase (four phases).
    #[arg(long, default_value_t = 5)]
    pub secs: u64,
    #[arg(long, value_enum, default_value_t = WorkloadKind::Register)]
    pub workload: WorkloadKind,
}

fn phase(target: &dyn Target, nodes: &[String], a: &Args, rec: Option<&Recorder>) -> anyhow::Result<f64> {
    let mut wl = a.workload.build();
    let info = wl.info();
    let gen = Mutex::new(Gen::new(&mut *wl, 1));
    let count = AtomicU64::new(0);
    let deadline = Instant::now() + Duration::from_secs(a.secs);
    let start = Instant::now();
    std::thread::scope(|s| {
        for i in 0..a.clients {
            let (gen, count, info) = (&gen, &count, &info);
            let node = &nodes[i % nodes.len()];
            s.spawn(move || {
                let mut process = i as u64;
                let mut client: Option<Box<dyn Client>> = None;
                while Instant::now() < deadline {
                    let Some(op) = gen.lock().unwrap_or_else(|e| e.into_inner()).next(process) else {
                        break; // no budget is set here: never
                    };
                    let inv = match rec {
                        Some(r) => r.record(op),
                        None => op,
                    };
                    if client.is_none() {
                        client = target.client(node, info).ok();
                    }
                    let Some(c) = client.as_mut() else { continue };
                    let done = c.invoke(&inv, Duration::from_secs(1));
                    let ty = done.ty;
                    let comp = complete(&inv, done);
                    if let Some(r) = rec {
                        r.record(comp);
                    }
                    if ty == OpType::Ok {
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                    if ty == OpType::Info {
                        process += a.clients as u64;
                        client = None;
                    }
                }
            });
        }
    });
    Ok(count.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64())
}

pub fn run(a: Args) -> anyhow::Result<i32> {
    anyhow::ensure!(
        a.nodes > 0 && a.clients > 0 && a.secs > 0,
        "nodes, clients and secs must be positive"
    );
    let dir = tempfile::tempdir().context("temp dir")?;
    let origin = monotonic_ns();
    let tag = RunTag::current();
    let bin = std::env::current_exe().context("locating faultline")?;
    let target = Builtin::new(bin, BuiltinModes::default(), origin, tag.as_str());
    let mut cluster = Cluster {
        target: Box::new(target),
        net: Box::new(NullNet::default()),
    };
    let nodes: Vec<String> = (1..=a.nodes).map(|i| format!("n{i}")).collect();
    let files = |id: &str| NodeFiles {
        data_dir: dir.path().join(id),
        log: dir.path().join(format!("{id}.log")),
    };
    start_cluster(&mut cluster, &nodes, files, None)?;
    // The cluster guard tears the nodes down on every return below, error or not.
    let target = &*cluster.target;
    let (mut plain, mut recorded) = (Vec::new(), Vec::new());
    for round in 0..2 {
        plain.push(phase(target, &nodes, &a, None)?);
        let rec = Recorder::new(Some(&dir.path().join(format!("h{round}.jsonl"))), origin)?;
        recorded.push(phase(target, &nodes, &a, Some(&rec))?);
    }
    let avg = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (p, r) = (avg(&plain), avg(&recorded));
    println!(
        "runner bench: {} clients, {} nodes quorum, workload {}, {} s x 4 phases",
        a.clients, a.nodes, a.workload, a.secs
    );
    println!("  without recording: {p:.0} ok ops/s  (phases {plain:.0?})");
    println!("  with recording:    {r:.0} ok ops/s  (phases {recorded:.0?})");
    println!("  recording overhead: {:.1}%", (1.0 - r / p) * 100.0);
    Ok(0)
}
