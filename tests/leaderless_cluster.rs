//! The leaderless store as real `faultline node` processes: bad settings are
//! refused before anything starts, any node coordinates, replicas persist
//! before they acknowledge, concurrent writes become siblings, replicas
//! converge, and short `faultline test` runs under partitions are checkable
//! (siblings lose nothing; last-write-wins loses adds).

mod runner_common;
mod store_support;

use faultline::store::leaderless::RequestOpts;
use faultline::store::ops::{ClientOp, Outcome};
use faultline::store::StoreClient;
use serde_json::{json, Value};
use std::process::Command;
use std::time::{Duration, Instant};
use store_support::{addr, Cluster, T};

const LEADERLESS: &[&str] = &["--topology", "leaderless", "--anti-entropy-ms", "200"];

fn call(c: &Cluster, i: usize, op: ClientOp, opts: &RequestOpts) -> Outcome {
    let mut s = StoreClient::connect(addr(c.client[i]), T).expect("connect");
    s.request_with(&op, opts, Duration::from_secs(2))
        .expect("answer")
        .outcome
}

fn read(c: &Cluster, i: usize, key: &str, local: bool) -> Value {
    let opts = RequestOpts {
        local,
        ..RequestOpts::default()
    };
    match call(c, i, ClientOp::Read { key: json!(key) }, &opts) {
        Outcome::Ok { value } => value,
        other => panic!("read on node {i}: {other:?}"),
    }
}

fn write(c: &Cluster, i: usize, key: &str, v: Value, context: Option<Value>) -> Outcome {
    let opts = RequestOpts {
        context: context.map(|x| serde_json::from_value(x).unwrap()),
        ..RequestOpts::default()
    };
    call(
        c,
        i,
        ClientOp::Write {
            key: json!(key),
            value: v,
        },
        &opts,
    )
}

fn node_exit(args: &[&str]) -> (i32, String, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = Command::new(runner_common::bin())
        .args([
            "node",
            "--id",
            "n1",
            "--listen",
            "127.0.0.1:1",
            "--client",
            "127.0.0.1:2",
        ])
        .args(["--admin", "127.0.0.1:3"])
        .args(["--cluster", "n1=127.0.0.1:1,n2=127.0.0.1:4,n3=127.0.0.1:5"])
        .arg("--data-dir")
        .arg(&data)
        .args(args)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    let started = data.exists();
    assert!(!started, "a refused node created its data dir: {args:?}");
    (out.status.code().unwrap_or(-1), err, data)
}

#[test]
fn a_node_refuses_bad_settings_naming_the_flag_and_starts_nothing() {
    for (args, flag) in [
        (&["--topology", "leaderless", "--n", "4"][..], "--n"),
        (&["--topology", "leaderless", "--w", "4"], "--w"),
        (&["--topology", "leaderless", "--n", "2", "--r", "3"], "--r"),
        (
            &["--topology", "leaderless", "--conflict", "newest"],
            "--conflict",
        ),
        (
            &["--topology", "leaderless", "--read-repair", "maybe"],
            "--read-repair",
        ),
        (&["--n", "3"], "--n"),
        (&["--topology", "leaderless", "--reads", "follower"], "--reads"),
    ] {
        let (code, err, _) = node_exit(args);
        assert_eq!(code, 3, "{args:?}: {err}");
        assert!(err.contains(flag), "{args:?} should name {flag}: {err}");
    }
}

#[test]
fn faultline_test_refuses_bad_leaderless_settings_before_starting() {
    let store = tempfile::tempdir().unwrap();
    for (args, flag) in [
        (&["--topology", "leaderless", "--w", "4"][..], "--w"),
        (&["--topology", "leaderless", "--nodes", "2"], "--n"),
        (&["--n", "3"], "--n"),
        (&["--conflict", "crdt"], "--conflict"),
        (&["--topology", "leaderless", "--workload", "bank"], "--workload"),
        (
            &["--topology", "leaderless", "--conflict", "newest"],
            "--conflict",
        ),
    ] {
        let (out, _) = runner_common::test_run(store.path(), args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {err}");
        assert!(err.contains(flag), "{args:?} should name {flag}: {err}");
    }
    assert!(!store.path().join("latest").exists(), "nothing may start");
}

/// Waits until a write through node 0 reaches its quorum (peer links are
/// still being dialled right after the nodes start).
fn warm_up(c: &Cluster) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while write(c, 0, "warm-up", json!(0), None) != (Outcome::Ok { value: Value::Null }) {
        assert!(
            Instant::now() < deadline,
            "no write reached its quorum within 15 s"
        );
    }
}

#[test]
fn any_node_coordinates_replicas_persist_and_converge() {
    let mut c = Cluster::start(3, LEADERLESS);
    warm_up(&c);
    assert_eq!(
        write(&c, 0, "k", json!(1), None),
        Outcome::Ok { value: Value::Null }
    );
    let v = read(&c, 2, "k", false);
    assert_eq!(v["values"], json!([1]), "{v}");
    // A write with the read's context supersedes what it saw.
    let ctx = v["context"].clone();
    assert_eq!(
        write(&c, 1, "k", json!(2), Some(ctx)),
        Outcome::Ok { value: Value::Null }
    );
    // Two blind writes on different nodes are concurrent: both are kept.
    write(&c, 0, "s", json!("a"), None);
    write(&c, 2, "s", json!("b"), None);
    let mut sib: Vec<Value> = read(&c, 1, "s", false)["values"].as_array().unwrap().clone();
    sib.sort_by_key(|v| v.to_string());
    sib.dedup();
    assert_eq!(sib, vec![json!("a"), json!("b")]);
    // SIGKILL and restart: what a replica acknowledged is on its disk.
    c.kill(2);
    c.spawn(2);
    assert!(read(&c, 2, "k", true)["values"].as_array().is_some());
    // Every replica (N=3 of 3 nodes) agrees after anti-entropy.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let local: Vec<Value> = (0..3).map(|i| read(&c, i, "k", true)["values"].clone()).collect();
        if local.iter().all(|v| *v == json!([2])) {
            break;
        }
        assert!(Instant::now() < deadline, "replicas never agreed: {local:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let s = c.status(0).expect("status");
    assert_eq!(s.leader, None);
    assert_eq!(s.detail["ownership"].as_object().map(|o| o.len()), Some(3));
    assert!(s.detail["hints_pending"].is_object(), "{:?}", s.detail);
    assert!(!s.detail["merkle_roots"].as_object().unwrap().is_empty());
    let logs: String = (0..3).map(|i| c.log_text(i)).collect();
    assert!(logs.contains("\"quorum-ack\""), "no quorum-ack event: {logs}");
}

/// Runs a short partitioned set test; returns (exit code, set verdict).
fn set_run(conflict: &str, nemesis: &str) -> (i32, Value) {
    let store = tempfile::tempdir().unwrap();
    let args = [
        "--topology",
        "leaderless",
        "--workload",
        "set",
        "--conflict",
        conflict,
        "--nemesis",
        nemesis,
        "--nemesis-interval",
        "2",
        "--time-limit",
        "8",
        "--recovery",
        "2",
        "--seed",
        "3",
    ];
    let (out, dir) = runner_common::test_run(store.path(), &args);
    let dir = dir.unwrap_or_else(|| panic!("no run dir: {}", String::from_utf8_lossy(&out.stderr)));
    let r: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    let set = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["checker"] == "set")
        .cloned()
        .unwrap_or_else(|| panic!("no set verdict: {r}"));
    (out.status.code().unwrap_or(-1), set)
}

#[test]
fn siblings_under_partitions_lose_nothing_and_lww_with_clock_faults_loses_adds() {
    let (code, set) = set_run("siblings", "partition,kill");
    assert_eq!(code, 0, "siblings: {set}");
    assert_eq!(set["valid"], true, "{set}");
    assert!(set["summary"].as_str().unwrap().contains(": 0 lost,"), "{set}");
    let (code, set) = set_run("lww", "clock,partition");
    assert_eq!(code, 1, "lww: {set}");
    assert_eq!(set["valid"], false, "{set}");
    assert!(!set["summary"].as_str().unwrap().contains(": 0 lost,"), "{set}");
}
