//! The resolved configuration of one test: everything `test.toml` records so
//! `faultline test --replay DIR` re-runs it.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Built-in store mode flags, passed through to `faultline node`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoreModes {
    pub replication: String,
    pub reads: String,
    pub fencing: bool,
    pub fsync: String,
    pub heartbeat_ms: u64,
    pub election_timeout_ms: u64,
}

impl Default for StoreModes {
    fn default() -> Self {
        StoreModes {
            replication: "quorum".into(),
            reads: "linearizable".into(),
            fencing: true,
            fsync: "batch".into(),
            heartbeat_ms: 50,
            election_timeout_ms: 500,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TestConfig {
    pub name: String,
    pub target: String,
    pub nodes: usize,
    pub concurrency: usize,
    pub time_limit_s: f64,
    /// Target ops/s over all clients; 0 = as fast as possible.
    pub rate: f64,
    pub workload: String,
    /// Fault kinds (`partition`, `kill`, `pause`, `clock`, `clock-drift`, ...;
    /// see [`crate::nemesis::schedule::KIND_NAMES`]).
    pub nemesis: Vec<String>,
    pub nemesis_interval_s: f64,
    pub seed: u64,
    /// `netns`, `proxy` or `auto` as asked.
    pub net: String,
    pub store: StoreModes,
    pub store_dir: PathBuf,
    pub op_timeout_ms: u64,
    /// Time given to the cluster after healing, before final reads.
    pub recovery_s: f64,
    /// Checkers to run; empty = the workload's list (`workload::CHECKERS`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checkers: Vec<String>,
    /// Node binary (default: this executable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_binary: Option<PathBuf>,
}

impl Default for TestConfig {
    fn default() -> Self {
        TestConfig {
            name: String::new(),
            target: "builtin".into(),
            nodes: 5,
            concurrency: 10,
            time_limit_s: 30.0,
            rate: 200.0,
            workload: "register".into(),
            nemesis: vec!["partition".into(), "kill".into(), "pause".into(), "clock".into()],
            nemesis_interval_s: 3.0,
            seed: 0,
            net: "auto".into(),
            store: StoreModes::default(),
            store_dir: PathBuf::from("store"),
            op_timeout_ms: 1000,
            recovery_s: 3.0,
            checkers: Vec::new(),
            node_binary: None,
        }
    }
}

impl TestConfig {
    /// `<target>-<workload>-<nemesis>` unless a name was given.
    pub fn resolved_name(&self) -> String {
        if !self.name.is_empty() {
            return self.name.clone();
        }
        let nem = if self.nemesis.is_empty() {
            "none".to_string()
        } else {
            self.nemesis.join("+")
        };
        format!("{}-{}-{}", self.target, self.workload, nem)
    }
}
