//! `faultline check` and `faultline convert` end to end: exit codes, messages
//! naming file and line, the summary and `--json` shapes. Verdicts of the
//! linearizability checker are tested on the `lin` side; here the `noop`
//! checker isolates the plumbing.

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/history")
        .join(name)
}

fn faultline() -> Command {
    Command::cargo_bin("faultline").unwrap()
}

fn check_noop(name: &str) -> assert_cmd::assert::Assert {
    faultline()
        .args(["check", "--checker", "noop"])
        .arg(fixture(name))
        .assert()
}

#[test]
fn empty_file_is_bad_input_not_a_verdict() {
    let _serial = serial!();
    check_noop("empty-bad.jsonl")
        .code(3)
        .stderr(predicate::str::contains("no operations in"));
    faultline()
        .arg("check")
        .arg(fixture("empty-bad.jsonl"))
        .assert()
        .code(3);
}

/// Each bad fixture exits 3 with `file:line` and the reason; its ok twin exits 0.
#[test]
fn bad_inputs_exit_3_naming_file_and_line() {
    let _serial = serial!();
    let cases = [
        ("garbage", "jsonl", 2, "not a JSON object"),
        ("unknown-type", "edn", 2, "`type`"),
        ("missing-field", "log", 2, "`f`"),
        ("orphan-completion", "jsonl", 3, "without an invocation"),
        ("double-invoke", "edn", 4, "second invocation"),
        ("vector", "edn", 3, "op map"),
        ("mismatched-f", "jsonl", 2, "differs from its invocation"),
    ];
    for (stem, ext, line, why) in cases {
        let bad = format!("{stem}-bad.{ext}");
        let out = check_noop(&bad).code(3).get_output().clone();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("{bad}:{line}:")) && err.contains(why),
            "{bad}: stderr was {err}"
        );
        check_noop(&format!("{stem}-ok.{ext}")).code(0);
    }
}

#[test]
fn undetectable_file_names_the_file_and_suggests_format() {
    let _serial = serial!();
    check_noop("undetectable-bad.txt")
        .code(3)
        .stderr(predicate::str::contains("undetectable-bad.txt"))
        .stderr(predicate::str::contains("--format"));
}

#[test]
fn truncated_last_line_is_a_warning_and_still_checks() {
    let _serial = serial!();
    for f in ["truncated-bad.jsonl", "truncated-bad.edn"] {
        check_noop(f)
            .code(0)
            .stdout(predicate::str::contains("ops:       2 "))
            .stdout(predicate::str::contains(format!(
                "warning: {}",
                fixture(f).display()
            )));
    }
    check_noop("truncated-ok.jsonl")
        .code(0)
        .stdout(predicate::str::contains("warning").not());
}

#[test]
fn bad_flags_exit_3() {
    let _serial = serial!();
    let f = fixture("garbage-ok.jsonl");
    for args in [
        vec!["--checker", "no-such-checker"],
        vec!["--param", "novalue"],
        vec!["--time-limit", "-1"],
        vec!["--format", "xml"],
        vec!["--node-logs", "/nonexistent/faultline-dir"],
    ] {
        faultline().arg("check").args(&args).arg(&f).assert().code(3);
    }
    faultline()
        .args(["check", "--checker", "noop"])
        .arg("/nonexistent/history.jsonl")
        .assert()
        .code(3)
        .stderr(predicate::str::contains("/nonexistent/history.jsonl"));
}

#[test]
fn summary_has_one_line_per_checker_and_counts() {
    let _serial = serial!();
    check_noop("vector-ok.edn")
        .code(0)
        .stdout(predicate::str::contains("(edn)"))
        .stdout(predicate::str::contains(
            "ops:       3 (1 invoke, 1 ok, 0 fail, 1 info, 0 pending; 1 nemesis)",
        ))
        .stdout(predicate::str::contains("processes: 1"))
        .stdout(predicate::str::contains("keys:      none (unkeyed)"))
        .stdout(predicate::str::is_match(r"(?m)^  noop +valid ").unwrap());
    let kv = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/histories/porcupine/kv/c10-ok.txt");
    faultline()
        .args(["check", "--checker", "noop,noop"])
        .arg(&kv)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("keys:      10"))
        .stdout(predicate::str::contains("processes: 10"))
        .stdout(predicate::str::is_match(r"(?m)^  noop .*\n  noop ").unwrap());
}

#[test]
fn json_output_is_run_results() {
    let _serial = serial!();
    let out = faultline()
        .args(["check", "--checker", "noop", "--json", "--param", "total=100"])
        .arg(fixture("truncated-bad.edn"))
        .assert()
        .code(0)
        .get_output()
        .clone();
    let v: Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_eq!(v["valid"], Value::Bool(true));
    assert_eq!(v["ops"], 2);
    assert_eq!(v["results"][0]["checker"], "noop");
    assert!(v["name"].as_str().unwrap().ends_with("truncated-bad.edn"));
    assert!(v["warnings"][0].as_str().unwrap().contains("truncated"));
    let parsed: faultline::report::RunResults = serde_json::from_value(v).unwrap();
    assert_eq!(parsed.exit_code(), 0);
}

#[test]
fn html_flag_writes_a_self_contained_report() {
    let _serial = serial!();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.html");
    faultline()
        .args(["check", "--checker", "noop", "--html"])
        .arg(&out)
        .arg(fixture("garbage-ok.jsonl"))
        .assert()
        .code(0);
    let page = std::fs::read_to_string(&out).expect("--html wrote the report");
    assert!(
        page.starts_with("<!DOCTYPE html>") || page.starts_with("<!doctype html>"),
        "{}",
        &page[..80.min(page.len())]
    );
    assert!(
        !page.contains("src=\"http") && !page.contains("href=\"http"),
        "no network resources"
    );
}

#[test]
fn independent_tuples_split_into_keys() {
    let _serial = serial!();
    for extra in [&[][..], &["--independent"][..]] {
        faultline()
            .args(["check", "--checker", "noop"])
            .args(extra)
            .arg(fixture("independent-ok.edn"))
            .assert()
            .code(0)
            .stdout(predicate::str::contains("keys:      2"))
            .stdout(predicate::str::contains("1 nemesis"));
    }
    // Forced splitting of plain values is bad input, naming the line and field.
    faultline()
        .args(["check", "--checker", "noop", "--independent"])
        .arg(fixture("independent-bad.edn"))
        .assert()
        .code(3)
        .stderr(predicate::str::contains("independent-bad.edn:2: field `value`"));
    faultline()
        .args(["check", "--checker", "noop"])
        .arg(fixture("independent-bad.edn"))
        .assert()
        .code(0)
        .stdout(predicate::str::contains("keys:      none"));
}

#[test]
fn reads_stdin() {
    let _serial = serial!();
    let text = std::fs::read_to_string(fixture("vector-ok.edn")).unwrap();
    faultline()
        .args(["check", "--checker", "noop", "-"])
        .write_stdin(text)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("ops:       3 "));
    let out = faultline()
        .args(["convert", "-", "-"])
        .write_stdin("{:type :invoke, :process 0, :f :txn, :value [[:append 1 2] [:r 3 nil]]}\n")
        .assert()
        .code(0)
        .get_output()
        .clone();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["value"], serde_json::json!([["append", 1, 2], ["r", 3, null]]));
    assert_eq!(v["f"], "txn");
}

#[test]
fn run_directory_reads_its_history() {
    let _serial = serial!();
    let dir = tempfile::tempdir().unwrap();
    faultline()
        .args(["check", "--checker", "noop"])
        .arg(dir.path())
        .assert()
        .code(3)
        .stderr(predicate::str::contains("history.jsonl"));
    std::fs::copy(fixture("vector-ok.edn"), dir.path().join("in.edn")).unwrap();
    faultline()
        .arg("convert")
        .arg(dir.path().join("in.edn"))
        .arg(dir.path().join("history.jsonl"))
        .assert()
        .code(0);
    std::fs::create_dir(dir.path().join("nodes")).unwrap();
    faultline()
        .args(["check", "--checker", "noop"])
        .arg(dir.path())
        .assert()
        .code(0)
        .stdout(predicate::str::contains("history.jsonl (jsonl)"))
        .stdout(predicate::str::contains("ops:       3 "));
}
