//! The phases of one test, in the order [`super::run`] calls them: open the run
//! directory, start the cluster, the client phase (clients and nemesis, which heals
//! everything at its end), recover, final reads, tear down, check, save.
//!
//! Each phase is one function so that `run` reads as the list above; [`start_cluster`]
//! is shared with `faultline bench runner`, which starts a cluster the same way.

use super::progress::Progress;
use super::recorder::Recorder;
use super::{
    check, cleanup, clients, io, nemesis_loop, placed, results_of, wait_healthy, write_config,
    write_report_hook, write_results, Cluster, RunnerError, TestConfig, STOP,
};
use crate::history::NodeEvents;
use crate::net::{Layout, NetBackend};
use crate::report::RunResults;
use crate::rundir::RunDir;
use crate::system::{NodeCtx, Target, WorkloadInfo};
use crate::workload::Workload;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where one node keeps its data and writes its log.
pub struct NodeFiles {
    pub data_dir: PathBuf,
    pub log: PathBuf,
}

/// Removes leftovers of dead runs, creates the run directory and writes its test.toml;
/// says where the run goes on the progress output.
pub fn open_run_dir(cfg: &TestConfig, net_note: &str, prog: &Progress) -> Result<RunDir, RunnerError> {
    let stale = cleanup::clean(cleanup::Scope::Stale);
    let dir = RunDir::create(&cfg.store_dir, &cfg.name).map_err(|e| RunnerError::Io {
        context: "creating the run directory".into(),
        source: std::io::Error::new(e.source.kind(), e.to_string()),
    })?;
    write_config(&dir, cfg)?;
    prog.line(&format!("run directory {}", dir.path().display()));
    prog.line(&format!("seed {}  net {}", cfg.seed, net_note));
    if !stale.processes.is_empty() || !stale.namespaces.is_empty() {
        prog.line(&format!("removed leftovers of earlier runs: {stale:?}"));
    }
    Ok(dir)
}

/// Start cluster: places `nodes` in the network, creates their data directories, sets
/// the target up, starts every node and waits (the target's health timeout) until all
/// answer. On error the caller's [`Cluster`] guard tears down what was started.
pub fn start_cluster(
    cluster: &mut Cluster,
    nodes: &[String],
    files: impl Fn(&str) -> NodeFiles,
    prog: Option<&Progress>,
) -> Result<(), RunnerError> {
    let ports = cluster.target.ports();
    let nets = cluster.net.setup(&Layout {
        nodes: nodes.to_vec(),
        ports: ports.names.clone(),
        peer: ports.peer.clone(),
    })?;
    let mut ctxs = Vec::new();
    for n in nets {
        let NodeFiles { data_dir, log } = files(&n.id);
        std::fs::create_dir_all(&data_dir).map_err(io(format!("creating {}", data_dir.display())))?;
        ctxs.push(NodeCtx {
            id: n.id.clone(),
            log,
            data_dir,
            net: n,
        });
    }
    cluster.target.setup(ctxs)?;
    // Dormant nodes (groups reserved for adds) are placed above but start later.
    let live: Vec<String> = nodes
        .iter()
        .filter(|n| !cluster.target.dormant(n))
        .cloned()
        .collect();
    for n in &live {
        cluster.target.start(n)?;
    }
    if let Some(p) = prog {
        p.line(&format!(
            "started {} nodes of {}{}",
            live.len(),
            cluster.target.name(),
            match nodes.len() - live.len() {
                0 => String::new(),
                d => format!(" ({d} placed for adds, started when added)"),
            }
        ));
    }
    let limit = cluster.target.health_timeout();
    wait_healthy(&*cluster.target, &*cluster.net, &live, limit)?;
    if let Some(p) = prog {
        p.line("cluster healthy");
    }
    Ok(())
}

/// Lets the target prepare for the workload (create keys, tables) from the client network.
pub fn prepare(cluster: &Cluster, info: &WorkloadInfo) -> Result<(), RunnerError> {
    let (target, net) = (&*cluster.target, &*cluster.net);
    placed(net, || target.prepare(info))??;
    Ok(())
}

/// How the client phase ended.
pub struct ClientPhase {
    pub duration_ms: f64,
    /// Stopped by Ctrl-C before its time limit.
    pub interrupted: bool,
}

/// Client phase: `cfg.concurrency` clients and the nemesis (its seeded schedule) for the
/// time limit or until a stop; the nemesis heals every fault it injected before this
/// returns. Every op goes through `rec`.
pub fn client_phase(
    cfg: &TestConfig,
    cluster: &Cluster,
    nodes: &[String],
    wl: &mut dyn Workload,
    info: &WorkloadInfo,
    rec: &Recorder,
    prog: &Progress,
) -> ClientPhase {
    let limit = cfg.time_limit.duration();
    let steps = cfg.schedule(nodes.len());
    let t0 = Instant::now();
    let deadline = t0 + limit;
    let target: &dyn Target = &*cluster.target;
    let net: &dyn NetBackend = &*cluster.net;
    let gen = std::sync::Mutex::new(clients::Gen::new(wl, cfg.seed).with_budget(cfg.ops));
    std::thread::scope(|s| {
        for i in 0..cfg.concurrency {
            let gen = &gen;
            s.spawn(move || {
                clients::client_loop(clients::ClientCtx {
                    index: i,
                    concurrency: cfg.concurrency,
                    seed: cfg.seed,
                    rate: cfg.rate,
                    deadline,
                    timeout: Duration::from_millis(cfg.op_timeout_ms()),
                    node: &nodes[i % nodes.len()],
                    target,
                    net,
                    gen,
                    rec,
                    info,
                    stop: &STOP,
                })
            });
        }
        let steps = &steps;
        s.spawn(move || nemesis_loop(target, net, nodes, steps, t0, deadline, rec));
        prog.client_phase(rec, deadline, &STOP);
    });
    let phase = ClientPhase {
        duration_ms: t0.elapsed().as_secs_f64() * 1000.0,
        interrupted: STOP.load(Ordering::SeqCst),
    };
    prog.line(&format!(
        "client phase done: {} ops in {:.1} s{}",
        rec.len(),
        phase.duration_ms / 1000.0,
        if phase.interrupted { " (interrupted)" } else { "" }
    ));
    phase
}

/// Recover: the faults are healed; give the cluster the configured time to converge.
pub fn recover(cfg: &TestConfig) {
    std::thread::sleep(cfg.recovery.duration());
}

/// Final reads: the workload's final ops (if any), each retried until it succeeds, on
/// processes numbered after every client's.
pub fn final_reads(
    cfg: &TestConfig,
    cluster: &Cluster,
    nodes: &[String],
    wl: &dyn Workload,
    info: &WorkloadInfo,
    rec: &Recorder,
) -> Result<(), RunnerError> {
    let finals = wl.final_ops();
    if finals.is_empty() {
        return Ok(());
    }
    let (target, net) = (&*cluster.target, &*cluster.net);
    let first_process = (cfg.concurrency as u64) * 1_000_000;
    placed(net, || {
        clients::final_reads(target, nodes, info, rec, finals, first_process, cfg)
    })
}

/// Teardown: stops every node and removes the network, then parses the nodes' logs once
/// (some are completed by the teardown itself, e.g. Redis's failover events). `None` when
/// the system keeps no logs.
pub fn teardown(cluster: Cluster, prog: &Progress) -> Option<Arc<NodeEvents>> {
    let logs: Vec<PathBuf> = cluster.target.log_files().into_iter().map(|(_, p)| p).collect();
    drop(cluster);
    prog.line("torn down; checking");
    NodeEvents::read_if_any(&logs).map(Arc::new)
}

/// Check: the recorded history through the config's checkers, into results.json's
/// content (a history write error becomes a warning).
pub fn check_run(
    cfg: &TestConfig,
    wl: &dyn Workload,
    rec: &Recorder,
    events: Option<Arc<NodeEvents>>,
    dir: &RunDir,
) -> RunResults {
    let (history, write_err) = rec.snapshot();
    let mut warnings = Vec::new();
    if let Some(e) = write_err {
        warnings.push(format!("history.jsonl write error: {e}"));
    }
    let composed = check(cfg, wl, &history, events);
    let mut results = results_of(cfg, composed, &history, dir, warnings);
    results.shards = crate::system::shard_load::load(&cfg.system, &wl.info(), &history);
    results
}

/// Save: report.html (with the node events the checkers saw), junit.xml (one test case
/// per checker, for CI that collects `store/**/junit.xml`) and results.json. A report or
/// JUnit file that cannot be written is a warning in results.json; results.json itself
/// must be written.
pub fn save(dir: &RunDir, results: &mut RunResults, events: &NodeEvents) -> Result<(), RunnerError> {
    if let Err(e) = write_report_hook(dir, results, events) {
        results.warnings.push(format!("report: {e}"));
    }
    if let Err(e) = std::fs::write(dir.junit(), crate::report::junit::for_run(results)) {
        results.warnings.push(format!("junit.xml: {e}"));
    }
    write_results(dir, results)
}
