//! Turning where the search got stuck into an anomaly a person can follow:
//! the key, the longest linearizable prefix (ops in order with the state
//! after each), the op that could not be placed after it, and why.
//!
//! Size is bounded whatever the history holds: `prefix` lists the last
//! [`PREFIX_STEPS`] steps (`prefix_length` counts them all) and only the
//! last [`STATE_STEPS`] carry `state_after`; an op's value or result, or a
//! step's state, whose JSON exceeds [`VALUE_BYTES`] appears as a preview
//! string (`[1,2,3,…] (1000000 elements)`), the whole being in the history
//! at the op's index. Only `state`, the state where the search got stuck, is
//! always whole. Explanations quote values briefly.

use super::partition::Item;
use super::search::{Entry, Stuck};
use crate::checker::Anomaly;
use crate::history::History;
use crate::model::Model;
use crate::util::text::preview;
use serde_json::{json, Value};

/// Steps of the longest prefix listed (the last ones, before the failure).
pub const PREFIX_STEPS: usize = 100;
/// Steps of the listed prefix that carry the state after them (at most
/// what the search keeps, [`super::search::STUCK_STATES`]).
pub const STATE_STEPS: usize = 30;
/// Largest value (JSON bytes) copied into the witness whole.
pub const VALUE_BYTES: usize = 2048;
/// Characters of a value quoted in the explanation.
const QUOTED: usize = 120;

/// `v` whole when small, else its preview string.
fn bounded(v: &Value) -> Value {
    crate::util::text::bounded(v, VALUE_BYTES)
}

/// "op 12 (process 3: cas [1,4] -> ok)".
fn describe(h: &History, it: &Item) -> String {
    let inv = &h.ops[it.inv];
    let result = match (it.ok, it.info) {
        (Some(c), _) => {
            let v = &h.ops[c].value;
            if v == &inv.value {
                "ok".to_string()
            } else {
                format!("ok {}", preview(v, QUOTED))
            }
        }
        (None, Some(_)) => "info (indeterminate)".into(),
        (None, None) => "pending (indeterminate)".into(),
    };
    format!(
        "op {} (process {}: {} {} -> {result})",
        inv.index,
        inv.process,
        crate::util::text::clip(&inv.f, 40),
        preview(&inv.value, QUOTED)
    )
}

fn op_json(h: &History, it: &Item) -> Value {
    let inv = &h.ops[it.inv];
    json!({
        "invoke": inv.index,
        "complete": it.ok.or(it.info).map(|c| h.ops[c].index),
        "process": inv.process,
        "f": inv.f,
        "value": bounded(&inv.value),
        "result": it.ok.map(|c| bounded(&h.ops[c].value)),
        "indeterminate": it.ok.is_none(),
    })
}

/// Builds the `nonlinearizable` anomaly for one partition.
pub fn anomaly<M: Model>(
    h: &History,
    model: &mut M,
    key: Option<&str>,
    entries: &[Entry<M::Op>],
    items: &[Item],
    stuck: Option<&Stuck<M::State>>,
) -> Anomaly {
    let where_ = match key {
        Some(k) => format!("Key {k:?}: "),
        None => String::new(),
    };
    let Some(stuck) = stuck else {
        return Anomaly {
            kind: "nonlinearizable".into(),
            explanation: format!(
                "{where_}no order of the ops respects both real time and the {} model \
                 (the witness search ran out of budget)",
                model.name()
            ),
            ops: Vec::new(),
            data: json!({ "key": key }),
        };
    };
    let state_now = model.state_json(&stuck.state);
    let n = stuck.prefix.len();
    let at = At {
        h,
        entries,
        items,
        stuck,
    };
    let prefix = prefix_json(&at, model);
    let start_text = if stuck.prefix.is_empty() {
        "From the initial state".to_string()
    } else {
        format!(
            "The longest linearizable prefix has {} op(s), ending with {}, leaving the state {}",
            stuck.prefix.len(),
            describe(h, &items[stuck.prefix[stuck.prefix.len() - 1].0]),
            preview(&state_now, QUOTED)
        )
    };
    let mut ops = Vec::new();
    let (blocking_json, blocking_text) = blocking(&at, model, &mut ops);
    let candidates = candidates_json(&at, model, &mut ops);
    let others = match candidates.len() {
        0 => "No other op was pending there".to_string(),
        n => format!("Every order of the {n} other pending op(s) was tried too and fails"),
    };
    let explanation = format!(
        "{where_}{start_text}. Then {blocking_text} {others}, so the history is not \
         linearizable for the {} model.",
        model.name()
    );
    Anomaly {
        kind: "nonlinearizable".into(),
        explanation,
        ops,
        data: json!({
            "key": key,
            "model": model.name(),
            "prefix": prefix,
            "prefix_length": n,
            "state": state_now,
            "blocking": blocking_json,
            "concurrent": candidates,
        }),
    }
}

/// Where the search got stuck, with what is needed to describe it.
struct At<'a, M: Model> {
    h: &'a History,
    entries: &'a [Entry<M::Op>],
    items: &'a [Item],
    stuck: &'a Stuck<M::State>,
}

/// The last [`PREFIX_STEPS`] steps of the longest prefix, the last [`STATE_STEPS`] with
/// the state after them.
fn prefix_json<M: Model>(at: &At<M>, model: &M) -> Vec<Value> {
    let (h, items, stuck) = (at.h, at.items, at.stuck);
    let n = stuck.prefix.len();
    stuck
        .prefix
        .iter()
        .enumerate()
        .skip(n.saturating_sub(PREFIX_STEPS))
        .map(|(i, (k, s))| {
            let mut o = op_json(h, &items[*k]);
            if let Some(s) = s.as_ref().filter(|_| i + STATE_STEPS >= n) {
                o["state_after"] = bounded(&model.state_json(s));
            }
            o
        })
        .collect()
}

/// Why op `k` cannot be placed where the search got stuck.
fn why<M: Model>(at: &At<M>, model: &mut M, k: usize) -> String {
    let (entries, stuck) = (at.entries, at.stuck);
    if model.step(&stuck.state, &entries[k].op).is_some() {
        "it could take effect there, but every continuation from that point fails later".to_string()
    } else {
        model.explain(&stuck.state, &entries[k].op)
    }
}

/// The op that completed before it could take effect (JSON and sentence); its invoke
/// and completion join `ops`.
fn blocking<M: Model>(at: &At<M>, model: &mut M, ops: &mut Vec<u64>) -> (Value, String) {
    let (h, items) = (at.h, at.items);
    let Some(b) = at.stuck.blocking else {
        return (Value::Null, "no op can be placed next.".to_string());
    };
    let it = &items[b];
    ops.push(h.ops[it.inv].index);
    if let Some(c) = it.ok {
        ops.push(h.ops[c].index);
    }
    let reason = why(at, model, b);
    let mut j = op_json(h, it);
    j["why"] = Value::String(reason.clone());
    let text = format!(
        "{} completed before it could take effect: {reason}.",
        describe(h, it)
    );
    (j, text)
}

/// The other ops pending where the search got stuck, each with why it cannot go next;
/// their invokes join `ops`.
fn candidates_json<M: Model>(at: &At<M>, model: &mut M, ops: &mut Vec<u64>) -> Vec<Value> {
    let (h, items, stuck) = (at.h, at.items, at.stuck);
    let candidates: Vec<Value> = stuck
        .candidates
        .iter()
        .filter(|&&k| Some(k) != stuck.blocking)
        .map(|&k| {
            let mut j = op_json(h, &items[k]);
            j["why"] = Value::String(why(at, model, k));
            j
        })
        .collect();
    for c in &candidates {
        if let Some(i) = c["invoke"].as_u64() {
            if !ops.contains(&i) {
                ops.push(i);
            }
        }
    }
    candidates
}
