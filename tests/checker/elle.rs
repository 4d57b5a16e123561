//! Elle checker: hand-written ok/bad fixture pairs (one per anomaly kind) and
//! the examples from Elle's documentation.

use crate::support::elle as elle_support;
use faultline::checker::elle::{check, Elle, ElleOptions};
use faultline::checker::{registry, CheckOptions, Checker, Validity, Verdict};

use elle_support::{fixture, seq};
use faultline::history::{History, Op, OpType, Process};
use serde_json::json;
use std::path::PathBuf;
use std::time::Duration;

fn run(h: &History) -> Verdict {
    Elle.check(h, &CheckOptions::default())
}

fn kinds(v: &Verdict) -> Vec<&str> {
    v.anomalies.iter().map(|a| a.kind.as_str()).collect()
}

/// (fixture stem, the kinds the bad file must be named as)
const PAIRS: &[(&str, &[&str])] = &[
    ("G0", &["G0"]),
    ("G1a", &["G1a"]),
    ("G1b", &["G1b", "G-single", "lost-append"]),
    ("G1c", &["G1c"]),
    ("G-single", &["G-single"]),
    ("G2-item", &["G2-item"]),
    ("G1c-process", &["G1c-process"]),
    ("G-single-process", &["G-single-process"]),
    ("G-single-realtime", &["G-single-realtime"]),
    ("G0-realtime", &["G0-realtime"]),
    ("internal", &["internal"]),
    ("duplicate-elements", &["duplicate-elements"]),
    ("incompatible-order", &["incompatible-order"]),
    ("rw-G1a", &["G1a"]),
    ("rw-G1b", &["G1b"]),
    ("rw-G1c", &["G1c"]),
    ("rw-G-single", &["G-single"]),
    ("rw-internal", &["internal"]),
];

#[test]
fn fixture_pairs_ok_is_valid_bad_is_named() {
    let _serial = serial!();
    let mut wrong = Vec::new();
    for (stem, want) in PAIRS {
        let ok = run(&fixture(&format!("{stem}-ok.jsonl")));
        if ok.valid != Validity::Valid {
            wrong.push(format!("{stem}-ok: {} {:?}", ok.summary, kinds(&ok)));
        }
        let bad = run(&fixture(&format!("{stem}-bad.jsonl")));
        let mut got = kinds(&bad);
        got.sort_unstable();
        let mut want = want.to_vec();
        want.sort_unstable();
        if got != want {
            wrong.push(format!("{stem}-bad: {:?} {}", kinds(&bad), bad.summary));
            continue;
        }
        assert_eq!(bad.valid, Validity::Invalid, "{stem}-bad: {}", bad.summary);
        let a = &bad.anomalies[0];
        assert!(!a.ops.is_empty() && !a.explanation.is_empty(), "{stem}: {a:?}");
        let not = bad.details["not"].as_array().unwrap();
        assert!(!not.is_empty(), "{stem}: no model ruled out");
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn elle_docs_g1c_example() {
    let _serial = serial!();
    // From Elle's README: T1 appends 1 to x and reads y = [1]; T2 appends 2 to x and
    // 1 to y; T3 reads x = [1 2]. T1 <ww T2 on x, T2 <wr T1 on y: G1c.
    let h = seq(&[
        (0, OpType::Ok, json!([["append", "x", 1], ["r", "y", [1]]])),
        (1, OpType::Ok, json!([["append", "x", 2], ["append", "y", 1]])),
        (2, OpType::Ok, json!([["r", "x", [1, 2]]])),
    ]);
    let v = run(&h);
    assert_eq!(v.valid, Validity::Invalid);
    assert_eq!(kinds(&v), vec!["G1c"]);
    let a = &v.anomalies[0];
    assert_eq!(a.ops.len(), 2);
    let mut ops = a.ops.clone();
    ops.sort();
    assert_eq!(ops, vec![1, 3]);
    assert_eq!(
        a.explanation,
        "Let T1 = op 1, T2 = op 3. Then T2 appended 2 to x right after T1 appended 1; \
         T1 observed T2's append of 1 to y. Each transaction must precede the next, around a cycle."
    );
    assert_eq!(a.ops, vec![1, 3]);
    assert!(
        a.explanation.contains("appended 2 to x right after"),
        "{}",
        a.explanation
    );
    let types: Vec<&str> = a.data["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert!(types.contains(&"ww") && types.contains(&"wr"), "{types:?}");
    let not: Vec<&str> = v.details["not"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert!(not.contains(&"read-committed") && not.contains(&"serializable"));
    assert!(!not.contains(&"read-uncommitted"));
}

#[test]
fn elle_docs_write_skew_is_g2_item_and_only_rules_out_repeatable_read_and_up() {
    let _serial = serial!();
    let h = History::new({
        let mut ops = vec![
            Op::new(
                OpType::Invoke,
                Process::Client(0),
                "txn",
                json!([["r", 1, null], ["append", 2, 1]]),
            ),
            Op::new(
                OpType::Invoke,
                Process::Client(1),
                "txn",
                json!([["r", 2, null], ["append", 1, 1]]),
            ),
            Op::new(
                OpType::Ok,
                Process::Client(0),
                "txn",
                json!([["r", 1, []], ["append", 2, 1]]),
            ),
            Op::new(
                OpType::Ok,
                Process::Client(1),
                "txn",
                json!([["r", 2, []], ["append", 1, 1]]),
            ),
            Op::new(
                OpType::Invoke,
                Process::Client(2),
                "txn",
                json!([["r", 1, null], ["r", 2, null]]),
            ),
            Op::new(
                OpType::Ok,
                Process::Client(2),
                "txn",
                json!([["r", 1, [1]], ["r", 2, [1]]]),
            ),
        ];
        for (i, o) in ops.iter_mut().enumerate() {
            o.index = i as u64;
        }
        ops
    });
    let v = run(&h);
    assert_eq!(kinds(&v), vec!["G2-item"]);
    let not = &v.details["not"];
    assert_eq!(
        not,
        &json!([
            "repeatable-read",
            "serializable",
            "strong-session-serializable",
            "strict-serializable"
        ])
    );
}

#[test]
fn edn_style_keywords_are_accepted() {
    let _serial = serial!();
    let h = seq(&[
        (0, OpType::Ok, json!([[":append", ":x", 1]])),
        (1, OpType::Ok, json!([[":r", ":x", [1]]])),
    ]);
    let mut h = h;
    for o in &mut h.ops {
        o.f = ":txn".into();
    }
    let v = run(&h);
    assert_eq!(v.valid, Validity::Valid, "{}", v.summary);
    assert_eq!(v.details["txns"], json!(2));
}

#[test]
fn info_txn_writes_may_be_seen_fail_writes_may_not() {
    let _serial = serial!();
    let info = seq(&[
        (0, OpType::Info, json!([["append", "x", 1]])),
        (1, OpType::Ok, json!([["r", "x", [1]]])),
    ]);
    assert_eq!(run(&info).valid, Validity::Valid);
    let fail = seq(&[
        (0, OpType::Fail, json!([["append", "x", 1]])),
        (1, OpType::Ok, json!([["r", "x", [1]]])),
    ]);
    assert_eq!(kinds(&run(&fail)), vec!["G1a"]);
}

#[test]
fn process_and_realtime_edges_can_be_switched_off() {
    let _serial = serial!();
    let h = fixture("G-single-realtime-bad.jsonl");
    let opts = CheckOptions {
        params: json!({"elle_realtime": false}),
        ..CheckOptions::default()
    };
    assert_eq!(Elle.check(&h, &opts).valid, Validity::Valid);
    let h = fixture("G-single-process-bad.jsonl");
    let opts = CheckOptions {
        params: json!({"elle_realtime": false, "elle_process": false}),
        ..CheckOptions::default()
    };
    assert_eq!(Elle.check(&h, &opts).valid, Validity::Valid);
}

#[test]
fn bad_input_is_unknown_naming_the_op() {
    let _serial = serial!();
    let h = seq(&[(0, OpType::Ok, json!([["append", "x"]]))]);
    let v = run(&h);
    assert_eq!(v.valid, Validity::Unknown);
    assert!(v.summary.contains("op 1"), "{}", v.summary);
    let mixed = seq(&[(0, OpType::Ok, json!([["append", "x", 1], ["w", "y", 2]]))]);
    assert!(run(&mixed).summary.contains("mixes"));
    let opts = CheckOptions {
        params: json!({"elle_model": "graph"}),
        ..CheckOptions::default()
    };
    let v = Elle.check(&fixture("G0-ok.jsonl"), &opts);
    assert_eq!(v.valid, Validity::Unknown);
    assert!(v.summary.contains("elle_model"), "{}", v.summary);
}

#[test]
fn zero_time_limit_is_unknown_not_valid() {
    let _serial = serial!();
    let h = fixture("G0-ok.jsonl");
    let o = ElleOptions {
        time_limit: Some(Duration::ZERO),
        ..ElleOptions::default()
    };
    assert_eq!(check(&h, &o).unwrap().valid, Validity::Unknown);
}

#[test]
fn registered_as_elle() {
    let _serial = serial!();
    assert!(registry::NAMES.contains(&"elle"));
    let c = registry::build("elle").unwrap();
    assert_eq!(c.name(), "elle");
    assert_eq!(
        c.check(&fixture("G1c-bad.jsonl"), &CheckOptions::default()).valid,
        Validity::Invalid
    );
}

#[test]
fn jepsen_edn_txn_histories_through_the_importer() {
    let _serial = serial!();
    use faultline::history::import::read_path;
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/elle");
    let bad = read_path(&dir.join("edn-G1c-bad.edn"), None).unwrap();
    let v = run(&bad);
    assert_eq!(kinds(&v), vec!["G1c"], "{}", v.summary);
    assert!(
        v.anomalies[0].explanation.contains("to x"),
        "{}",
        v.anomalies[0].explanation
    );
    let ok = read_path(&dir.join("edn-G1c-ok.edn"), None).unwrap();
    let v = run(&ok);
    assert_eq!(v.valid, Validity::Valid, "{}", v.summary);
    assert_eq!(v.details["txns"], json!(3));
}

#[test]
fn memory_limit_too_small_is_unknown() {
    let _serial = serial!();
    let opts = CheckOptions {
        memory_limit: Some(16),
        ..CheckOptions::default()
    };
    let v = Elle.check(&fixture("G1c-bad.jsonl"), &opts);
    assert_eq!(v.valid, Validity::Unknown, "{}", v.summary);
    assert!(v.summary.contains("memory limit"), "{}", v.summary);
    // Non-cycle anomalies found before the graph stage still count.
    let v = Elle.check(&fixture("G1a-bad.jsonl"), &opts);
    assert_eq!(kinds(&v), vec!["G1a"]);
    let roomy = CheckOptions {
        memory_limit: Some(1 << 30),
        ..CheckOptions::default()
    };
    assert_eq!(
        Elle.check(&fixture("G1c-bad.jsonl"), &roomy).valid,
        Validity::Invalid
    );
}
