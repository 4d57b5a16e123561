//! Elle parity for list-append: unobserved appends placed in the version
//! order, every anomaly class named, lost appends, consistency models chosen
//! by the user, and Elle's own process-less example history.

use crate::support::elle as elle_support;
use faultline::checker::elle::{check, Elle, ElleOptions};
use faultline::checker::{CheckOptions, Checker, Validity, Verdict};

use elle_support::{fixture, kinds, path, run_with};
use faultline::history::{import, History, OpType};
use serde_json::{json, Value};

fn run(h: &History) -> Verdict {
    Elle.check(h, &CheckOptions::default())
}

fn strs(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect()
}

/// Each txn invoked and completed before the next, each on its own process.
fn seq(txns: &[(OpType, Value)]) -> History {
    let t: Vec<(u64, OpType, Value)> = txns
        .iter()
        .enumerate()
        .map(|(p, (ty, v))| (p as u64, *ty, v.clone()))
        .collect();
    elle_support::seq(&t)
}

#[test]
fn two_txns_missing_each_others_append_one_never_read_is_g2_item() {
    let _serial = serial!();
    let bad = run(&fixture("G2-item-unobserved-bad.jsonl"));
    assert_eq!(bad.valid, Validity::Invalid, "{}", bad.summary);
    let k = kinds(&bad);
    assert!(k.contains(&"G2-item"), "{k:?} {}", bad.summary);
    let not = strs(&bad.details["not"]);
    for m in ["repeatable-read", "serializable", "strict-serializable"] {
        assert!(not.contains(&m), "{m} not ruled out: {not:?}");
    }
    assert!(!not.contains(&"read-committed"), "{not:?}");
    let g2 = bad.anomalies.iter().find(|a| a.kind == "G2-item").unwrap();
    assert!(
        g2.explanation.contains("which no read ever observed"),
        "the explanation says why the unread append is placed: {}",
        g2.explanation
    );
    let inferred: Vec<&Value> = g2.data["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["inferred"] == "unobserved-append")
        .collect();
    assert_eq!(inferred.len(), 1, "{}", g2.data);
    let ok = run(&fixture("G2-item-unobserved-ok.jsonl"));
    assert_eq!(ok.valid, Validity::Valid, "{} {:?}", ok.summary, kinds(&ok));
}

#[test]
fn a_history_with_g_single_realtime_and_g2_item_names_both() {
    let _serial = serial!();
    let v = run(&fixture("G2-item-unobserved-bad.jsonl"));
    let k = kinds(&v);
    assert!(
        k.contains(&"G2-item") && k.contains(&"G-single-realtime"),
        "{k:?}"
    );
    assert_eq!(v.details["sccs"], json!(1), "one component holds both");
    let types = strs(&v.details["anomaly_types"]);
    assert!(
        types.contains(&"G2-item") && types.contains(&"G-single-realtime"),
        "{types:?}"
    );
}

#[test]
fn an_append_simply_never_read_is_no_anomaly() {
    let _serial = serial!();
    let h = seq(&[
        (OpType::Ok, json!([["append", "x", 1]])),
        (OpType::Ok, json!([["r", "x", [1]], ["append", "y", 1]])),
        (OpType::Ok, json!([["r", "y", [1]]])),
        (OpType::Ok, json!([["append", "x", 2], ["append", "y", 2]])),
        (OpType::Info, json!([["append", "x", 3]])),
    ]);
    let v = run(&h);
    assert_eq!(v.valid, Validity::Valid, "{} {:?}", v.summary, kinds(&v));
    let stats = &v.details["stats"];
    assert_eq!(stats["unobserved_appends"], json!(3), "{stats}");
    assert!(
        stats["unobserved_append_edges"].as_u64().unwrap() >= 3,
        "the inference ran: {stats}"
    );
}

#[test]
fn a_lost_append_is_found_named_and_proven() {
    let _serial = serial!();
    let v = run(&fixture("lost-append-bad.jsonl"));
    assert_eq!(v.valid, Validity::Invalid, "{}", v.summary);
    let k = kinds(&v);
    assert!(
        k.contains(&"lost-append") && k.contains(&"G-single-realtime"),
        "{k:?}"
    );
    let a = v.anomalies.iter().find(|a| a.kind == "lost-append").unwrap();
    // The acknowledged append (op 3) and the read begun after it (op 5).
    assert_eq!(a.ops, vec![3, 5], "{a:?}");
    assert_eq!(a.data["element"], json!(2));
    assert_eq!(a.data["read"], json!([1]));
    assert!(a.explanation.contains("lost"), "{}", a.explanation);
    let not = strs(&v.details["not"]);
    assert!(not.contains(&"strict-serializable") && not.contains(&"strong-snapshot-isolation"));
    assert!(
        !not.contains(&"serializable"),
        "a lost append alone is serializable: {not:?}"
    );
    let ok = run(&fixture("lost-append-ok.jsonl"));
    assert_eq!(ok.valid, Validity::Valid, "{} {:?}", ok.summary, kinds(&ok));
}

#[test]
fn a_lost_append_needs_an_acknowledgement_and_a_later_read() {
    let _serial = serial!();
    // The append is info (may never have happened): not lost.
    let info = seq(&[
        (OpType::Ok, json!([["append", "x", 1]])),
        (OpType::Info, json!([["append", "x", 2]])),
        (OpType::Ok, json!([["r", "x", [1]]])),
    ]);
    assert_eq!(run(&info).valid, Validity::Valid);
    // No read of the key after it completed: not lost (nothing shows it missing).
    let unread = seq(&[
        (OpType::Ok, json!([["r", "x", [1]]])),
        (OpType::Ok, json!([["append", "x", 2]])),
    ]);
    let v = run(&unread);
    assert!(!kinds(&v).contains(&"lost-append"), "{}", v.summary);
}

#[test]
fn elle_paper_example_without_process_is_read_and_judged() {
    let _serial = serial!();
    let bad = import::read_path(&path("elle-paper-bad.edn"), None).unwrap();
    assert!(
        bad.warnings.iter().any(|w| w.contains("process")),
        "{:?}",
        bad.warnings
    );
    let v = run(&bad);
    assert_eq!(v.valid, Validity::Invalid, "{}", v.summary);
    assert_eq!(v.details["txns"], json!(4));
    let k = kinds(&v);
    assert!(k.contains(&"G-single"), "{k:?} {}", v.summary);
    let g = v.anomalies.iter().find(|a| a.kind == "G-single").unwrap();
    assert!(
        g.data["edges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["inferred"] == "unobserved-append"),
        "the cycle goes through T3's unread append to 256: {}",
        g.explanation
    );
    let not = strs(&v.details["not"]);
    assert!(not.contains(&"serializable") && not.contains(&"snapshot-isolation"));
    let ok = import::read_path(&path("elle-paper-ok.edn"), None).unwrap();
    let v = run(&ok);
    assert_eq!(v.valid, Validity::Valid, "{} {:?}", v.summary, kinds(&v));
}

#[test]
fn weaker_models_do_not_count_what_they_allow() {
    let _serial = serial!();
    let h = fixture("G2-item-unobserved-bad.jsonl");
    let v = run_with(&h, json!({"elle_consistency_models": "repeatable-read"}));
    assert_eq!(v.valid, Validity::Invalid);
    assert_eq!(kinds(&v), vec!["G2-item"], "{}", v.summary);
    for weak in ["snapshot-isolation", "read-committed"] {
        let v = run_with(&h, json!({"elle_consistency_models": weak}));
        assert_eq!(v.valid, Validity::Valid, "{weak}: {}", v.summary);
        assert!(v.anomalies.is_empty());
        assert!(
            v.details["allowed_counts"]["G2-item"].as_u64() == Some(1),
            "{}",
            v.details
        );
        assert!(
            v.summary.contains("G2-item"),
            "the summary still says what was found: {}",
            v.summary
        );
        assert!(strs(&v.details["not"]).contains(&"repeatable-read"));
    }
    // Models that need no real-time order get no real-time edges.
    let rt = fixture("G-single-realtime-bad.jsonl");
    let v = run_with(&rt, json!({"elle_consistency_models": ["serializable"]}));
    assert_eq!(v.valid, Validity::Valid, "{}", v.summary);
    assert_eq!(v.details["edges"], v.details["data_edges"]);
    assert_eq!(run(&rt).valid, Validity::Invalid);
    let both = run_with(
        &rt,
        json!({"elle_consistency_models": "serializable,strong-snapshot-isolation"}),
    );
    assert_eq!(both.valid, Validity::Invalid);
    let v = run_with(&rt, json!({"elle_consistency_models": "serialisable"}));
    assert_eq!(v.valid, Validity::Unknown);
    assert!(
        v.summary.contains("elle_consistency_models") && v.summary.contains("serializable"),
        "{}",
        v.summary
    );
}

#[test]
fn a_search_out_of_budget_still_proves_what_the_component_does() {
    let _serial = serial!();
    let h = fixture("G2-item-bad.jsonl");
    let o = ElleOptions {
        cycle_search_timeout: std::time::Duration::from_nanos(1),
        ..ElleOptions::default()
    };
    let v = check(&h, &o).unwrap();
    assert_eq!(v.valid, Validity::Invalid, "{}", v.summary);
    assert!(!v.details["cycle_search_timeouts"].as_array().unwrap().is_empty());
    assert_eq!(v.details["complete"], json!(false));
    assert!(v.summary.contains("search incomplete"), "{}", v.summary);
    // The fallback cycle is named by its edges; serializability is ruled out either way.
    assert!(strs(&v.details["not"]).contains(&"serializable"), "{}", v.details);
    assert!(!v.anomalies.is_empty());
}
