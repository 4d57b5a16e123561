//! Hand-made ok/bad history pairs for every model (model inferred from the f
//! names), the witness of a violation, budgets, and bad input.

use faultline::checker::linearizable::check;
use faultline::checker::{CheckOptions, Validity};
use faultline::history::{import::read_path, jsonl};
use std::path::Path;
use std::time::Duration;

const DIR: &str = "tests/fixtures/lin";

fn load(name: &str) -> faultline::history::History {
    let mut h = jsonl::read_file(&Path::new(DIR).join(name)).unwrap();
    h.reindex();
    h
}

#[test]
fn fixture_pairs_get_their_verdicts_with_inferred_models() {
    let _serial = serial!();
    for (stem, model) in [
        ("register", "cas-register"),
        ("cas-keyed", "cas-register"),
        ("kv", "kv"),
        ("set", "set"),
        ("queue", "fifo-queue"),
        ("mutex", "mutex"),
    ] {
        for (suffix, want) in [("ok", Validity::Valid), ("bad", Validity::Invalid)] {
            let v = check(&load(&format!("{stem}-{suffix}.jsonl")), &CheckOptions::default()).unwrap();
            assert_eq!(v.valid, want, "{stem}-{suffix}: {}", v.summary);
            assert_eq!(v.details["model"], model, "{stem}-{suffix}");
            assert_eq!(v.details["model_inferred"], true);
            assert!(v.summary.contains("inferred"), "{}", v.summary);
        }
    }
}

#[test]
fn stale_read_witness_names_prefix_state_and_op() {
    let _serial = serial!();
    let v = check(&load("register-bad.jsonl"), &CheckOptions::default()).unwrap();
    assert_eq!(v.valid, Validity::Invalid);
    let a = &v.anomalies[0];
    assert_eq!(a.kind, "nonlinearizable");
    // The read (invoke 4, ok 5) is the op that cannot be placed.
    assert_eq!(&a.ops[..2], &[4, 5]);
    let prefix = a.data["prefix"].as_array().unwrap();
    let order: Vec<u64> = prefix.iter().map(|p| p["invoke"].as_u64().unwrap()).collect();
    assert_eq!(order, vec![0, 2]);
    assert_eq!(prefix[1]["state_after"], 2);
    assert_eq!(a.data["state"], 2);
    assert_eq!(a.data["blocking"]["result"], 1);
    assert!(
        a.explanation.contains("holds 2") && a.explanation.contains("returned 1"),
        "{}",
        a.explanation
    );
}

#[test]
fn keyed_witness_names_the_key() {
    let _serial = serial!();
    let v = check(&load("cas-keyed-bad.jsonl"), &CheckOptions::default()).unwrap();
    assert_eq!(v.valid, Validity::Invalid);
    assert_eq!(v.details["invalid_keys"], serde_json::json!(["b"]));
    let a = &v.anomalies[0];
    assert_eq!(a.data["key"], "b");
    assert!(a.explanation.starts_with("Key \"b\""), "{}", a.explanation);
    assert_eq!(&a.ops[..2], &[6, 7]);
    // Unpartitioned, the same history is still invalid and names the key.
    let o = CheckOptions {
        partition: false,
        ..CheckOptions::default()
    };
    let v = check(&load("cas-keyed-bad.jsonl"), &o).unwrap();
    assert_eq!(v.valid, Validity::Invalid);
    assert!(
        v.anomalies[0].explanation.contains("key \"b\""),
        "{}",
        v.anomalies[0].explanation
    );
}

fn c50(ok: bool) -> faultline::history::History {
    let f = if ok { "c50-ok.txt" } else { "c50-bad.txt" };
    read_path(&Path::new("tests/fixtures/histories/porcupine/kv").join(f), None).unwrap()
}

#[test]
fn tiny_time_limit_gives_unknown_naming_keys() {
    let _serial = serial!();
    let o = CheckOptions {
        model: Some("kv".into()),
        partition: false,
        time_limit: Some(Duration::from_millis(1)),
        ..CheckOptions::default()
    };
    let v = check(&c50(true), &o).unwrap();
    assert_eq!(v.valid, Validity::Unknown, "{}", v.summary);
    assert!(
        v.summary.contains("time budget") && v.summary.contains("--time-limit"),
        "{}",
        v.summary
    );
    assert_eq!(v.details["undecided_keys"].as_array().unwrap().len(), 1);
}

#[test]
fn tiny_memory_limit_gives_unknown_never_wrong() {
    let _serial = serial!();
    let o = CheckOptions {
        model: Some("kv".into()),
        memory_limit: Some(4096),
        ..CheckOptions::default()
    };
    let v = check(&c50(true), &o).unwrap();
    assert_eq!(v.valid, Validity::Unknown, "{}", v.summary);
    assert!(
        v.summary.contains("memory budget") && v.summary.contains("--memory-limit"),
        "{}",
        v.summary
    );
    assert!(!v.details["undecided_keys"].as_array().unwrap().is_empty());
}

#[test]
fn first_violation_stops_the_other_keys() {
    let _serial = serial!();
    let o = CheckOptions {
        model: Some("kv".into()),
        time_limit: Some(Duration::from_secs(60)),
        ..CheckOptions::default()
    };
    let v = check(&c50(false), &o).unwrap();
    assert_eq!(v.valid, Validity::Invalid, "{}", v.summary);
    // Some keys of c50-bad take minutes; the easy violation must cut them short.
    assert!(v.elapsed_ms < 30_000.0, "took {} ms", v.elapsed_ms);
}

#[test]
fn bad_input_is_an_error_not_a_verdict() {
    let _serial = serial!();
    let h = load("register-ok.jsonl");
    let o = CheckOptions {
        model: Some("kv".into()),
        ..CheckOptions::default()
    };
    let e = check(&h, &o).unwrap_err().to_string();
    assert!(e.contains("op 0") && e.contains("a string"), "{e}");
    let o = CheckOptions {
        model: Some("nope".into()),
        ..CheckOptions::default()
    };
    assert!(check(&h, &o).unwrap_err().to_string().contains("unknown model"));
}

#[test]
fn empty_history_is_valid_with_a_note() {
    let _serial = serial!();
    let v = check(&faultline::history::History::default(), &CheckOptions::default()).unwrap();
    assert_eq!(v.valid, Validity::Valid);
    assert!(v.summary.contains("no client ops"), "{}", v.summary);
}
