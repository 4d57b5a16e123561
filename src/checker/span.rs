//! Client operations as time spans: an invocation paired with its outcome.
//!
//! The anomaly checkers (set, stale, session, counter, bank, split_brain,
//! perf) all want the same view of a history: for each client op, when it
//! started, when it certainly ended, how it ended and what it carried.
//! Invariant: `start <= end`; an op that ended `info` or is still pending has
//! `end == u64::MAX` (it may take effect at any time after its invocation).

use crate::history::{pair, History, OpType, PairingError, Process};
use serde_json::Value;

/// How a client op ended. A pending op counts as `Info`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    Ok,
    Fail,
    Info,
}

/// One client op as an interval of real time.
#[derive(Clone, Debug)]
pub struct Span<'h> {
    /// History index (`index` field) of the invocation.
    pub inv: u64,
    /// History index of the completion, if there was one.
    pub done: Option<u64>,
    pub process: u64,
    pub f: &'h str,
    pub key: Option<&'h Value>,
    /// The completion's value when `ok` (reads are filled in there), else the invocation's.
    pub value: &'h Value,
    pub node: Option<&'h str>,
    pub outcome: Outcome,
    /// Invocation time (ns).
    pub start: u64,
    /// Completion time (ns) for `ok`/`fail`; `u64::MAX` for `info` or pending.
    pub end: u64,
    /// Completion time when there was a completion (also for `info`), else `None`.
    pub completed_at: Option<u64>,
}

impl Span<'_> {
    /// The history indices proving this op: invocation and completion.
    pub fn ops(&self) -> Vec<u64> {
        let mut v = vec![self.inv];
        v.extend(self.done);
        v
    }

    /// The key as a grouping string (`""` when absent).
    pub fn key_str(&self) -> String {
        match self.key {
            None => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        }
    }
}

/// Pairs the client ops of `h` into spans, in invocation order. Nemesis ops are skipped.
pub fn spans(h: &History) -> Result<Vec<Span<'_>>, PairingError> {
    let pairing = pair(h)?;
    let mut out = Vec::with_capacity(h.ops.len() / 2 + 1);
    for (i, op) in h.ops.iter().enumerate() {
        let Process::Client(p) = op.process else {
            continue;
        };
        if op.ty != OpType::Invoke {
            continue;
        }
        let comp = pairing.partner(i).map(|j| &h.ops[j]);
        let (outcome, end, value) = match comp {
            Some(c) if c.ty == OpType::Ok => (Outcome::Ok, c.time.max(op.time), &c.value),
            Some(c) if c.ty == OpType::Fail => (Outcome::Fail, c.time.max(op.time), &op.value),
            _ => (Outcome::Info, u64::MAX, &op.value),
        };
        let node = comp.and_then(|c| c.node.as_deref()).or(op.node.as_deref());
        out.push(Span {
            inv: op.index,
            done: comp.map(|c| c.index),
            process: p,
            f: op.f.as_str(),
            key: op.key.as_ref().or(comp.and_then(|c| c.key.as_ref())),
            value: if value.is_null() { &op.value } else { value },
            node,
            outcome,
            start: op.time,
            end,
            completed_at: comp.map(|c| c.time.max(op.time)),
        });
    }
    Ok(out)
}

/// Nanoseconds to milliseconds, for reports.
pub fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

/// True when the time budget in `opts` has run out since `start`.
pub fn over_budget(opts: &super::CheckOptions, start: std::time::Instant) -> bool {
    opts.time_limit.is_some_and(|t| start.elapsed() > t)
}

/// The `q`-quantiles (0..=1) of `xs` (sorted in place), as `{"p50": .., ...}` in ms.
pub fn quantiles_ms(xs: &mut [f64]) -> Value {
    xs.sort_by(|a, b| a.total_cmp(b));
    let mut m = serde_json::Map::new();
    for (name, q) in [
        ("p0", 0.0),
        ("p50", 0.5),
        ("p90", 0.9),
        ("p99", 0.99),
        ("p100", 1.0),
    ] {
        let v = if xs.is_empty() {
            Value::Null
        } else {
            let i = ((xs.len() - 1) as f64 * q).round() as usize;
            serde_json::json!(xs[i])
        };
        m.insert(name.to_string(), v);
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Op;
    use serde_json::json;

    #[test]
    fn spans_pair_and_mark_pending_as_info() {
        let c = |ty, p, f: &str, v: Value, t| Op::new(ty, Process::Client(p), f, v).with_time(t);
        let mut h = History::new(vec![
            c(OpType::Invoke, 1, "read", json!(null), 1),
            c(OpType::Invoke, 2, "write", json!(3), 2),
            c(OpType::Ok, 1, "read", json!(3), 5),
        ]);
        h.reindex();
        let s = spans(&h).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!((s[0].outcome, s[0].end, s[0].value), (Outcome::Ok, 5, &json!(3)));
        assert_eq!((s[1].outcome, s[1].end), (Outcome::Info, u64::MAX));
        assert_eq!(s[0].ops(), vec![0, 2]);
    }
}
