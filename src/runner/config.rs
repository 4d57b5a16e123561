//! One test, resolved: every setting as a typed value, checked before anything starts.
//!
//! The same shape is three things: a plan file (`--plan`, any subset of the keys), the flags
//! of `faultline test` (each a key), and `test.toml` in every run directory (all of them;
//! `--replay DIR` reads it back). [`super::plan`] layers them; [`TestConfig::validate`]
//! refuses what cannot run, naming the flag and the key.
//!
//! ```toml
//! name = "builtin-register-partition+kill+pause+clock"
//! seed = 42
//! workload = "register"            # register, set, append, bank, counter, session
//! checkers = ["linearizable"]      # optional: default is the workload's list
//! nemesis = "partition,kill"       # or a list; `all`, `none`
//! nemesis_interval = 3.0           # seconds
//! concurrency = 10
//! rate = 200.0                     # ops/s over all clients, 0 = unlimited
//! time_limit = 30.0                # seconds of client activity
//! op_timeout_ms = 500             # default: 500 for the built-in single-leader store, else 1000
//! recovery = 3.0                   # seconds between healing and final reads
//! net = "auto"                     # netns, proxy, auto
//! store_dir = "store"              # the runs folder
//! [target]                         # the system under test (see `target::config`)
//! name = "builtin"
//! nodes = 5
//! replication = "quorum"
//! ```

use crate::checker::registry::CheckerId;
use crate::nemesis::Kinds;
use crate::net::NetKind;
use crate::system::SystemConfig;
use crate::util::{Invalid, Secs};
use crate::workload::WorkloadKind;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The most concurrent clients a test may ask for (each is a thread).
pub const MAX_CONCURRENCY: usize = 10_000;
/// The longest test name (it becomes a directory name).
pub const MAX_NAME: usize = 200;
/// The lowest positive `rate` (ops/s over all clients) a test may ask for.
pub const MIN_RATE: f64 = 0.001;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TestConfig {
    /// The test's name: `store/<name>/<run>/`. Empty until resolved (then
    /// `<target>-<workload>-<nemesis>` unless given).
    pub name: String,
    /// Fixes ops, keys, values and the nemesis schedule. Below 2^63 (TOML integers are i64).
    pub seed: u64,
    pub workload: WorkloadKind,
    /// Checkers to run; empty = the workload's own list.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub checkers: Vec<CheckerId>,
    pub nemesis: Kinds,
    pub nemesis_interval: Secs,
    pub concurrency: usize,
    /// Target ops/s over all clients; 0 = as fast as possible.
    pub rate: f64,
    /// Seconds of client activity.
    pub time_limit: Secs,
    /// How long a client waits for an answer (none: [`SystemConfig::default_op_timeout_ms`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op_timeout_ms: Option<u64>,
    /// Time given to the cluster after healing, before final reads.
    pub recovery: Secs,
    pub net: NetKind,
    /// The runs folder (`--store-dir`).
    pub store_dir: PathBuf,
    /// The system under test and its modes (`[target]`).
    #[serde(rename = "target")]
    pub system: SystemConfig,
    /// Run in the deterministic simulator (`--sim`, `crate::sim`) instead of for real.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub simulated: bool,
    /// The most client operations the client phase starts, all clients together (`ops`;
    /// none: until the time limit). Shrunk plans (`faultline sim --shrink`) set it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ops: Option<u64>,
    /// An explicit fault schedule (`[[faults]]`, see [`super::faults`]) instead of the one the
    /// seed draws from `nemesis` and `nemesis_interval`. Shrunk plans set it.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "super::faults")]
    pub faults: Option<Vec<crate::nemesis::Step>>,
    /// The remote hosts the nodes run on, node i on host i (`--hosts FILE`, or `[hosts]`; see
    /// `net::hosts`); none: this machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosts: Option<crate::net::hosts::Inventory>,
    /// Clock offsets may step each host's real system clock with `date -s` where the system
    /// has no clock of its own to skew there (`--set-host-clocks`; only with `hosts`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub set_host_clocks: bool,
}

impl TestConfig {
    /// Milliseconds a client waits for an answer before its op is `info`:
    /// the one given, else the system's default.
    pub fn op_timeout_ms(&self) -> u64 {
        self.op_timeout_ms
            .unwrap_or_else(|| self.system.default_op_timeout_ms())
    }
}

impl Default for TestConfig {
    fn default() -> Self {
        TestConfig {
            name: String::new(),
            seed: 0,
            workload: WorkloadKind::Register,
            checkers: Vec::new(),
            nemesis: Kinds::all(),
            nemesis_interval: Secs::new(1.5).expect("in range"),
            concurrency: 10,
            rate: 200.0,
            time_limit: Secs::new(30.0).expect("in range"),
            op_timeout_ms: None,
            recovery: Secs::new(3.0).expect("in range"),
            net: NetKind::Auto,
            store_dir: PathBuf::from("store"),
            system: SystemConfig::default(),
            simulated: false,
            ops: None,
            faults: None,
            hosts: None,
            set_host_clocks: false,
        }
    }
}

/// Why a test name cannot be a directory name under the runs folder, if it cannot.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("is empty".into());
    }
    if name.len() > MAX_NAME {
        return Err(format!("is {} bytes long (at most {MAX_NAME})", name.len()));
    }
    if name.contains(['/', '\\', '\0']) || name.contains("..") || name.starts_with('.') {
        return Err(format!(
            "`{name}`: a test name becomes a directory under --store-dir; no path separators, no `..`, no leading `.`"
        ));
    }
    if name == "latest" {
        return Err("`latest` is the link to the newest run; pick another name".into());
    }
    Ok(())
}

impl TestConfig {
    /// The checkers to run: the plan's list, else the workload's.
    /// The replica groups of a sharded built-in store (node names per group), which
    /// the checkers reading node logs judge one by one (`None`: one cluster).
    pub fn replica_groups(&self) -> Option<Vec<Vec<String>>> {
        if !self.system.kind.has_store_modes() {
            return None;
        }
        self.system.builtin.shards.replica_groups(self.system.nodes)
    }

    pub fn checker_ids(&self) -> Vec<CheckerId> {
        if self.checkers.is_empty() {
            let mut ids = self.workload.checkers().to_vec();
            if self.system.merges_replicas() {
                ids.push(CheckerId::Convergence);
            }
            ids
        } else {
            self.checkers.clone()
        }
    }

    /// `<target>-<workload>-<nemesis>`: the name a test gets unless it is given one.
    /// `target` is the system's label (a definition file's `name`, not its path).
    pub fn default_name(&self, target: &str) -> String {
        let sim = if self.simulated { "sim-" } else { "" };
        // `kill:leader` reads as `kill-leader` in a directory name.
        let nemesis = self.nemesis.label().replace(':', "-");
        format!("{sim}{target}-{}-{nemesis}", self.workload)
    }

    /// The fault schedule of the client phase on `nodes` nodes: the explicit list if the
    /// plan gives one, else the one the seed draws (`nemesis::plan`).
    pub fn schedule(&self, nodes: usize) -> Vec<crate::nemesis::Step> {
        match &self.faults {
            Some(steps) => steps.clone(),
            None => crate::nemesis::plan_in(
                self.seed,
                self.nemesis.faults(),
                &self.fault_cluster(nodes),
                self.nemesis_interval.duration(),
                self.time_limit.duration(),
            ),
        }
    }

    /// The cluster the seed's schedule is drawn for: `nodes` nodes and, for a
    /// multi-leader store, its datacenters as indices into `system.node_names()`.
    fn fault_cluster(&self, nodes: usize) -> crate::nemesis::Cluster {
        let names = self.system.node_names();
        let dcs = self.system.datacenters().unwrap_or_default();
        let index = |id: &String| names.iter().position(|n| n == id);
        crate::nemesis::Cluster {
            nodes,
            dcs: dcs.iter().map(|g| g.iter().filter_map(index).collect()).collect(),
        }
    }

    /// `dc` faults (a `:dc` target, or a `dc`/`dc-all` partition in `[[faults]]`) need a
    /// system with datacenters.
    fn check_dc_faults(&self) -> Result<(), Invalid> {
        if self.system.datacenters().is_some() {
            return Ok(());
        }
        let why = "needs datacenters: --topology multi-leader with --datacenters 2 or more";
        if let Some(f) = self
            .nemesis
            .faults()
            .iter()
            .find(|f| f.aim == Some(crate::nemesis::Aim::Dc))
        {
            return Err(Invalid::new(
                "--nemesis",
                "nemesis",
                format!("`{}` {why}", f.name()),
            ));
        }
        let dc_step = self
            .faults
            .iter()
            .flatten()
            .position(|s| super::faults::aims_at_dcs(&s.action));
        if let Some(i) = dc_step {
            return Err(Invalid::key(
                "faults",
                format!("step {}: a datacenter fault {why}", i + 1),
            ));
        }
        Ok(())
    }

    /// Everything that can be refused before anything starts.
    pub fn validate(&self) -> Result<(), Invalid> {
        if !self.name.is_empty() {
            check_name(&self.name).map_err(|m| Invalid::new("--name", "name", m))?;
        }
        if self.seed > i64::MAX as u64 {
            return Err(Invalid::new(
                "--seed",
                "seed",
                format!("must be below 2^63 (got {})", self.seed),
            ));
        }
        if self.concurrency == 0 || self.concurrency > MAX_CONCURRENCY {
            return Err(Invalid::new(
                "--concurrency",
                "concurrency",
                format!(
                    "must be between 1 and {MAX_CONCURRENCY} (got {})",
                    self.concurrency
                ),
            ));
        }
        if self.time_limit.is_zero() {
            return Err(Invalid::new(
                "--time-limit",
                "time_limit",
                "must be positive (got 0)",
            ));
        }
        // A positive rate below MIN_RATE would make a client's pause (concurrency / rate,
        // staggered up to twice that) too long for a `Duration`; no test wants it anyway.
        if !self.rate.is_finite() || self.rate < 0.0 || (self.rate > 0.0 && self.rate < MIN_RATE) {
            return Err(Invalid::new(
                "--rate",
                "rate",
                format!(
                    "must be 0 (unlimited) or a number of ops/s >= {MIN_RATE} (got {})",
                    self.rate
                ),
            ));
        }
        if !self.nemesis.is_empty() && self.nemesis_interval.is_zero() {
            return Err(Invalid::new(
                "--nemesis-interval",
                "nemesis_interval",
                "must be positive when there is a nemesis (got 0)",
            ));
        }
        crate::util::secs::millis(self.op_timeout_ms(), 1)
            .map_err(|m| Invalid::new("--op-timeout-ms", "op_timeout_ms", m))?;
        if self.ops == Some(0) {
            return Err(Invalid::new(
                "--ops",
                "ops",
                "must be at least 1 (leave it out for no limit)",
            ));
        }
        if let Some(steps) = &self.faults {
            super::faults::check(steps, &self.nemesis, self.system.node_names().len())
                .map_err(|m| Invalid::key("faults", m))?;
        }
        self.check_dc_faults()?;
        crate::system::leaderless::check_workload(self.system.merges_replicas(), self.workload)?;
        self.check_hosts()?;
        self.system.validate()
    }

    /// What `--hosts` cannot be combined with, and the inventory itself.
    fn check_hosts(&self) -> Result<(), Invalid> {
        let Some(h) = &self.hosts else {
            if self.set_host_clocks {
                return Err(Invalid::new(
                    "--set-host-clocks",
                    "set_host_clocks",
                    "steps the system clock of each host of --hosts; it needs --hosts (this machine's clock is never set)",
                ));
            }
            return Ok(());
        };
        h.validate("hosts.")?;
        if self.simulated {
            return Err(Invalid::new(
                "--hosts",
                "hosts",
                "a simulated run (--sim) has no hosts",
            ));
        }
        if self.net != NetKind::Auto {
            return Err(Invalid::new(
                "--net",
                "net",
                "--hosts places every node on its host (partitions are nftables rules there); leave --net out",
            ));
        }
        // Every system with processes runs on hosts (a definition's client is checked by
        // `system.validate`); the in-process reference system has none to place.
        if self.system.kind == crate::system::SystemKind::Reference {
            return Err(Invalid::new(
                "--target",
                "target.name",
                format!(
                    "{}: runs inside the harness, not on --hosts (the built-in store, etcd, redis and command targets do)",
                    self.system.kind
                ),
            ));
        }
        if self.system.nodes > h.hosts.len() {
            return Err(Invalid::new(
                "--nodes",
                "target.nodes",
                format!(
                    "{} nodes but the inventory lists {} hosts (one node per host)",
                    self.system.nodes,
                    h.hosts.len()
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_round_trip_through_test_toml() {
        let c = TestConfig {
            seed: 7,
            name: "t".into(),
            ..TestConfig::default()
        };
        c.validate().unwrap();
        let text = toml::to_string_pretty(&c).unwrap();
        assert_eq!(toml::from_str::<TestConfig>(&text).unwrap(), c, "{text}");
        assert!(
            text.contains("[target]") && text.contains("nemesis = ["),
            "{text}"
        );
    }

    #[test]
    fn names_that_would_escape_the_runs_folder_are_refused() {
        for bad in ["../../escape", "a/b", "..", ".", ".hidden", "a\\b", "latest", ""] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        for ok in ["builtin-register-partition+kill", "my test", "a.b"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        let c = TestConfig {
            name: "../x".into(),
            ..TestConfig::default()
        };
        assert!(c.validate().unwrap_err().to_string().contains("--name"));
    }

    #[test]
    fn each_bad_value_names_its_flag_and_key() {
        let bad = |f: &dyn Fn(&mut TestConfig), flag: &str| {
            let mut c = TestConfig::default();
            f(&mut c);
            let e = c.validate().unwrap_err();
            assert_eq!(e.flag.as_deref(), Some(flag), "{e}");
        };
        bad(&|c| c.concurrency = 0, "--concurrency");
        bad(&|c| c.time_limit = Secs::ZERO, "--time-limit");
        bad(&|c| c.nemesis_interval = Secs::ZERO, "--nemesis-interval");
        bad(&|c| c.rate = f64::NAN, "--rate");
        bad(&|c| c.rate = 1e-300, "--rate");
        bad(&|c| c.op_timeout_ms = Some(0), "--op-timeout-ms");
        bad(&|c| c.seed = u64::MAX, "--seed");
        bad(&|c| c.system.nodes = 0, "--nodes");
        // Stepping host clocks without hosts would mean this machine's: refused.
        bad(&|c| c.set_host_clocks = true, "--set-host-clocks");
        let c = TestConfig {
            nemesis: Kinds::none(),
            nemesis_interval: Secs::ZERO,
            ..TestConfig::default()
        };
        assert!(c.validate().is_ok(), "no nemesis, no interval needed");
    }
}
