//! Fault coverage: per fault kind and target, how many faults fired and how
//! many took effect, and which anomalies appeared during, after (or, for lost
//! writes, just before) which fault. Read from the history alone, so it works
//! for any run of any system: a fault is a nemesis invoke/completion pair whose
//! invoke value names its `target` (faultline's schedule does) and whose
//! completion says what it `hit` (an empty `hit`, or an error, means it did
//! not take effect: a kill of a process that was already dead). Foreign
//! histories without those fields count every fault that did not fail, under
//! target `?`.
//!
//! Placement rule, per anomaly, at the completion time of its earliest op:
//! inside a fault's window (its start to its undo) is `during`; a lost write
//! (kind containing `lost`) outside any window belongs `before` the next
//! fault (the one that lost it, as the Redis failover attribution does);
//! anything else goes `after` the latest fault that ended before it. Anomalies
//! before every fault, or without ops, are `unplaced`.

use crate::checker::Verdict;
use crate::history::{History, OpType};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// One fault as it happened.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaultEvent {
    /// `partition`, `kill`, `pause`, `clock`, `clock-drift`, or a foreign `f`.
    pub kind: String,
    /// `one`, `leader`, `minority`, `majority`, `all`, or `?`.
    pub target: String,
    /// Nanoseconds in the history's time base.
    pub start: u64,
    pub end: u64,
    pub took_effect: bool,
    /// Nodes it took effect on (empty when unknown).
    #[serde(default)]
    pub hit: Vec<String>,
    /// `"<anomaly kind> <phase>"` → count.
    #[serde(default)]
    pub anomalies: BTreeMap<String, usize>,
}

/// One row of the table: a fault kind and target.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CoverageRow {
    pub kind: String,
    pub target: String,
    pub fired: usize,
    pub took_effect: usize,
    /// `"<anomaly kind> <phase>"` → count, over this row's faults.
    #[serde(default)]
    pub anomalies: BTreeMap<String, usize>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    pub rows: Vec<CoverageRow>,
    pub faults: Vec<FaultEvent>,
    /// Anomaly kind → count of anomalies no fault could be tied to.
    #[serde(default)]
    pub unplaced: BTreeMap<String, usize>,
}

/// The fault family of a nemesis `f`: (kind, true for a start / false for an undo).
fn family(f: &str) -> Option<(&'static str, bool)> {
    Some(match f {
        "partition" | "start-partition" => ("partition", true),
        "heal" | "stop-partition" => ("partition", false),
        "kill" => ("kill", true),
        "restart" | "start" => ("kill", false),
        "pause" => ("pause", true),
        "resume" => ("pause", false),
        "clock-bump" | "clock-strobe" | "bump" | "strobe" => ("clock", true),
        "clock-reset" | "reset-clock" => ("clock", false),
        "clock-drift" => ("clock-drift", true),
        "clock-rate-reset" => ("clock-drift", false),
        "delay" => ("delay", true),
        "loss" => ("loss", true),
        "packet-heal" => ("delay", false),
        // A sharded store's range move or group add: no undo, it lasts as long as it ran.
        "rebalance" => ("rebalance", true),
        _ => return None,
    })
}

/// Whether a fault's completion says it took effect.
fn effect(value: &Value, error: bool) -> (bool, Vec<String>) {
    if error {
        return (false, Vec::new());
    }
    match value.get("hit").and_then(Value::as_array) {
        Some(hit) => {
            let hit: Vec<String> = hit
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect();
            (!hit.is_empty(), hit)
        }
        None => (true, Vec::new()),
    }
}

/// The faults of `h`, in start order, each ending at its family's next undo.
pub fn faults(h: &History) -> Vec<FaultEvent> {
    let end_of_history = h.ops.iter().map(|o| o.time).max().unwrap_or(0);
    let mut out: Vec<FaultEvent> = Vec::new();
    let mut open: BTreeMap<&'static str, Vec<usize>> = BTreeMap::new();
    let mut pending: Option<&crate::history::Op> = None;
    for op in h.nemesis_ops() {
        if op.ty == OpType::Invoke {
            pending = Some(op);
            continue;
        }
        let inv = pending.take().filter(|i| i.f == op.f);
        let Some((kind, starts)) = family(&op.f) else {
            continue;
        };
        let start = inv.map_or(op.time, |i| i.time);
        if starts {
            // A rebalance is aimed at the whole store; what it did (a range `move`,
            // a group `add`) is what coverage tells apart.
            let did = (kind == "rebalance").then(|| op.value.get("action")).flatten();
            let target = did
                .or_else(|| inv.and_then(|i| i.value.get("target")))
                .or_else(|| op.value.get("target"))
                .and_then(Value::as_str)
                .unwrap_or("?");
            let (took_effect, hit) = effect(&op.value, op.error.is_some());
            let one_shot = kind == "rebalance";
            if !one_shot {
                open.entry(kind).or_default().push(out.len());
            }
            out.push(FaultEvent {
                kind: kind.to_string(),
                target: target.to_string(),
                start,
                end: if one_shot {
                    op.time.max(start)
                } else {
                    end_of_history
                },
                took_effect,
                hit,
                anomalies: BTreeMap::new(),
            });
        } else {
            // One undo heals both packet faults.
            let heals: &[&'static str] = if op.f == "packet-heal" {
                &["delay", "loss"]
            } else {
                &[kind]
            };
            for k in heals {
                for i in open.remove(k).unwrap_or_default() {
                    out[i].end = op.time.max(out[i].start);
                }
            }
        }
    }
    out
}

/// Where an anomaly seen at `t` belongs: (fault index, phase).
fn place(faults: &[FaultEvent], t: u64, lost: bool) -> Option<(usize, &'static str)> {
    let effective = |f: &&FaultEvent| f.took_effect;
    if let Some(i) = faults
        .iter()
        .rposition(|f| effective(&f) && f.start <= t && t <= f.end)
    {
        return Some((i, "during"));
    }
    if lost {
        if let Some(i) = faults.iter().position(|f| effective(&f) && f.start > t) {
            return Some((i, "before"));
        }
    }
    faults
        .iter()
        .rposition(|f| effective(&f) && f.end < t)
        .map(|i| (i, "after"))
}

/// The coverage of a run: its faults and where each checker's anomalies fall.
pub fn of(h: &History, verdicts: &[Verdict]) -> Coverage {
    let mut faults = faults(h);
    let mut unplaced = BTreeMap::new();
    let time_of = |i: u64| {
        h.ops
            .get(i as usize)
            .filter(|o| o.index == i)
            .or_else(|| h.ops.iter().find(|o| o.index == i))
            .map(|o| o.time)
    };
    for a in verdicts.iter().flat_map(|v| &v.anomalies) {
        if a.kind == "lost-attribution" {
            continue;
        }
        let t = a.ops.iter().filter_map(|&i| time_of(i)).min();
        match t.and_then(|t| place(&faults, t, a.kind.contains("lost"))) {
            Some((i, phase)) => {
                *faults[i]
                    .anomalies
                    .entry(format!("{} {phase}", a.kind))
                    .or_default() += 1
            }
            None => *unplaced.entry(a.kind.clone()).or_default() += 1,
        }
    }
    let mut rows: BTreeMap<(String, String), CoverageRow> = BTreeMap::new();
    for f in &faults {
        let r = rows
            .entry((f.kind.clone(), f.target.clone()))
            .or_insert_with(|| CoverageRow {
                kind: f.kind.clone(),
                target: f.target.clone(),
                fired: 0,
                took_effect: 0,
                anomalies: BTreeMap::new(),
            });
        r.fired += 1;
        r.took_effect += usize::from(f.took_effect);
        for (k, n) in &f.anomalies {
            *r.anomalies.entry(k.clone()).or_default() += n;
        }
    }
    Coverage {
        rows: rows.into_values().collect(),
        faults,
        unplaced,
    }
}

/// `a×3 during, b after` for a row's anomalies, or an em dash.
fn anomaly_text(a: &BTreeMap<String, usize>) -> String {
    if a.is_empty() {
        return "—".into();
    }
    a.iter()
        .map(|(k, n)| if *n == 1 { k.clone() } else { format!("{k} ×{n}") })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The "Fault coverage" section of report.html (nothing when no fault fired).
pub fn section(b: &mut String, c: &Coverage) {
    use super::escape::html;
    use std::fmt::Write;
    if c.rows.is_empty() {
        return;
    }
    b.push_str(r#"<section id="coverage"><h2>Fault coverage</h2><table class="grid"><tr><th>fault</th><th>target</th><th>fired</th><th>took effect</th><th>anomalies (during / after / before the fault)</th></tr>"#);
    for r in &c.rows {
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            html(&r.kind),
            html(&r.target),
            r.fired,
            r.took_effect,
            html(&anomaly_text(&r.anomalies))
        );
    }
    b.push_str("</table>");
    if !c.unplaced.is_empty() {
        let _ = write!(
            b,
            "<p>Not tied to any fault: {}.</p>",
            html(&anomaly_text(&c.unplaced))
        );
    }
    b.push_str("<p>A fault took effect when it hit at least one node (a kill of a node already dead does not). Lost writes outside any fault are placed before the next fault, by when they were acknowledged.</p></section>\n");
}

#[cfg(test)]
#[path = "coverage_tests.rs"]
mod tests;
