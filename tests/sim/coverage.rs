//! The sweep's "sometimes" counters: summed over the seeds and printed, every counter
//! named, those a sweep never reached said to be never reached. Pinned sweeps: the
//! single-leader store under the default faults reaches leader changes; the leaderless
//! store with siblings and sloppy quorums under partitions reaches siblings and hints
//! (and no leader change: it has no leaders).

use crate::support::runner as runner_common;
use runner_common::*;
use std::process::Command;

/// The `coverage` block of a sweep's output: counter name -> count (0 when never reached).
fn coverage(args: &[&str]) -> std::collections::BTreeMap<String, u64> {
    let store = tempfile::tempdir().unwrap();
    let out = Command::new(bin())
        .arg("sim")
        .args(args)
        .arg("--store-dir")
        .arg(store.path())
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let block = text
        .split_once("coverage (\"sometimes\" counters over ")
        .unwrap_or_else(|| panic!("no coverage block in {text}"))
        .1;
    block
        .lines()
        .skip(1)
        .map(|l| {
            let mut w = l.split_whitespace();
            let name = w.next().unwrap().to_string();
            let rest: Vec<&str> = w.collect();
            let n = if rest.join(" ") == "never reached" {
                0
            } else {
                rest[0].parse().unwrap_or_else(|_| panic!("{l}"))
            };
            (name, n)
        })
        .collect()
}

#[test]
fn a_single_leader_sweep_reaches_leader_changes() {
    let _serial = serial!();
    let c = coverage(&["--seeds", "1..6", "--time-limit", "5"]);
    assert_eq!(c.len(), 14, "every counter is printed: {c:?}");
    assert!(c["leader-elected"] >= 6, "{c:?}");
    assert!(c["step-down"] > 0, "{c:?}");
    assert_eq!(
        c["siblings-read"], 0,
        "no siblings in a single-leader store: {c:?}"
    );
}

#[test]
fn a_leaderless_sweep_reaches_siblings_and_hints_and_no_leaders() {
    let _serial = serial!();
    let c = coverage(&[
        "--seeds",
        "1..3",
        "--time-limit",
        "4",
        "--topology",
        "leaderless",
        "--conflict",
        "siblings",
        "--sloppy-quorum",
        "--workload",
        "set",
        "--nemesis",
        "partition",
        "--nemesis-interval",
        "1",
    ]);
    assert!(c["siblings-read"] > 0, "{c:?}");
    assert!(c["hint-delivered"] > 0 && c["read-repair"] > 0, "{c:?}");
    assert_eq!(c["leader-elected"], 0, "{c:?}");
}
