//! `faultline sim --shrink SEED`: an async-replication loss shrinks to a handful of faults
//! and operations, the written plan replays to the same anomaly in the simulator (and the
//! same plan with quorum replication is valid: the loss is async's), a passing seed has
//! nothing to shrink, and bad flags are refused.

use crate::support::runner as runner_common;
use runner_common::*;
use std::process::Command;

/// A seed that loses acknowledged adds under async replication and the default faults
/// (found with `faultline sim --seeds 1..20 --replication async --workload set --time-limit 5`).
const ASYNC_SEED: &str = "11";
const FLAGS: [&str; 6] = ["--replication", "async", "--workload", "set", "--time-limit", "5"];

/// `before -> after` of a `  NAME: before -> after` line.
fn figures(text: &str, name: &str) -> (usize, usize) {
    let line = text
        .lines()
        .find_map(|l| l.trim().strip_prefix(&format!("{name}: ")))
        .unwrap_or_else(|| panic!("no `{name}:` line in {text}"));
    let (a, b) = line.split_once(" -> ").unwrap();
    (a.trim().parse().unwrap(), b.trim().parse().unwrap())
}

fn client_ops(dir: &std::path::Path) -> usize {
    history(dir)
        .iter()
        .filter(|o| o["type"] == "invoke" && o["process"] != "nemesis")
        .count()
}

#[test]
fn an_async_loss_shrinks_to_a_few_faults_and_ops_and_its_plan_replays() {
    let _serial = serial!();
    let store = tempfile::tempdir().unwrap();
    let plan = store.path().join("shrunk.toml");
    let out = Command::new(bin())
        .args(["sim", "--shrink", ASYNC_SEED])
        .args(FLAGS)
        .arg("--out")
        .arg(&plan)
        .arg("--store-dir")
        .arg(store.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(code(&out), 1, "a shrunk case is invalid: {text}{}", stderr(&out));
    let (faults_before, faults) = figures(&text, "faults");
    let (ops_before, ops) = figures(&text, "client ops");
    assert!(faults_before > 3 && ops_before > 50, "{text}");
    assert!(faults <= 3 && ops <= 50, "{text}");
    assert!(text.contains("anomaly: set: lost"), "{text}");
    assert!(text.contains("replay: faultline test --sim --plan"), "{text}");
    let written = std::fs::read_to_string(&plan).unwrap();
    assert!(
        written.contains("[[faults]]") && written.contains("ops = "),
        "{written}"
    );

    // The plan replays to the same checker failing, with the counts printed.
    let (out, dir) = test_run(store.path(), &["--sim", "--plan", plan.to_str().unwrap()]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let dir = dir.unwrap();
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    let set = results["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["checker"] == "set")
        .unwrap();
    assert_eq!(set["valid"], false, "results.json: invalid is `false`: {set}");
    assert_eq!(set["anomalies"][0]["kind"], "lost", "{set}");
    assert_eq!(client_ops(&dir), ops);
    let h = history(&dir);
    let fault_ops = h
        .iter()
        .filter(|o| o["process"] == "nemesis" && o["type"] == "invoke" && o["value"]["target"].is_string())
        .count();
    assert_eq!(fault_ops, faults, "every fault of the plan ran");

    // The same plan with quorum replication is valid: async replication lost the add.
    let (out, _) = test_run(
        store.path(),
        &[
            "--sim",
            "--plan",
            plan.to_str().unwrap(),
            "--replication",
            "quorum",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

#[test]
fn a_passing_seed_has_nothing_to_shrink_and_bad_flags_are_refused() {
    let _serial = serial!();
    let store = tempfile::tempdir().unwrap();
    let out = Command::new(bin())
        .args(["sim", "--shrink", "3", "--time-limit", "3", "--workload", "set"])
        .arg("--store-dir")
        .arg(store.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(code(&out), 0, "{text}{}", stderr(&out));
    assert!(text.contains("seed 3 passes; nothing to shrink"), "{text}");
    for bad in [
        &["sim", "--shrink", "x"][..],
        &["sim", "--shrink", "3", "--seeds", "1..2"],
        &["sim", "--seeds", "1..2", "--out", "p.toml"],
        &["sim", "--shrink", "3", "--ops", "0"],
        &["sim"],
    ] {
        let out = Command::new(bin()).args(bad).output().unwrap();
        assert_eq!(code(&out), 3, "{bad:?}: {}", stderr(&out));
    }
    // A plan whose explicit faults name a node the cluster does not have.
    let plan = store.path().join("bad.toml");
    std::fs::write(
        &plan,
        "nemesis = \"kill\"\n[[faults]]\nat_ms = 10\naction = \"kill\"\ntarget = \"one\"\nvictims = { nodes = [9] }\n",
    )
    .unwrap();
    let (out, _) = test_run(store.path(), &["--sim", "--plan", plan.to_str().unwrap()]);
    assert_eq!(code(&out), 3);
    assert!(
        stderr(&out).contains("faults") && stderr(&out).contains("victim node index 9"),
        "{}",
        stderr(&out)
    );
}
