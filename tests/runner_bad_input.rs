//! Bad input exits 3 with a clear message and leaves nothing running.

mod runner_common;
use runner_common::*;
use std::process::Command;

fn expect_3(args: &[&str], needle: &str) {
    let store = tempfile::tempdir().unwrap();
    let child = Command::new(bin())
        .arg("test")
        .args(args)
        .arg("--store-dir")
        .arg(store.path())
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(code(&out), 3, "{args:?}: {err}");
    assert!(err.contains(needle), "{args:?}: expected {needle:?} in {err}");
    assert_eq!(leftovers(pid), (vec![], vec![]), "{args:?} left something behind");
}

#[test]
fn bad_names_and_numbers_exit_3() {
    let q = ["--time-limit", "1", "--target", "reference", "--net", "proxy"];
    let with = |extra: &[&'static str]| {
        let mut v = q.to_vec();
        v.extend_from_slice(extra);
        v
    };
    expect_3(&with(&["--workload", "nope"]), "unknown workload `nope`");
    expect_3(
        &with(&["--nemesis", "partition,meteor"]),
        "unknown nemesis `meteor`",
    );
    expect_3(&with(&["--nodes", "0"]), "nodes must be at least 1");
    expect_3(
        &["--time-limit", "0", "--target", "reference"],
        "time limit must be positive",
    );
    expect_3(
        &["--time-limit", "1", "--target", "mysql"],
        "unknown target `mysql`",
    );
    expect_3(
        &with(&["--seed", "18446744073709551615"]),
        "seed must be below 2^63",
    );
    expect_3(
        &["--time-limit", "1", "--target", "reference", "--net", "pigeon"],
        "unknown net back end",
    );
    expect_3(
        &["--time-limit", "1", "--replication", "yolo"],
        "--replication: unknown value",
    );
}

#[test]
fn a_node_binary_that_fails_to_start_exits_3_with_nothing_left() {
    expect_3(
        &[
            "--time-limit",
            "2",
            "--nodes",
            "3",
            "--net",
            "proxy",
            "--node-binary",
            "/bin/false",
        ],
        "exited",
    );
    expect_3(
        &[
            "--time-limit",
            "2",
            "--nodes",
            "3",
            "--net",
            "proxy",
            "--node-binary",
            "/nonexistent/fl",
        ],
        "cannot start",
    );
}

#[test]
fn a_node_binary_that_fails_in_netns_leaves_no_namespace() {
    expect_3(
        &[
            "--time-limit",
            "2",
            "--nodes",
            "3",
            "--net",
            "netns",
            "--node-binary",
            "/bin/false",
        ],
        "exited",
    );
}

#[test]
fn bad_plan_files_exit_3_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("typo.toml");
    std::fs::write(&typo, "workload = \"set\"\nworkoad = \"x\"\n").unwrap();
    let unknown_checker = dir.path().join("chk.toml");
    std::fs::write(&unknown_checker, "checkers = [\"set\", \"nope\"]\n").unwrap();
    let q = [
        "--time-limit",
        "1",
        "--target",
        "reference",
        "--net",
        "proxy",
        "--plan",
    ];
    let with = |p: &std::path::Path| {
        let mut v: Vec<String> = q.iter().map(|s| s.to_string()).collect();
        v.push(p.display().to_string());
        v
    };
    let a = with(&typo);
    expect_3(&a.iter().map(String::as_str).collect::<Vec<_>>(), "typo.toml");
    let a = with(&unknown_checker);
    expect_3(&a.iter().map(String::as_str).collect::<Vec<_>>(), "nope");
    let a = with(&dir.path().join("missing.toml"));
    expect_3(&a.iter().map(String::as_str).collect::<Vec<_>>(), "missing.toml");
}
