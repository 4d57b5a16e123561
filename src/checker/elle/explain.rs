//! Explanations: one sentence per cycle edge, plus the cycle as JSON data.

use super::atom::{Interner, NONE};
use super::cycle::Cycle;
use super::graph::{kind_name, Edge, Via, PROCESS, REALTIME, RW, WR, WW};
use super::txn::Txn;
use super::Model;
use crate::checker::Anomaly;
use crate::history::History;
use serde_json::{json, Value};

/// Turns a cycle into an anomaly naming its transactions T1..Tn in cycle order.
pub fn cycle_anomaly(c: &Cycle, txns: &[Txn], h: &History, int: &Interner, model: Model) -> Anomaly {
    // Start the cycle at its earliest transaction, so T1 is the first in the history.
    let start = (0..c.edges.len())
        .min_by_key(|&i| txns[c.edges[i].from as usize].op)
        .unwrap_or(0);
    let mut edges = c.edges.clone();
    edges.rotate_left(start);
    let nodes: Vec<u32> = edges.iter().map(|e| e.from).collect();
    let name = |t: u32| {
        let i = nodes.iter().position(|&n| n == t).unwrap_or(0);
        format!("T{}", i + 1)
    };
    let mut sentences = Vec::new();
    let mut edges_json = Vec::new();
    for e in &edges {
        let (ta, tb) = (name(e.from), name(e.to));
        let (k, a, b) = (int.show(e.key), int.show(e.a), int.show(e.b));
        let s = edge_sentence(e, &ta, &tb, &k, &a, &b, model, txns);
        sentences.push(s);
        let mut ej = json!({"from": ta, "to": tb, "type": kind_name(e.kind)});
        if e.key != NONE {
            ej["key"] = int.json(e.key);
            ej["value"] = int.json(e.a);
            if e.b != NONE {
                ej["next"] = int.json(e.b);
            }
        }
        if let Some(via) = via_name(e.via) {
            ej["inferred"] = json!(via);
        }
        edges_json.push(ej);
    }
    let ops: Vec<u64> = nodes.iter().map(|&t| txns[t as usize].op).collect();
    let lets: Vec<String> = nodes
        .iter()
        .enumerate()
        .map(|(i, &t)| format!("T{} = op {}", i + 1, txns[t as usize].op))
        .collect();
    let cycle_json: Vec<Value> = nodes
        .iter()
        .enumerate()
        .map(|(i, &t)| {
            let tx = &txns[t as usize];
            json!({"name": format!("T{}", i + 1), "op": tx.op, "process": tx.process,
                   "value": h.ops[tx.value_pos].value})
        })
        .collect();
    Anomaly {
        kind: c.kind.clone(),
        explanation: format!(
            "Let {}. Then {}. Each transaction must precede the next, around a cycle.",
            lets.join(", "),
            sentences.join("; ")
        ),
        ops,
        data: json!({"cycle": cycle_json, "edges": edges_json}),
    }
}

/// The name of an inference behind an edge (`None` when observed).
fn via_name(via: Via) -> Option<&'static str> {
    match via {
        Via::Observed => None,
        Via::Unobserved => Some("unobserved-append"),
        Via::Initial => Some("initial-state"),
        Via::WritesFollowReads => Some("writes-follow-reads"),
        Via::SequentialKeys => Some("sequential-keys"),
        Via::LinearizableKeys => Some("linearizable-keys"),
    }
}

/// Why a version order holds, for inferred edges.
fn why(via: Via) -> &'static str {
    match via {
        Via::Observed | Via::Unobserved => "",
        Via::Initial => "the initial nil state comes first",
        Via::WritesFollowReads => "a transaction read the first value and then wrote the second",
        Via::SequentialKeys => "assuming each key sequentially consistent, in process order",
        Via::LinearizableKeys => "assuming each key linearizable, in real-time order",
    }
}

/// One sentence saying why `ta` precedes `tb` along edge `e`.
#[allow(clippy::too_many_arguments)]
fn edge_sentence(
    e: &Edge,
    ta: &str,
    tb: &str,
    k: &str,
    a: &str,
    b: &str,
    model: Model,
    txns: &[Txn],
) -> String {
    match (e.kind, model) {
        (WW, Model::ListAppend) if e.via == Via::Unobserved => format!(
            "no read observed {tb}'s append of {b} to {k}, so it came after every observed element, \
             the last of which {ta} appended ({a})"
        ),
        (WW, Model::ListAppend) => format!("{tb} appended {b} to {k} right after {ta} appended {a}"),
        (WW, Model::RwRegister) if e.via == Via::Observed => {
            format!("{tb} overwrote {ta}'s write of {a} to {k} with {b}")
        }
        (WW, Model::RwRegister) => format!(
            "{ta} wrote {k} = {a} and {tb} wrote {b}, which came later in the version order ({})",
            why(e.via)
        ),
        (WR, Model::ListAppend) => format!("{tb} observed {ta}'s append of {a} to {k}"),
        (WR, Model::RwRegister) => format!("{tb} read {k} = {a}, written by {ta}"),
        (RW, Model::ListAppend) if e.via == Via::Unobserved && e.a == NONE => format!(
            "{ta} read {k} as empty, and {tb}'s append of {b}, which no read ever observed, \
             came after every observed element"
        ),
        (RW, Model::ListAppend) if e.via == Via::Unobserved => format!(
            "{ta} read all of {k} that was ever observed (ending in {a}) without {tb}'s append of {b}, \
             which no read observed, so that append came later"
        ),
        (RW, Model::ListAppend) if e.a == NONE => {
            format!("{ta} read {k} as empty, so did not observe {tb}'s append of {b}")
        }
        (RW, Model::ListAppend) => {
            format!("{ta} read {k} ending in {a}, so did not observe {tb}'s append of {b} that came next")
        }
        (RW, Model::RwRegister) if e.a == NONE => {
            format!("{ta} read {k} = nil, the initial state, before {tb} wrote {b}")
        }
        (RW, Model::RwRegister) => format!(
            "{ta} read {k} = {a}, and {tb} wrote {b}, which came later in the version order ({})",
            why(e.via)
        ),
        (PROCESS, _) => format!(
            "{tb} ran after {ta} on the same process {}",
            txns[e.from as usize].process
        ),
        (REALTIME, _) => format!("{tb} began after {ta} completed"),
        _ => format!("{ta} precedes {tb}"),
    }
}
