//! The run directory: where one run's evidence lives, and the runs folder holding them all.
//! This is the only module that knows the layout; the runner writes through a [`RunDir`],
//! `report`, `check` and the suite read through one.
//!
//! ```text
//! store/                                  the runs folder (--store-dir)
//!   latest -> <test>/<run>                the newest run of any test
//!   <test-name>/
//!     latest -> <run>                     its newest run
//!     20261201T204512.819Z/               one run, named by its UTC start (`-2`, `-3`, ...
//!       test.toml                           when another started in the same millisecond)
//!       history.jsonl  results.json  report.html  junit.xml
//!       nodes/<node>.log                  each node's output (and derived logs)
//!       data/<node>/                      each node's data directory
//! ```
//!
//! Invariants: run names sort in start order; `create` never reuses a directory (two runs
//! starting at once get distinct ones); `latest` links are relative, so a runs folder can be
//! moved or archived whole. A run links `latest` when it starts (as Jepsen's store does), so a
//! run killed half way is still `store/latest`.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};
use thiserror::Error;

#[derive(Debug, Error)]
#[error("{path}: {source}")]
pub struct RunDirError {
    pub path: String,
    pub source: std::io::Error,
}

/// The file names inside a run directory.
pub const HISTORY: &str = "history.jsonl";
pub const RESULTS: &str = "results.json";
pub const REPORT: &str = "report.html";
pub const TEST_TOML: &str = "test.toml";
pub const JUNIT: &str = "junit.xml";
pub const NODES: &str = "nodes";
pub const DATA: &str = "data";
/// The link to the newest run, in the runs folder and in each test's folder.
pub const LATEST: &str = "latest";

/// One run's directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunDir {
    path: PathBuf,
}

impl RunDir {
    /// A run directory that exists already (`faultline report DIR`, `check DIR`, `--replay`).
    pub fn at(path: impl Into<PathBuf>) -> RunDir {
        RunDir { path: path.into() }
    }

    /// Creates `<store>/<test>/<UTC start>/` (with `nodes/`) for a run starting now, and
    /// points both `latest` links at it.
    pub fn create(store: &Path, test: &str) -> Result<RunDir, RunDirError> {
        let parent = store.join(test);
        std::fs::create_dir_all(&parent).map_err(err(&parent))?;
        let stamp = utc_stamp(SystemTime::now());
        let mut n = 1;
        let path = loop {
            let name = if n == 1 {
                stamp.clone()
            } else {
                format!("{stamp}-{n}")
            };
            let p = parent.join(name);
            match std::fs::create_dir(&p) {
                Ok(()) => break p,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 10_000 => n += 1,
                Err(e) => return Err(err(&p)(e)),
            }
        };
        let run = RunDir { path };
        std::fs::create_dir_all(run.nodes_dir()).map_err(err(&run.nodes_dir()))?;
        run.link_latest(store, test);
        Ok(run)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn history(&self) -> PathBuf {
        self.path.join(HISTORY)
    }

    pub fn results(&self) -> PathBuf {
        self.path.join(RESULTS)
    }

    pub fn report(&self) -> PathBuf {
        self.path.join(REPORT)
    }

    pub fn test_toml(&self) -> PathBuf {
        self.path.join(TEST_TOML)
    }

    pub fn junit(&self) -> PathBuf {
        self.path.join(JUNIT)
    }

    pub fn nodes_dir(&self) -> PathBuf {
        self.path.join(NODES)
    }

    /// `nodes/<node>.log`: the node's output, appended across restarts.
    pub fn node_log(&self, node: &str) -> PathBuf {
        self.nodes_dir().join(format!("{node}.log"))
    }

    /// `data/<node>/`: survives kills and restarts of the node.
    pub fn data_dir(&self, node: &str) -> PathBuf {
        self.path.join(DATA).join(node)
    }

    /// The `*.log` files under `nodes/`, sorted (none when there is no such folder).
    pub fn node_logs(&self) -> Vec<PathBuf> {
        let mut logs: Vec<PathBuf> = std::fs::read_dir(self.nodes_dir())
            .map(|rd| rd.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        logs.retain(|p| p.extension().is_some_and(|x| x == "log"));
        logs.sort();
        logs
    }

    /// Whether this looks like a run directory at all (it has a history or results).
    pub fn exists(&self) -> bool {
        self.path.is_dir() && (self.history().is_file() || self.results().is_file())
    }

    /// A run stopped before it wrote results.json: its config and history are there to be
    /// checked now.
    pub fn unfinished(&self) -> bool {
        self.path.is_dir()
            && !self.results().exists()
            && self.history().is_file()
            && self.test_toml().is_file()
    }

    /// Points `<store>/latest` and `<store>/<test>/latest` at this run (best effort: a
    /// missing link never fails a run).
    fn link_latest(&self, store: &Path, test: &str) {
        let Some(run) = self.path.file_name() else { return };
        let relink = |link: PathBuf, target: PathBuf| {
            let _ = std::fs::remove_file(&link);
            let _ = std::os::unix::fs::symlink(target, &link);
        };
        relink(store.join(test).join(LATEST), PathBuf::from(run));
        relink(store.join(LATEST), Path::new(test).join(run));
    }
}

/// `<store>/latest`: the newest run of any test.
pub fn latest(store: &Path) -> RunDir {
    RunDir::at(store.join(LATEST))
}

fn err(path: &Path) -> impl FnOnce(std::io::Error) -> RunDirError + '_ {
    move |source| RunDirError {
        path: path.display().to_string(),
        source,
    }
}

/// `20261201T204512.819Z`: a UTC time to the millisecond, as run directories are named.
/// Fixed width, so names sort in time order.
pub fn utc_stamp(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, day) = civil_from_days(days as i64);
    format!(
        "{y:04}{m:02}{day:02}T{:02}{:02}{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

/// (year, month, day) of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn stamps_are_utc_fixed_width_and_sort_in_time_order() {
        let at = |s: u64, ms: u64| UNIX_EPOCH + Duration::from_secs(s) + Duration::from_millis(ms);
        assert_eq!(utc_stamp(at(0, 0)), "19700101T000000.000Z");
        // 2026-12-01 20:45:12.819 UTC.
        assert_eq!(utc_stamp(at(1_796_157_912, 819)), "20261201T204512.819Z");
        // A leap day, and the last millisecond of a year.
        assert_eq!(utc_stamp(at(951_782_400, 0)), "20000229T000000.000Z");
        assert_eq!(utc_stamp(at(1_704_067_199, 999)), "20231231T235959.999Z");
        // Ascending times give ascending names.
        let times = [
            (5, 0),
            (5, 1),
            (86_399, 999),
            (86_400, 0),
            (1_000_000_000, 0),
            (4_102_444_800, 0),
        ];
        let names: Vec<String> = times.iter().map(|&(s, ms)| utc_stamp(at(s, ms))).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
    }

    #[test]
    fn runs_starting_at_once_get_distinct_dirs_and_latest_follows_the_newest() {
        let store = tempfile::tempdir().unwrap();
        let runs: Vec<RunDir> = (0..5)
            .map(|_| RunDir::create(store.path(), "t").unwrap())
            .collect();
        let mut paths: Vec<&Path> = runs.iter().map(|r| r.path()).collect();
        paths.dedup();
        assert_eq!(paths.len(), 5, "{paths:?}");
        for r in &runs {
            assert!(r.nodes_dir().is_dir());
            assert!(r.path().starts_with(store.path().join("t")));
        }
        let newest = std::fs::canonicalize(runs[4].path()).unwrap();
        assert_eq!(
            std::fs::canonicalize(latest(store.path()).path()).unwrap(),
            newest
        );
        assert_eq!(
            std::fs::canonicalize(store.path().join("t/latest")).unwrap(),
            newest
        );
        // The links are relative: the runs folder moves whole.
        let link = std::fs::read_link(store.path().join("latest")).unwrap();
        assert!(link.is_relative(), "{link:?}");
        assert_eq!(runs[0].node_log("n1"), runs[0].path().join("nodes/n1.log"));
        assert_eq!(runs[0].data_dir("n1"), runs[0].path().join("data/n1"));
        assert!(!runs[0].exists() && !runs[0].unfinished());
        std::fs::write(runs[0].history(), "").unwrap();
        std::fs::write(runs[0].test_toml(), "").unwrap();
        assert!(runs[0].exists() && runs[0].unfinished());
    }
}
