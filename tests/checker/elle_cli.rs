//! `faultline check --checker elle` end to end: exit codes and JSON results.

use assert_cmd::Command;
use predicates::prelude::*;
use predicates::str::contains;

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/elle/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn exit_codes_follow_the_verdict() {
    let _serial = serial!();
    Command::cargo_bin("faultline")
        .unwrap()
        .args(["check", "--checker", "elle", &fixture("G1c-ok.jsonl")])
        .assert()
        .code(0);
    Command::cargo_bin("faultline")
        .unwrap()
        .args(["check", "--checker", "elle", &fixture("G1c-bad.jsonl")])
        .assert()
        .code(1)
        .stdout(contains("G1c"));
    Command::cargo_bin("faultline")
        .unwrap()
        .args(["check", "--checker", "elle", &fixture("edn-G1c-bad.edn")])
        .assert()
        .code(1);
}

#[test]
fn json_output_names_the_ruled_out_models() {
    let _serial = serial!();
    let out = Command::cargo_bin("faultline")
        .unwrap()
        .args([
            "check",
            "--json",
            "--checker",
            "elle",
            &fixture("G2-item-bad.jsonl"),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("\"G2-item\""), "{text}");
    assert!(text.contains("repeatable-read"), "{text}");
}

#[test]
fn a_bad_model_param_is_unknown() {
    let _serial = serial!();
    Command::cargo_bin("faultline")
        .unwrap()
        .args([
            "check",
            "--checker",
            "elle",
            "--param",
            "elle_model=graph",
            &fixture("G1c-ok.jsonl"),
        ])
        .assert()
        .code(2)
        .stdout(contains("elle_model"));
}

/// `faultline check --checker elle ARGS... FIXTURE`.
fn check_elle(args: &[&str], file: &str) -> assert_cmd::assert::Assert {
    Command::cargo_bin("faultline")
        .unwrap()
        .args(["check", "--checker", "elle"])
        .args(args)
        .arg(fixture(file))
        .assert()
}

#[test]
fn consistency_models_flag_chooses_what_counts() {
    let _serial = serial!();
    // A stale read that only real-time order forbids: fine for serializable.
    check_elle(
        &["--consistency-models", "serializable"],
        "G-single-realtime-bad.jsonl",
    )
    .code(0)
    .stdout(contains("G-single-realtime"));
    check_elle(
        &["--consistency-models", "serializable,strict-serializable"],
        "G-single-realtime-bad.jsonl",
    )
    .code(1);
    check_elle(&["--consistency-models", "serialisable"], "G1c-ok.jsonl")
        .code(3)
        .stderr(contains("--consistency-models").and(contains("unknown consistency model `serialisable`")));
}

#[test]
fn elles_paper_example_without_processes_is_checked() {
    let _serial = serial!();
    check_elle(&[], "elle-paper-bad.edn")
        .code(1)
        .stdout(contains("G-single"));
    check_elle(&[], "elle-paper-ok.edn").code(0);
}
