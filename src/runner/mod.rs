//! One test, Jepsen's phases: set up nodes, wait until healthy, run clients
//! and nemesis for the time limit, heal everything, let the cluster recover,
//! final reads, tear down, check, write the run directory.
//!
//! Invariants: whatever happens after setup begins (error, Ctrl-C, panic),
//! the [`Cluster`] guard tears down the target and the network; the history
//! on disk is complete up to the last op recorded.

pub mod cleanup;
pub mod clients;
pub mod config;
pub mod plan;
pub mod progress;
pub mod recorder;
pub mod rundir;

pub use config::{StoreModes, TestConfig};

use crate::checker::{compose, registry, CheckOptions};
use crate::history::{Op, OpType, Process};
use crate::nemesis::net::{Layout, NetBackend, NetError};
use crate::nemesis::{parse_kinds, plan, Kind, Nemesis};
use crate::report::RunResults;
use crate::target::{NodeCtx, Target, TargetError};
use crate::workload;
use recorder::Recorder;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum RunnerError {
    #[error("bad test config: {0}")]
    Config(String),
    // No `#[from]`/`#[source]` on these two: the message already carries the inner error, and a
    // source would make `{:#}` at the CLI print it twice ("target: X: X").
    #[error("network: {0}")]
    Net(NetError),
    #[error("target: {0}")]
    Target(TargetError),
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
    #[error("cluster did not become healthy: {0}")]
    Unhealthy(String),
}

impl From<NetError> for RunnerError {
    fn from(e: NetError) -> Self {
        RunnerError::Net(e)
    }
}

impl From<TargetError> for RunnerError {
    fn from(e: TargetError) -> Self {
        RunnerError::Target(e)
    }
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> RunnerError {
    let context = context.into();
    move |source| RunnerError::Io { context, source }
}

/// Set by Ctrl-C (see [`install_ctrlc`]); the runner stops the client phase,
/// heals and still checks what was recorded.
pub static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// Routes SIGINT/SIGTERM to [`STOP`] instead of killing the harness.
pub fn install_ctrlc() {
    use nix::sys::signal::{signal, SigHandler, Signal};
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        let _ = signal(Signal::SIGINT, SigHandler::Handler(on_sigint));
        let _ = signal(Signal::SIGTERM, SigHandler::Handler(on_sigint));
    }
}

/// The report hook: writes `report.html` into `dir` from its history and
/// these results (node logs under `dir/nodes` are shown too). Errors become
/// warnings in results.json: a report that fails to render never fails a run.
pub fn write_report_hook(dir: &std::path::Path, results: &RunResults) -> Result<(), String> {
    let render = || -> Result<(), crate::report::ReportError> {
        let history = crate::history::jsonl::read_file(&dir.join("history.jsonl"))?;
        let extras = crate::report::load_extras(dir);
        let page = crate::report::html::render_with(&history, results, &extras);
        crate::report::write_html(&dir.join("report.html"), &page)
    };
    render().map_err(|e| e.to_string())
}

/// Checks a config before anything is started.
pub fn validate(cfg: &TestConfig) -> Result<(), RunnerError> {
    let bad = |m: String| Err(RunnerError::Config(m));
    if cfg.nodes == 0 {
        return bad("nodes must be at least 1 (got 0)".into());
    }
    if cfg.concurrency == 0 {
        return bad("concurrency must be at least 1 (got 0)".into());
    }
    if cfg.time_limit_s.is_nan() || cfg.time_limit_s <= 0.0 {
        return bad(format!("time limit must be positive (got {})", cfg.time_limit_s));
    }
    if cfg.rate.is_nan() || cfg.rate < 0.0 {
        return bad(format!("rate must be >= 0 (got {})", cfg.rate));
    }
    if !cfg.nemesis.is_empty() && (cfg.nemesis_interval_s.is_nan() || cfg.nemesis_interval_s <= 0.0) {
        return bad(format!(
            "nemesis interval must be positive (got {})",
            cfg.nemesis_interval_s
        ));
    }
    if cfg.seed > i64::MAX as u64 {
        return bad(format!("seed must be below 2^63 (got {})", cfg.seed));
    }
    workload::build(&cfg.workload).map_err(|e| RunnerError::Config(e.to_string()))?;
    parse_kinds(&cfg.nemesis.join(",")).map_err(|e| RunnerError::Config(e.to_string()))?;
    registry::build_list(&cfg.checkers.join(",")).map_err(|e| RunnerError::Config(e.to_string()))?;
    Ok(())
}

/// Owns the target and network; tears both down on drop (error, panic).
pub struct Cluster {
    pub target: Box<dyn Target>,
    pub net: Box<dyn NetBackend>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.net.heal();
        let _ = self.target.teardown();
        let _ = self.net.teardown();
    }
}

/// What a finished run produced.
pub struct RunOutcome {
    pub dir: PathBuf,
    pub results: RunResults,
}

fn node_names(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("n{i}")).collect()
}

/// Runs a nemesis-free thread placed in the client network; returns its value.
fn placed<T: Send>(net: &dyn NetBackend, f: impl FnOnce() -> T + Send) -> Result<T, RunnerError> {
    std::thread::scope(|s| {
        s.spawn(|| {
            net.enter_client()?;
            Ok(f())
        })
        .join()
        .unwrap_or_else(|_| Err(RunnerError::Unhealthy("control thread panicked".into())))
    })
}

/// Runs one test end to end. `net_note` says which back end was chosen and
/// why; `origin_ns` (CLOCK_MONOTONIC) is time 0 of the history, the same
/// origin the target passed to its nodes.
pub fn run(
    cfg: &TestConfig,
    target: Box<dyn Target>,
    net: Box<dyn NetBackend>,
    net_note: &str,
    origin_ns: u64,
) -> Result<RunOutcome, RunnerError> {
    validate(cfg)?;
    let mut wl = workload::build(&cfg.workload).map_err(|e| RunnerError::Config(e.to_string()))?;
    let kinds = parse_kinds(&cfg.nemesis.join(",")).map_err(|e| RunnerError::Config(e.to_string()))?;
    // A fault the target cannot inject fails the run before anything starts
    // (a drift that silently never happened would make a valid verdict lie).
    if kinds.contains(&Kind::ClockDrift) && !target.supports_clock_rate() {
        return Err(TargetError::unsupported(target.name(), "clock rates (--nemesis clock-drift)").into());
    }
    let started_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let stale = cleanup::clean(cleanup::Scope::Stale);
    let dir = rundir::create(&cfg.store_dir, &cfg.resolved_name())?;
    rundir::write_config(&dir, cfg)?;
    let prog = progress::Progress::new();
    prog.line(&format!("run directory {}", dir.display()));
    prog.line(&format!("seed {}  net {}", cfg.seed, net_note));
    if !stale.processes.is_empty() || !stale.namespaces.is_empty() {
        prog.line(&format!("removed leftovers of earlier runs: {stale:?}"));
    }

    let mut cluster = Cluster { target, net };
    let nodes = node_names(cfg.nodes);
    let plan_ports = cluster.target.ports();
    let nets = cluster.net.setup(&Layout {
        nodes: nodes.clone(),
        ports: plan_ports.names.clone(),
        peer: plan_ports.peer.clone(),
    })?;
    let nodes_dir = dir.join("nodes");
    let mut ctxs = Vec::new();
    for n in nets {
        let data_dir = dir.join("data").join(&n.id);
        std::fs::create_dir_all(&data_dir).map_err(io(format!("creating {}", data_dir.display())))?;
        ctxs.push(NodeCtx {
            id: n.id.clone(),
            log: nodes_dir.join(format!("{}.log", n.id)),
            data_dir,
            net: n,
        });
    }
    cluster.target.setup(ctxs)?;
    for n in &nodes {
        cluster.target.start(n)?;
    }
    prog.line(&format!(
        "started {} nodes of {}",
        nodes.len(),
        cluster.target.name()
    ));
    let limit = cluster.target.health_timeout();
    wait_healthy(&*cluster.target, &*cluster.net, &nodes, limit)?;
    prog.line("cluster healthy");
    let info = wl.info();
    {
        let (target, net) = (&*cluster.target, &*cluster.net);
        placed(net, || target.prepare(&info))??;
    }

    // Client phase.
    let rec =
        Recorder::new(Some(&dir.join("history.jsonl")), origin_ns).map_err(io("creating history.jsonl"))?;
    let limit = Duration::from_secs_f64(cfg.time_limit_s);
    let steps = plan(
        cfg.seed,
        &kinds,
        nodes.len(),
        Duration::from_secs_f64(cfg.nemesis_interval_s),
        limit,
    );
    let t0 = Instant::now();
    let deadline = t0 + limit;
    {
        let target: &dyn Target = &*cluster.target;
        let net: &dyn NetBackend = &*cluster.net;
        let gen = std::sync::Mutex::new(clients::Gen::new(&mut *wl, cfg.seed));
        std::thread::scope(|s| {
            for i in 0..cfg.concurrency {
                let (gen, rec, info, nodes) = (&gen, &rec, &info, &nodes);
                s.spawn(move || {
                    clients::client_loop(clients::ClientCtx {
                        index: i,
                        concurrency: cfg.concurrency,
                        seed: cfg.seed,
                        rate: cfg.rate,
                        deadline,
                        timeout: Duration::from_millis(cfg.op_timeout_ms),
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
            let (rec, nodes, steps) = (&rec, &nodes, &steps);
            s.spawn(move || nemesis_loop(target, net, nodes, steps, t0, deadline, rec));
            prog.client_phase(rec, deadline, &STOP);
        });
    }
    let duration_ms = t0.elapsed().as_secs_f64() * 1000.0;
    let interrupted = STOP.load(Ordering::SeqCst);
    prog.line(&format!(
        "client phase done: {} ops in {:.1} s{}",
        rec.len(),
        duration_ms / 1000.0,
        if interrupted { " (interrupted)" } else { "" }
    ));

    // Recovery and final reads.
    if !interrupted {
        std::thread::sleep(Duration::from_secs_f64(cfg.recovery_s.max(0.0)));
        let finals = wl.final_ops();
        if !finals.is_empty() {
            let (target, net) = (&*cluster.target, &*cluster.net);
            let first_process = (cfg.concurrency as u64) * 1_000_000;
            placed(net, || {
                clients::final_reads(target, &nodes, &info, &rec, finals, first_process, cfg)
            })?;
        }
    }
    let logs = cluster.target.log_files();
    drop(cluster);
    prog.line("torn down; checking");

    // Check.
    let (history, write_err) = rec.snapshot();
    let mut warnings = Vec::new();
    if let Some(e) = write_err {
        warnings.push(format!("history.jsonl write error: {e}"));
    }
    let wanted: Vec<&str> = if cfg.checkers.is_empty() {
        workload::checkers_for(&cfg.workload)
    } else {
        cfg.checkers.iter().map(String::as_str).collect()
    };
    let have: Vec<&str> = wanted
        .iter()
        .copied()
        .filter(|c| registry::NAMES.contains(c))
        .collect();
    let missing: Vec<&str> = wanted.iter().copied().filter(|c| !have.contains(c)).collect();
    if !missing.is_empty() {
        warnings.push(format!("checkers not in this build: {}", missing.join(", ")));
    }
    let checkers = registry::build_list(&have.join(",")).map_err(|e| RunnerError::Config(e.to_string()))?;
    let opts = CheckOptions {
        model: wl.model(),
        node_logs: logs.iter().map(|(_, p)| p.clone()).collect(),
        params: wl.params(),
        ..CheckOptions::default()
    };
    let mut composed = compose(&checkers, &history, &opts);
    if checkers.is_empty() {
        composed.results.push(crate::checker::Verdict::unknown(
            "runner",
            format!("no checker for workload {} in this build", cfg.workload),
        ));
        composed.valid = crate::checker::Validity::Unknown;
    }
    let mut results = RunResults {
        faultline_version: env!("CARGO_PKG_VERSION").to_string(),
        name: cfg.resolved_name(),
        valid: composed.valid,
        results: composed.results,
        test: serde_json::to_value(cfg).unwrap_or_default(),
        seed: Some(cfg.seed),
        ops: history.len(),
        duration_ms,
        started_at,
        replay: Some(format!("faultline test --replay {}", dir.display())),
        net: Some(net_note.split_whitespace().next().unwrap_or("").to_string()),
        warnings,
    };
    if let Err(e) = write_report_hook(&dir, &results) {
        results.warnings.push(format!("report: {e}"));
    }
    rundir::write_results(&dir, &results)?;
    rundir::link_latest(&cfg.store_dir, &dir);
    Ok(RunOutcome { dir, results })
}

pub fn wait_healthy(
    target: &dyn Target,
    net: &dyn NetBackend,
    nodes: &[String],
    limit: Duration,
) -> Result<(), RunnerError> {
    let deadline = Instant::now() + limit;
    placed(net, || loop {
        let mut last = None;
        for n in nodes {
            if !target.is_running(n) {
                return Err(RunnerError::Unhealthy(format!(
                    "node {n} exited (see its log in nodes/{n}.log)"
                )));
            }
            if let Err(e) = target.healthy(n, Duration::from_millis(500)) {
                last = Some(e.to_string());
                break;
            }
        }
        match last {
            None => return Ok(()),
            Some(e) if Instant::now() >= deadline => return Err(RunnerError::Unhealthy(e)),
            Some(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    })?
}

fn nemesis_loop(
    target: &dyn Target,
    net: &dyn NetBackend,
    nodes: &[String],
    steps: &[crate::nemesis::Step],
    t0: Instant,
    deadline: Instant,
    rec: &Recorder,
) {
    if net.enter_client().is_err() {
        return;
    }
    let mut nem = Nemesis::new(target, net, nodes.to_vec());
    let record = |f: &str, inv: serde_json::Value, out: Result<serde_json::Value, String>| {
        rec.record(Op::new(OpType::Invoke, Process::Nemesis, f, inv));
        let mut done = match out {
            Ok(v) => Op::new(OpType::Info, Process::Nemesis, f, v),
            Err(e) => {
                let mut o = Op::new(OpType::Info, Process::Nemesis, f, serde_json::Value::Null);
                o.error = Some(e);
                o
            }
        };
        done.time = 0;
        rec.record(done);
    };
    for step in steps {
        let at = t0 + Duration::from_millis(step.at_ms);
        while Instant::now() < at && !STOP.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(20).min(at.saturating_duration_since(Instant::now())));
        }
        if STOP.load(Ordering::SeqCst) || Instant::now() >= deadline {
            break;
        }
        let inv = serde_json::to_value(&step.action).unwrap_or_default();
        let out = nem.apply(&step.action);
        record(step.action.f(), inv, out);
    }
    while Instant::now() < deadline && !STOP.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(20));
    }
    for (a, out) in nem.heal_all() {
        record(a.f(), serde_json::to_value(&a).unwrap_or_default(), out);
    }
}
