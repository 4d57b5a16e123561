//! `faultline node`: run one node of the built-in replicated store.

use crate::store::conflict::ConflictMode;
use crate::store::core::{Config, Core, Reads, Replication};
use crate::store::leaderless::{self, ReadRepair};
use crate::store::multileader::{self, DcTopology};
use crate::store::node::{run_node, NodeConfig};
use crate::store::wal::FsyncPolicy;
use crate::store::Topology;
use anyhow::{bail, Context};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Arguments of `faultline node`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// This node's id (must appear in --cluster).
    #[arg(long)]
    pub id: String,
    /// Peer address this node binds.
    #[arg(long)]
    pub listen: SocketAddr,
    /// Client address this node binds.
    #[arg(long)]
    pub client: SocketAddr,
    /// Admin address this node binds (harness only).
    #[arg(long)]
    pub admin: SocketAddr,
    /// Every node's peer address as this node dials it: n1=HOST:PORT,n2=HOST:PORT,...
    #[arg(long)]
    pub cluster: String,
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Log file (plain lines + event lines); default DATA_DIR/node.log.
    #[arg(long)]
    pub log: Option<PathBuf>,
    /// When a write is acknowledged: sync (all followers), semi-sync (one designated
    /// follower), quorum (a majority: safe), async (the leader's log alone: unsafe).
    #[arg(long, value_enum, default_value = "quorum")]
    pub replication: Replication,
    /// Who answers reads: linearizable (leader, after a majority round: safe),
    /// lease (leader's local state while its read lease lasts, else as linearizable;
    /// safe while clock rates differ by less than --max-drift), leader (leader's
    /// local state), follower (any node: stale reads).
    #[arg(long, value_enum, default_value = "linearizable")]
    pub reads: Reads,
    /// Clock-rate drift read leases tolerate: a lease lasts
    /// election-timeout * (1 - max-drift) minus a 10 ms margin.
    #[arg(long, default_value_t = 0.1)]
    pub max_drift: f64,
    /// Unsafe: an old leader keeps accepting and acknowledging writes (split brain).
    #[arg(long)]
    pub no_fencing: bool,
    /// WAL syncing: always, batch (group commit), never (unsafe: kill -9 loses acked writes).
    #[arg(long, value_enum, default_value = "batch")]
    pub fsync: FsyncPolicy,
    /// Leader heartbeat interval.
    #[arg(long, default_value_t = 50)]
    pub heartbeat_ms: u64,
    /// Follower silence before an election (plus a random jitter of up to as much again).
    #[arg(long, default_value_t = 500)]
    pub election_timeout_ms: u64,
    /// CLOCK_MONOTONIC nanoseconds subtracted from event times (the history's time base).
    #[arg(long, default_value_t = 0)]
    pub time_origin_ns: u64,
    /// Snapshot and compact the log every N applied entries (0 = never).
    #[arg(long, default_value_t = 10_000)]
    pub snapshot_every: u64,
    /// Which protocol the node runs: single-leader (Raft-style) or leaderless
    /// (Dynamo-style quorums; the flags below).
    #[arg(long, value_enum, default_value = "single-leader")]
    pub topology: Topology,
    #[command(flatten)]
    pub leaderless: LeaderlessArgs,
    #[command(flatten)]
    pub multileader: MultiLeaderArgs,
}

/// The multi-leader topology's settings (refused with any other topology;
/// `--conflict` is shared with the leaderless one and adds `avoid`).
#[derive(clap::Args, Debug, Default)]
pub struct MultiLeaderArgs {
    /// Datacenters: the nodes split into this many contiguous groups, each led
    /// by its first node (default 2; at most the node count).
    #[arg(long)]
    pub datacenters: Option<usize>,
    /// How datacenter leaders replicate to each other: all-to-all, circular
    /// (a ring), star (the first datacenter is the hub).
    #[arg(long, value_enum)]
    pub dc_topology: Option<DcTopology>,
    /// Base replication lag between datacenters in ms: from DC i to DC j it is
    /// lag * ((j - i) mod D)^2, so two hops can beat one (default 0).
    #[arg(long)]
    pub dc_lag_ms: Option<u64>,
}

impl MultiLeaderArgs {
    fn first_given(&self) -> Option<&'static str> {
        [
            (self.datacenters.is_some(), "--datacenters"),
            (self.dc_topology.is_some(), "--dc-topology"),
            (self.dc_lag_ms.is_some(), "--dc-lag-ms"),
        ]
        .into_iter()
        .find_map(|(given, flag)| given.then_some(flag))
    }

    /// The multi-leader core's configuration for node `id` of `nodes`, checked.
    pub fn config(
        &self,
        id: &str,
        nodes: &[&str],
        conflict: Option<ConflictMode>,
    ) -> anyhow::Result<multileader::Config> {
        let mut c = multileader::Config::new(id, nodes);
        c.datacenters = self.datacenters.unwrap_or(2.min(nodes.len()));
        c.dc_topology = self.dc_topology.unwrap_or_default();
        c.conflict = conflict.unwrap_or(c.conflict);
        c.dc_lag_ns = self.dc_lag_ms.unwrap_or(0).saturating_mul(1_000_000);
        c.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(c)
    }
}

/// The leaderless topology's settings (refused with any other topology).
#[derive(clap::Args, Debug, Default)]
pub struct LeaderlessArgs {
    /// Replicas per key (default: 3, or the node count if smaller).
    #[arg(long)]
    pub n: Option<usize>,
    /// Acknowledgements a write waits for (default: a majority of N).
    #[arg(long)]
    pub w: Option<usize>,
    /// Replies a read waits for (default: a majority of N).
    #[arg(long)]
    pub r: Option<usize>,
    /// Concurrent writes: lww (last write wins by wall clock: loses writes), siblings
    /// (kept side by side with version vectors), crdt (OR-set adds, PN-counter increments).
    #[arg(long, value_enum)]
    pub conflict: Option<ConflictMode>,
    /// Repair stale replicas a read met: sync (before answering), async (after), off.
    #[arg(long, value_enum)]
    pub read_repair: Option<ReadRepair>,
    /// Anti-entropy (Merkle tree exchange) round interval; 0 = off (default 1000).
    #[arg(long)]
    pub anti_entropy_ms: Option<u64>,
    /// Unsafe for reads: replace unreachable replicas by the next healthy nodes (hinted handoff).
    #[arg(long)]
    pub sloppy_quorum: bool,
}

impl LeaderlessArgs {
    /// The first leaderless flag given, for the refusal under another topology.
    fn first_given(&self) -> Option<&'static str> {
        [
            (self.n.is_some(), "--n"),
            (self.w.is_some(), "--w"),
            (self.r.is_some(), "--r"),
            (self.conflict.is_some(), "--conflict"),
            (self.read_repair.is_some(), "--read-repair"),
            (self.anti_entropy_ms.is_some(), "--anti-entropy-ms"),
            (self.sloppy_quorum, "--sloppy-quorum"),
        ]
        .into_iter()
        .find_map(|(given, flag)| given.then_some(flag))
    }

    /// The leaderless core's configuration for node `id` of `nodes`, checked.
    pub fn config(&self, id: &str, nodes: &[&str]) -> anyhow::Result<leaderless::Config> {
        let mut c = leaderless::Config::new(id, nodes);
        if let Some(n) = self.n {
            c.n = n;
            c.w = n / 2 + 1;
            c.r = n / 2 + 1;
        }
        c.w = self.w.unwrap_or(c.w);
        c.r = self.r.unwrap_or(c.r);
        c.conflict = self.conflict.unwrap_or(c.conflict);
        c.read_repair = self.read_repair.unwrap_or(c.read_repair);
        c.anti_entropy_ms = self.anti_entropy_ms.unwrap_or(c.anti_entropy_ms);
        c.sloppy_quorum = self.sloppy_quorum;
        if c.conflict == ConflictMode::Avoid {
            bail!("--conflict avoid is a mode of --topology multi-leader (keys with a home datacenter)");
        }
        c.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(c)
    }
}

/// Parses `n1=ADDR,n2=ADDR,...` into an ordered map.
pub(crate) fn parse_cluster(s: &str) -> anyhow::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for part in s.split(',').filter(|p| !p.trim().is_empty()) {
        let Some((id, addr)) = part.split_once('=') else {
            bail!("--cluster: {part:?} is not of the form ID=HOST:PORT");
        };
        if id.is_empty() || addr.is_empty() {
            bail!("--cluster: {part:?} is not of the form ID=HOST:PORT");
        }
        if out
            .insert(id.trim().to_string(), addr.trim().to_string())
            .is_some()
        {
            bail!("--cluster: node {id:?} appears twice");
        }
    }
    if out.is_empty() {
        bail!("--cluster: no nodes given");
    }
    Ok(out)
}

pub fn run(a: Args) -> anyhow::Result<i32> {
    let cluster = parse_cluster(&a.cluster)?;
    if !cluster.contains_key(&a.id) {
        bail!("--cluster does not list this node's id {:?}", a.id);
    }
    if a.heartbeat_ms == 0 || a.election_timeout_ms <= a.heartbeat_ms {
        bail!("--election-timeout-ms must exceed --heartbeat-ms, which must be positive");
    }
    if !(0.0..1.0).contains(&a.max_drift) {
        bail!("--max-drift must be at least 0 and below 1 (got {})", a.max_drift);
    }
    let nodes: Vec<&str> = cluster.keys().map(String::as_str).collect();
    if a.topology == Topology::MultiLeader {
        return run_multileader(&a, cluster.clone(), &nodes);
    }
    if let Some(flag) = a.multileader.first_given() {
        bail!("{flag} is a setting of --topology multi-leader");
    }
    if a.topology == Topology::Leaderless {
        return run_leaderless(&a, cluster.clone(), &nodes);
    }
    if let Some(flag) = a.leaderless.first_given() {
        bail!("{flag} is a setting of --topology leaderless (this node runs single-leader)");
    }
    let mut core = Config::new(&a.id, &nodes);
    core.replication = a.replication;
    core.reads = a.reads;
    core.max_drift = a.max_drift;
    core.fencing = !a.no_fencing;
    core.heartbeat_ns = a.heartbeat_ms * 1_000_000;
    core.election_timeout_ns = a.election_timeout_ms * 1_000_000;
    core.snapshot_every = a.snapshot_every;
    serve::<Core>(&a, core, cluster)
}

/// `--topology leaderless`: the same node shell, WAL and admin endpoint
/// around the leaderless core. Everything is checked before anything starts.
fn run_leaderless(a: &Args, cluster: BTreeMap<String, String>, nodes: &[&str]) -> anyhow::Result<i32> {
    if a.replication != Replication::Quorum || a.reads != Reads::Linearizable || a.no_fencing {
        bail!(
            "--replication, --reads and --no-fencing are settings of the single-leader topology; \
             a leaderless store is tuned with --n, --w, --r, --conflict and --read-repair"
        );
    }
    let core = a.leaderless.config(&a.id, nodes)?;
    serve::<leaderless::Core>(a, core, cluster)
}

/// `--topology multi-leader`: the same node shell around the multi-leader core.
fn run_multileader(a: &Args, cluster: BTreeMap<String, String>, nodes: &[&str]) -> anyhow::Result<i32> {
    if a.replication != Replication::Quorum || a.reads != Reads::Linearizable || a.no_fencing {
        bail!(
            "--replication, --reads and --no-fencing are settings of the single-leader topology; \
             a multi-leader store is tuned with --datacenters, --dc-topology and --conflict"
        );
    }
    let l = &a.leaderless;
    let conflict = l.conflict;
    let only_conflict = LeaderlessArgs {
        n: l.n,
        w: l.w,
        r: l.r,
        conflict: None,
        read_repair: l.read_repair,
        anti_entropy_ms: l.anti_entropy_ms,
        sloppy_quorum: l.sloppy_quorum,
    };
    if let Some(flag) = only_conflict.first_given() {
        bail!("{flag} is a setting of --topology leaderless (this node runs multi-leader)");
    }
    let core = a.multileader.config(&a.id, nodes, conflict)?;
    serve::<multileader::Core>(a, core, cluster)
}

/// The node shell every topology shares: data directory, ports, log, fsync, clock
/// origin from the flags, around the core `P` configured by the caller.
fn serve<P: crate::store::seam::Protocol>(
    a: &Args,
    core: P::Config,
    cluster: BTreeMap<String, String>,
) -> anyhow::Result<i32> {
    std::fs::create_dir_all(&a.data_dir)
        .with_context(|| format!("cannot create --data-dir {}", a.data_dir.display()))?;
    let cfg = NodeConfig {
        core,
        listen: a.listen,
        client: a.client,
        admin: a.admin,
        log: a.log.clone().unwrap_or_else(|| a.data_dir.join("node.log")),
        cluster,
        data_dir: a.data_dir.clone(),
        fsync: a.fsync,
        time_origin_ns: a.time_origin_ns,
    };
    run_node::<P>(cfg).with_context(|| format!("node {} cannot start", a.id))?;
    Ok(crate::exit::VALID)
}
