//! Helpers shared by the tests that run `faultline test` through the binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The faultline binary under test: `FAULTLINE_TEST_BIN` when set (several worktrees
/// sharing one `CARGO_TARGET_DIR` overwrite each other's `target/release/faultline`; point
/// it at this build's `deps/faultline-<hash>`), else cargo's.
pub fn bin() -> PathBuf {
    std::env::var_os("FAULTLINE_TEST_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_faultline")))
}

/// Runs `faultline test ARGS --store-dir DIR`; returns the output and the run dir.
pub fn test_run(store: &Path, args: &[&str]) -> (Output, Option<PathBuf>) {
    let out = Command::new(bin())
        .arg("test")
        .args(args)
        .arg("--store-dir")
        .arg(store)
        .output()
        .expect("run faultline");
    let latest = store.join("latest");
    let dir = std::fs::canonicalize(&latest).ok();
    (out, dir)
}

/// [`test_run`] for a run that must leave a run directory (else it panics with the stderr):
/// the output, the run directory and its results.json.
pub fn finished_run(store: &Path, args: &[&str]) -> (Output, PathBuf, serde_json::Value) {
    let (out, dir) = test_run(store, args);
    let dir = dir.unwrap_or_else(|| panic!("no run dir: {}", stderr(&out)));
    let text = std::fs::read_to_string(dir.join("results.json"))
        .unwrap_or_else(|e| panic!("{}: no results.json ({e}): {}", dir.display(), stderr(&out)));
    let r = serde_json::from_str(&text).unwrap_or_else(|e| panic!("results.json: {e}"));
    (out, dir, r)
}

pub fn history(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("history.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// faultline namespaces and marked node processes owned by `pid`.
pub fn leftovers(pid: u32) -> (Vec<String>, Vec<u32>) {
    let ns = String::from_utf8_lossy(
        &Command::new("ip")
            .args(["netns", "list"])
            .output()
            .unwrap()
            .stdout,
    )
    .lines()
    .filter_map(|l| l.split_whitespace().next().map(String::from))
    .filter(|n| n.starts_with(&format!("fl{pid}-")))
    .collect();
    let mut procs = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(p) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if let Ok(env) = std::fs::read(e.path().join("environ")) {
            if String::from_utf8_lossy(&env).contains(&format!("FAULTLINE_RUN=fl{pid}-")) {
                procs.push(p);
            }
        }
    }
    (ns, procs)
}

pub fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}
