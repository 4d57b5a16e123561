//! `faultline test`'s flags for the built-in store's topology
//! (`--topology leaderless --n --w --r --conflict --read-repair
//! --anti-entropy-ms --sloppy-quorum`; `--shards --partitioner`), as keys of the flags'
//! plan layer.

use super::node::{LeaderlessArgs, MultiLeaderArgs};
use crate::store::Topology;
use anyhow::Context;
use toml::{Table, Value};

#[derive(clap::Args, Debug)]
pub struct TopologyArgs {
    /// The built-in store's protocol: single-leader (Raft-style) or leaderless
    /// (Dynamo-style quorums: --n, --w, --r, --conflict, ...).
    #[arg(long, value_enum, default_value = "single-leader")]
    pub topology: Topology,
    /// The leaderless store's settings (as `faultline node` takes them).
    #[command(flatten)]
    pub leaderless: LeaderlessArgs,
    /// Shard the built-in store: K single-leader groups of --nodes nodes each, behind a
    /// router process (`faultline router`) that every client talks to.
    #[arg(long)]
    pub shards: Option<usize>,
    /// Which group owns a key (with --shards): hash (modulo K), consistent (ring with
    /// virtual nodes), range (alphabetical key ranges: hot spots when keys are skewed).
    #[arg(long, value_enum)]
    pub partitioner: Option<crate::store::shard::PartitionerKind>,
    /// Unsafe (with --shards): rebalancing does not fence the old owner's nodes by the
    /// routing epoch, so a router connection with a stale cached table still writes there.
    #[arg(long)]
    pub no_shard_fencing: bool,
    /// Transactions whose keys span shards (with --shards): reject (a fail naming the
    /// groups) or split (unsafe: per-group parts applied independently, no atomicity).
    #[arg(long, value_enum)]
    pub cross_shard: Option<crate::store::router::CrossShard>,
    /// Groups `--nemesis rebalance` may add while clients run (with --shards; at most 4):
    /// placed at the start, their nodes started at the add. A rebalance adds one (while
    /// some are left) or moves a key range, as its seed draws.
    #[arg(long)]
    pub shard_adds: Option<usize>,
    /// The multi-leader store's settings (`--datacenters --dc-topology --dc-lag-ms`).
    #[command(flatten)]
    pub multileader: MultiLeaderArgs,
}

impl TopologyArgs {
    /// Puts the flags given on the command line into the `[target]` table.
    pub fn put(&self, target: &mut Table, given: impl Fn(&str) -> bool) -> anyhow::Result<()> {
        fn val<T: serde::Serialize>(key: &str, v: &T) -> anyhow::Result<Value> {
            Value::try_from(v)
                .with_context(|| format!("--{}: not representable in test.toml", key.replace('_', "-")))
        }
        if given("topology") {
            target.insert("topology".into(), val("topology", &self.topology)?);
        }
        let l = &self.leaderless;
        for (key, v) in [("n", l.n), ("w", l.w), ("r", l.r)] {
            if let Some(v) = v {
                target.insert(key.into(), val(key, &(v as u64))?);
            }
        }
        if let Some(c) = &l.conflict {
            target.insert("conflict".into(), val("conflict", c)?);
        }
        if let Some(rr) = &l.read_repair {
            target.insert("read_repair".into(), val("read_repair", rr)?);
        }
        if let Some(ms) = l.anti_entropy_ms {
            target.insert("anti_entropy_ms".into(), val("anti_entropy_ms", &ms)?);
        }
        if l.sloppy_quorum {
            target.insert("sloppy_quorum".into(), Value::Boolean(true));
        }
        if let Some(k) = self.shards {
            target.insert("shards".into(), val("shards", &(k as u64))?);
        }
        if let Some(p) = &self.partitioner {
            target.insert("partitioner".into(), val("partitioner", p)?);
        }
        if self.no_shard_fencing {
            target.insert("shard_fencing".into(), Value::Boolean(false));
        }
        if let Some(c) = &self.cross_shard {
            target.insert("cross_shard".into(), val("cross_shard", c)?);
        }
        if let Some(n) = self.shard_adds {
            target.insert("shard_adds".into(), val("shard_adds", &(n as u64))?);
        }
        let m = &self.multileader;
        if let Some(d) = m.datacenters {
            target.insert("datacenters".into(), val("datacenters", &(d as u64))?);
        }
        if let Some(t) = &m.dc_topology {
            target.insert("dc_topology".into(), val("dc_topology", t)?);
        }
        if let Some(ms) = m.dc_lag_ms {
            target.insert("dc_lag_ms".into(), val("dc_lag_ms", &ms)?);
        }
        Ok(())
    }
}
