//! The sharded store as real processes: K single-leader groups of `faultline node`
//! and a `faultline router` in front. Bad shard settings are refused before
//! anything starts; a set workload through the router is valid, with the router
//! killed and paused on the way (its ops fail or are unknown, nothing is lost);
//! per-shard load shows the range partitioner's hot spot; a key range moved
//! between groups every second loses nothing with fencing and loses writes
//! without it; cross-shard transactions are refused, or (split) caught by Elle.

use crate::support::runner::{code, finished_run, history, stderr, test_run};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn verdict(r: &Value, checker: &str) -> Value {
    r["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["checker"] == checker)
        .cloned()
        .unwrap_or_else(|| panic!("no {checker} verdict: {r}"))
}

#[test]
fn bad_shard_settings_are_refused_before_anything_starts() {
    let _serial = serial!();
    let store = tempfile::tempdir().unwrap();
    for (args, flag) in [
        (&["--shards", "0"][..], "--shards"),
        (&["--partitioner", "range"], "--partitioner"),
        (&["--shards", "2", "--partitioner", "alphabet"], "--partitioner"),
        (&["--shards", "2", "--topology", "leaderless"], "--shards"),
        (&["--shards", "40", "--nodes", "3"], "--shards"),
        (&["--shards", "2", "--target", "reference"], "--shards"),
        (&["--no-shard-fencing"], "--no-shard-fencing"),
        (&["--cross-shard", "split"], "--cross-shard"),
        (&["--shards", "2", "--cross-shard", "merge"], "--cross-shard"),
        (&["--nemesis", "rebalance"], "rebalance"),
        (&["--shards", "1", "--nemesis", "rebalance"], "rebalance"),
        (&["--shard-adds", "1"], "--shard-adds"),
        (&["--shards", "2", "--shard-adds", "9"], "--shard-adds"),
    ] {
        let (out, _) = test_run(store.path(), args);
        let err = stderr(&out);
        assert_eq!(code(&out), 3, "{args:?}: {err}");
        assert!(err.contains(flag), "{args:?} should name {flag}: {err}");
    }
    assert!(!store.path().join("latest").exists(), "nothing may start");
    let (out, _) = test_run(store.path(), &["--shards", "2", "--sim"]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(stderr(&out).contains("--shards"), "{}", stderr(&out));
}

/// Kills the router at 1.5 s (restarted at 2.5 s) and pauses it at 3.5 s (resumed at 4.5 s).
const ROUTER_FAULTS: &str = r#"nemesis = "kill,pause"
[target]
shards = 2
nodes = 3
partitioner = "consistent"
[[faults]]
at_ms = 1500
action = "kill"
target = "one"
victims = { nodes = [6] }
[[faults]]
at_ms = 2500
action = "restart"
[[faults]]
at_ms = 3500
action = "pause"
target = "one"
victims = { nodes = [6] }
[[faults]]
at_ms = 4500
action = "resume"
"#;

#[test]
fn a_set_workload_through_the_router_survives_router_kill_and_pause() {
    let _serial = serial!();
    let store = tempfile::tempdir().unwrap();
    let plan = store.path().join("router-faults.toml");
    std::fs::write(&plan, ROUTER_FAULTS).unwrap();
    let args = [
        "--shards",
        "2",
        "--nodes",
        "3",
        "--partitioner",
        "consistent",
        "--workload",
        "set",
        "--time-limit",
        "6",
        "--recovery",
        "1",
        "--seed",
        "5",
        "--plan",
        plan.to_str().unwrap(),
    ];
    let (out, dir, r) = finished_run(store.path(), &args);
    assert_eq!(code(&out), 0, "{}\n{r}", stderr(&out));
    let set = verdict(&r, "set");
    assert_eq!(set["valid"], true, "{set}");
    let h = history(&dir);
    // The nemesis hit the router, and ops across its faults did not succeed.
    let hit = |f: &str| {
        h.iter().any(|o| {
            o["process"] == "nemesis"
                && o["f"] == f
                && o["type"] == "info"
                && o["value"].to_string().contains("router")
        })
    };
    assert!(hit("kill") && hit("pause"), "router faults not applied");
    let not_ok = h
        .iter()
        .filter(|o| o["process"] != "nemesis" && (o["type"] == "info" || o["type"] == "fail"))
        .count();
    assert!(not_ok > 0, "no op failed while the router was down or paused");
    // Ops were served by group nodes, never by the router itself.
    let served: Vec<&str> = h
        .iter()
        .filter(|o| o["type"] == "ok" && o["process"] != "nemesis")
        .filter_map(|o| o["node"].as_str())
        .collect();
    assert!(
        !served.is_empty() && served.iter().all(|n| n.starts_with('n')),
        "{served:?}"
    );
    assert_eq!(r["shards"]["groups"].as_array().map(|g| g.len()), Some(2), "{r}");
    assert!(dir.join("nodes/router.log").exists());
}

/// Per-shard invocations of a short register run under `partitioner`.
fn register_load(partitioner: &str) -> Vec<u64> {
    let store = tempfile::tempdir().unwrap();
    let args = [
        "--shards",
        "3",
        "--nodes",
        "1",
        "--partitioner",
        partitioner,
        "--workload",
        "register",
        "--time-limit",
        "3",
        "--recovery",
        "0",
        "--nemesis",
        "none",
        "--seed",
        "2",
    ];
    let (out, dir, r) = finished_run(store.path(), &args);
    assert_eq!(code(&out), 0, "{partitioner}: {}\n{r}", stderr(&out));
    let report = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(
        report.contains("Per-shard load"),
        "no shard section in the report"
    );
    r["shards"]["groups"]
        .as_array()
        .unwrap_or_else(|| panic!("no shard load: {r}"))
        .iter()
        .map(|g| g["invoked"].as_u64().unwrap())
        .collect()
}

#[test]
fn range_partitioning_puts_every_register_key_on_one_shard() {
    let _serial = serial!();
    let range = register_load("range");
    let total: u64 = range.iter().sum();
    assert!(total > 0);
    // The register keys k0..kN all sort into the `i..r` range: group 1 takes everything.
    assert_eq!(range[1], total, "{range:?}");
}

/// A short `set` run over 2 groups of 3 with a rebalance every second; `extra` flags appended.
fn rebalance_run(store: &Path, seed: &str, extra: &[&str]) -> (i32, PathBuf, Value) {
    let mut args = vec![
        "--shards",
        "2",
        "--nodes",
        "3",
        "--workload",
        "set",
        "--nemesis",
        "rebalance",
        "--nemesis-interval",
        "1",
        "--time-limit",
        "6",
        "--recovery",
        "1",
        "--seed",
        seed,
    ];
    args.extend_from_slice(extra);
    let (out, dir, r) = finished_run(store, &args);
    (code(&out), dir, r)
}

/// The rebalances a run's history records (their completions).
fn rebalances(dir: &Path) -> Vec<Value> {
    history(dir)
        .into_iter()
        .filter(|o| o["process"] == "nemesis" && o["f"] == "rebalance" && o["type"] == "info")
        .map(|o| o["value"].clone())
        .collect()
}

#[test]
fn rebalancing_with_fencing_loses_no_acknowledged_add() {
    let _serial = serial!();
    let store = tempfile::tempdir().unwrap();
    let (code, dir, r) = rebalance_run(store.path(), "3", &[]);
    let set = verdict(&r, "set");
    assert_eq!(code, 0, "{r}");
    assert_eq!(set["valid"], true, "{set}");
    let moves = rebalances(&dir);
    assert!(moves.len() >= 3, "{moves:?}");
    let mut last = 1;
    for m in &moves {
        // Each move went through: fenced every node, copied the key, switched the router.
        assert_eq!(
            (m["moved"].as_bool(), m["fencing"].as_bool()),
            (Some(true), Some(true)),
            "{m}"
        );
        assert_eq!(m["fenced"].as_array().map(|f| f.len()), Some(6), "{m}");
        assert_eq!(m["range"][0], "s", "{m}");
        let epoch = m["epoch"].as_u64().unwrap();
        assert!(epoch > last, "epochs grow: {moves:?}");
        last = epoch;
        assert_eq!(m["router_epoch"].as_u64(), Some(epoch), "{m}");
    }
    assert!(dir.join("nodes/n1.log").exists());
    let log = std::fs::read_to_string(dir.join("nodes/n1.log")).unwrap();
    assert!(log.contains("routing epoch 2"), "n1 never learned the fence");
}

#[test]
fn rebalancing_without_fencing_loses_acknowledged_adds() {
    let _serial = serial!();
    let store = tempfile::tempdir().unwrap();
    let mut seen = Vec::new();
    for seed in ["3", "4", "5"] {
        let (code, dir, r) = rebalance_run(store.path(), seed, &["--no-shard-fencing"]);
        let set = verdict(&r, "set");
        let moves = rebalances(&dir);
        assert!(moves
            .iter()
            .all(|m| m["fencing"] == false && m["fenced"] == serde_json::json!([])));
        if set["valid"] == false {
            assert_eq!(code, 1, "{r}");
            assert!(set["details"]["lost"].as_u64().unwrap_or(0) > 0, "{set}");
            return;
        }
        seen.push((seed, code, set));
    }
    panic!("no lost adds without fencing in 3 seeds: {seen:?}");
}

/// A short `append` run over 3 single-node groups by hash (its keys spread over groups).
fn append_run(store: &Path, seed: &str, mode: &str) -> (i32, PathBuf, Value) {
    let args = [
        "--shards",
        "3",
        "--nodes",
        "1",
        "--workload",
        "append",
        "--nemesis",
        "none",
        "--time-limit",
        "3",
        "--recovery",
        "0",
        "--cross-shard",
        mode,
        "--seed",
        seed,
    ];
    let (out, dir, r) = finished_run(store, &args);
    (code(&out), dir, r)
}

#[test]
fn cross_shard_transactions_are_refused_naming_the_groups() {
    let _serial = serial!();
    let store = tempfile::tempdir().unwrap();
    let (code, dir, r) = append_run(store.path(), "1", "reject");
    assert_eq!(code, 0, "{r}");
    assert_eq!(verdict(&r, "elle")["valid"], true, "{r}");
    let h = history(&dir);
    let refused: Vec<&Value> = h
        .iter()
        .filter(|o| o["type"] == "fail" && o["f"] == "txn")
        .collect();
    assert!(!refused.is_empty(), "no cross-shard txn in the run");
    for o in &refused {
        let e = o["error"].as_str().unwrap_or_default();
        assert!(e.contains("cross-shard") && e.contains("groups ["), "{o}");
        assert_eq!(o["node"], "router", "{o}");
    }
    assert!(
        h.iter().any(|o| o["type"] == "ok" && o["f"] == "txn"),
        "single-shard txns succeed"
    );
}

#[test]
fn split_cross_shard_transactions_are_caught_by_elle() {
    let _serial = serial!();
    let store = tempfile::tempdir().unwrap();
    let mut seen = Vec::new();
    for seed in ["1", "2", "3"] {
        let (code, _, r) = append_run(store.path(), seed, "split");
        let elle = verdict(&r, "elle");
        if elle["valid"] == false {
            assert_eq!(code, 1, "{r}");
            return;
        }
        seen.push((seed, elle));
    }
    panic!("Elle found nothing in 3 split runs: {seen:?}");
}
