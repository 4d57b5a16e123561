//! Replica convergence after the heal (leaderless stores).
//!
//! Input: the `converge` op of the nemesis process, which the runner's
//! convergence phase records after healing every fault: for each key its
//! replicas, and every change in what each replica answered when read
//! directly (no quorum), with the time since the heal:
//! `{"end_ms": t, "keys": {key: {"replicas": [node, ...],
//!   "observations": [[t_ms, {node: value | {"error": e}}], ...]}}}`.
//! Observations are recorded only when a replica's answer changed, so a
//! key agreed from the time of its last observation on, if every replica
//! answered and all answers are equal.
//!
//! Verdict: invalid when some key's replicas still disagree at the end of the
//! phase (`never-converged`, naming the replicas and what each holds); valid
//! with the time from the heal to agreement (max, median) otherwise; unknown
//! when the history has no convergence phase.

use super::{Anomaly, CheckOptions, Checker, Verdict};
use crate::history::{History, OpType};
use serde_json::{json, Map, Value};

const MAX_LISTED: usize = 50;

pub struct Convergence;

/// One key's outcome: converged at `t_ms` after the heal, or never.
struct KeyResult {
    key: String,
    agreed_ms: Option<u64>,
    last: Map<String, Value>,
    replicas: Vec<String>,
}

fn judge(key: &str, entry: &Value) -> Option<KeyResult> {
    let replicas: Vec<String> = entry["replicas"]
        .as_array()?
        .iter()
        .filter_map(|v| v.as_str().map(String::from))
        .collect();
    let obs = entry["observations"].as_array()?;
    let (t, last) = match obs.last() {
        Some(o) => (o[0].as_u64()?, o[1].as_object()?.clone()),
        None => (0, Map::new()),
    };
    let answered = replicas.iter().all(|r| last.get(r).is_some_and(|v| !is_error(v)));
    let first = replicas.first().and_then(|r| last.get(r));
    let agree = answered && replicas.iter().all(|r| last.get(r) == first);
    Some(KeyResult {
        key: key.to_string(),
        agreed_ms: agree.then_some(t),
        last,
        replicas,
    })
}

fn is_error(v: &Value) -> bool {
    v.as_object()
        .is_some_and(|m| m.len() == 1 && m.contains_key("error"))
}

impl Checker for Convergence {
    fn name(&self) -> &str {
        "convergence"
    }

    fn check(&self, h: &History, _opts: &CheckOptions) -> Verdict {
        let phase = h
            .nemesis_ops()
            .filter(|o| o.f == "converge" && o.ty != OpType::Invoke)
            .last();
        let Some(op) = phase else {
            return Verdict::unknown(
                "convergence",
                "no convergence phase in this history (faultline test runs one for --topology leaderless)",
            );
        };
        let Some(keys) = op.value["keys"].as_object() else {
            return Verdict::unknown("convergence", "the converge op has no `keys` object");
        };
        let end_ms = op.value["end_ms"].as_u64().unwrap_or(0);
        let mut results = Vec::new();
        for (k, e) in keys {
            match judge(k, e) {
                Some(r) => results.push(r),
                None => return Verdict::unknown("convergence", format!("key {k}: malformed observations")),
            }
        }
        verdict(results, end_ms, op.index)
    }
}

fn verdict(results: Vec<KeyResult>, end_ms: u64, op: u64) -> Verdict {
    let mut times: Vec<u64> = results.iter().filter_map(|r| r.agreed_ms).collect();
    times.sort_unstable();
    let never: Vec<&KeyResult> = results.iter().filter(|r| r.agreed_ms.is_none()).collect();
    let max = times.last().copied();
    let median = times.get(times.len() / 2).copied();
    let summary = format!(
        "{} keys: {} converged ({}), {} never converged within {end_ms} ms of the heal",
        results.len(),
        times.len(),
        match (max, median) {
            (Some(m), Some(md)) => format!("agreement {md} ms median, {m} ms max after the heal"),
            _ => "none".into(),
        },
        never.len()
    );
    let details = json!({
        "keys": results.len(), "converged": times.len(), "never_converged": never.len(),
        "max_ms": max, "median_ms": median, "end_ms": end_ms,
        "never": never.iter().map(|r| &r.key).take(MAX_LISTED).collect::<Vec<_>>(),
    });
    let mut v = Verdict::valid("convergence", summary).with_details(details);
    if results.is_empty() {
        v.valid = crate::checker::Validity::Unknown;
        v.summary = "the convergence phase read no keys".into();
    }
    for r in never.iter().take(MAX_LISTED) {
        let held: Vec<String> = r
            .replicas
            .iter()
            .map(|n| {
                format!(
                    "{n}: {}",
                    r.last.get(n).map_or("no answer".into(), |v| v.to_string())
                )
            })
            .collect();
        v.push_anomaly(Anomaly {
            kind: "never-converged".into(),
            explanation: format!(
                "key {}: its replicas still disagreed {end_ms} ms after the heal ({})",
                r.key,
                crate::util::text::clip(&held.join("; "), 400)
            ),
            ops: vec![op],
            data: json!({"key": r.key, "replicas": r.last}),
        });
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{Op, Process};

    fn history(keys: Value) -> History {
        let inv = Op::new(OpType::Invoke, Process::Nemesis, "converge", Value::Null);
        let done = Op::new(
            OpType::Info,
            Process::Nemesis,
            "converge",
            json!({"end_ms": 5000, "keys": keys}),
        );
        let mut h = History::new(vec![inv, done]);
        h.reindex();
        h
    }

    #[test]
    fn replicas_that_end_equal_converge_at_their_last_change() {
        let h = history(json!({
            "a": {"replicas": ["n1", "n2"], "observations": [
                [0, {"n1": [1], "n2": []}], [700, {"n1": [1], "n2": [1]}]]},
            "b": {"replicas": ["n1", "n2"], "observations": [[0, {"n1": 3, "n2": 3}]]},
        }));
        let v = Convergence.check(&h, &CheckOptions::default());
        assert_eq!(v.valid, crate::checker::Validity::Valid, "{}", v.summary);
        assert_eq!(
            (v.details["max_ms"].as_u64(), v.details["converged"].as_u64()),
            (Some(700), Some(2))
        );
    }

    #[test]
    fn replicas_that_disagree_or_do_not_answer_never_converged() {
        let h = history(json!({
            "a": {"replicas": ["n1", "n2"], "observations": [[0, {"n1": [1], "n2": [1, 2]}]]},
            "b": {"replicas": ["n1", "n2"], "observations": [[0, {"n1": 3, "n2": {"error": "down"}}]]},
            "c": {"replicas": ["n1", "n2"], "observations": [[0, {"n1": 3, "n2": 3}]]},
        }));
        let v = Convergence.check(&h, &CheckOptions::default());
        assert_eq!(v.valid, crate::checker::Validity::Invalid);
        let keys: Vec<&Value> = v.anomalies.iter().map(|a| &a.data["key"]).collect();
        assert_eq!(keys, vec!["a", "b"]);
        assert!(
            v.anomalies[0].explanation.contains("n2: [1,2]"),
            "{}",
            v.anomalies[0].explanation
        );
        let none = Convergence.check(&History::default(), &CheckOptions::default());
        assert_eq!(none.valid, crate::checker::Validity::Unknown);
    }
}
