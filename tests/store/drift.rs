//! Clock-rate drift on the built-in store: the admin port sets and reports a
//! node's clock rate, `--nemesis clock-drift` slows the leader's clock far
//! beyond `--max-drift` while the next fault cuts it off, and then its lease
//! reads go stale for real (while linearizable reads stay correct under the
//! very same schedule). A target that cannot drift clocks fails up front.

use crate::support::runner as runner_common;
use crate::support::store as store_support;

use faultline::nemesis::{parse_kinds, plan, Action, DRIFT_PERMILLE};
use runner_common::*;
use std::time::Duration;
use store_support::Cluster;

#[test]
fn the_admin_port_sets_reports_and_refuses_clock_rates() {
    let _serial = serial!();
    let c = Cluster::start(3, &["--reads", "lease"]);
    let l = c.wait_leader();
    assert_eq!(c.status(l).unwrap().clock_rate, 1.0, "undrifted by default");
    let mut admin =
        faultline::store::AdminClient::connect(store_support::addr(c.admin[l]), store_support::T).unwrap();
    admin.set_clock_rate(0.25).unwrap();
    assert_eq!(admin.status().unwrap().clock_rate, 0.25);
    assert!(
        c.log_text(l).contains("clock rate set to 0.25"),
        "{}",
        c.log_text(l)
    );
    for (bad, named) in [
        (0.0, "got 0"),
        (-2.5, "got -2.5"),
        (f64::NAN, "got NaN"),
        (f64::INFINITY, "got inf"),
    ] {
        let e = admin.set_clock_rate(bad).unwrap_err().to_string();
        assert!(e.contains(named), "rate {bad}: {e}");
    }
    assert_eq!(
        admin.status().unwrap().clock_rate,
        0.25,
        "a refused rate changes nothing"
    );
    // A slowed leader still serves (its heartbeats are just further apart).
    assert!(c.put("k", 7));
    assert_eq!(c.get("k"), serde_json::json!(7));
    admin.set_clock_rate(1.0).unwrap();
    assert_eq!(admin.status().unwrap().clock_rate, 1.0);
}

#[test]
fn clock_drift_on_a_target_without_clock_rates_fails_up_front() {
    let _serial = serial!();
    let store = tempfile::tempdir().unwrap();
    let (out, dir) = test_run(
        store.path(),
        &[
            "--target",
            "targets/command-example.toml",
            "--nemesis",
            "clock-drift",
            "--time-limit",
            "5",
        ],
    );
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("does not support clock rates") && err.contains("clock-drift"),
        "{err}"
    );
    assert!(dir.is_none(), "nothing ran, so no run directory");
}

/// What one run left: exit code, results.json, the run dir (inside `_store`).
struct Run {
    code: i32,
    results: serde_json::Value,
    dir: std::path::PathBuf,
    _store: tempfile::TempDir,
}

/// Runs `faultline test` for 15 s with the drift schedule of `seed`.
fn run(reads: &str, seed: &str) -> Run {
    let store = tempfile::tempdir().unwrap();
    let (out, dir) = test_run(
        store.path(),
        &[
            "--reads",
            reads,
            "--workload",
            "register",
            "--nemesis",
            NEMESIS,
            "--nemesis-interval",
            "2",
            // Clients blocked on writes to the cut-off leader give up quickly
            // and read again; more of them make a read in the window likely.
            "--op-timeout-ms",
            "300",
            "--concurrency",
            "20",
            "--time-limit",
            "15",
            "--recovery",
            "2",
            "--seed",
            seed,
        ],
    );
    let dir = dir.unwrap_or_else(|| panic!("no run dir: {}", stderr(&out)));
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    Run {
        code: code(&out),
        results: r,
        dir,
        _store: store,
    }
}

const NEMESIS: &str = "clock-drift:leader,partition-leader";

fn verdict<'a>(r: &'a serde_json::Value, checker: &str) -> &'a serde_json::Value {
    r["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["checker"] == checker)
        .unwrap_or_else(|| panic!("no {checker} verdict in {r}"))
}

/// The history shows the fault this test is about: a node drifted, then the
/// partition isolated that very node, and the drift was undone after the heal.
/// Returns the nodes isolated while drifted.
fn assert_drifted_leader_was_cut_off(dir: &std::path::Path) -> Vec<String> {
    let nem: Vec<serde_json::Value> = history(dir)
        .into_iter()
        .filter(|o| o["process"] == "nemesis" && o["type"] == "info")
        .collect();
    // Every node whose clock is slowed now (a drift's undo precedes the next).
    let mut drifted: Vec<String> = Vec::new();
    let mut cut_off_while_drifted = Vec::new();
    for o in &nem {
        match o["f"].as_str().unwrap_or("") {
            "clock-drift" => {
                // `hit`: the node whose clock now runs at `rate` (none if it was down).
                let v = &o["value"];
                let permille = (v["rate"].as_f64().expect("rate") * 1000.0).round() as u32;
                assert!(DRIFT_PERMILLE.contains(&permille), "{o}");
                if let Some(node) = v["hit"]
                    .as_array()
                    .and_then(|h| h.first())
                    .and_then(|n| n.as_str())
                {
                    drifted.push(node.to_string());
                }
            }
            "partition" => {
                // An isolated node: every other node drops its traffic.
                for d in &drifted {
                    let g = o["value"]["grudge"].as_object().expect("grudge");
                    let isolated = g.len() > 1
                        && g.iter()
                            .filter(|(n, _)| *n != d)
                            .all(|(_, v)| v.as_array().is_some_and(|a| a.iter().any(|x| x == d.as_str())));
                    if isolated {
                        cut_off_while_drifted.push(d.clone());
                    }
                }
            }
            "clock-rate-reset" => drifted.clear(),
            _ => {}
        }
    }
    assert!(
        !cut_off_while_drifted.is_empty(),
        "no partition isolated a drifted node: {nem:?}"
    );
    assert_eq!(
        nem.last().unwrap()["f"],
        "clock-rate-reset",
        "drift healed last: {nem:?}"
    );
    cut_off_while_drifted
}

/// The nodes that answered the stale reads `stale` reports (the last op of
/// each anomaly is the read's completion).
fn stale_read_nodes(stale: &serde_json::Value, dir: &std::path::Path) -> Vec<String> {
    let h = history(dir);
    let mut nodes: Vec<String> = stale["anomalies"]
        .as_array()
        .expect("anomalies")
        .iter()
        .filter(|a| a["kind"] == "stale-read")
        .filter_map(|a| a["ops"].as_array()?.last()?.as_u64())
        .filter_map(|i| {
            h.iter().find(|o| o["index"] == i)?["node"]
                .as_str()
                .map(String::from)
        })
        .collect();
    nodes.sort();
    nodes.dedup();
    nodes
}

#[test]
fn a_drifted_leader_cut_off_serves_stale_lease_reads() {
    let _serial = serial!();
    // The pinned seeds' schedules drift the leader and isolate it while slowed.
    let kinds = parse_kinds(NEMESIS).unwrap();
    for seed in SEEDS {
        let steps = plan(
            seed.parse().unwrap(),
            kinds.faults(),
            5,
            Duration::from_secs(2),
            Duration::from_secs(15),
        );
        let first_drift = steps
            .iter()
            .position(|s| matches!(s.action, Action::ClockDrift { .. }));
        let overlap = first_drift.is_some_and(|i| {
            steps[i + 1..]
                .iter()
                .take_while(|s| s.action != Action::ClockRateReset)
                .any(|s| matches!(s.action, Action::Partition { .. }))
        });
        assert!(overlap, "seed {seed}: no partition under drift: {steps:?}");
    }
    // Whether a read lands on the old leader in the window after the new leader
    // took a write is a race (a few hundred ms per partition); try each seed.
    let mut missed = Vec::new();
    for seed in SEEDS {
        let lease = run("lease", seed);
        let lin = verdict(&lease.results, "linearizable");
        let stale = verdict(&lease.results, "stale");
        if lease.code != 1 || lin["valid"] != false || stale["valid"] != false {
            missed.push(format!("seed {seed}: exit {}: {lin}\n{stale}", lease.code));
            continue;
        }
        // Stale answers came from a slowed, cut-off leader (with three fault
        // streams, others may come from a leader slowed and cut off in another way).
        let slowed = assert_drifted_leader_was_cut_off(&lease.dir);
        let answered = stale_read_nodes(stale, &lease.dir);
        assert!(!answered.is_empty(), "{stale}");
        assert!(
            answered.iter().any(|n| slowed.contains(n)),
            "stale reads from {answered:?}, drifted and cut off: {slowed:?}"
        );
        // The same schedule with reads confirmed by a majority: nothing to catch.
        let safe = run("linearizable", seed);
        let r = &safe.results;
        assert_eq!(verdict(r, "linearizable")["valid"], true, "seed {seed}: {r}");
        assert_eq!(safe.code, 0, "seed {seed}: {r}");
        // Leader-aimed faults hit whoever leads when they fire, so the safe run's
        // victims may differ from the lease run's; its schedule is the same.
        return;
    }
    panic!(
        "lease reads under clock drift never caught:\n{}",
        missed.join("\n")
    );
}

/// Seeds whose schedule (three fault streams, leader-aimed faults waiting for a
/// leader) isolates the leader while its clock runs slowed; each was caught
/// when pinned (2026-12-02: seeds 2, 3, 8 of 2-8; 4, 5, 7 were not).
const SEEDS: [&str; 3] = ["2", "3", "8"];
