//! Adding a group live (`--shard-adds N`, `--nemesis rebalance`): a one-group store
//! behind its router grows to three while a set workload writes. The reserved
//! groups' nodes are placed at the start and started at the add; faults aimed at
//! them before it hit nothing, after it hit them; with fencing nothing is lost,
//! without it the old owner takes writes nobody reads again; per-shard load follows
//! the key to its new group; Ctrl-C stops the added processes too.

use crate::support::runner::{bin, code, finished_run, history, leftovers};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Two adds (seed 0 draws an add) of a group of 3 to one group of 3, by hash: the
/// set's key moves at each. With `kills`, n4 (the first added group's) is killed
/// before it exists and again after it was added.
fn plan(kills: bool) -> String {
    let mut steps = vec![
        (1500, "action = \"rebalance\"\nseed = 0\n"),
        (4000, "action = \"rebalance\"\nseed = 0\n"),
    ];
    if kills {
        let kill = "action = \"kill\"\ntarget = \"one\"\nvictims = { nodes = [3] }\n";
        let restart = "action = \"restart\"\n";
        steps.extend([(500, kill), (1000, restart), (3000, kill), (3500, restart)]);
    }
    steps.sort_by_key(|s| s.0);
    let mut p = String::from(
        "nemesis = \"rebalance,kill\"\n[target]\nshards = 1\nnodes = 3\nshard_adds = 2\npartitioner = \"hash\"\n",
    );
    for (at, step) in steps {
        p.push_str(&format!("[[faults]]\nat_ms = {at}\n{step}"));
    }
    p
}

fn run(store: &Path, kills: bool, seed: &str, extra: &[&str]) -> (i32, PathBuf, Value) {
    let file = store.join(format!("adds-{kills}.toml"));
    std::fs::write(&file, plan(kills)).unwrap();
    let mut args = vec![
        "--plan",
        file.to_str().unwrap(),
        "--workload",
        "set",
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

fn set_verdict(r: &Value) -> Value {
    r["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["checker"] == "set")
        .cloned()
        .unwrap_or_else(|| panic!("no set verdict: {r}"))
}

/// The completions of the nemesis's `f` steps, in order.
fn completions(dir: &Path, f: &str) -> Vec<Value> {
    history(dir)
        .into_iter()
        .filter(|o| o["process"] == "nemesis" && o["f"] == f && o["type"] == "info")
        .map(|o| o["value"].clone())
        .collect()
}

#[test]
fn groups_added_under_writes_with_fencing_lose_nothing_and_take_faults_once_added() {
    let _serial = serial!();
    let store = tempfile::tempdir().unwrap();
    let (code, dir, r) = run(store.path(), true, "3", &[]);
    let set = set_verdict(&r);
    assert_eq!(code, 0, "{r}");
    assert_eq!(set["valid"], true, "{set}");
    let adds = completions(&dir, "rebalance");
    assert_eq!(adds.len(), 2, "{adds:?}");
    for (i, a) in adds.iter().enumerate() {
        let (group, epoch) = (i as u64 + 1, i as u64 + 2);
        assert_eq!(a["action"], "add", "{a}");
        assert_eq!(a["added"].as_u64(), Some(group), "{a}");
        assert_eq!(a["groups"].as_u64(), Some(group + 1), "{a}");
        assert_eq!(a["moved"], true, "{a}");
        assert_eq!(a["epoch"].as_u64(), Some(epoch), "{a}");
        assert_eq!(a["router_epoch"].as_u64(), Some(epoch), "{a}");
        assert_eq!(a["keys"].as_u64(), Some(1), "the set's key was copied: {a}");
        // Every running node was fenced, the new group's included.
        let fenced = a["fenced"].as_array().unwrap().len() as u64;
        assert_eq!(fenced, 3 * (group + 1), "{a}");
    }
    // The kill before the add found nothing to kill; the one after it killed n4.
    let kills = completions(&dir, "kill");
    assert_eq!(kills.len(), 2, "{kills:?}");
    assert_eq!(kills[0]["hit"], serde_json::json!([]), "{kills:?}");
    assert_eq!(kills[1]["hit"], serde_json::json!(["n4"]), "{kills:?}");
    // Fault coverage counts the adds.
    let rows = r["coverage"]["rows"].as_array().cloned().unwrap_or_default();
    let row = rows
        .iter()
        .find(|w| w["kind"] == "rebalance" && w["target"] == "add")
        .unwrap_or_else(|| panic!("coverage does not count the adds: {rows:?}"));
    assert_eq!(
        (row["fired"].as_u64(), row["took_effect"].as_u64()),
        (Some(2), Some(2)),
        "{row}"
    );
    // Per-shard load: three groups in the end, one epoch per table.
    let shards = &r["shards"];
    assert_eq!(shards["groups"].as_array().map(Vec::len), Some(3), "{shards}");
    let epochs = shards["epochs"].as_array().unwrap_or_else(|| panic!("{shards}"));
    assert_eq!(epochs.len(), 3, "{shards}");
    // The set's key is group 0's under one group, group 1's under two, group 0's under three.
    let busiest = |e: &Value| {
        let g = e["groups"].as_array().unwrap();
        (0..g.len()).max_by_key(|&i| g[i]["invoked"].as_u64()).unwrap()
    };
    let owners: Vec<usize> = epochs.iter().map(busiest).collect();
    assert_eq!(owners, [0, 1, 0], "{shards}");
    assert!(
        dir.join("nodes/n9.log").exists(),
        "the second added group never ran"
    );
    let log = std::fs::read_to_string(dir.join("nodes/n4.log")).unwrap();
    assert!(log.contains("routing epoch 2"), "n4 never learned the fence");
}

#[test]
fn groups_added_without_fencing_lose_acknowledged_adds() {
    let _serial = serial!();
    let store = tempfile::tempdir().unwrap();
    let mut seen = Vec::new();
    for seed in ["3", "4", "5"] {
        let (code, dir, r) = run(store.path(), false, seed, &["--no-shard-fencing"]);
        let set = set_verdict(&r);
        let adds = completions(&dir, "rebalance");
        assert!(
            adds.iter()
                .all(|a| a["action"] == "add" && a["fenced"] == serde_json::json!([])),
            "{adds:?}"
        );
        if set["valid"] == false {
            assert_eq!(code, 1, "{r}");
            assert!(set["details"]["lost"].as_u64().unwrap_or(0) > 0, "{set}");
            return;
        }
        seen.push((seed, code, set));
    }
    panic!("no lost adds without fencing in 3 seeds: {seen:?}");
}

#[test]
fn ctrl_c_after_an_add_stops_the_added_nodes_too() {
    let _serial = serial!();
    let store = tempfile::tempdir().unwrap();
    let file = store.path().join("adds.toml");
    std::fs::write(&file, plan(false)).unwrap();
    let mut child = Command::new(bin())
        .args(["test", "--workload", "set", "--time-limit", "60", "--plan"])
        .arg(&file)
        .arg("--store-dir")
        .arg(store.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(40);
    // 3 nodes and the router at the start; 3 more once the first group is added.
    loop {
        let (_, procs) = leftovers(pid);
        if procs.len() >= 7 {
            break;
        }
        assert!(Instant::now() < deadline, "no group was added: {procs:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let int = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    assert!(int.success());
    let status = child.wait().unwrap();
    assert!(status.code().is_some(), "the harness ended by itself: {status:?}");
    assert_eq!(
        leftovers(pid),
        (vec![], vec![]),
        "Ctrl-C left processes or namespaces"
    );
}
