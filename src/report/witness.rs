//! Reading checker witnesses defensively. Checkers document their own
//! shapes; this module accepts the shapes below (and close variants) and
//! renders whatever is present, never failing on a missing field.
//!
//! Linearizability (`nonlinearizable`), looked up in the anomaly's `data`,
//! then in the verdict's `details`:
//! ```json
//! {"key": "k1",
//!  "prefix": [{"op": 12, "state": 3}, ...],        // or "longest_prefix", "linearizable_prefix"; or bare indices
//!  "failing_op": {"op": 40, "state": 3, "result": 5, "reason": "read 5 but the register holds 3"}}
//!                                                  // or "cannot_place" / "unplaceable" / "stuck", object, index or list
//! ```
//! Elle cycles (`G0`, `G1c`, `G-single`, ...), in the anomaly's `data`:
//! ```json
//! {"cycle": {"txns": [{"op": 17, "value": [["append","x",1]]}, ...],   // or "nodes"; "id"/"index" also accepted
//!            "edges": [{"from": 17, "to": 22, "type": "wr", "key": "x", "value": 1}, ...]}}
//! ```
//! (`edges`/`txns` may sit at the top level of `data`; `source`/`target` and
//! `kind`/`rel` are accepted as edge field names.)

use serde_json::Value;

/// One step of a linearization: the op's history index and the model state after it.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub op: Option<u64>,
    pub state: Option<Value>,
    /// The whole entry, for fields this module does not know.
    pub raw: Value,
}

/// The longest linearizable prefix and what could not be placed after it.
#[derive(Debug, Clone, PartialEq)]
pub struct LinWitness {
    pub key: Option<Value>,
    /// The last steps of the prefix (a long one is listed only at its end).
    pub prefix: Vec<Step>,
    /// Steps in the whole prefix (`prefix_length`, else the steps listed).
    pub total: usize,
    /// Each op that cannot be placed, with its fields (reason, states, result).
    pub failing: Vec<Step>,
}

/// A dependency cycle: txn nodes and labelled edges.
#[derive(Debug, Clone, PartialEq)]
pub struct Cycle {
    /// (id, label detail) per txn; ids are whatever the checker used (usually history indices).
    pub nodes: Vec<(String, String)>,
    /// (from, to, label).
    pub edges: Vec<(String, String, String)>,
}

fn first<'a>(v: &'a Value, keys: &[&str]) -> Option<&'a Value> {
    let m = v.as_object()?;
    keys.iter().find_map(|k| m.get(*k).filter(|x| !x.is_null()))
}

/// Searches `v` (objects only, depth-limited) for the first array under a key matching `pred`.
fn find_array<'a>(v: &'a Value, pred: &dyn Fn(&str) -> bool, depth: u32) -> Option<&'a Vec<Value>> {
    let m = v.as_object()?;
    for (k, x) in m {
        if let (true, Some(a)) = (pred(k), x.as_array()) {
            return Some(a);
        }
    }
    if depth == 0 {
        return None;
    }
    m.values().find_map(|x| find_array(x, pred, depth - 1))
}

fn op_index(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        // The linearizability checker names an op by its `invoke` and `complete`
        // history indices; the completion is what the timeline shows.
        Value::Object(_) => {
            first(v, &["op", "index", "op_index", "id", "complete", "invoke"]).and_then(op_index)
        }
        _ => None,
    }
}

fn step(v: &Value) -> Step {
    Step {
        op: op_index(v),
        state: first(v, &["state", "model_state", "state_after", "after", "model"]).cloned(),
        raw: v.clone(),
    }
}

const FAILING_KEYS: &[&str] = &[
    "failing_op",
    "failing",
    "cannot_place",
    "unplaceable",
    "stuck",
    "failed_op",
    "culprit",
    "last_op",
    "op",
];

/// The linearizability witness in `data` (or `details`), if either holds a prefix or a failing op.
pub fn linearizable(data: &Value, details: &Value) -> Option<LinWitness> {
    [data, details].into_iter().find_map(|src| {
        let prefix = find_array(src, &|k| k.contains("prefix") || k == "linearization", 2);
        let failing_v = first(src, FAILING_KEYS).or_else(|| {
            src.as_object()?
                .values()
                .find_map(|x| first(x, FAILING_KEYS).filter(|_| x.is_object()))
        });
        if prefix.is_none() && failing_v.is_none() {
            return None;
        }
        let failing = match failing_v {
            Some(Value::Array(a)) => a.iter().map(step).collect(),
            Some(v) => vec![step(v)],
            None => vec![],
        };
        let prefix: Vec<Step> = prefix.map(|a| a.iter().map(step).collect()).unwrap_or_default();
        let total = first(src, &["prefix_length"])
            .and_then(Value::as_u64)
            .map_or(prefix.len(), |n| (n as usize).max(prefix.len()));
        Some(LinWitness {
            key: first(src, &["key"]).cloned(),
            prefix,
            total,
            failing,
        })
    })
}

fn id_text(v: &Value) -> String {
    match v {
        Value::Object(_) => op_index(v)
            .map(|i| i.to_string())
            .unwrap_or_else(|| v.to_string()),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The cycle in an Elle anomaly's `data`, if it has edges.
pub fn cycle(data: &Value) -> Option<Cycle> {
    let edges_v = find_array(data, &|k| k == "edges" || k == "steps", 2)?;
    let mut edges = Vec::new();
    for e in edges_v {
        let (Some(from), Some(to)) = (
            first(e, &["from", "source", "src", "a"]),
            first(e, &["to", "target", "dst", "b"]),
        ) else {
            continue;
        };
        let mut label: Vec<String> = Vec::new();
        if let Some(t) = first(e, &["type", "kind", "rel", "dep"]) {
            label.push(super::escape::value_text(t));
        }
        if let Some(k) = first(e, &["key"]) {
            let v = first(e, &["value", "element", "version"]).map(super::escape::value_text);
            label.push(match v {
                Some(v) => format!("{}={}", super::escape::value_text(k), v),
                None => super::escape::value_text(k),
            });
        }
        edges.push((id_text(from), id_text(to), label.join(" ")));
    }
    if edges.is_empty() {
        return None;
    }
    let mut nodes: Vec<(String, String)> = Vec::new();
    if let Some(txns) = find_array(data, &|k| k == "txns" || k == "transactions" || k == "nodes", 2) {
        for t in txns {
            let detail = first(t, &["value", "ops", "txn", "mops"])
                .map(|v| v.to_string())
                .unwrap_or_default();
            nodes.push((id_text(t), detail));
        }
    }
    for (a, b, _) in &edges {
        for id in [a, b] {
            if !nodes.iter().any(|(n, _)| n == id) {
                nodes.push((id.clone(), String::new()));
            }
        }
    }
    Some(Cycle { nodes, edges })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_the_linearizable_checkers_prefix_shape() {
        let d = json!({"key": "k1", "longest_prefix": [
            {"complete": 11, "invoke": 8, "f": "cas", "state_after": 1},
            {"complete": 27, "invoke": 26, "f": "write", "state_after": 2}]});
        let w = linearizable(&d, &Value::Null).unwrap();
        assert_eq!(
            w.prefix.iter().map(|s| s.op).collect::<Vec<_>>(),
            vec![Some(11), Some(27)]
        );
        assert_eq!(w.prefix[1].state, Some(json!(2)));
    }

    #[test]
    fn reads_prefix_objects_and_failing_op() {
        let d = json!({"key": "k1", "longest_prefix": [{"op": 1, "state": 0}, 3],
                       "failing_op": {"op": 9, "state": 0, "result": 5, "reason": "r"}});
        let w = linearizable(&d, &Value::Null).unwrap();
        assert_eq!(w.key, Some(json!("k1")));
        assert_eq!(
            w.prefix.iter().map(|s| s.op).collect::<Vec<_>>(),
            vec![Some(1), Some(3)]
        );
        assert_eq!(w.prefix[0].state, Some(json!(0)));
        assert_eq!(w.failing[0].op, Some(9));
    }

    #[test]
    fn falls_back_to_details_and_tolerates_absence() {
        assert!(linearizable(&json!({"x": 1}), &Value::Null).is_none());
        let det = json!({"witness": {"linearizable_prefix": [4, 5], "cannot_place": [{"index": 7}]}});
        let w = linearizable(&Value::Null, &det).unwrap();
        assert_eq!(w.prefix.len(), 2);
        assert_eq!(w.failing[0].op, Some(7));
    }

    #[test]
    fn reads_nested_cycle_with_variant_field_names() {
        let d = json!({"cycle": {"txns": [{"op": 1, "value": [["append","x",1]]}],
                       "edges": [{"source": 1, "target": 2, "kind": "wr", "key": "x", "value": 1},
                                 {"from": 2, "to": 1, "type": "rw"}, {"junk": true}]}});
        let c = cycle(&d).unwrap();
        assert_eq!(
            c.edges,
            vec![
                ("1".into(), "2".into(), "wr x=1".into()),
                ("2".into(), "1".into(), "rw".into())
            ]
        );
        assert_eq!(c.nodes.len(), 2);
        assert!(c.nodes[0].1.contains("append"));
        assert!(cycle(&json!({"edges": []})).is_none());
    }
}
