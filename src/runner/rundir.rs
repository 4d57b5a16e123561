//! The run directory: `store/<test-name>/<timestamp>/` plus `store/latest`.

use super::{io, RunnerError, TestConfig};
use crate::report::RunResults;
use std::path::{Path, PathBuf};

/// Creates `<store>/<name>/<timestamp>/nodes/` and returns the run directory.
pub fn create(store: &Path, name: &str) -> Result<PathBuf, RunnerError> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let stamp = format!(
        "{}.{:03}-{}",
        now.as_secs(),
        now.subsec_millis(),
        std::process::id()
    );
    let dir = store.join(name).join(stamp);
    std::fs::create_dir_all(dir.join("nodes")).map_err(io(format!("creating {}", dir.display())))?;
    Ok(dir)
}

pub fn write_config(dir: &Path, cfg: &TestConfig) -> Result<(), RunnerError> {
    let text = toml::to_string_pretty(cfg).map_err(|e| RunnerError::Config(e.to_string()))?;
    std::fs::write(test_toml(dir), text).map_err(io("writing test.toml"))
}

/// Where a run directory keeps its resolved config (read by `--replay`).
pub fn test_toml(dir: &Path) -> PathBuf {
    dir.join("test.toml")
}

/// The node logs under `dir/nodes/`, sorted.
pub fn node_logs(dir: &Path) -> Vec<PathBuf> {
    let mut logs: Vec<PathBuf> = std::fs::read_dir(dir.join("nodes"))
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    logs.retain(|p| p.extension().is_some_and(|x| x == "log"));
    logs.sort();
    logs
}

pub fn write_results(dir: &Path, r: &RunResults) -> Result<(), RunnerError> {
    let text = serde_json::to_string_pretty(r).map_err(|e| RunnerError::Config(e.to_string()))?;
    std::fs::write(dir.join("results.json"), text).map_err(io("writing results.json"))
}

/// Points `<store>/latest` at `dir` (best effort).
pub fn link_latest(store: &Path, dir: &Path) {
    let link = store.join("latest");
    let _ = std::fs::remove_file(&link);
    let target = dir.strip_prefix(store).unwrap_or(dir);
    let _ = std::os::unix::fs::symlink(target, &link);
}
