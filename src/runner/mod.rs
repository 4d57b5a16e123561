//! One test, Jepsen's phases: set up nodes, wait until healthy, run clients
//! and nemesis for the time limit, heal everything, let the cluster recover,
//! final reads, tear down, check, write the run directory.
//!
//! Invariants: whatever happens after setup begins (error, Ctrl-C, panic),
//! the [`Cluster`] guard tears down the target and the network; the history
//! on disk is complete up to the last op recorded.

pub mod cleanup;
pub mod cleanup_hosts;
pub mod clients;
pub mod config;
pub mod converge;
pub mod faults;
pub mod hosts;
pub mod phases;
pub mod plan;
pub mod progress;
pub mod recorder;

pub use config::TestConfig;

use crate::checker::{compose, CheckOptions, Composed, Validity, Verdict};
use crate::history::{History, NodeEvents, Op, OpType, Process};
use crate::nemesis::Nemesis;
use crate::net::{self, NetBackend, NetError, RunTag};
use crate::report::RunResults;
use crate::rundir::RunDir;
use crate::system::{Target, TargetError};
use crate::util::clock::monotonic_ns;
use recorder::Recorder;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
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
    /// A host of `--hosts` cannot be used (each line names the host and what to fix).
    #[error("hosts: {0}")]
    Hosts(String),
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

/// The report hook: writes the run's `report.html` from its history and these results
/// (its node logs, as parsed for the checkers, are shown too). Errors become warnings in
/// results.json: a report that fails to render never fails a run.
pub fn write_report_hook(run: &RunDir, results: &RunResults, events: &NodeEvents) -> Result<(), String> {
    let render = || -> Result<(), crate::report::ReportError> {
        let history = crate::history::jsonl::read_file(&run.history())?;
        let extras = crate::report::extras_of(run, events);
        let page = crate::report::html::render_with(&history, results, &extras);
        crate::report::write_html(&run.report(), &page)
    };
    render().map_err(|e| e.to_string())
}

/// Checks a config before anything is started.
pub fn validate(cfg: &TestConfig) -> Result<(), RunnerError> {
    cfg.validate().map_err(|e| RunnerError::Config(e.to_string()))
}

/// Runs one resolved test: builds its system (one factory, beside the systems) and its
/// network back end, then [`run`]s it.
pub fn execute(cfg: &TestConfig) -> Result<RunOutcome, RunnerError> {
    validate(cfg)?;
    let tag = RunTag::current();
    let origin = monotonic_ns();
    if let Some(inv) = &cfg.hosts {
        return hosts::execute(cfg, inv, tag, origin);
    }
    let target = crate::system::build(&cfg.system, origin, tag.as_str())?;
    let (net, note) = net::build(cfg.net, &tag)?;
    run(cfg, target, net, &note, origin)
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
    pub dir: RunDir,
    pub results: RunResults,
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

/// Runs one test end to end, phase by phase (see [`phases`]). `net_note` says which back
/// end was chosen and why; `origin_ns` (CLOCK_MONOTONIC) is time 0 of the history, the
/// same origin the target passed to its nodes.
pub fn run(
    cfg: &TestConfig,
    target: Box<dyn Target>,
    net: Box<dyn NetBackend>,
    net_note: &str,
    origin_ns: u64,
) -> Result<RunOutcome, RunnerError> {
    validate(cfg)?;
    let mut wl = cfg.workload.build();
    // A fault the target cannot take fails the run before anything starts (see nemesis::admit).
    let (faults, fault_notes) = crate::nemesis::admit::admit(&cfg.nemesis, &*target, net.kind())?;
    let admitted = TestConfig {
        nemesis: faults,
        ..cfg.clone()
    };
    let started_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let prog = progress::Progress::new();
    let dir = phases::open_run_dir(cfg, net_note, &prog)?;
    fault_notes.iter().for_each(|n| prog.line(n));
    let mut cluster = Cluster { target, net };
    let nodes = cfg.system.node_names();
    let files = |id: &str| phases::NodeFiles {
        data_dir: dir.data_dir(id),
        log: dir.node_log(id),
    };
    phases::start_cluster(&mut cluster, &nodes, files, Some(&prog))?;
    let info = wl.info();
    phases::prepare(&cluster, &info)?;
    let rec = Recorder::new(Some(&dir.history()), origin_ns).map_err(io("creating history.jsonl"))?;
    let phase = phases::client_phase(&admitted, &cluster, &nodes, &mut *wl, &info, &rec, &prog);
    if !phase.interrupted {
        // Leaderless stores: every replica read directly until they agree.
        converge::phase(cfg, &*cluster.target, &*cluster.net, &nodes, &info, &rec)?;
        phases::recover(cfg);
        phases::final_reads(cfg, &cluster, &nodes, &*wl, &info, &rec)?;
    }
    let events = phases::teardown(cluster, &prog);
    let mut results = phases::check_run(cfg, &*wl, &rec, events.clone(), &dir);
    results.warnings.extend(fault_notes);
    results.duration_ms = phase.duration_ms;
    results.started_at = started_at;
    results.net = Some(net_note.split_whitespace().next().unwrap_or("").to_string());
    phases::save(
        &dir,
        &mut results,
        events.as_deref().unwrap_or(&NodeEvents::default()),
    )?;
    Ok(RunOutcome { dir, results })
}

/// Writes the resolved config as the run's `test.toml` (what `--replay` reads).
pub fn write_config(dir: &RunDir, cfg: &TestConfig) -> Result<(), RunnerError> {
    let text = toml::to_string_pretty(cfg).map_err(|e| RunnerError::Config(e.to_string()))?;
    std::fs::write(dir.test_toml(), text).map_err(io("writing test.toml"))
}

pub fn write_results(dir: &RunDir, r: &RunResults) -> Result<(), RunnerError> {
    let text = serde_json::to_string_pretty(r).map_err(|e| RunnerError::Config(e.to_string()))?;
    std::fs::write(dir.results(), text).map_err(io("writing results.json"))
}

/// results.json's content for a checked run (duration, start and network left for the
/// caller, who knows them).
pub fn results_of(
    cfg: &TestConfig,
    composed: Composed,
    history: &History,
    dir: &RunDir,
    warnings: Vec<String>,
) -> RunResults {
    RunResults {
        faultline_version: env!("CARGO_PKG_VERSION").to_string(),
        name: cfg.name.clone(),
        valid: composed.valid,
        results: composed.results.clone(),
        test: serde_json::to_value(cfg).unwrap_or_default(),
        seed: Some(cfg.seed),
        ops: history.len(),
        duration_ms: 0.0,
        started_at: 0,
        replay: Some(format!("faultline test --replay {}", dir.path().display())),
        net: None,
        coverage: Some(crate::report::coverage::of(history, &composed.results)),
        shards: None,
        warnings,
    }
}

/// Checks a run directory whose run never wrote results.json (the harness was killed):
/// its test.toml says what to check, its history.jsonl and node logs are the evidence.
/// Returns the history and the results, which say how they were obtained.
pub fn recheck(dir: &RunDir) -> Result<(History, RunResults), RunnerError> {
    let mut r = plan::Resolver::new();
    r.replay(&dir.test_toml())
        .map_err(|e| RunnerError::Config(e.to_string()))?;
    let cfg = r.finish().map_err(|e| RunnerError::Config(e.to_string()))?;
    let history =
        crate::history::jsonl::read_file(&dir.history()).map_err(|e| RunnerError::Config(e.to_string()))?;
    let events = NodeEvents::read_if_any(&dir.node_logs()).map(Arc::new);
    let wl = cfg.workload.build();
    let composed = check(&cfg, &*wl, &history, events);
    let mut warnings = history.warnings.clone();
    warnings.push(format!(
        "{} has no results.json (the run was stopped before it finished): checked now from its history",
        dir.path().display()
    ));
    let mut results = results_of(&cfg, composed, &history, dir, warnings);
    results.duration_ms = history.ops.last().map_or(0.0, |o| o.time as f64 / 1e6);
    Ok((history, results))
}

/// The check phase: the config's checkers (its own list, else its workload's) over
/// `history`, with the workload's model and parameters and the nodes' events (`None`
/// without node logs).
///
/// A history in which no client operation succeeded is never `valid`: nothing was tested
/// (every op timed out, or no node answered), so the verdict is `unknown`, saying so.
pub fn check(
    cfg: &TestConfig,
    wl: &dyn crate::workload::Workload,
    history: &History,
    node_events: Option<Arc<NodeEvents>>,
) -> Composed {
    let checkers = crate::checker::registry::build_all(&cfg.checker_ids());
    let mut params = wl.params();
    if let Some(groups) = cfg.replica_groups() {
        if !params.is_object() {
            params = serde_json::json!({});
        }
        params[crate::checker::split_brain::GROUPS_PARAM] = serde_json::json!(groups);
    }
    let opts = CheckOptions {
        model: wl.model(),
        node_events,
        params,
        ..CheckOptions::default()
    };
    let mut composed = compose(&checkers, history, &opts);
    let succeeded = history.client_ops().any(|o| o.ty == OpType::Ok);
    if !succeeded && composed.valid == Validity::Valid {
        composed
            .results
            .push(Verdict::unknown("runner", "no client operation succeeded"));
        composed.valid = Validity::Unknown;
    }
    composed
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
                return Err(RunnerError::Unhealthy(exited(target, n)));
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

/// Why a node that should be starting is gone: its log's last lines say (a missing
/// library, a bad flag, a port in use), or that it wrote nothing at all.
fn exited(target: &dyn Target, node: &str) -> String {
    let log = target
        .log_files()
        .into_iter()
        .find(|(id, _)| id == node)
        .map(|(_, p)| p);
    let tail = log
        .as_deref()
        .map(|p| crate::system::process::log_tail(p, 8))
        .unwrap_or_default();
    let tail = tail.trim();
    let shown = log
        .as_deref()
        .map_or("its log".into(), |p| p.display().to_string());
    if tail.is_empty() || tail == "(no log)" {
        format!("node {node} exited before it became healthy, writing nothing to {shown} (does its binary run here?)")
    } else {
        format!("node {node} exited before it became healthy; the end of {shown}:\n{tail}")
    }
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
    // How late the schedule runs: a step that blocked (waiting for a leader,
    // a strobe flipping, a slow restart) delays every later step as much, so
    // each fault keeps its planned length instead of being undone at once.
    let mut slip = Duration::ZERO;
    for step in steps {
        let at = t0 + Duration::from_millis(step.at_ms) + slip;
        while Instant::now() < at && !STOP.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(20).min(at.saturating_duration_since(Instant::now())));
        }
        if STOP.load(Ordering::SeqCst) || Instant::now() >= deadline {
            break;
        }
        slip += Instant::now().saturating_duration_since(at);
        let inv = serde_json::to_value(&step.action).unwrap_or_default();
        let out = nem.apply(&step.action);
        record(step.action.f(), inv, out);
    }
    while Instant::now() < deadline && !STOP.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let exited = nem.exited_on_their_own();
    if !exited.is_empty() {
        eprintln!(
            "faultline: {} exited on its own (not killed by the nemesis): restarted by the final \
             heal; see the node log",
            exited.join(", ")
        );
    }
    for (a, out) in nem.heal_all() {
        record(a.f(), serde_json::to_value(&a).unwrap_or_default(), out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::WorkloadKind;
    use serde_json::json;

    fn history(outcome: OpType) -> History {
        let mut ops = Vec::new();
        for p in 0..3 {
            ops.push(Op::new(OpType::Invoke, Process::Client(p), "add", json!(p)));
            ops.push(Op::new(outcome, Process::Client(p), "add", json!(p)));
        }
        let mut h = History::new(ops);
        h.reindex();
        h
    }

    #[test]
    fn a_run_in_which_no_client_operation_succeeded_is_not_valid() {
        // `noop` says valid to anything: the runner's own rule is what answers unknown.
        let cfg = TestConfig {
            workload: WorkloadKind::Set,
            checkers: vec![crate::checker::registry::CheckerId::Noop],
            ..TestConfig::default()
        };
        let wl = cfg.workload.build();
        for ty in [OpType::Fail, OpType::Info] {
            let c = check(&cfg, &*wl, &history(ty), None);
            assert_eq!(c.valid, Validity::Unknown, "{ty:?}");
            assert!(c
                .results
                .iter()
                .any(|v| v.summary.contains("no client operation succeeded")));
        }
        let empty = check(&cfg, &*wl, &History::default(), None);
        assert_eq!(empty.valid, Validity::Unknown);
    }
}
