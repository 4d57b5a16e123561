//! rw-register version-order inference: the initial state, writes that
//! follow reads within a txn (default), and the per-key sequential and
//! linearizable assumptions (opt-in), with cyclic version orders reported.

use crate::support::elle as elle_support;

use elle_support::{kinds, run_with as run};

use faultline::checker::Validity;
use faultline::history::{History, Op, OpType, Process};
use serde_json::{json, Value};

/// (process, micro-ops with read results), all ok; each txn completes before the next begins.
fn seq(txns: &[(u64, Value)]) -> History {
    let t: Vec<(u64, OpType, Value)> = txns.iter().map(|(p, v)| (*p, OpType::Ok, v.clone())).collect();
    elle_support::seq(&t)
}

/// Data-only checks (serializable), so real-time order cannot explain the verdict.
fn ser(extra: Value) -> Value {
    let mut p = json!({"elle_consistency_models": "serializable"});
    for (k, v) in extra.as_object().unwrap() {
        p[k] = v.clone();
    }
    p
}

#[test]
fn writes_follow_reads_orders_versions_by_default() {
    let _serial = serial!();
    // T2 read x = 1 and then wrote x = 2 (so 1 < 2) and y = 1; T3 read y = 1
    // (after T2) but x = 1 (before T2): a G-single cycle.
    let h = seq(&[
        (0, json!([["w", "x", 1]])),
        (1, json!([["r", "x", 1], ["w", "x", 2], ["w", "y", 1]])),
        (2, json!([["r", "x", 1], ["r", "y", 1]])),
    ]);
    let v = run(&h, ser(json!({})));
    assert_eq!(kinds(&v), vec!["G-single"], "{}", v.summary);
    let a = &v.anomalies[0];
    assert!(
        a.explanation
            .contains("read the first value and then wrote the second"),
        "{}",
        a.explanation
    );
    assert!(a.data["edges"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["inferred"] == "writes-follow-reads"));
    let off = run(&h, ser(json!({"elle_wfr_keys": false})));
    assert_eq!(off.valid, Validity::Valid, "{}", off.summary);
    // Reading the value one wrote over is consistent.
    let fine = seq(&[
        (0, json!([["w", "x", 1]])),
        (1, json!([["r", "x", 1], ["w", "x", 2], ["w", "y", 1]])),
        (2, json!([["r", "x", 2], ["r", "y", 1]])),
    ]);
    assert_eq!(run(&fine, ser(json!({}))).valid, Validity::Valid);
}

/// p0 writes x = 1, then x = 2 and y = 1; p1, concurrently with the second,
/// reads y = 1 but x = 1. Each key alone is linearizable; only a per-key
/// assumption orders 1 before 2, which makes the pair a G-single cycle.
fn stale_register() -> History {
    let t = |ty: OpType, p: u64, v: Value| Op::new(ty, Process::Client(p), "txn", v);
    let mut h = History::new(vec![
        t(OpType::Invoke, 0, json!([["w", "x", 1]])),
        t(OpType::Ok, 0, json!([["w", "x", 1]])),
        t(OpType::Invoke, 0, json!([["w", "x", 2], ["w", "y", 1]])),
        t(OpType::Invoke, 1, json!([["r", "x", null], ["r", "y", null]])),
        t(OpType::Ok, 0, json!([["w", "x", 2], ["w", "y", 1]])),
        t(OpType::Ok, 1, json!([["r", "x", 1], ["r", "y", 1]])),
    ]);
    h.reindex();
    h
}

#[test]
fn sequential_and_linearizable_keys_are_assumptions_to_opt_into() {
    let _serial = serial!();
    let h = stale_register();
    assert_eq!(run(&h, ser(json!({}))).valid, Validity::Valid);
    for flag in ["elle_sequential_keys", "elle_linearizable_keys"] {
        let v = run(&h, ser(json!({ flag: true })));
        assert_eq!(kinds(&v), vec!["G-single"], "{flag}: {}", v.summary);
        let srcs = v.details["stats"]["version_order_sources"].as_array().unwrap();
        assert_eq!(srcs.len(), 3, "{flag}: {srcs:?}");
    }
}

#[test]
fn an_assumption_that_contradicts_itself_is_reported_and_left_out() {
    let _serial = serial!();
    // Under per-key linearizability x went 1 → 2 (writes in real-time order)
    // but was read as 2 and then as 1.
    let h = seq(&[
        (0, json!([["w", "x", 1]])),
        (0, json!([["w", "x", 2]])),
        (1, json!([["r", "x", 2]])),
        (1, json!([["r", "x", 1]])),
    ]);
    let v = run(&h, json!({"elle_linearizable_keys": true}));
    assert_eq!(v.valid, Validity::Invalid, "{}", v.summary);
    assert!(kinds(&v).contains(&"cyclic-versions"), "{:?}", kinds(&v));
    let srcs = v.details["stats"]["version_order_sources"].as_array().unwrap();
    assert!(!srcs.contains(&json!("linearizable-keys")), "{srcs:?}");
    let off = run(&h, json!({"elle_realtime": false}));
    assert_eq!(off.valid, Validity::Valid, "without assumptions: {}", off.summary);
}

#[test]
fn rw_register_lost_update_is_named() {
    let _serial = serial!();
    let h = seq(&[
        (0, json!([["w", "x", 1]])),
        (1, json!([["r", "x", 1], ["w", "x", 2]])),
        (2, json!([["r", "x", 1], ["w", "x", 3]])),
    ]);
    let v = run(&h, ser(json!({})));
    assert!(
        kinds(&v).contains(&"lost-update"),
        "{:?} {}",
        kinds(&v),
        v.summary
    );
    let lu = v.anomalies.iter().find(|a| a.kind == "lost-update").unwrap();
    assert_eq!(lu.ops, vec![3, 5]);
    let not = v.details["not"].as_array().unwrap();
    assert!(not.contains(&json!("repeatable-read")) && !not.contains(&json!("read-committed")));
}
