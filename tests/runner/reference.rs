//! The runner end to end against the in-process reference target (no store
//! processes): every workload, run directory contents, seed reproducibility.

use crate::support::runner as runner_common;
use runner_common::*;

const QUICK: &[&str] = &[
    "--target",
    "reference",
    "--net",
    "proxy",
    "--nodes",
    "3",
    "--time-limit",
    "2",
    "--nemesis-interval",
    "0.4",
    "--recovery",
    "0.2",
    "--rate",
    "300",
];

#[test]
fn every_workload_records_a_complete_history_and_run_dir() {
    let _serial = serial!();
    for wl in ["register", "set", "append", "bank", "counter", "session"] {
        let store = tempfile::tempdir().unwrap();
        let mut args = QUICK.to_vec();
        args.extend(["--workload", wl, "--seed", "11"]);
        let (out, dir) = test_run(store.path(), &args);
        assert!([0, 2].contains(&code(&out)), "{wl}: {}", stderr(&out));
        let dir = dir.expect("latest link");
        for f in [
            "history.jsonl",
            "results.json",
            "test.toml",
            "report.html",
            "junit.xml",
            "nodes/n1.log",
        ] {
            assert!(dir.join(f).exists(), "{wl}: {f} missing");
        }
        // store/<test>/<UTC start, e.g. 20261201T204512.819Z>, with the test's own latest link.
        let name = dir.file_name().unwrap().to_str().unwrap();
        let b = name.as_bytes();
        assert!(
            name.len() >= 20
                && b[8] == b'T'
                && b[15] == b'.'
                && b[19] == b'Z'
                && name[..8]
                    .bytes()
                    .chain(name[9..15].bytes())
                    .chain(name[16..19].bytes())
                    .all(|c| c.is_ascii_digit()),
            "{wl}: run directory {name} is not a UTC timestamp"
        );
        let test_latest = std::fs::canonicalize(dir.parent().unwrap().join("latest")).unwrap();
        assert_eq!(test_latest, dir, "{wl}: store/<test>/latest");
        let h = history(&dir);
        let clients = h.iter().filter(|o| o["process"] != "nemesis").count();
        assert!(clients > 50, "{wl}: only {clients} client ops");
        // Every invoke is followed by exactly one completion of the same process.
        let mut open = std::collections::BTreeMap::new();
        for (i, o) in h.iter().enumerate() {
            assert_eq!(o["index"], i as u64);
            let p = o["process"].to_string();
            if o["type"] == "invoke" {
                assert!(open.insert(p, i).is_none(), "{wl}: double invoke at {i}");
            } else {
                assert!(
                    open.remove(&p).is_some(),
                    "{wl}: completion without invoke at {i}"
                );
            }
        }
        assert!(open.is_empty(), "{wl}: pending ops {open:?}");
        if ["set", "bank", "counter"].contains(&wl) {
            let last_read = h.iter().rev().find(|o| o["f"] == "read" && o["type"] == "ok");
            assert!(last_read.is_some(), "{wl}: no final read");
        }
        let r: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
        assert_eq!(r["seed"], 11);
        assert_eq!(r["net"], "proxy");
    }
}

fn nemesis_plan(dir: &std::path::Path) -> Vec<(String, String)> {
    history(dir)
        .into_iter()
        .filter(|o| o["process"] == "nemesis" && o["type"] == "invoke")
        .map(|o| (o["f"].as_str().unwrap().to_string(), o["value"].to_string()))
        .collect()
}

#[test]
fn the_same_seed_gives_the_same_nemesis_schedule_and_replay_reuses_it() {
    let _serial = serial!();
    let store = tempfile::tempdir().unwrap();
    let mut args = QUICK.to_vec();
    args.extend(["--seed", "42"]);
    let (o1, d1) = test_run(store.path(), &args);
    assert!([0, 2].contains(&code(&o1)), "{}", stderr(&o1));
    let d1 = d1.unwrap();
    let (o2, d2) = test_run(store.path(), &args);
    assert!([0, 2].contains(&code(&o2)));
    let d2 = d2.unwrap();
    assert_ne!(d1, d2);
    let p1 = nemesis_plan(&d1);
    assert!(p1.len() >= 4, "{p1:?}");
    assert_eq!(p1, nemesis_plan(&d2));
    let replay = std::process::Command::new(bin())
        .args(["test", "--replay"])
        .arg(&d1)
        .output()
        .unwrap();
    assert!([0, 2].contains(&code(&replay)), "{}", stderr(&replay));
    let d3 = std::fs::canonicalize(store.path().join("latest")).unwrap();
    assert_ne!(d3, d1);
    assert_eq!(nemesis_plan(&d3), p1);
    let mut other = QUICK.to_vec();
    other.extend(["--seed", "43"]);
    let (_, d4) = test_run(store.path(), &other);
    assert_ne!(nemesis_plan(&d4.unwrap()), p1);
}

/// Client invocations in history order, as (f, key, value): the generator's sequence.
fn generated(dir: &std::path::Path) -> Vec<(String, String, String)> {
    history(dir)
        .into_iter()
        .filter(|o| o["process"] != "nemesis" && o["type"] == "invoke")
        .map(|o| (o["f"].to_string(), o["key"].to_string(), o["value"].to_string()))
        .collect()
}

#[test]
fn the_same_seed_gives_the_same_generator_sequence() {
    let _serial = serial!();
    let store = tempfile::tempdir().unwrap();
    let run = |seed: &'static str| {
        let mut args = QUICK.to_vec();
        args.extend(["--workload", "register", "--seed", seed]);
        let (o, d) = test_run(store.path(), &args);
        assert!([0, 2].contains(&code(&o)), "{}", stderr(&o));
        generated(&d.unwrap())
    };
    let (a, b, c) = (run("7"), run("7"), run("8"));
    // Runs differ in length (timing); the common prefix must agree op for op.
    let n = a.len().min(b.len());
    assert!(n > 100, "only {n} invocations");
    assert_eq!(a[..n], b[..n]);
    let m = a.len().min(c.len());
    assert_ne!(a[..m], c[..m], "seed 8 generated what seed 7 did");
}

#[test]
fn a_plan_file_sets_workload_nemesis_and_checkers() {
    let _serial = serial!();
    let store = tempfile::tempdir().unwrap();
    let plan = concat!(env!("CARGO_MANIFEST_DIR"), "/workloads/counter.toml");
    let mut args = QUICK.to_vec();
    args.extend(["--seed", "5", "--plan", plan]);
    let (o, d) = test_run(store.path(), &args);
    assert!([0, 2].contains(&code(&o)), "{}", stderr(&o));
    let dir = d.unwrap();
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    assert_eq!(r["test"]["workload"], "counter");
    assert_eq!(r["test"]["checkers"], serde_json::json!(["counter", "perf"]));
    let ran: Vec<&str> = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["checker"].as_str().unwrap())
        .collect();
    assert_eq!(ran, ["counter", "perf"]);
    assert!(history(&dir).iter().any(|o| o["f"] == "incr"));
}

/// A run stopped before it wrote results.json still gets a report: `faultline report`
/// checks its history (with its test.toml's checkers) and renders, saying so.
#[test]
fn report_checks_and_renders_a_run_killed_before_its_results() {
    let _serial = serial!();
    let store = tempfile::tempdir().unwrap();
    let mut args = QUICK.to_vec();
    args.extend(["--workload", "set", "--seed", "3"]);
    let (o, d) = test_run(store.path(), &args);
    assert!([0, 2].contains(&code(&o)), "{}", stderr(&o));
    let dir = d.unwrap();
    std::fs::remove_file(dir.join("results.json")).unwrap();
    std::fs::remove_file(dir.join("report.html")).unwrap();
    let junit = store.path().join("junit.xml");
    let out = std::process::Command::new(bin())
        .arg("report")
        .arg(&dir)
        .arg("--junit")
        .arg(&junit)
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let page = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(
        page.contains("no results.json"),
        "the page says how it was checked"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("set") && xml.contains("perf"), "{xml}");
}
