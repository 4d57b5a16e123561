//! `faultline node`: run one node of the built-in replicated store.

use crate::store::core::{Config, Core, Reads, Replication};
use crate::store::node::{run_node, NodeConfig};
use crate::store::wal::FsyncPolicy;
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
    std::fs::create_dir_all(&a.data_dir)
        .with_context(|| format!("cannot create --data-dir {}", a.data_dir.display()))?;
    let nodes: Vec<&str> = cluster.keys().map(String::as_str).collect();
    let mut core = Config::new(&a.id, &nodes);
    core.replication = a.replication;
    core.reads = a.reads;
    core.max_drift = a.max_drift;
    core.fencing = !a.no_fencing;
    core.heartbeat_ns = a.heartbeat_ms * 1_000_000;
    core.election_timeout_ns = a.election_timeout_ms * 1_000_000;
    core.snapshot_every = a.snapshot_every;
    let cfg = NodeConfig {
        core,
        listen: a.listen,
        client: a.client,
        admin: a.admin,
        log: a.log.unwrap_or_else(|| a.data_dir.join("node.log")),
        cluster,
        data_dir: a.data_dir,
        fsync: a.fsync,
        time_origin_ns: a.time_origin_ns,
    };
    run_node::<Core>(cfg).with_context(|| format!("node {} cannot start", a.id))?;
    Ok(crate::exit::VALID)
}
