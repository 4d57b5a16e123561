//! Turning where the search got stuck into an anomaly a person can follow:
//! the key, the longest linearizable prefix (ops in order with the state
//! after each), the op that could not be placed after it, and why.

use super::partition::Item;
use super::search::{Entry, Stuck};
use crate::checker::Anomaly;
use crate::history::History;
use crate::model::Model;
use serde_json::{json, Value};

/// "op 12 (process 3: cas [1,4] -> ok)".
fn describe(h: &History, it: &Item) -> String {
    let inv = &h.ops[it.inv];
    let result = match (it.ok, it.info) {
        (Some(c), _) => {
            let v = &h.ops[c].value;
            if v == &inv.value {
                "ok".to_string()
            } else {
                format!("ok {v}")
            }
        }
        (None, Some(_)) => "info (indeterminate)".into(),
        (None, None) => "pending (indeterminate)".into(),
    };
    format!(
        "op {} (process {}: {} {} -> {result})",
        inv.index, inv.process, inv.f, inv.value
    )
}

fn op_json(h: &History, it: &Item) -> Value {
    let inv = &h.ops[it.inv];
    json!({
        "invoke": inv.index,
        "complete": it.ok.or(it.info).map(|c| h.ops[c].index),
        "process": inv.process,
        "f": inv.f,
        "value": inv.value,
        "result": it.ok.map(|c| h.ops[c].value.clone()),
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
    let prefix: Vec<Value> = stuck
        .prefix
        .iter()
        .map(|(k, s)| {
            let mut o = op_json(h, &items[*k]);
            o["state_after"] = model.state_json(s);
            o
        })
        .collect();
    let mut why = |k: usize| -> String {
        if model.step(&stuck.state, &entries[k].op).is_some() {
            "it could take effect there, but every continuation from that point fails later".to_string()
        } else {
            model.explain(&stuck.state, &entries[k].op)
        }
    };
    let start_text = if stuck.prefix.is_empty() {
        "From the initial state".to_string()
    } else {
        format!(
            "The longest linearizable prefix has {} op(s), ending with {}, leaving the state {}",
            stuck.prefix.len(),
            describe(h, &items[stuck.prefix[stuck.prefix.len() - 1].0]),
            state_now
        )
    };
    let mut ops = Vec::new();
    let (blocking_json, blocking_text) = match stuck.blocking {
        Some(b) => {
            let it = &items[b];
            ops.push(h.ops[it.inv].index);
            if let Some(c) = it.ok {
                ops.push(h.ops[c].index);
            }
            let reason = why(b);
            let mut j = op_json(h, it);
            j["why"] = Value::String(reason.clone());
            (
                j,
                format!(
                    "{} completed before it could take effect: {reason}.",
                    describe(h, it)
                ),
            )
        }
        None => (Value::Null, "no op can be placed next.".to_string()),
    };
    let candidates: Vec<Value> = stuck
        .candidates
        .iter()
        .filter(|&&k| Some(k) != stuck.blocking)
        .map(|&k| {
            let it = &items[k];
            let mut j = op_json(h, it);
            j["why"] = Value::String(why(k));
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
            "state": state_now,
            "blocking": blocking_json,
            "concurrent": candidates,
        }),
    }
}
