//! The system under test as a test plan names it: the `[target]` table of a plan file and of
//! test.toml, and the `--target`/`--nodes`/`--node-binary` flags with the built-in store's
//! modes (`--replication`, `--reads`, `--fsync`, `--no-fencing`).
//!
//! The TOML table is flat (`[target] name = "builtin"`, `replication = "async"`, ...); in
//! Rust the store's modes are their own [`BuiltinModes`], which the built-in system takes
//! whole. New store settings (topologies, `n/w/r`, conflict resolution, data centres, shards)
//! go into [`BuiltinModes`] and its table; new systems into [`SystemKind`] and
//! [`super::factory`].

use super::builtin::{value_name, BuiltinModes};
use super::external::TargetDef;
use super::leaderless::LeaderlessModes;
use super::multileader::MultiLeaderModes;
use crate::store::conflict::ConflictMode;
use crate::store::core::{Reads, Replication};
use crate::store::leaderless::ReadRepair;
use crate::store::multileader::DcTopology;
use crate::store::wal::FsyncPolicy;
use crate::store::Topology;
use crate::util::Invalid;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Which system `--target` names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum SystemKind {
    /// The built-in replicated store (`faultline node` processes).
    #[default]
    Builtin,
    /// An in-process linearizable register, for plumbing tests.
    Reference,
    /// etcd from `targets/etcd.toml` (or the built-in copy).
    Etcd,
    /// Redis with Sentinel from `targets/redis-sentinel.toml` (or the built-in copy).
    Redis,
    /// Any system from a definition file (`targets/command-example.toml`).
    Definition(PathBuf),
}

impl SystemKind {
    pub const NAMES: &'static str = "builtin, reference, etcd, redis, or a definition file PATH.toml";

    /// The name runs are labelled with (a definition file's path as given).
    pub fn label(&self) -> String {
        match self {
            SystemKind::Builtin => "builtin".into(),
            SystemKind::Reference => "reference".into(),
            SystemKind::Etcd => "etcd".into(),
            SystemKind::Redis => "redis".into(),
            SystemKind::Definition(p) => p.display().to_string(),
        }
    }

    /// Whether the built-in store's modes mean anything for this system.
    pub fn has_store_modes(&self) -> bool {
        matches!(self, SystemKind::Builtin)
    }
}

impl std::fmt::Display for SystemKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label())
    }
}

impl std::str::FromStr for SystemKind {
    type Err = String;
    fn from_str(s: &str) -> Result<SystemKind, String> {
        Ok(match s.trim() {
            "builtin" => SystemKind::Builtin,
            "reference" => SystemKind::Reference,
            "etcd" => SystemKind::Etcd,
            "redis" | "redis-sentinel" => SystemKind::Redis,
            p if p.ends_with(".toml") => SystemKind::Definition(PathBuf::from(p)),
            other => return Err(format!("unknown target `{other}` (known: {})", SystemKind::NAMES)),
        })
    }
}

impl Serialize for SystemKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.label())
    }
}

impl<'de> Deserialize<'de> for SystemKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<SystemKind, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

/// The system under test, its size and its modes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(from = "TargetTable", into = "TargetTable")]
pub struct SystemConfig {
    pub kind: SystemKind,
    pub nodes: usize,
    /// The executable run as `faultline node` (default: this one).
    pub node_binary: Option<PathBuf>,
    pub builtin: BuiltinModes,
}

/// Nodes when neither a plan, a flag nor a definition file says.
pub const DEFAULT_NODES: usize = 5;
/// The most nodes a test may ask for (each is a process, a namespace, ports).
pub const MAX_NODES: usize = 100;

impl SystemConfig {
    /// The op timeout when the test gives none. The built-in single-leader
    /// store elects a successor in two to three election timeouts (300 ms
    /// each): a client still waiting after 500 ms is waiting on a leader that
    /// is gone or cut off, and the time it waits is time it does not read or
    /// write elsewhere (with 1 s, clients stuck on a cut-off leader missed most
    /// of what a drifted lease serves; see the README's lease row). Sharded
    /// and other topologies, and external systems (slower elections, forwarded
    /// writes across datacenters), keep 1 s.
    pub fn default_op_timeout_ms(&self) -> u64 {
        let single = self.kind == SystemKind::Builtin
            && self.builtin.topology == crate::store::topology::Topology::SingleLeader
            && self.builtin.shards.shards.is_none();
        if single {
            500
        } else {
            1000
        }
    }
}

impl Default for SystemConfig {
    fn default() -> Self {
        SystemConfig {
            kind: SystemKind::Builtin,
            nodes: DEFAULT_NODES,
            node_binary: None,
            builtin: BuiltinModes::default(),
        }
    }
}

/// The `[target]` table as written: flat, every key optional (missing keys take defaults).
#[derive(Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct TargetTable {
    name: SystemKind,
    nodes: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    node_binary: Option<PathBuf>,
    replication: Replication,
    #[serde(deserialize_with = "reads_or_serializable")]
    reads: Reads,
    fencing: bool,
    fsync: FsyncPolicy,
    heartbeat_ms: u64,
    election_timeout_ms: u64,
    topology: Topology,
    // The leaderless store's keys: written only for that topology, and refused for the
    // other when present (so `n = 3` without `topology = "leaderless"` is not ignored).
    #[serde(skip_serializing_if = "Option::is_none")]
    n: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    w: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    r: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    conflict: Option<ConflictMode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    read_repair: Option<ReadRepair>,
    #[serde(skip_serializing_if = "Option::is_none")]
    anti_entropy_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sloppy_quorum: Option<bool>,
    // The sharded store (`system::sharded`): written only when sharded.
    #[serde(skip_serializing_if = "Option::is_none")]
    shards: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    partitioner: Option<crate::store::shard::PartitionerKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    shard_fencing: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cross_shard: Option<crate::store::router::CrossShard>,
    #[serde(skip_serializing_if = "Option::is_none")]
    shard_adds: Option<usize>,
    // The multi-leader store's keys (`conflict` above is shared with it).
    #[serde(skip_serializing_if = "Option::is_none")]
    datacenters: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dc_topology: Option<DcTopology>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dc_lag_ms: Option<u64>,
}

impl Default for TargetTable {
    fn default() -> Self {
        SystemConfig::default().into()
    }
}

impl From<SystemConfig> for TargetTable {
    fn from(c: SystemConfig) -> TargetTable {
        let m = c.builtin;
        let on = m.topology == Topology::Leaderless;
        let ml = (m.topology == Topology::MultiLeader).then_some(m.multileader);
        let l = m.leaderless;
        let some = |x| if on { Some(x) } else { None };
        TargetTable {
            name: c.kind,
            nodes: c.nodes,
            node_binary: c.node_binary,
            replication: m.replication,
            reads: m.reads,
            fencing: m.fencing,
            fsync: m.fsync,
            heartbeat_ms: m.heartbeat_ms,
            election_timeout_ms: m.election_timeout_ms,
            topology: m.topology,
            n: some(l.n),
            w: some(l.w),
            r: some(l.r),
            conflict: on.then_some(l.conflict).or(ml.as_ref().map(|x| x.conflict)),
            read_repair: on.then_some(l.read_repair),
            anti_entropy_ms: on.then_some(l.anti_entropy_ms),
            sloppy_quorum: on.then_some(l.sloppy_quorum),
            shards: m.shards.shards,
            partitioner: m.shards.partitioner,
            shard_fencing: m.shards.shard_fencing,
            cross_shard: m.shards.cross_shard,
            shard_adds: m.shards.shard_adds,
            datacenters: ml.as_ref().map(|x| x.datacenters),
            dc_topology: ml.as_ref().map(|x| x.dc_topology),
            dc_lag_ms: ml.as_ref().map(|x| x.dc_lag_ms),
        }
    }
}

impl From<TargetTable> for SystemConfig {
    fn from(t: TargetTable) -> SystemConfig {
        let d = LeaderlessModes::default();
        let md = MultiLeaderModes::default();
        let multi = t.topology == Topology::MultiLeader;
        let multileader_given = [
            ("datacenters", t.datacenters.is_some()),
            ("dc_topology", t.dc_topology.is_some()),
            ("dc_lag_ms", t.dc_lag_ms.is_some()),
        ]
        .into_iter()
        .find_map(|(k, on)| (on && !multi).then_some(k));
        let given = [
            ("n", t.n.is_some()),
            ("w", t.w.is_some()),
            ("r", t.r.is_some()),
            ("conflict", t.conflict.is_some() && !multi),
            ("read_repair", t.read_repair.is_some()),
            ("anti_entropy_ms", t.anti_entropy_ms.is_some()),
            ("sloppy_quorum", t.sloppy_quorum.is_some()),
        ]
        .into_iter()
        .find_map(|(k, on)| on.then_some(k));
        SystemConfig {
            kind: t.name,
            nodes: t.nodes,
            node_binary: t.node_binary,
            builtin: BuiltinModes {
                replication: t.replication,
                reads: t.reads,
                fencing: t.fencing,
                fsync: t.fsync,
                heartbeat_ms: t.heartbeat_ms,
                election_timeout_ms: t.election_timeout_ms,
                topology: t.topology,
                leaderless_given: given.filter(|_| t.topology != Topology::Leaderless),
                shards: super::shard_modes::ShardModes {
                    shards: t.shards,
                    partitioner: t.partitioner,
                    shard_fencing: t.shard_fencing,
                    cross_shard: t.cross_shard,
                    shard_adds: t.shard_adds,
                },
                multileader_given,
                multileader: MultiLeaderModes {
                    datacenters: t.datacenters.unwrap_or(md.datacenters),
                    dc_topology: t.dc_topology.unwrap_or(md.dc_topology),
                    conflict: t.conflict.unwrap_or(md.conflict),
                    dc_lag_ms: t.dc_lag_ms.unwrap_or(md.dc_lag_ms),
                },
                leaderless: LeaderlessModes {
                    n: t.n.unwrap_or(d.n),
                    w: t.w.unwrap_or(d.w),
                    r: t.r.unwrap_or(d.r),
                    conflict: t.conflict.unwrap_or(d.conflict),
                    read_repair: t.read_repair.unwrap_or(d.read_repair),
                    anti_entropy_ms: t.anti_entropy_ms.unwrap_or(d.anti_entropy_ms),
                    sloppy_quorum: t.sloppy_quorum.unwrap_or(d.sloppy_quorum),
                },
            },
        }
    }
}

/// `--reads` and `reads = ...`: the store's read modes, plus `serializable`, etcd's name for
/// what the store calls `follower` (any member answers from its local state).
pub fn parse_reads(s: &str) -> Result<Reads, String> {
    use clap::ValueEnum;
    match s.trim() {
        "serializable" => Ok(Reads::Follower),
        other => Reads::from_str(other, false).map_err(|_| {
            format!(
                "unknown read mode `{other}` (known: linearizable, lease, leader, follower, serializable)"
            )
        }),
    }
}

fn reads_or_serializable<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Reads, D::Error> {
    parse_reads(&String::deserialize(d)?).map_err(serde::de::Error::custom)
}

impl SystemConfig {
    /// The built-in store running its leaderless topology.
    pub fn is_leaderless(&self) -> bool {
        self.kind.has_store_modes() && self.builtin.topology == Topology::Leaderless
    }

    /// The definition file a `--target FILE.toml` names, loaded (and checked).
    pub fn definition(&self) -> Result<Option<(TargetDef, PathBuf)>, Invalid> {
        let SystemKind::Definition(path) = &self.kind else {
            return Ok(None);
        };
        let bad = |m: String| Invalid::new("--target", "target.name", m);
        if !path.is_file() {
            return Err(bad(format!(
                "{}: no such file (give a target definition like targets/command-example.toml, or one of: {})",
                path.display(),
                SystemKind::NAMES
            )));
        }
        let def = TargetDef::load(path).map_err(|e| bad(e.to_string()))?;
        Ok(Some((def, path.clone())))
    }

    /// Checks what can be checked before anything starts: sizes, that the store's modes are
    /// consistent and only given to a system they mean something to, and the node binary.
    pub fn validate(&self) -> Result<(), Invalid> {
        if self.nodes == 0 || self.nodes > MAX_NODES {
            return Err(Invalid::new(
                "--nodes",
                "target.nodes",
                format!("must be between 1 and {MAX_NODES} (got {})", self.nodes),
            ));
        }
        self.definition()?;
        let m = &self.builtin;
        if m.heartbeat_ms == 0 || m.election_timeout_ms <= m.heartbeat_ms {
            return Err(Invalid::key(
                "target.election_timeout_ms",
                format!(
                    "the election timeout ({} ms) must exceed the heartbeat ({} ms), which must be positive",
                    m.election_timeout_ms, m.heartbeat_ms
                ),
            ));
        }
        crate::util::secs::millis(m.election_timeout_ms, 1)
            .map_err(|e| Invalid::key("target.election_timeout_ms", e))?;
        self.validate_modes_apply()?;
        self.validate_topology()?;
        self.validate_shards()?;
        if let Some(bin) = &self.node_binary {
            check_executable(bin).map_err(|m| Invalid::new("--node-binary", "target.node_binary", m))?;
        }
        Ok(())
    }

    /// Leaderless settings need `--topology leaderless` (and the built-in store), whose
    /// quorums must fit N and N the cluster; single-leader modes do not apply to it.
    fn validate_topology(&self) -> Result<(), Invalid> {
        let m = &self.builtin;
        let flag = |key: &str| format!("--{}", key.replace('_', "-"));
        if let Some(key) = m.leaderless_given {
            return Err(Invalid::new(
                &flag(key),
                &format!("target.{key}"),
                "is a setting of the leaderless store: add --topology leaderless",
            ));
        }
        if let Some(key) = m.multileader_given {
            return Err(Invalid::new(
                &flag(key),
                &format!("target.{key}"),
                "is a setting of the multi-leader store: add --topology multi-leader",
            ));
        }
        if m.topology == Topology::SingleLeader {
            return Ok(());
        }
        if !self.kind.has_store_modes() {
            return Err(Invalid::new(
                "--topology",
                "target.topology",
                format!(
                    "a topology of the built-in store; target {} has none",
                    self.kind.label()
                ),
            ));
        }
        let d = BuiltinModes::default();
        if m.replication != d.replication || m.reads != d.reads || !m.fencing {
            return Err(Invalid::new(
                "--topology",
                "target.topology",
                "--replication, --reads and --no-fencing are single-leader modes; \
                 a leaderless store is tuned with --n, --w, --r, --conflict and --read-repair, \
                 a multi-leader one with --datacenters, --dc-topology and --conflict",
            ));
        }
        match m.topology {
            Topology::MultiLeader => m.multileader.validate(self.nodes),
            _ => m.leaderless.validate(self.nodes),
        }
    }

    /// The built-in store running its multi-leader topology.
    pub fn is_multi_leader(&self) -> bool {
        self.kind.has_store_modes() && self.builtin.topology == Topology::MultiLeader
    }

    /// The multi-leader store's datacenters (groups of node ids), when it has
    /// two or more (see [`super::multileader::datacenters`]).
    pub fn datacenters(&self) -> Option<Vec<Vec<String>>> {
        if !self.is_multi_leader() {
            return None;
        }
        super::multileader::datacenters(&self.node_names(), self.builtin.multileader.datacenters)
    }

    /// Replicas that merge concurrent writes and must converge once healed
    /// (leaderless or multi-leader): the convergence phase and checker run.
    pub fn merges_replicas(&self) -> bool {
        self.is_leaderless() || self.is_multi_leader()
    }

    /// The node names a run lays out: `n1..nN`, or for a sharded store every group's
    /// nodes and the router ([`super::shard_modes::ShardModes::node_names`]).
    pub fn node_names(&self) -> Vec<String> {
        if self.kind.has_store_modes() && self.builtin.shards.is_sharded() {
            return self.builtin.shards.node_names(self.nodes);
        }
        (1..=self.nodes).map(|i| format!("n{i}")).collect()
    }

    /// `--shards`: K single-leader groups of the built-in store (no other system or
    /// topology yet), fitting the node limit with the router.
    fn validate_shards(&self) -> Result<(), Invalid> {
        let s = &self.builtin.shards;
        if s.is_sharded() && !self.kind.has_store_modes() {
            return Err(Invalid::new(
                "--shards",
                "target.shards",
                format!(
                    "shards the built-in store; target {} is not it",
                    self.kind.label()
                ),
            ));
        }
        if s.is_sharded() && self.builtin.topology != Topology::SingleLeader {
            return Err(Invalid::new(
                "--shards",
                "target.shards",
                format!(
                    "groups of the {} topology are not supported yet: shards are single-leader groups",
                    value_name(&self.builtin.topology)
                ),
            ));
        }
        s.validate(self.nodes, MAX_NODES)
    }

    /// The store's modes are refused for systems they would silently not apply to; etcd
    /// takes `reads` (linearizable or serializable) and nothing else.
    fn validate_modes_apply(&self) -> Result<(), Invalid> {
        if self.kind.has_store_modes() {
            return Ok(());
        }
        let (m, d) = (&self.builtin, BuiltinModes::default());
        let target = self.kind.label();
        let only_builtin = |flag: Option<&str>, key: &str, v: String| {
            let m = format!("`{v}` is a mode of the built-in store; target {target} does not have it");
            Err(match flag {
                Some(f) => Invalid::new(f, key, m),
                None => Invalid::key(key, m),
            })
        };
        if m.replication != d.replication {
            return only_builtin(
                Some("--replication"),
                "target.replication",
                value_name(&m.replication),
            );
        }
        if m.fsync != d.fsync {
            return only_builtin(Some("--fsync"), "target.fsync", value_name(&m.fsync));
        }
        if m.fencing != d.fencing {
            return only_builtin(Some("--no-fencing"), "target.fencing", "fencing = false".into());
        }
        if (m.heartbeat_ms, m.election_timeout_ms) != (d.heartbeat_ms, d.election_timeout_ms) {
            return only_builtin(
                None,
                "target.heartbeat_ms",
                "heartbeat and election timeouts".into(),
            );
        }
        let etcd_like = matches!(self.kind, SystemKind::Etcd | SystemKind::Definition(_));
        match m.reads {
            Reads::Linearizable => Ok(()),
            Reads::Follower if etcd_like => Ok(()),
            other => Err(Invalid::new(
                "--reads",
                "target.reads",
                format!(
                    "target {target} has no `{}` reads (etcd: linearizable or serializable; redis: linearizable)",
                    value_name(&other)
                ),
            )),
        }
    }
}

/// `path` is an existing regular file someone may execute.
pub fn check_executable(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!("{}: not a file", path.display()));
    }
    if meta.permissions().mode() & 0o111 == 0 {
        return Err(format!("{}: not executable", path.display()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, Serialize, PartialEq)]
    struct Plan {
        #[serde(default)]
        target: SystemConfig,
    }

    #[test]
    fn the_target_table_is_flat_partial_and_refuses_typos() {
        let p: Plan =
            toml::from_str("[target]\nfsync = \"never\"\nnodes = 3\nreads = \"serializable\"\n").unwrap();
        assert_eq!(p.target.builtin.fsync, FsyncPolicy::Never);
        assert_eq!(p.target.builtin.reads, Reads::Follower);
        assert_eq!(p.target.nodes, 3);
        assert_eq!(p.target.builtin.replication, Replication::Quorum);
        assert_eq!(p.target.kind, SystemKind::Builtin);
        let e = toml::from_str::<Plan>("[target]\nfencng = false\n")
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("fencng"), "{e}");
        let e = toml::from_str::<Plan>("[target]\nreplication = \"yolo\"\n")
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("yolo") && e.contains("line 2"), "{e}");
        let e = toml::from_str::<Plan>("[target]\nname = \"mysql\"\n")
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("unknown target `mysql`"), "{e}");
        // Written and read back unchanged.
        let text = toml::to_string(&p).unwrap();
        assert_eq!(toml::from_str::<Plan>(&text).unwrap(), p);
        assert!(
            text.contains("replication = \"quorum\"") && text.contains("name = \"builtin\""),
            "{text}"
        );
    }

    #[test]
    fn modes_a_system_does_not_have_and_bad_sizes_are_refused_by_name() {
        let mut c = SystemConfig::default();
        assert!(c.validate().is_ok());
        c.nodes = 0;
        assert!(c.validate().unwrap_err().to_string().contains("--nodes"));
        c.nodes = 3;
        c.kind = SystemKind::Etcd;
        c.builtin.reads = Reads::Follower;
        assert!(c.validate().is_ok(), "etcd serializable reads");
        c.builtin.reads = Reads::Lease;
        assert!(c.validate().unwrap_err().to_string().contains("--reads"));
        c.builtin.reads = Reads::Linearizable;
        c.builtin.replication = Replication::Async;
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("--replication") && e.contains("async"), "{e}");
        let mut c = SystemConfig {
            node_binary: Some(PathBuf::from("/no/such/faultline")),
            ..SystemConfig::default()
        };
        let e = c.validate().unwrap_err().to_string();
        assert!(
            e.contains("--node-binary") && e.contains("/no/such/faultline"),
            "{e}"
        );
        let plain = tempfile::NamedTempFile::new().unwrap();
        c.node_binary = Some(plain.path().to_path_buf());
        assert!(c.validate().unwrap_err().to_string().contains("not executable"));
        c.node_binary = Some(PathBuf::from("/bin/sh"));
        assert!(c.validate().is_ok());
        c.kind = "nowhere/x.toml".parse().unwrap();
        assert!(c.validate().unwrap_err().to_string().contains("no such file"));
    }
}
