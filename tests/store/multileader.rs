//! The multi-leader store as real `faultline node` processes: bad settings
//! are refused before anything starts; a write at any datacenter reaches
//! every node; `circular` stalls behind a killed leader and resumes when it
//! returns; short `faultline test` runs: last-write-wins under clock faults
//! loses acknowledged adds, siblings and crdt lose nothing and converge.

use crate::support::runner as runner_common;
use crate::support::store as store_support;

use faultline::store::leaderless::RequestOpts;
use faultline::store::ops::{ClientOp, Outcome};
use faultline::store::StoreClient;
use serde_json::{json, Value};
use std::process::Command;
use std::time::{Duration, Instant};
use store_support::{addr, Cluster, T};

fn call(c: &Cluster, i: usize, op: ClientOp) -> Outcome {
    let mut s = StoreClient::connect(addr(c.client[i]), T).expect("connect");
    s.request_with(&op, &RequestOpts::default(), Duration::from_secs(2))
        .expect("answer")
        .outcome
}

fn values(c: &Cluster, i: usize, key: &str) -> Value {
    match call(c, i, ClientOp::Read { key: json!(key) }) {
        Outcome::Ok { value } => value["values"].clone(),
        other => panic!("read on node {i}: {other:?}"),
    }
}

fn write(c: &Cluster, i: usize, key: &str, v: i64) -> Outcome {
    call(
        c,
        i,
        ClientOp::Write {
            key: json!(key),
            value: json!(v),
        },
    )
}

/// Waits until `node` shows `want` for `key`; panics after `secs`.
fn wait_for(c: &Cluster, node: usize, key: &str, want: Value, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while values(c, node, key) != want {
        assert!(Instant::now() < deadline, "node {node} never showed {key}={want}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn bad_multi_leader_settings_are_refused_naming_the_flag() {
    let _serial = serial!();
    for (args, flag) in [
        (
            &["--topology", "multi-leader", "--datacenters", "4"][..],
            "--datacenters",
        ),
        (
            &["--topology", "multi-leader", "--dc-topology", "mesh"],
            "--dc-topology",
        ),
        (&["--topology", "leaderless", "--conflict", "avoid"], "--conflict"),
        (&["--datacenters", "2"], "--datacenters"),
        (&["--topology", "multi-leader", "--w", "2"], "--w"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let out = Command::new(runner_common::bin())
            .args(["node", "--id", "n1", "--listen", "127.0.0.1:1"])
            .args(["--client", "127.0.0.1:2", "--admin", "127.0.0.1:3"])
            .args(["--cluster", "n1=127.0.0.1:1,n2=127.0.0.1:4,n3=127.0.0.1:5"])
            .arg("--data-dir")
            .arg(&data)
            .args(args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {err}");
        assert!(err.contains(flag), "{args:?} should name {flag}: {err}");
        assert!(!data.exists(), "a refused node created its data dir: {args:?}");
    }
    let store = tempfile::tempdir().unwrap();
    for (args, flag) in [
        (
            &["--topology", "multi-leader", "--nodes", "2", "--datacenters", "3"][..],
            "--datacenters",
        ),
        (
            &["--topology", "multi-leader", "--datacenters", "0"],
            "--datacenters",
        ),
        (
            &["--topology", "multi-leader", "--dc-topology", "ring"],
            "--dc-topology",
        ),
        (&["--topology", "leaderless", "--conflict", "avoid"], "--conflict"),
        (&["--dc-topology", "star"], "--dc-topology"),
        (
            &["--topology", "multi-leader", "--workload", "bank"],
            "--workload",
        ),
        (&["--nemesis", "partition:dc"], "--nemesis"),
        (
            &[
                "--topology",
                "multi-leader",
                "--datacenters",
                "1",
                "--nemesis",
                "clock:dc",
            ],
            "--nemesis",
        ),
    ] {
        let (out, _) = runner_common::test_run(store.path(), args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {err}");
        assert!(err.contains(flag), "{args:?} should name {flag}: {err}");
    }
    assert!(!store.path().join("latest").exists(), "nothing may start");
}

/// Three datacenters of one node each in a ring: with the middle one killed
/// the ring stalls (the write stays at its origin and the killed node's
/// predecessor), and it resumes once the node restarts from its disk.
#[test]
fn circular_stalls_behind_a_killed_leader_and_resumes_after_restart() {
    let _serial = serial!();
    let args = [
        "--topology",
        "multi-leader",
        "--datacenters",
        "3",
        "--dc-topology",
        "circular",
    ];
    let mut c = Cluster::start(3, &args);
    let ok = Outcome::Ok { value: Value::Null };
    assert_eq!(write(&c, 0, "k", 1), ok);
    wait_for(&c, 2, "k", json!([1]), 15);
    wait_for(&c, 1, "k", json!([1]), 5);
    c.kill(1);
    assert_eq!(write(&c, 0, "k2", 2), ok);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(values(&c, 2, "k2"), json!([]), "n3 hears n1 only through n2");
    c.spawn(1);
    wait_for(&c, 2, "k2", json!([2]), 15);
    let s = c.status(0).expect("status");
    assert_eq!(s.detail["topology"], "multi-leader", "{:?}", s.detail);
    assert_eq!(s.leader.as_deref(), Some("n1"));
}

/// A short set test; returns (exit code, results.json).
fn set_run(extra: &[&str]) -> (i32, Value) {
    let store = tempfile::tempdir().unwrap();
    let mut args = vec![
        "--topology",
        "multi-leader",
        "--datacenters",
        "3",
        "--workload",
        "set",
        "--nemesis-interval",
        "2",
        "--time-limit",
        "8",
        "--recovery",
        "2",
        "--seed",
        "3",
    ];
    args.extend_from_slice(extra);
    let (out, dir) = runner_common::test_run(store.path(), &args);
    let dir = dir.unwrap_or_else(|| panic!("no run dir: {}", String::from_utf8_lossy(&out.stderr)));
    let r: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    (out.status.code().unwrap_or(-1), r)
}

fn verdict<'a>(r: &'a Value, checker: &str) -> &'a Value {
    r["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["checker"] == checker)
        .unwrap_or_else(|| panic!("no {checker} verdict: {r}"))
}

#[test]
fn lww_under_clock_faults_loses_adds_and_siblings_and_crdt_lose_nothing() {
    let _serial = serial!();
    for conflict in ["siblings", "crdt"] {
        let (code, r) = set_run(&["--conflict", conflict, "--nemesis", "partition,kill"]);
        let set = verdict(&r, "set");
        assert_eq!(code, 0, "{conflict}: {r}");
        assert!(set["summary"].as_str().unwrap().contains(": 0 lost,"), "{set}");
        assert_eq!(verdict(&r, "convergence")["valid"], true, "{conflict}: {r}");
    }
    let (code, r) = set_run(&["--conflict", "lww", "--nemesis", "clock,partition"]);
    let set = verdict(&r, "set");
    assert_eq!(code, 1, "lww: {set}");
    assert_eq!(set["valid"], false, "{set}");
    assert!(!set["summary"].as_str().unwrap().contains(": 0 lost,"), "{set}");
}

/// A short multi-leader `faultline test` over `nodes` nodes in 3 datacenters
/// with `seed`; returns (exit code, results.json, history).
fn ml_run(nodes: &str, seed: u64, extra: &[&str]) -> (i32, Value, Vec<Value>) {
    let store = tempfile::tempdir().unwrap();
    let seed = seed.to_string();
    let mut args = vec![
        "--topology",
        "multi-leader",
        "--nodes",
        nodes,
        "--datacenters",
        "3",
        "--time-limit",
        "6",
        "--recovery",
        "1",
        "--seed",
        &seed,
    ];
    args.extend_from_slice(extra);
    let (out, dir) = runner_common::test_run(store.path(), &args);
    let dir = dir.unwrap_or_else(|| panic!("no run dir: {}", String::from_utf8_lossy(&out.stderr)));
    let r: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    (out.status.code().unwrap_or(-1), r, runner_common::history(&dir))
}

/// The nemesis completions of `f` that took effect, with their invocation's value.
fn faults<'a>(h: &'a [Value], f: &str) -> Vec<(&'a Value, &'a Value)> {
    let mut out = Vec::new();
    for (i, o) in h.iter().enumerate() {
        if o["process"] == "nemesis" && o["f"] == f && o["type"] == "invoke" {
            if let Some(done) = h[i + 1..]
                .iter()
                .find(|d| d["process"] == "nemesis" && d["f"] == f)
            {
                if done["value"]["hit"].as_array().is_some_and(|a| !a.is_empty()) {
                    out.push((o, done));
                }
            }
        }
    }
    out
}

/// The datacenters of `n1..n5` split in 3, as the nodes split them
/// (contiguous groups, sizes 1, 2, 2).
fn dc_of(node: &str) -> usize {
    match node {
        "n1" => 0,
        "n2" | "n3" => 1,
        _ => 2,
    }
}

/// Every link a `dc` partition cuts runs between datacenters, and it cuts one
/// datacenter from all the others or every datacenter from every other.
fn assert_cuts_between_datacenters(h: &[Value]) {
    let parts = faults(h, "partition");
    assert!(!parts.is_empty(), "no datacenter partition took effect");
    for (inv, done) in parts {
        assert_eq!(inv["value"]["target"], "dc", "{inv}");
        let g = done["value"]["grudge"].as_object().expect("grudge");
        let mut cut = std::collections::BTreeSet::new();
        for (to, froms) in g {
            for from in froms.as_array().unwrap() {
                let (a, b) = (dc_of(to), dc_of(from.as_str().unwrap()));
                assert_ne!(a, b, "a link inside a datacenter was cut: {done}");
                cut.insert((a.min(b), a.max(b)));
            }
        }
        let shape = inv["value"]["shape"].as_str().unwrap();
        let want = if shape == "dc-all" { 3 } else { 2 };
        assert_eq!(cut.len(), want, "{shape}: datacenter pairs cut {cut:?}: {done}");
    }
}

/// Last-write-wins under partitions between datacenters (proxy back end) and
/// clock faults on whole datacenters loses acknowledged adds; every clock
/// fault hits exactly the nodes of one datacenter, all by the same offset.
#[test]
fn lww_under_datacenter_partitions_and_clocks_loses_acknowledged_adds() {
    let _serial = serial!();
    let args = [
        "--conflict",
        "lww",
        "--workload",
        "set",
        "--net",
        "proxy",
        "--nemesis",
        "partition:dc,clock:dc",
        "--nemesis-interval",
        "1.5",
    ];
    let mut seen = Vec::new();
    for seed in 1..=3 {
        let (code, r, h) = ml_run("5", seed, &args);
        assert_cuts_between_datacenters(&h);
        for (inv, done) in faults(&h, "clock-bump") {
            let hit: Vec<&str> = done["value"]["hit"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            let dcs: std::collections::BTreeSet<usize> = hit.iter().map(|n| dc_of(n)).collect();
            assert_eq!(dcs.len(), 1, "{done}");
            let size = (1..=5)
                .filter(|i| dc_of(&format!("n{i}")) == dc_of(hit[0]))
                .count();
            assert_eq!(hit.len(), size, "the whole datacenter: {done}");
            let ms: std::collections::BTreeSet<String> = done["value"]["ms"]
                .as_object()
                .unwrap()
                .values()
                .map(|v| v.to_string())
                .collect();
            assert_eq!(ms.len(), 1, "one offset for the datacenter: {inv} {done}");
        }
        let set = verdict(&r, "set");
        if code == 1 && set["valid"] == false {
            return;
        }
        seen.push(format!("seed {seed}: exit {code}, {}", set["summary"]));
    }
    panic!("lww lost nothing under datacenter partitions: {seen:?}");
}

/// Siblings under the same datacenter partitions (netns back end) lose
/// nothing and every replica agrees after the heal.
#[test]
fn siblings_under_datacenter_partitions_lose_nothing_and_converge() {
    let _serial = serial!();
    let args = [
        "--workload",
        "set",
        "--net",
        "netns",
        "--nemesis",
        "partition:dc",
        "--nemesis-interval",
        "1.5",
    ];
    let (code, r, h) = ml_run("5", 1, &args);
    assert_cuts_between_datacenters(&h);
    let set = verdict(&r, "set");
    assert_eq!(code, 0, "{r}");
    assert!(set["summary"].as_str().unwrap().contains(": 0 lost,"), "{set}");
    assert_eq!(verdict(&r, "convergence")["valid"], true, "{r}");
}
