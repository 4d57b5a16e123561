//! The verdict of an Elle check: which anomalies count against the chosen
//! consistency models, which models the history rules out, and the summary.
//!
//! Invariants: the history is invalid iff some anomaly found is prohibited by
//! a chosen model (cycle-exists fallbacks included, so a search that ran out
//! of budget never hides a violation); anomalies the models allow are kept in
//! `details.allowed` and still count towards the models ruled out (`not`).

use super::classify::{Collector, KINDS};
use super::cycle::{Exists, Timeout};
use super::options::ElleOptions;
use super::txn::Txn;
use super::{graph, models, Analysis, Model};
use crate::checker::{Anomaly, Validity, Verdict};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::time::Duration;

/// Ops of a cycle-exists component listed in full (the rest are counted).
const EXISTS_OPS: usize = 16;

/// Facts gathered on the way to a verdict.
pub struct Judge {
    model: Model,
    txns: usize,
    models: Vec<String>,
    prohibited: HashSet<&'static str>,
    time_limit: Option<Duration>,
    pub data_edges: usize,
    pub edges: usize,
    pub sccs: usize,
    pub finished: bool,
    pub timeouts: Vec<Timeout>,
}

impl Judge {
    pub fn new(model: Model, txns: usize, o: &ElleOptions, prohibited: HashSet<&'static str>) -> Judge {
        Judge {
            model,
            txns,
            models: o.consistency_models.clone(),
            prohibited,
            time_limit: o.time_limit,
            data_edges: 0,
            edges: 0,
            sccs: 0,
            finished: true,
            timeouts: Vec::new(),
        }
    }

    fn counts(&self, kind: &str) -> bool {
        models::is_prohibited(&self.prohibited, kind)
    }

    fn model_names(&self) -> String {
        self.models
            .iter()
            .map(|m| models::friendly(m))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `Some(unknown or invalid verdict)` when the graph would not fit the memory limit.
    pub fn over_memory(&self, an: &mut Analysis, o: &ElleOptions) -> Option<Verdict> {
        // Edges twice over (the list and petgraph's copy) plus per-node state.
        let estimate = an.edges.len() as u64 * (std::mem::size_of::<graph::Edge>() as u64 + 16)
            + self.txns as u64 * (std::mem::size_of::<Txn>() as u64 + 48);
        let limit = o.memory_limit.filter(|&l| estimate > l)?;
        let mut v = Verdict::unknown(
            "elle",
            format!(
                "{}: {} txns; the dependency graph needs about {} MiB, over the {} MiB memory limit",
                self.model.name(),
                self.txns,
                estimate >> 20,
                limit >> 20
            ),
        );
        let bad: Vec<Anomaly> = std::mem::take(&mut an.found.list)
            .into_iter()
            .filter(|a| self.counts(&a.kind))
            .collect();
        if !bad.is_empty() {
            v.valid = Validity::Invalid;
            v.summary.push_str("; non-cycle anomalies found before it");
            v.anomalies = bad;
        }
        Some(v)
    }

    /// Reports the components whose projections prove a model impossible,
    /// unless some other anomaly found already rules that model out.
    pub fn add_exists(&self, found: &mut Collector, exists: &[Exists], txns: &[Txn]) {
        let impossible = models::impossible(found.counts.keys().map(String::as_str));
        for e in exists.iter().filter(|e| !impossible.contains(e.model)) {
            let kind = format!("{}-cycle-exists", e.model);
            let mut ops: Vec<u64> = e.nodes.iter().map(|&t| txns[t as usize].op).collect();
            ops.sort_unstable();
            let shown: Vec<String> = ops.iter().take(EXISTS_OPS).map(|o| o.to_string()).collect();
            let more = ops.len().saturating_sub(EXISTS_OPS);
            let explanation =
                format!(
                "The dependencies among {} transactions (ops {}{}) that {} constrains form a cycle, so {} \
                 cannot hold; the search for a named cycle among them ran out of budget.",
                ops.len(),
                shown.join(", "),
                if more > 0 { format!(" and {more} more") } else { String::new() },
                models::friendly(e.model),
                models::friendly(e.model),
            );
            ops.truncate(EXISTS_OPS);
            let data = json!({"model": models::friendly(e.model), "scc_size": e.nodes.len(), "ops": ops});
            found.push(&kind, explanation, ops, data);
        }
    }

    /// The verdict, from everything found.
    pub fn verdict(self, an: Analysis, phases: serde_json::Map<String, Value>) -> Verdict {
        let found = an.found;
        let present: Vec<&str> = KINDS.iter().copied().filter(|k| found.count(k) > 0).collect();
        let (bad, allowed): (Vec<&str>, Vec<&str>) = present.iter().partition(|k| self.counts(k));
        let impossible = models::impossible(present.iter().copied());
        let not = models::sorted_friendly(&impossible);
        let weakest = models::weakest(&impossible);
        let searched = self.finished && self.timeouts.is_empty();
        let valid = if !bad.is_empty() {
            Validity::Invalid
        } else if !self.finished || !an.complete {
            Validity::Unknown
        } else {
            Validity::Valid
        };
        let head = format!("{}: {} txns", self.model.name(), self.txns);
        let list = |ks: &[&str]| {
            ks.iter()
                .map(|k| format!("{k} x{}", found.count(k)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let rules_out = if not.len() <= 6 {
            not.join(", ")
        } else {
            format!(
                "{} and {} stronger models",
                weakest.join(", "),
                not.len() - weakest.len()
            )
        };
        let against = format!("checked against {}", self.model_names());
        let summary = match valid {
            Validity::Invalid => format!(
                "{head}; {} ({}); rules out {rules_out}; {against}",
                list(&bad),
                if searched {
                    "search complete"
                } else {
                    "search incomplete: named what it could"
                }
            ),
            Validity::Unknown if !an.complete => {
                format!(
                    "{head}; no anomaly found, but the graph was capped (too many inferred edges); {against}"
                )
            }
            Validity::Unknown => format!(
                "{head}; time limit of {:?} ran out before the search finished; {against}",
                self.time_limit.unwrap_or_default()
            ),
            Validity::Valid if allowed.is_empty() => format!("{head}; no anomalies; {against}"),
            Validity::Valid => format!(
                "{head}; no anomaly that {} prohibits; found {} (rules out {rules_out})",
                self.model_names(),
                list(&allowed)
            ),
        };
        let counts = |ks: &[&str]| -> serde_json::Map<String, Value> {
            ks.iter()
                .map(|k| (k.to_string(), json!(found.count(k))))
                .collect()
        };
        let mut v = Verdict::new("elle", valid, summary);
        v.details = json!({
            "model": self.model.name(),
            "txns": self.txns,
            "consistency_models": self.models.iter().map(|m| models::friendly(m)).collect::<Vec<_>>(),
            "anomaly_types": bad,
            "counts": counts(&bad),
            "allowed_counts": counts(&allowed),
            "not": not,
            "boundary": {"not": weakest, "also_not": not.iter().filter(|m| !weakest.contains(m)).collect::<Vec<_>>()},
            "sccs": self.sccs,
            "data_edges": self.data_edges,
            "edges": self.edges,
            "complete": searched && an.complete,
            "cycle_search_timeouts": self.timeouts.iter().map(|t| json!({"kind": t.kind, "scc_size": t.scc_size})).collect::<Vec<_>>(),
            "stats": an.stats,
            "phase_ms": phases,
        });
        let (shown, rest): (Vec<Anomaly>, Vec<Anomaly>) = found
            .list
            .into_iter()
            .filter(|a| !a.explanation.is_empty())
            .partition(|a| self.counts(&a.kind));
        v.anomalies = shown;
        if !rest.is_empty() {
            v.details["allowed"] = serde_json::to_value(rest).unwrap_or(Value::Null);
        }
        v
    }
}
