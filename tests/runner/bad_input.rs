//! Bad input exits 3 with a clear message and leaves nothing running.

use crate::support::runner as runner_common;
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
    let _serial = serial!();
    let q = ["--time-limit", "1", "--target", "reference", "--net", "proxy"];
    let with = |extra: &[&'static str]| {
        let mut v = q.to_vec();
        v.extend_from_slice(extra);
        v
    };
    expect_3(&with(&["--workload", "nope"]), "--workload");
    expect_3(
        &with(&["--nemesis", "partition,meteor"]),
        "unknown nemesis `meteor`",
    );
    expect_3(&with(&["--nodes", "0"]), "--nodes");
    expect_3(&["--time-limit", "0", "--target", "reference"], "--time-limit");
    expect_3(
        &["--time-limit", "1", "--target", "mysql"],
        "unknown target `mysql`",
    );
    expect_3(&with(&["--seed", "18446744073709551615"]), "below 2^63");
    expect_3(
        &["--time-limit", "1", "--target", "reference", "--net", "pigeon"],
        "--net",
    );
    expect_3(&["--time-limit", "1", "--replication", "yolo"], "--replication");
}

/// Durations and counts no run could honour are refused up front, naming the flag,
/// without a panic and with nothing started (issue 19: `--time-limit 1e20` used to panic
/// with "cannot convert float seconds to Duration" after five nodes had started).
#[test]
fn huge_infinite_negative_and_out_of_range_numbers_are_refused_by_flag() {
    let _serial = serial!();
    for (flag, value) in [
        ("--time-limit", "1e20"),
        ("--time-limit", "inf"),
        ("--time-limit", "1e300"),
        ("--time-limit", "NaN"),
        ("--nemesis-interval", "1e20"),
        ("--recovery", "1e20"),
        ("--recovery", "-1"),
        ("--nodes", "-5"),
        ("--concurrency", "-5"),
        ("--nodes", "99999999999999999999999"),
        ("--concurrency", "99999999999999999999999"),
        ("--op-timeout-ms", "0"),
        ("--op-timeout-ms", "-1"),
        ("--test-count", "0"),
        ("--rate", "-1"),
    ] {
        expect_3(&["--target", "reference", flag, value], flag);
    }
    // Names that would leave --store-dir, and a node binary that is not there.
    expect_3(&["--target", "reference", "--name", "../../escape"], "--name");
    expect_3(&["--target", "reference", "--name", "a/b"], "--name");
    expect_3(
        &["--node-binary", "/nonexistent/fl", "--time-limit", "1"],
        "/nonexistent/fl",
    );
    // The same keys in a plan file name the file and the key.
    let dir = tempfile::tempdir().unwrap();
    for (text, needle) in [
        ("time_limit = 1e20\n", "too long"),
        ("nemesis_interval = inf\n", "nemesis_interval"),
        ("recovery = 1e20\n", "recovery"),
        ("name = \"../../escape\"\n", "name"),
        ("op_timeout_ms = 0\n", "op_timeout_ms"),
    ] {
        let plan = dir.path().join("p.toml");
        std::fs::write(&plan, text).unwrap();
        expect_3(
            &["--target", "reference", "--plan", plan.to_str().unwrap()],
            needle,
        );
    }
    // `faultline check` too.
    let h = dir.path().join("h.jsonl");
    std::fs::write(&h, "").unwrap();
    for v in ["1e20", "inf", "-5"] {
        let out = Command::new(bin())
            .args(["check", "--time-limit", v])
            .arg(&h)
            .output()
            .unwrap();
        assert_eq!(code(&out), 3, "check --time-limit {v}: {}", stderr(&out));
        assert!(stderr(&out).contains("--time-limit"), "{}", stderr(&out));
    }
}

/// A flag given on the command line wins over the same key in a plan file.
#[test]
fn an_explicit_flag_wins_over_the_plan() {
    let _serial = serial!();
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("p.toml");
    std::fs::write(&plan, "workload = \"set\"\ntime_limit = 60\nconcurrency = 3\n").unwrap();
    let store = tempfile::tempdir().unwrap();
    let (out, run) = test_run(
        store.path(),
        &[
            "--target",
            "reference",
            "--net",
            "proxy",
            "--nemesis",
            "none",
            "--plan",
            plan.to_str().unwrap(),
            "--time-limit",
            "1",
            "--workload",
            "counter",
        ],
    );
    assert!([0, 2].contains(&code(&out)), "{}", stderr(&out));
    let toml = std::fs::read_to_string(run.unwrap().join("test.toml")).unwrap();
    assert!(toml.contains("workload = \"counter\""), "{toml}");
    assert!(toml.contains("time_limit = 1.0"), "{toml}");
    assert!(toml.contains("concurrency = 3"), "the plan's key stands: {toml}");
}

#[test]
fn a_node_binary_that_fails_to_start_exits_3_with_nothing_left() {
    let _serial = serial!();
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
        "--node-binary",
    );
}

#[test]
fn a_node_binary_that_fails_in_netns_leaves_no_namespace() {
    let _serial = serial!();
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
    let _serial = serial!();
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
