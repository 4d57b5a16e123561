//! Elle-style transactional checking (Kingsbury & Alvaro, "Elle: Inferring
//! Isolation Anomalies from Experimental Observations") for list-append and
//! rw-register histories.
//!
//! Pipeline, one file each: [`txn`] (history → transactions), [`list_append`]
//! / [`rw_register`] (version orders, ww/wr/rw edges, non-cycle anomalies),
//! [`graph`] (process and real-time edges, adjacency), [`cycle`] (SCCs with
//! petgraph's Tarjan, shortest cycle per kind by BFS), [`classify`] (kind
//! names, ruled-out models) and [`explain`] (a sentence per edge).
//!
//! Parameters (`CheckOptions::params`): `elle_model` (`"list-append"` or
//! `"rw-register"`; default: detected from the micro-ops), `elle_process` and
//! `elle_realtime` (booleans, default true: add process / real-time edges).

pub mod atom;
pub mod classify;
pub mod cycle;
pub mod explain;
pub mod gen;
pub mod graph;
pub mod list_append;
pub mod rw_register;
pub mod txn;

use crate::checker::{CheckOptions, Checker, Validity, Verdict};
use crate::history::{History, PairingError};
use classify::Collector;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use thiserror::Error;

/// Why the checker could not judge a history (reported as `unknown`).
#[derive(Debug, Error)]
pub enum ElleError {
    #[error("{0}")]
    Pairing(PairingError),
    #[error("op {index}: {message}")]
    BadTxn { index: u64, message: String },
    #[error("op {index}: mixes list-append and rw-register micro-ops (set params.elle_model to choose)")]
    MixedModel { index: u64 },
    #[error("params.{name}: {message}")]
    BadParam { name: &'static str, message: String },
    #[error("internal error: {0}")]
    Internal(String),
}

/// The data model of the transactions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Model {
    ListAppend,
    RwRegister,
}

impl Model {
    pub fn name(self) -> &'static str {
        match self {
            Model::ListAppend => "list-append",
            Model::RwRegister => "rw-register",
        }
    }

    pub fn parse(s: &str) -> Option<Model> {
        match s {
            "list-append" | "append" => Some(Model::ListAppend),
            "rw-register" | "register" => Some(Model::RwRegister),
            _ => None,
        }
    }
}

/// What a model analysis hands the graph stage.
pub struct Analysis {
    pub edges: Vec<graph::Edge>,
    pub found: Collector,
    pub interner: atom::Interner,
    pub stats: serde_json::Map<String, Value>,
    /// False when the analysis had to leave edges out (a clean result is then unknown).
    pub complete: bool,
}

/// Options of one check.
#[derive(Clone, Debug)]
pub struct ElleOptions {
    pub model: Option<Model>,
    pub process: bool,
    pub realtime: bool,
    pub time_limit: Option<Duration>,
    /// Approximate budget for the graph (edges, CSR, SCC and BFS state), in bytes.
    pub memory_limit: Option<u64>,
}

impl Default for ElleOptions {
    fn default() -> Self {
        ElleOptions {
            model: None,
            process: true,
            realtime: true,
            time_limit: None,
            memory_limit: None,
        }
    }
}

impl ElleOptions {
    /// Reads `elle_*` params and the time limit from shared check options.
    pub fn from_check(opts: &CheckOptions) -> Result<ElleOptions, ElleError> {
        let mut o = ElleOptions {
            time_limit: opts.time_limit,
            memory_limit: opts.memory_limit,
            ..ElleOptions::default()
        };
        let p = &opts.params;
        if let Some(m) = p.get("elle_model").filter(|v| !v.is_null()) {
            o.model = Some(m.as_str().and_then(Model::parse).ok_or(ElleError::BadParam {
                name: "elle_model",
                message: format!("expected \"list-append\" or \"rw-register\", got {m}"),
            })?);
        }
        for (name, slot) in [
            ("elle_process", &mut o.process),
            ("elle_realtime", &mut o.realtime),
        ] {
            if let Some(v) = p.get(name).filter(|v| !v.is_null()) {
                *slot = v.as_bool().ok_or(ElleError::BadParam {
                    name,
                    message: format!("expected true or false, got {v}"),
                })?;
            }
        }
        Ok(o)
    }
}

/// The `elle` checker.
pub struct Elle;

impl Checker for Elle {
    fn name(&self) -> &str {
        "elle"
    }
    fn check(&self, h: &History, opts: &CheckOptions) -> Verdict {
        match ElleOptions::from_check(opts).and_then(|o| check(h, &o)) {
            Ok(v) => v,
            Err(e) => Verdict::unknown("elle", e.to_string()),
        }
    }
}

/// Picks the model from the micro-ops present: appends → list-append, writes →
/// rw-register, only reads → list-append if some read returned a list.
fn detect(h: &History, txns: &[txn::Txn]) -> Result<Model, ElleError> {
    let (mut append, mut write, mut list_read) = (None, None, false);
    let mut mops = Vec::new();
    for t in txns {
        txn::mops(h, t.value_pos, &mut mops)?;
        for m in &mops {
            match m.kind {
                txn::MopKind::Append => append = append.or(Some(h.ops[t.value_pos].index)),
                txn::MopKind::Write => write = write.or(Some(h.ops[t.value_pos].index)),
                txn::MopKind::Read => list_read |= m.value.is_array(),
            }
        }
        if let (Some(a), Some(w)) = (append, write) {
            return Err(ElleError::MixedModel { index: a.max(w) });
        }
    }
    Ok(match (append, write) {
        (Some(_), _) => Model::ListAppend,
        (_, Some(_)) => Model::RwRegister,
        _ if list_read => Model::ListAppend,
        _ => Model::RwRegister,
    })
}

/// Checks a history; errors are bad input (the [`Checker`] impl turns them into `unknown`).
pub fn check(h: &History, o: &ElleOptions) -> Result<Verdict, ElleError> {
    let start = Instant::now();
    let deadline = o.time_limit.map(|d| start + d);
    let mut phases = serde_json::Map::new();
    let mut lap = Instant::now();
    let mut mark = |name: &str| {
        phases.insert(name.into(), json!(lap.elapsed().as_millis() as u64));
        lap = Instant::now();
    };
    let txns = txn::collect(h)?;
    mark("collect");
    let model = match o.model {
        Some(m) => m,
        None => detect(h, &txns)?,
    };
    let mut an = match model {
        Model::ListAppend => list_append::analyze(h, &txns)?,
        Model::RwRegister => rw_register::analyze(h, &txns)?,
    };
    mark("analyze");
    let data_edges = an.edges.len();
    if o.process {
        graph::process_edges(&txns, &mut an.edges);
    }
    if o.realtime {
        graph::realtime_edges(&txns, &mut an.edges);
    }
    // Edges twice over (the list and petgraph's copy) plus per-node state.
    let estimate = an.edges.len() as u64 * (std::mem::size_of::<graph::Edge>() as u64 + 16)
        + txns.len() as u64 * (std::mem::size_of::<txn::Txn>() as u64 + 48);
    if let Some(limit) = o.memory_limit.filter(|&l| estimate > l) {
        let mut v = Verdict::unknown(
            "elle",
            format!(
                "{}: {} txns; the dependency graph needs about {} MiB, over the {} MiB memory limit",
                model.name(),
                txns.len(),
                estimate >> 20,
                limit >> 20
            ),
        );
        if !an.found.is_empty() {
            v.valid = Validity::Invalid;
            v.summary.push_str("; non-cycle anomalies found before it");
            v.anomalies = an.found.list;
        }
        return Ok(v);
    }
    let g = graph::Graph::build(txns.len(), std::mem::take(&mut an.edges));
    mark("graph");
    let over = || deadline.is_some_and(|d| Instant::now() > d);
    let (comps, finished) = if over() {
        (Vec::new(), false)
    } else {
        let comps = cycle::sccs(&g)?;
        let (cycles, finished) = cycle::find_cycles(&g, &comps, deadline);
        for c in &cycles {
            if !an.found.saturated(&c.kind) {
                let a = explain::cycle_anomaly(c, &txns, h, &an.interner, model);
                an.found.push(&a.kind, a.explanation, a.ops, a.data);
            } else {
                an.found.push(&c.kind, String::new(), Vec::new(), Value::Null);
            }
        }
        (comps, finished)
    };
    mark("cycles");
    let kinds: Vec<&str> = classify::KINDS
        .iter()
        .copied()
        .filter(|k| an.found.count(k) > 0)
        .collect();
    let not = classify::models_ruled_out(kinds.iter().copied());
    let valid = if !an.found.is_empty() {
        Validity::Invalid
    } else if !finished || !an.complete || over() {
        Validity::Unknown
    } else {
        Validity::Valid
    };
    let summary = match valid {
        Validity::Invalid => format!(
            "{}: {} txns; {} ({}); rules out {}",
            model.name(),
            txns.len(),
            kinds
                .iter()
                .map(|k| format!("{k} x{}", an.found.count(k)))
                .collect::<Vec<_>>()
                .join(", "),
            if finished {
                "search complete"
            } else {
                "time limit hit, search incomplete"
            },
            not.join(", ")
        ),
        Validity::Unknown if !an.complete => format!(
            "{}: {} txns; no anomaly found, but the graph was capped (too many nil-read edges)",
            model.name(),
            txns.len()
        ),
        Validity::Unknown => format!(
            "{}: {} txns; time limit of {:?} ran out before the search finished",
            model.name(),
            txns.len(),
            o.time_limit.unwrap_or_default()
        ),
        Validity::Valid => format!("{}: {} txns; no anomalies", model.name(), txns.len()),
    };
    let mut v = Verdict::new("elle", valid, summary);
    let counts: serde_json::Map<String, Value> = an
        .found
        .counts
        .iter()
        .map(|(k, n)| (k.clone(), json!(n)))
        .collect();
    v.details = json!({
        "model": model.name(),
        "txns": txns.len(),
        "anomaly_types": kinds,
        "counts": counts,
        "not": not,
        "sccs": comps.len(),
        "data_edges": data_edges,
        "edges": g.edges.len(),
        "complete": finished && an.complete,
        "stats": an.stats,
        "phase_ms": phases,
    });
    v.anomalies = an
        .found
        .list
        .into_iter()
        .filter(|a| !a.explanation.is_empty())
        .collect();
    Ok(v)
}
