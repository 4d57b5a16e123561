//! `faultline test --sim` and `faultline sim` through the binary: the simulated run
//! directory is a run directory (checkable, marked simulated), bad targets are refused,
//! determinism holds, a sweep's failing seed replays to the same verdict, and the same
//! flags run for real and in the simulator give histories `faultline check` reads alike.

use crate::support::runner as runner_common;
use runner_common::*;
use std::process::Command;

fn read_json(p: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn check_dir(dir: &std::path::Path) -> i32 {
    let out = Command::new(bin()).arg("check").arg(dir).output().unwrap();
    code(&out)
}

#[test]
fn a_simulated_run_writes_a_checkable_run_directory_marked_simulated() {
    let _serial = serial!();
    let store = tempfile::tempdir().unwrap();
    let (out, dir) = test_run(store.path(), &["--sim", "--seed", "3", "--time-limit", "6"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let dir = dir.expect("a run directory");
    let toml = std::fs::read_to_string(dir.join("test.toml")).unwrap();
    assert!(toml.contains("simulated = true"), "{toml}");
    let r = read_json(&dir.join("results.json"));
    assert!(
        r["net"].as_str().unwrap().starts_with("simulated: "),
        "{}",
        r["net"]
    );
    assert_eq!(r["test"]["simulated"], true);
    assert!(r["name"].as_str().unwrap().starts_with("sim-builtin-"));
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(
        html.contains("simulated: links"),
        "the report names the simulated world"
    );
    let h = history(&dir);
    assert!(h.iter().any(|o| o["process"] == "nemesis"));
    assert!(std::fs::read_to_string(dir.join("nodes/n1.log"))
        .unwrap()
        .contains("\"event\""));
    assert!(dir.join("junit.xml").is_file());
    assert_eq!(check_dir(&dir), 0, "faultline check agrees");
    // --replay of a simulated run simulates it again: the same history.
    let again = tempfile::tempdir().unwrap();
    let (out, dir2) = test_run(again.path(), &["--replay", dir.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let h2 = history(&dir2.unwrap());
    assert_eq!(h, h2, "a replayed simulated run is the same run");
}

#[test]
fn only_the_builtin_store_is_simulated() {
    let _serial = serial!();
    let store = tempfile::tempdir().unwrap();
    let (out, _) = test_run(store.path(), &["--sim", "--target", "etcd", "--time-limit", "2"]);
    assert_eq!(code(&out), 3);
    assert!(stderr(&out).contains("--target etcd"), "{}", stderr(&out));
}

#[test]
fn check_determinism_runs_each_of_100_seeds_twice() {
    let _serial = serial!();
    let out = Command::new(bin())
        .args([
            "test",
            "--check-determinism",
            "--seed",
            "8",
            "--test-count",
            "100",
            "--time-limit",
            "2",
        ])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    // The bar: the determinism check passes for 100 seeds in CI (about 4 s in release).
    assert_eq!(text.matches(": deterministic (").count(), 100, "{text}");
}

#[test]
fn a_failing_seed_of_a_sweep_replays_to_the_same_verdict() {
    let _serial = serial!();
    let out = Command::new(bin())
        .args([
            "sim",
            "--seeds",
            "1..4",
            "--fsync",
            "never",
            "--workload",
            "set",
            "--nemesis",
            "kill-all",
            "--nemesis-interval",
            "2",
            "--time-limit",
            "6",
            "--recovery",
            "1",
        ])
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(
        text.contains("4 seeds (1..4)") && text.contains("seeds/minute"),
        "{text}"
    );
    let replay = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("replay: "))
        .unwrap_or_else(|| panic!("no replay line in {text}"));
    assert!(
        replay.starts_with("faultline test --sim --fsync never"),
        "{replay}"
    );
    let seed_line = text.lines().find(|l| l.starts_with("seed ")).unwrap();
    assert!(
        seed_line.to_lowercase().contains("invalid") && seed_line.contains("set"),
        "{seed_line}"
    );
    let store = tempfile::tempdir().unwrap();
    let args: Vec<&str> = replay.split_whitespace().skip(1).collect();
    let out = Command::new(bin())
        .args(&args)
        .arg("--store-dir")
        .arg(store.path())
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "the replay is invalid too: {}", stderr(&out));
}

/// The same flags for real (separate node processes) and in the simulator: both
/// histories are complete and checkable, and both runs are valid for the safe defaults.
#[test]
fn the_same_flags_run_for_real_and_simulated() {
    let _serial = serial!();
    let flags = [
        "--nodes",
        "3",
        "--time-limit",
        "5",
        "--nemesis",
        "partition,kill",
        "--nemesis-interval",
        "1",
        "--recovery",
        "1",
        "--seed",
        "4",
    ];
    let mut dirs = Vec::new();
    for sim in [false, true] {
        let store = tempfile::tempdir().unwrap();
        let mut args = flags.to_vec();
        if sim {
            args.push("--sim");
        }
        let (out, dir) = test_run(store.path(), &args);
        assert_eq!(code(&out), 0, "sim {sim}: {}", stderr(&out));
        let dir = dir.unwrap();
        assert_eq!(check_dir(&dir), 0, "sim {sim}: faultline check");
        let h = history(&dir);
        let nemesis: Vec<String> = h
            .iter()
            .filter(|o| o["process"] == "nemesis" && o["type"] == "invoke")
            .map(|o| o["f"].as_str().unwrap().to_string())
            .collect();
        dirs.push((store, nemesis));
    }
    // One seed, one schedule: the same faults in the same order, for real and simulated. A
    // step that runs late delays the later ones (a real restart waits for the node), so the
    // last steps may fall past the time limit on a busy machine: past the common prefix,
    // only the final heal's undos.
    let (real, sim) = (&dirs[0].1, &dirs[1].1);
    let k = real.iter().zip(sim).take_while(|(a, b)| a == b).count();
    assert!(k >= 4, "the first cycle differs: {real:?} vs {sim:?}");
    let undo = ["heal", "restart"];
    assert!(
        real[k..]
            .iter()
            .chain(&sim[k..])
            .all(|f| undo.contains(&f.as_str())),
        "{real:?} vs {sim:?}"
    );
}
