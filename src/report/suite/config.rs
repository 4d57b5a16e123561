//! The suite file (TOML): a list of `[[test]]` entries, each run once per seed.
//!
//! Unknown fields are rejected so a typo (`expect = ...`) cannot silently turn
//! a gate into a no-op; every error names the file and the field.

use super::SuiteError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The verdict a test is expected to reach. A known-unsafe mode is expected
/// `invalid`: if the harness stops catching it, the suite fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Expected {
    Valid,
    Invalid,
}

impl std::fmt::Display for Expected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Expected::Valid => "valid",
            Expected::Invalid => "invalid",
        })
    }
}

/// One `[[test]]` entry. Options left out fall back to `faultline test`'s defaults,
/// except `nodes` (3) and `time_limit` (10 s), which are kept short for CI.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestSpec {
    pub name: String,
    #[serde(default = "default_target")]
    pub target: String,
    #[serde(default = "default_workload")]
    pub workload: String,
    #[serde(default = "default_nemesis")]
    pub nemesis: String,
    #[serde(default)]
    pub nemesis_interval: Option<f64>,
    #[serde(default)]
    pub replication: Option<String>,
    #[serde(default)]
    pub reads: Option<String>,
    /// `false` passes `--no-fencing`.
    #[serde(default = "yes")]
    pub fencing: bool,
    #[serde(default)]
    pub fsync: Option<String>,
    #[serde(default = "default_nodes")]
    pub nodes: usize,
    #[serde(default)]
    pub concurrency: Option<usize>,
    pub seeds: Vec<u64>,
    #[serde(default = "default_time_limit")]
    pub time_limit: f64,
    pub expected: Expected,
}

fn default_target() -> String {
    "builtin".into()
}
fn default_workload() -> String {
    "register".into()
}
fn default_nemesis() -> String {
    "none".into()
}
fn yes() -> bool {
    true
}
fn default_nodes() -> usize {
    3
}
fn default_time_limit() -> f64 {
    10.0
}

impl TestSpec {
    /// The `faultline test` arguments for one seed, writing under `store_dir`.
    pub fn test_args(&self, seed: u64, store_dir: &Path) -> Vec<String> {
        let mut a: Vec<String> = vec![
            "test".into(),
            "--name".into(),
            self.name.clone(),
            "--target".into(),
            self.target.clone(),
            "--workload".into(),
            self.workload.clone(),
            "--nemesis".into(),
            self.nemesis.clone(),
            "--nodes".into(),
            self.nodes.to_string(),
            "--time-limit".into(),
            self.time_limit.to_string(),
            "--seed".into(),
            seed.to_string(),
            "--store-dir".into(),
            store_dir.display().to_string(),
        ];
        let mut opt = |flag: &str, v: Option<String>| {
            if let Some(v) = v {
                a.push(flag.into());
                a.push(v);
            }
        };
        opt("--nemesis-interval", self.nemesis_interval.map(|x| x.to_string()));
        opt("--replication", self.replication.clone());
        opt("--reads", self.reads.clone());
        opt("--fsync", self.fsync.clone());
        opt("--concurrency", self.concurrency.map(|x| x.to_string()));
        if !self.fencing {
            a.push("--no-fencing".into());
        }
        a
    }
}

/// A parsed suite file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SuiteFile {
    /// Where it was read from (for messages and suite.json).
    #[serde(skip)]
    pub path: PathBuf,
    pub test: Vec<TestSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    test: Vec<TestSpec>,
}

impl SuiteFile {
    /// Reads and validates a suite file.
    pub fn read(path: &Path) -> Result<SuiteFile, SuiteError> {
        let text = std::fs::read_to_string(path).map_err(|e| SuiteError::Io {
            path: path.display().to_string(),
            source: e,
        })?;
        SuiteFile::parse(path, &text)
    }

    /// Parses suite text; `path` only labels errors.
    pub fn parse(path: &Path, text: &str) -> Result<SuiteFile, SuiteError> {
        let bad = |message: String| SuiteError::Config {
            path: path.display().to_string(),
            message,
        };
        let raw: Raw = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        if raw.test.is_empty() {
            return Err(bad("no [[test]] entries".into()));
        }
        let mut names = std::collections::HashSet::new();
        for (i, t) in raw.test.iter().enumerate() {
            let at = |field: &str, why: &str| bad(format!("test[{i}] ({}): field `{field}`: {why}", t.name));
            if t.name.trim().is_empty() {
                return Err(at("name", "must not be empty"));
            }
            if !names.insert(t.name.clone()) {
                return Err(at("name", "duplicate test name"));
            }
            if t.seeds.is_empty() {
                return Err(at("seeds", "needs at least one seed"));
            }
            if !(t.time_limit.is_finite() && t.time_limit > 0.0) {
                return Err(at("time_limit", "must be a positive number of seconds"));
            }
            if t.nodes == 0 {
                return Err(at("nodes", "must be at least 1"));
            }
            if let Some(x) = t.nemesis_interval {
                if !(x.is_finite() && x > 0.0) {
                    return Err(at("nemesis_interval", "must be a positive number of seconds"));
                }
            }
        }
        Ok(SuiteFile {
            path: path.to_path_buf(),
            test: raw.test,
        })
    }

    /// Number of test × seed cases.
    pub fn cases(&self) -> usize {
        self.test.iter().map(|t| t.seeds.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<SuiteFile, SuiteError> {
        SuiteFile::parse(Path::new("s.toml"), s)
    }

    #[test]
    fn parses_defaults_and_flags() {
        let s = parse("[[test]]\nname='a'\nseeds=[1,2]\nexpected='invalid'\nfsync='never'\nfencing=false\n")
            .unwrap();
        assert_eq!(s.cases(), 2);
        let t = &s.test[0];
        assert_eq!(t.nodes, 3);
        let args = t.test_args(7, Path::new("/x"));
        let joined = args.join(" ");
        assert!(joined.contains("--fsync never"), "{joined}");
        assert!(joined.contains("--no-fencing"));
        assert!(joined.contains("--seed 7"));
        assert!(joined.contains("--store-dir /x"));
        assert!(!joined.contains("--replication"));
    }

    #[test]
    fn errors_name_file_and_field() {
        let e = parse("[[test]]\nname='a'\nseeds=[1]\nexpected='maybe'\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("s.toml") && e.contains("expected"), "{e}");
        let e = parse("[[test]]\nname='a'\nseeds=[1]\nexpected='valid'\nexpect='x'\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("expect"), "{e}");
        let e = parse("[[test]]\nname='a'\nseeds=[]\nexpected='valid'\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("seeds") && e.contains("test[0]"), "{e}");
        let e = parse("[[test]]\nname='a'\nseeds=[1]\nexpected='valid'\ntime_limit=0\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("time_limit"), "{e}");
        assert!(parse("").is_err());
    }
}
