//! Elle-style transactional checking (Kingsbury & Alvaro, "Elle: Inferring
//! Isolation Anomalies from Experimental Observations") for list-append and
//! rw-register histories.
//!
//! Pipeline, one file each: [`txn`] (history → transactions), [`list_append`]
//! / [`rw_register`] (version orders, including where unobserved appends go,
//! ww/wr/rw edges, non-cycle anomalies), [`graph`] (process and real-time
//! edges, adjacency), [`cycle`] (SCCs, then per component [`exists`] and a
//! [`search`] for every anomaly class), [`classify`] (kind names), [`models`]
//! (Elle's lattice: what the chosen consistency models prohibit, what the
//! anomalies rule out), [`explain`] (a sentence per edge) and [`judge`] (the
//! verdict). Options: [`options`].
//!
//! Soundness: every reported cycle is a simple cycle of the inferred graph,
//! named by its edges; every inferred edge holds in every version order the
//! observations allow (or, for the opt-in rw-register assumptions, under the
//! stated assumption).

pub mod atom;
pub mod classify;
pub mod cycle;
pub mod exists;
pub mod explain;
pub mod graph;
pub mod judge;
pub mod list_append;
pub mod models;
pub mod options;
pub mod rw_register;
pub mod search;
pub mod txn;

pub use options::ElleOptions;

use crate::checker::{CheckOptions, Checker, Verdict};
use crate::history::{History, PairingError};
use classify::Collector;
use serde_json::{json, Value};
use std::time::Instant;
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
    let prohibited = models::prohibited_by(&o.consistency_models);
    let wants = |suffix: &str| prohibited.iter().any(|k| k.ends_with(suffix));
    // Order edges only when some prohibited anomaly needs them (as Elle does).
    let process = o.process && wants("-process");
    let realtime = o.realtime && wants("-realtime");
    let mut an = match model {
        Model::ListAppend => list_append::analyze(h, &txns, realtime)?,
        Model::RwRegister => rw_register::analyze(h, &txns, o)?,
    };
    mark("analyze");
    let data_edges = an.edges.len();
    if process {
        graph::process_edges(&txns, &mut an.edges);
    }
    if realtime {
        graph::realtime_edges(&txns, &mut an.edges);
    }
    let mut j = judge::Judge::new(model, txns.len(), o, prohibited);
    j.data_edges = data_edges;
    if let Some(v) = j.over_memory(&mut an, o) {
        return Ok(v);
    }
    let g = graph::Graph::build(txns.len(), std::mem::take(&mut an.edges));
    mark("graph");
    let over = || deadline.is_some_and(|d| Instant::now() > d);
    if over() {
        j.finished = false;
    } else {
        let comps = cycle::sccs(&g)?;
        j.sccs = comps.len();
        let so = cycle::SearchOptions {
            per_search: o.cycle_search_timeout,
            work: cycle::SEARCH_WORK,
            deadline,
            process,
            realtime,
        };
        let found = cycle::find_cycles(&g, comps, &so);
        for c in &found.cycles {
            if !an.found.saturated(&c.kind) {
                let a = explain::cycle_anomaly(c, &txns, h, &an.interner, model);
                an.found.push(&a.kind, a.explanation, a.ops, a.data);
            } else {
                an.found.push(&c.kind, String::new(), Vec::new(), Value::Null);
            }
        }
        j.add_exists(&mut an.found, &found.exists, &txns);
        j.finished = found.finished;
        j.timeouts = found.timeouts;
    }
    j.edges = g.edges.len();
    mark("cycles");
    if over() {
        j.finished = false;
    }
    Ok(j.verdict(an, phases))
}
