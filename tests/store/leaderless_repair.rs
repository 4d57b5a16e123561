//! The leaderless store's repair paths as short `faultline test` runs of real
//! node processes under partitions: a sloppy quorum loses nothing under
//! `siblings` once its hints are handed off (and the run shows the hints),
//! and with anti-entropy and read repair off the convergence checker names
//! the keys whose replicas never agreed, while anti-entropy makes them agree.

use crate::support::runner as runner_common;

use serde_json::Value;

/// Runs a short leaderless test under partitions with `extra` flags; returns
/// (exit code, results.json).
fn run(extra: &[&str], seed: &str) -> (i32, Value) {
    let store = tempfile::tempdir().unwrap();
    let mut args = vec![
        "--topology",
        "leaderless",
        "--nemesis",
        "partition",
        "--nemesis-interval",
        "2",
        "--time-limit",
        "8",
        "--seed",
        seed,
    ];
    args.extend_from_slice(extra);
    let (out, dir) = runner_common::test_run(store.path(), &args);
    let dir = dir.unwrap_or_else(|| panic!("no run dir: {}", runner_common::stderr(&out)));
    let r: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    (runner_common::code(&out), r)
}

fn verdict<'a>(results: &'a Value, checker: &str) -> &'a Value {
    results["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["checker"] == checker)
        .unwrap_or_else(|| panic!("no {checker} verdict: {results}"))
}

#[test]
fn a_sloppy_quorum_with_siblings_loses_nothing_once_hints_are_handed_off() {
    let _serial = serial!();
    let flags = ["--sloppy-quorum", "--conflict", "siblings", "--workload", "set"];
    let (code, r) = run(&flags, "4");
    let set = verdict(&r, "set");
    assert_eq!(set["valid"], true, "{set}");
    assert!(set["summary"].as_str().unwrap().contains(": 0 lost,"), "{set}");
    let conv = verdict(&r, "convergence");
    assert_eq!(conv["valid"], true, "{conv}");
    let repairs = &conv["details"]["repairs"];
    let delivered = repairs["hints_delivered"].as_u64().unwrap();
    assert!(delivered > 0, "fallbacks took writes and handed them off: {conv}");
    assert!(repairs["hints_stored"].as_u64().unwrap() >= delivered, "{conv}");
    assert_eq!(code, 0, "{r}");
}

#[test]
fn without_repair_the_convergence_checker_names_the_keys_and_anti_entropy_mends_them() {
    let _serial = serial!();
    let off = [
        "--workload",
        "register",
        "--anti-entropy-ms",
        "0",
        "--read-repair",
        "off",
    ];
    let (code, r) = run(&off, "1");
    let conv = verdict(&r, "convergence");
    assert_eq!(conv["valid"], false, "{conv}");
    assert_eq!(code, 1, "{conv}");
    let never = conv["details"]["never"].as_array().unwrap();
    assert!(!never.is_empty(), "{conv}");
    let first = never[0].as_str().unwrap();
    assert!(
        conv["summary"].as_str().unwrap().contains(first),
        "the summary names {first}: {conv}"
    );
    assert_eq!(conv["details"]["repairs"]["ae_repairs"], 0, "{conv}");

    let on = [
        "--workload",
        "register",
        "--anti-entropy-ms",
        "200",
        "--read-repair",
        "off",
    ];
    let (_, r) = run(&on, "1");
    let conv = verdict(&r, "convergence");
    assert_eq!(conv["valid"], true, "{conv}");
    assert!(
        conv["details"]["max_ms"].as_u64().is_some(),
        "time from heal to agreement: {conv}"
    );
    assert!(
        conv["details"]["repairs"]["ae_repairs"].as_u64().unwrap() > 0,
        "{conv}"
    );
}
