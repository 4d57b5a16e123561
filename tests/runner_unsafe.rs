//! Unsafe store modes leave evidence in the recorded history (pinned seeds).
//! Until the set checker merges, a brute-force oracle reads the history:
//! acknowledged adds missing from the final read are lost writes.

mod runner_common;
use runner_common::*;
use std::collections::BTreeSet;

fn lost_adds(dir: &std::path::Path) -> (usize, usize) {
    let h = history(dir);
    let acked: BTreeSet<u64> = h
        .iter()
        .filter(|o| o["f"] == "add" && o["type"] == "ok")
        .filter_map(|o| o["value"].as_u64())
        .collect();
    let last = h
        .iter()
        .rev()
        .find(|o| o["f"] == "read" && o["type"] == "ok")
        .expect("a final read succeeded");
    let read: BTreeSet<u64> = last["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_u64())
        .collect();
    (acked.len(), acked.difference(&read).count())
}

fn run(replication: &str) -> (usize, usize) {
    let store = tempfile::tempdir().unwrap();
    let (out, dir) = test_run(
        store.path(),
        &[
            "--nodes",
            "3",
            "--time-limit",
            "8",
            "--workload",
            "set",
            "--replication",
            replication,
            "--nemesis",
            "partition-leader,kill-leader",
            "--nemesis-interval",
            "1",
            "--seed",
            "1",
            "--recovery",
            "2",
            "--net",
            "proxy",
        ],
    );
    assert!([0, 1, 2].contains(&code(&out)), "{}", stderr(&out));
    lost_adds(&dir.unwrap())
}

#[test]
fn async_replication_with_leader_faults_loses_acknowledged_adds_and_quorum_does_not() {
    let (acked, lost) = run("async");
    assert!(
        acked > 100 && lost > 0,
        "async: {lost} of {acked} acknowledged adds lost"
    );
    let (acked, lost) = run("quorum");
    assert!(acked > 100, "quorum acknowledged only {acked}");
    assert_eq!(lost, 0, "quorum lost {lost} of {acked} acknowledged adds");
}
