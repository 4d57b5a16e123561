//! How to start, stop, kill, pause and talk to a system under test.
//!
//! A [`Target`] knows one kind of system (the built-in store, etcd, Redis, or
//! the in-process [`reference`] target used by tests). It does not decide
//! where nodes live on the network: the runner first asks a
//! [`crate::net::NetBackend`] for every node's addresses and exec
//! prefix, and hands the result to [`Target::setup`] as [`NodeCtx`]s.
//!
//! Threading invariant: methods that open sockets to nodes (`healthy`,
//! `leader`, `set_clock_offset`, `set_clock_rate`, `client`) must be called on a thread that was
//! placed with [`crate::net::NetBackend::enter_client`], so no test
//! traffic crosses the root network namespace.

pub mod builtin;
pub mod builtin_ops;
pub mod command;
pub mod config;
pub mod etcd;
pub mod etcd_remote;
pub mod external;
mod factory;
pub mod faketime;
pub mod leaderless;
pub mod multileader;
pub mod on_hosts;
pub mod process;
pub mod redis;
pub mod reference;
pub mod remote;
pub mod shard_load;
pub mod shard_modes;
pub mod shard_rebalance;
pub mod sharded;

pub use builtin::BuiltinModes;
pub use config::{SystemConfig, SystemKind};
pub use factory::{build, build_on_hosts};
pub use process::{ProcessError, Supervisor};

use crate::client::Client;
use crate::net::NodeNet;
pub use crate::workload::WorkloadInfo;
use std::path::PathBuf;
use std::time::Duration;
use thiserror::Error;

/// A node's name, e.g. `n1`. Node names are also namespace and log-file suffixes.
pub type NodeId = String;

#[derive(Debug, Error)]
pub enum TargetError {
    #[error("node {node}: {message}")]
    Node { node: String, message: String },
    #[error("unknown node `{0}`")]
    UnknownNode(String),
    #[error("target `{target}` does not support {what}")]
    Unsupported { target: String, what: String },
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Process(#[from] ProcessError),
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
}

impl TargetError {
    pub fn node(node: &str, message: impl Into<String>) -> TargetError {
        TargetError::Node {
            node: node.to_string(),
            message: message.into(),
        }
    }
    pub fn unsupported(target: &str, what: &str) -> TargetError {
        TargetError::Unsupported {
            target: target.to_string(),
            what: what.to_string(),
        }
    }
}

/// The ports a target's nodes need, by name (e.g. `peer`, `client`, `admin`).
/// `peer` names the node-to-node port: the one the proxy back end interposes on
/// and the netns back end partitions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortPlan {
    pub names: Vec<String>,
    pub peer: String,
    /// The port clients connect to.
    pub client: String,
}

/// Everything a target needs to run one node. Built by the runner.
#[derive(Clone, Debug)]
pub struct NodeCtx {
    pub id: NodeId,
    /// Addresses and placement from the network back end.
    pub net: NodeNet,
    /// Survives kill/restart; removed at teardown only if the run asked for it.
    pub data_dir: PathBuf,
    /// Node stdout+stderr go here (appended across restarts); ends up in `nodes/<id>.log`.
    pub log: PathBuf,
}

/// A system under test. Object safe; the runner holds a `Box<dyn Target>` and
/// shares it across client, nemesis and control threads.
pub trait Target: Send + Sync {
    /// Stable name (`builtin`, `etcd`, `redis`, `reference`).
    fn name(&self) -> &str;

    /// The ports each node needs.
    fn ports(&self) -> PortPlan;

    /// How long the runner waits for every started node to answer its health
    /// check before giving up (a definition's `health_timeout_ms` for external
    /// systems, which may be slow to start).
    fn health_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(20)
    }

    /// Remembers the nodes and prepares data dirs/config files. Starts nothing.
    fn setup(&mut self, nodes: Vec<NodeCtx>) -> Result<(), TargetError>;

    /// Starts (or restarts, from its data dir) one node. Returns once the process exists.
    fn start(&self, node: &str) -> Result<(), TargetError>;

    /// `Ok(())` once the node answers; an error says why not (yet).
    fn healthy(&self, node: &str, timeout: Duration) -> Result<(), TargetError>;

    /// Graceful stop (SIGTERM, then SIGKILL after a grace period).
    fn stop(&self, node: &str) -> Result<(), TargetError>;

    /// SIGKILL: no chance to flush anything.
    fn kill(&self, node: &str) -> Result<(), TargetError>;

    /// SIGSTOP.
    fn pause(&self, node: &str) -> Result<(), TargetError>;

    /// SIGCONT.
    fn resume(&self, node: &str) -> Result<(), TargetError>;

    /// Whether the node's process is alive (possibly paused).
    fn is_running(&self, node: &str) -> bool;

    /// A node placed in the network but not started yet (a sharded store's group
    /// reserved for an add): the cluster start skips it and so does every fault.
    fn dormant(&self, _node: &str) -> bool {
        false
    }

    /// Skews the node's notion of time by `offset_ms` (0 resets).
    fn set_clock_offset(&self, _node: &str, _offset_ms: i64) -> Result<(), TargetError> {
        Err(TargetError::unsupported(self.name(), "clock offsets"))
    }

    /// Whether [`Target::set_clock_offset`] works, so a run that needs it
    /// (`--nemesis clock`) can fail before anything starts.
    fn supports_clock_offset(&self) -> bool {
        false
    }

    /// Makes the node's clock run at `rate` times real time from now on (1.0
    /// undoes it): the time its leases and timeouts are measured in, not its
    /// wall clock. Targets that support it also answer `true` from
    /// [`Target::supports_clock_rate`].
    fn set_clock_rate(&self, _node: &str, _rate: f64) -> Result<(), TargetError> {
        Err(TargetError::unsupported(self.name(), "clock rates"))
    }

    /// Whether [`Target::set_clock_rate`] works, so a run that needs it
    /// (`--nemesis clock-drift`) can fail before anything starts.
    fn supports_clock_rate(&self) -> bool {
        false
    }

    /// Why this target's clock faults are limited where its nodes run, when it knows more
    /// than the bare fact (one rule for clock offsets and rates, e.g. on hosts, naming the
    /// first host where libfaketime failed its probe); a refused clock fault says it.
    fn clock_refusal(&self) -> Option<String> {
        None
    }

    /// Moves a key range (drawn from `seed`) to another replica group while
    /// clients run (`--nemesis rebalance`); returns what moved, for the history.
    fn rebalance(&self, _seed: u64) -> Result<serde_json::Value, TargetError> {
        Err(TargetError::unsupported(
            self.name(),
            "rebalancing (--nemesis rebalance)",
        ))
    }
    fn supports_rebalance(&self) -> bool {
        false
    }

    /// Whether the system elects leaders, so a fault aimed at the leader may
    /// wait for one to be elected (see `nemesis::exec::LEADER_WAIT_MS`).
    fn has_leader(&self) -> bool {
        false
    }

    /// The node currently claiming leadership, asked from the nodes themselves
    /// (`None` when no node claims it or the system has no leader).
    fn leader(&self) -> Result<Option<NodeId>, TargetError> {
        Ok(None)
    }

    /// The system's datacenters, each a group of node ids (every node in
    /// one), when it has two or more: what the `dc` fault target and
    /// partition shapes aim at. `None` for a system without datacenters.
    fn datacenters(&self) -> Option<Vec<Vec<NodeId>>> {
        None
    }

    /// Initial data a workload needs (bank balances), written once the cluster
    /// is healthy and before the client phase; not recorded in the history.
    fn prepare(&self, _workload: &WorkloadInfo) -> Result<(), TargetError> {
        Ok(())
    }

    /// Opens a client connected (preferably) to `node`, speaking `workload`'s ops
    /// (see `crate::workload` for each workload's op shapes).
    fn client(&self, node: &str, workload: &WorkloadInfo) -> Result<Box<dyn Client>, TargetError>;

    /// Each node's log file, for `nodes/<id>.log` and the split-brain checker.
    fn log_files(&self) -> Vec<(NodeId, PathBuf)>;

    /// Kills every node still running and releases resources. Idempotent;
    /// must work after partial setup.
    fn teardown(&mut self) -> Result<(), TargetError>;
}
