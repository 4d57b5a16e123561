//! `faultline model-check` end to end: exit codes, and a counterexample
//! written as a history that `faultline check` reads and rejects.

use assert_cmd::Command;
use predicates::prelude::*;

fn faultline() -> Command {
    Command::cargo_bin("faultline").unwrap()
}

#[test]
fn an_async_counterexample_is_a_history_check_rejects() {
    let _serial = serial!();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cx.jsonl");
    faultline()
        .args([
            "model-check",
            "--replication",
            "async",
            "--threads",
            "1",
            "--history",
        ])
        .arg(&file)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("violation: acknowledged writes survive"))
        .stdout(predicate::str::contains("written to"));
    faultline()
        .arg("check")
        .arg(&file)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("linearizable   INVALID"));
}

#[test]
fn a_safe_budget_exits_0_and_bad_flags_exit_3() {
    let _serial = serial!();
    faultline()
        .args(["model-check", "--faults", "0", "--threads", "1"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("no violation in the bounded space"));
    faultline()
        .args(["model-check", "--nodes", "9"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("--nodes"));
    faultline()
        .args(["model-check", "--history", "/nonexistent/dir/cx.jsonl"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("/nonexistent/dir"));
}
