//! Helpers shared by the Elle checker's integration tests.

use faultline::checker::elle::Elle;
use faultline::checker::{CheckOptions, Checker, Verdict};
use faultline::history::{jsonl, History, Op, OpType, Process};
use serde_json::{json, Value};
use std::path::PathBuf;

/// Path of an Elle fixture.
pub fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/elle")
        .join(name)
}

/// An Elle JSONL fixture.
pub fn fixture(name: &str) -> History {
    jsonl::read_file(&path(name)).unwrap_or_else(|e| panic!("{e}"))
}

/// A sequential history: each txn `(process, outcome, micro-ops with read
/// results)` is invoked (reads as nil) and completed before the next begins.
pub fn seq(txns: &[(u64, OpType, Value)]) -> History {
    let mut ops = Vec::new();
    for (p, ty, v) in txns {
        let inv: Vec<Value> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                if m[0] == "r" {
                    json!(["r", m[1], null])
                } else {
                    m.clone()
                }
            })
            .collect();
        ops.push(Op::new(
            OpType::Invoke,
            Process::Client(*p),
            "txn",
            Value::Array(inv),
        ));
        ops.push(Op::new(*ty, Process::Client(*p), "txn", v.clone()));
    }
    let mut h = History::new(ops);
    h.reindex();
    h
}

/// The `elle` checker with these params.
pub fn run_with(h: &History, params: Value) -> Verdict {
    Elle.check(
        h,
        &CheckOptions {
            params,
            ..CheckOptions::default()
        },
    )
}

/// The kinds of a verdict's anomalies, in order.
pub fn kinds(v: &Verdict) -> Vec<&str> {
    v.anomalies.iter().map(|a| a.kind.as_str()).collect()
}
