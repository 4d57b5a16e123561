//! Read leases on a real cluster: `faultline test --reads lease` under
//! partitions and kills (pinned seed) stays linearizable, and lease reads are
//! actually served (the admin status shows a live lease on the leader).

use crate::support::runner as runner_common;
use crate::support::store as store_support;

use faultline::store::core::Role;
use runner_common::*;
use std::time::{Duration, Instant};
use store_support::Cluster;

fn verdict<'a>(r: &'a serde_json::Value, checker: &str) -> &'a serde_json::Value {
    r["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["checker"] == checker)
        .unwrap_or_else(|| panic!("no {checker} verdict in {r}"))
}

/// The tail of every node log under `store` (for a run that failed early).
fn node_logs(store: &std::path::Path) -> String {
    let mut out = String::new();
    let mut stack = vec![store.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.parent().is_some_and(|d| d.ends_with("nodes")) {
                let text = std::fs::read_to_string(&p).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(5).collect();
                out.push_str(&format!("{}:\n  {}\n", p.display(), tail.join("\n  ")));
            }
        }
    }
    out
}

#[test]
fn lease_reads_under_partitions_and_kills_are_linearizable() {
    let _serial = serial!();
    let store = tempfile::tempdir().unwrap();
    let (out, dir) = test_run(
        store.path(),
        &[
            "--reads",
            "lease",
            "--workload",
            "register",
            "--nemesis",
            "partition,kill",
            "--nemesis-interval",
            "1.5",
            "--time-limit",
            "12",
            "--recovery",
            "2",
            "--seed",
            "7",
        ],
    );
    let dir = dir.unwrap_or_else(|| panic!("no run dir: {}\n{}", stderr(&out), node_logs(store.path())));
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    let lin = verdict(&r, "linearizable");
    assert_eq!(lin["valid"], true, "lease reads not linearizable: {lin}");
    assert_eq!(code(&out), 0, "{}\n{r}", stderr(&out));
    // The run did read: some reads completed ok.
    let ok_reads = history(&dir)
        .iter()
        .filter(|o| o["f"] == "read" && o["type"] == "ok" && o["process"] != "nemesis")
        .count();
    assert!(ok_reads > 20, "only {ok_reads} ok reads");
    let test_toml = std::fs::read_to_string(dir.join("test.toml")).unwrap();
    assert!(test_toml.contains("lease"), "mode recorded: {test_toml}");
}

#[test]
fn the_leader_reports_its_lease_and_serves_reads() {
    let _serial = serial!();
    let c = Cluster::start(3, &["--reads", "lease", "--max-drift", "0.1"]);
    assert!(c.put("k", 5));
    let l = c.wait_leader();
    // Heartbeats renew the lease: a 300 ms timeout gives 300 * 0.9 - 10 = 260 ms.
    let deadline = Instant::now() + Duration::from_secs(5);
    let lease = loop {
        let s = c.status(l).expect("leader status");
        assert_eq!(s.role, Role::Leader);
        if let Some(ms) = s.lease_expires_in_ms.filter(|ms| *ms > 0.0) {
            break ms;
        }
        assert!(Instant::now() < deadline, "no lease: {s:?}");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(lease <= 260.0, "lease longer than the bound: {lease} ms");
    for i in 0..3 {
        if i != l {
            let s = c.status(i).expect("follower status");
            assert_eq!(s.lease_expires_in_ms, None, "followers hold no lease");
        }
    }
    assert_eq!(c.get("k"), serde_json::json!(5));
}

#[test]
fn a_bad_max_drift_is_refused() {
    let _serial = serial!();
    let out = std::process::Command::new(bin())
        .args(["node", "--id", "n1", "--cluster", "n1=127.0.0.1:1"])
        .args(["--listen", "127.0.0.1:0", "--client", "127.0.0.1:0"])
        .args(["--admin", "127.0.0.1:0", "--data-dir"])
        .arg(tempfile::tempdir().unwrap().path())
        .args(["--reads", "lease", "--max-drift", "1.5"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(stderr(&out).contains("--max-drift"), "{}", stderr(&out));
}
