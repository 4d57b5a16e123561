//! `faultline check FILE`: import a history, validate its pairing, run the
//! chosen checkers and print a one-screen summary (or `--json` results).
//!
//! Exit code: the composed verdict (0 valid, 1 invalid, 2 unknown); 3 for any
//! bad input (file, flag, pairing), with a message naming file and line.

use super::convert::import_options;
use crate::checker::registry::{build_all, CheckerId};
use crate::checker::{compose, Anomaly, Budget, CheckOptions, Composed};
use crate::history::import::{self, Format, Imported};
use crate::history::{pair, History, NodeEvents, OpType};
use crate::report::RunResults;
use crate::util::text::clip;
use crate::util::Secs;
use anyhow::{bail, Context};
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How many anomaly explanations the terminal summary shows.
const SHOWN_ANOMALIES: usize = 5;
/// Longest explanation the summary prints (characters); `--json` has them whole.
const EXPLANATION_CHARS: usize = 400;

/// Arguments of `faultline check`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The history file (`-` for stdin), or a run directory (its `history.jsonl`
    /// and `nodes/*.log`).
    pub file: PathBuf,
    /// Model for model-based checkers: register, cas-register, kv, set, ...
    /// (default: the checker infers it from the ops' `f`).
    #[arg(long)]
    pub model: Option<String>,
    /// Input format: jsonl, edn, porcupine-etcd or porcupine-kv (default: detect from content).
    #[arg(long)]
    pub format: Option<Format>,
    /// Comma-separated checkers to run.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "linearizable")]
    pub checker: Vec<CheckerId>,
    /// Print results.json to stdout instead of the summary.
    #[arg(long)]
    pub json: bool,
    /// Check a keyed history as one whole (no per-key partitioning).
    #[arg(long)]
    pub no_partition: bool,
    /// Wall-clock budget of the whole check, in seconds; past it a checker answers unknown
    /// (default 120).
    #[arg(long, value_name = "SECS", allow_negative_numbers = true, value_parser = super::args::positive_secs)]
    pub time_limit: Option<Secs>,
    /// Memory budget for checkers, in MiB; past it a checker answers unknown (default: a
    /// quarter of the memory available at start, at most 2048).
    #[arg(long, value_name = "MB", allow_negative_numbers = true, value_parser = super::args::count(usize::MAX))]
    pub memory_limit: Option<usize>,
    /// Directory of node logs (`*.log`), ground truth for the split-brain checker.
    #[arg(long, value_name = "DIR")]
    pub node_logs: Option<PathBuf>,
    /// Checker parameter `key=value` (value read as JSON when it parses, else a string).
    #[arg(long = "param", value_name = "K=V")]
    pub params: Vec<String>,
    /// Consistency models the `elle` checker holds the history to, comma-separated
    /// (default strict-serializable); anomalies only weaker models allow are listed but
    /// do not make the history invalid.
    #[arg(long, value_name = "MODELS")]
    pub consistency_models: Option<String>,
    /// Split Jepsen `independent` `[key value]` tuples into key and value.
    #[arg(long)]
    pub independent: bool,
    /// Also write an HTML report to OUT.
    #[arg(long, value_name = "OUT")]
    pub html: Option<PathBuf>,
}

pub fn run(mut args: Args) -> anyhow::Result<i32> {
    // A run directory: its history, and its node logs unless told otherwise.
    if args.file.is_dir() {
        let run = crate::rundir::RunDir::at(&args.file);
        args.file = run.history();
        if !args.file.is_file() {
            bail!(
                "{}: a directory without history.jsonl (not a run directory)",
                run.path().display()
            );
        }
        if args.node_logs.is_none() && run.nodes_dir().is_dir() {
            args.node_logs = Some(run.nodes_dir());
        }
    }
    let opts = check_options(&args)?;
    let checkers = build_all(&args.checker);
    if checkers.is_empty() {
        bail!("--checker: no checker named");
    }
    let name = args.file.display().to_string();
    let imported = import::import_path(&args.file, &import_options(args.format, args.independent))?;
    let pending = validate_pairing(&imported, &name)?;
    let h = &imported.history;
    if h.client_ops().next().is_none() {
        bail!(
            "{name}: no client operations in {name} (only {} nemesis ops): nothing to check",
            h.len()
        );
    }
    for c in &checkers {
        if let Err(e) = c.validate(h, &opts) {
            match e.index.and_then(|i| imported.lines.get(i as usize)) {
                Some(line) => bail!("{name}:{line}: {}: {e}", c.name()),
                None => bail!("{name}: {}: {e}", c.name()),
            }
        }
    }
    let notes: Vec<String> = Vec::new();

    let start = Instant::now();
    let composed = compose(&checkers, h, &opts);
    let elapsed = start.elapsed();

    let mut warnings = h.warnings.clone();
    warnings.extend(notes.iter().map(|n| format!("note: {n}")));
    let results = RunResults {
        faultline_version: env!("CARGO_PKG_VERSION").to_string(),
        name: name.clone(),
        valid: composed.valid,
        results: composed.results.clone(),
        test: Value::Null,
        seed: None,
        ops: h.len(),
        duration_ms: span_ns(h) as f64 / 1e6,
        started_at: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        replay: None,
        net: None,
        coverage: Some(crate::report::coverage::of(h, &composed.results)),
        shards: None,
        warnings,
    };
    // HTML-REPORT: `--html OUT` writes the self-contained page for this history.
    if let Some(out) = &args.html {
        let page = crate::report::html::render(h, &results);
        crate::report::write_html(out, &page)
            .with_context(|| format!("--html {}: writing the report", out.display()))?;
    }

    if args.json {
        let mut text = serde_json::to_string_pretty(&results)?;
        text.push('\n');
        super::convert::to_stdout(|w| w.write_all(text.as_bytes()))?;
        return Ok(results.valid.exit_code());
    }
    let text = summary(&name, &imported, pending, &composed, &notes, elapsed);
    super::convert::to_stdout(|w| w.write_all(text.as_bytes()))?;
    Ok(composed.valid.exit_code())
}

fn check_options(args: &Args) -> anyhow::Result<CheckOptions> {
    let budget = Budget::default();
    let time_limit = args.time_limit.map_or(budget.time, Secs::duration);
    let memory_limit = args
        .memory_limit
        .map_or(budget.memory, |mb| (mb as u64).saturating_mul(1 << 20));
    // The node logs are parsed here, once: checkers receive their events as data.
    let node_events = match &args.node_logs {
        None => None,
        Some(dir) => NodeEvents::read_if_any(&node_log_files(dir)?).map(Arc::new),
    };
    let mut params = Map::new();
    for p in &args.params {
        let Some((k, v)) = p.split_once('=').filter(|(k, _)| !k.trim().is_empty()) else {
            bail!("--param `{p}`: expected key=value");
        };
        let v = serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.to_string()));
        params.insert(k.trim().to_string(), v);
    }
    if let Some(m) = &args.consistency_models {
        crate::checker::elle::models::parse_list(m)
            .map_err(|e| anyhow::anyhow!("--consistency-models: {e}"))?;
        params.insert("elle_consistency_models".into(), Value::String(m.clone()));
    }
    Ok(CheckOptions {
        time_limit: Some(time_limit),
        memory_limit: Some(memory_limit),
        model: args.model.clone(),
        partition: !args.no_partition,
        node_events,
        threads: 0,
        params: if params.is_empty() {
            Value::Null
        } else {
            Value::Object(params)
        },
    })
}

fn node_log_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("--node-logs {}", dir.display()))?;
    let mut files = Vec::new();
    for e in entries {
        let p = e
            .with_context(|| format!("--node-logs {}", dir.display()))?
            .path();
        if p.extension().is_some_and(|x| x == "log") {
            files.push(p);
        }
    }
    files.sort();
    Ok(files)
}

/// Pairing errors name the op's source line, not just its index. Returns
/// the number of pending invocations.
fn validate_pairing(imp: &Imported, name: &str) -> anyhow::Result<usize> {
    match pair(&imp.history) {
        Ok(p) => Ok(p.pending(&imp.history).count()),
        Err(e) => {
            let line = imp.lines.get(e.index() as usize).copied().unwrap_or(0);
            bail!("{name}:{line}: {e}");
        }
    }
}

/// Nanoseconds between the first and last op.
fn span_ns(h: &History) -> u64 {
    match (h.ops.first(), h.ops.last()) {
        (Some(a), Some(b)) => b.time.saturating_sub(a.time),
        _ => 0,
    }
}

/// The terminal summary: one screen, most important first.
pub fn summary(
    name: &str,
    imp: &Imported,
    pending: usize,
    c: &Composed,
    notes: &[String],
    elapsed: Duration,
) -> String {
    use std::fmt::Write;
    let h = &imp.history;
    let mut s = String::new();
    let count = |ty| h.ops.iter().filter(|o| o.ty == ty).count();
    let processes: BTreeSet<_> = h.client_ops().map(|o| o.process).collect();
    let keys: BTreeSet<String> = h.client_ops().filter_map(|o| o.key_string()).collect();
    let nemesis = h.nemesis_ops().count();
    let _ = writeln!(s, "faultline check {name} ({})", imp.format);
    let _ = writeln!(s, "verdict:   {}", c.valid);
    let _ = writeln!(
        s,
        "ops:       {} ({} invoke, {} ok, {} fail, {} info, {} pending; {} nemesis)",
        h.len(),
        count(OpType::Invoke),
        count(OpType::Ok),
        count(OpType::Fail),
        count(OpType::Info),
        pending,
        nemesis
    );
    let _ = writeln!(s, "processes: {}", processes.len());
    let _ = writeln!(
        s,
        "keys:      {}",
        if keys.is_empty() {
            "none (unkeyed)".to_string()
        } else {
            keys.len().to_string()
        }
    );
    let _ = writeln!(s, "elapsed:   {:.2} ms", elapsed.as_secs_f64() * 1000.0);
    for v in &c.results {
        let _ = writeln!(
            s,
            "  {:<14} {:<8} {:>9.1} ms  {}",
            v.checker,
            v.valid.to_string(),
            v.elapsed_ms,
            v.summary
        );
    }
    let anomalies: Vec<(&str, &Anomaly)> = c
        .results
        .iter()
        .flat_map(|v| v.anomalies.iter().map(move |a| (v.checker.as_str(), a)))
        .collect();
    if !anomalies.is_empty() {
        let _ = writeln!(s, "anomalies: {}", anomalies.len());
        for (checker, a) in anomalies.iter().take(SHOWN_ANOMALIES) {
            let ops: Vec<String> = a.ops.iter().map(u64::to_string).collect();
            let _ = writeln!(
                s,
                "  [{checker}] {}: {} (ops {})",
                a.kind,
                clip(&a.explanation, EXPLANATION_CHARS),
                ops.join(", ")
            );
        }
        if anomalies.len() > SHOWN_ANOMALIES {
            let _ = writeln!(s, "  ... {} more (see --json)", anomalies.len() - SHOWN_ANOMALIES);
        }
    }
    for n in notes {
        let _ = writeln!(s, "note: {n}");
    }
    for w in &h.warnings {
        let _ = writeln!(s, "warning: {w}");
    }
    s
}
