//! The built-in store sharded behind a router (`--shards K --partitioner P`):
//! K independent single-leader replica groups of `--nodes` nodes each (each a
//! [`Builtin`] cluster of its own: its nodes know only their group's peers),
//! and one `faultline router` process (node `router`) that every client talks
//! to. The router is a node like the others to the nemesis: it can be killed,
//! paused and (with the netns back end) partitioned from the groups.
//!
//! Node names: group g (0-based) is `n{g*size+1}`..`n{(g+1)*size}`, then `router`.
//! Groups reserved by `--shard-adds` come after the K groups: they are placed
//! (addresses, namespaces) with the others at the start and known to the
//! router, but their processes start only when `--nemesis rebalance` adds the
//! group; until then they are dormant ([`Target::dormant`]) and the nemesis
//! skips them.

mod add;

use super::builtin::{value_name, Builtin, BuiltinModes};
use super::process::{NodeProcess, Supervisor};
pub use super::shard_modes::{ShardModes, ROUTER};
use super::shard_rebalance::{self as rebalance, Member, Switch};
use super::{NodeCtx, NodeId, PortPlan, Target, TargetError, WorkloadInfo};
use crate::client::Client;
use crate::store::client::StoreClient;
use crate::store::shard::{Handover, PartitionerKind, RangeMove, RoutingTable, TableSpec};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

pub struct Sharded {
    binary: PathBuf,
    partitioner: PartitionerKind,
    tag: String,
    size: usize,
    /// Every group: the K the store starts with, then those reserved for adds.
    groups: Vec<Builtin>,
    /// K, the groups of the routing table's base partitioner.
    base: usize,
    /// Groups whose processes were started (the rest are dormant).
    started: AtomicUsize,
    group_of: BTreeMap<NodeId, usize>,
    ctxs: BTreeMap<NodeId, NodeCtx>,
    router: Option<NodeCtx>,
    sup: Supervisor,
    shard: ShardModes,
    /// The routing table in force (the harness's copy; `--nemesis rebalance` moves it on).
    routing: Mutex<RoutingTable>,
    /// The workload's name (set by `prepare`): where its keys are, for rebalancing.
    workload: Mutex<String>,
    /// Leader faults found so far: the next one aims at the group after (see `leader`).
    leader_turn: AtomicUsize,
}

impl Sharded {
    /// `modes.shards` groups of `size` nodes each (checked by `SystemConfig::validate`).
    pub fn new(binary: PathBuf, modes: BuiltinModes, size: usize, time_origin_ns: u64, tag: &str) -> Sharded {
        let k = modes.shards.shards.unwrap_or(1);
        let routing = RoutingTable::new(modes.shards.partitioner(), k)
            .unwrap_or_else(|_| RoutingTable::with(crate::store::shard::Partitioner::Hash { groups: 1 }));
        Sharded {
            shard: modes.shards,
            routing: Mutex::new(routing),
            workload: Mutex::new(String::new()),
            binary: binary.clone(),
            partitioner: modes.shards.partitioner(),
            tag: tag.into(),
            size,
            base: k,
            started: AtomicUsize::new(k),
            groups: (0..modes.shards.all_groups())
                .map(|_| Builtin::new(binary.clone(), modes.clone(), time_origin_ns, tag))
                .collect(),
            group_of: BTreeMap::new(),
            ctxs: BTreeMap::new(),
            router: None,
            leader_turn: AtomicUsize::new(0),
            sup: Supervisor::new(),
        }
    }

    fn group(&self, node: &str) -> Result<&Builtin, TargetError> {
        self.group_of
            .get(node)
            .map(|&g| &self.groups[g])
            .ok_or_else(|| TargetError::UnknownNode(node.into()))
    }

    fn router_ctx(&self) -> Result<&NodeCtx, TargetError> {
        self.router
            .as_ref()
            .ok_or_else(|| TargetError::UnknownNode(ROUTER.into()))
    }

    fn router_addr(&self) -> Result<std::net::SocketAddr, TargetError> {
        self.router_ctx()?
            .net
            .dial
            .get("client")
            .copied()
            .ok_or_else(|| TargetError::node(ROUTER, "no client port"))
    }

    fn router_argv(&self, r: &NodeCtx) -> Vec<String> {
        let mut v = r.net.exec_prefix.clone();
        v.push(self.binary.display().to_string());
        v.extend([
            "router".into(),
            "--listen".into(),
            r.net.listen["client"].to_string(),
        ]);
        v.extend(["--partitioner".into(), value_name(&self.partitioner)]);
        v.extend(["--cross-shard".into(), value_name(&self.shard.cross_shard())]);
        let spec = self.spec();
        if spec.epoch > 1 {
            // A restarted router routes by the table in force, not epoch 1.
            v.extend([
                "--routing".into(),
                serde_json::to_string(&spec).unwrap_or_default(),
            ]);
        }
        let mut members: Vec<Vec<String>> = vec![Vec::new(); self.groups.len()];
        for (node, &g) in &self.group_of {
            if let Some(a) = self.nodes_client(node) {
                members[g].push(format!("{node}={a}"));
            }
        }
        for m in members {
            v.extend(["--group".into(), m.join(",")]);
        }
        v
    }

    fn spec(&self) -> TableSpec {
        let t = self.routing.lock().unwrap_or_else(|p| p.into_inner());
        t.spec(self.base)
    }

    /// Every started group's node with its client and admin addresses.
    fn members(&self) -> Vec<Member> {
        let started = self.started.load(Ordering::SeqCst);
        self.group_of
            .iter()
            .filter(|(_, &group)| group < started)
            .filter_map(|(id, &group)| {
                let dial = &self.ctxs.get(id)?.net.dial;
                Some(Member {
                    id: id.clone(),
                    group,
                    client: *dial.get("client")?,
                    admin: *dial.get("admin")?,
                })
            })
            .collect()
    }

    /// A node just started or resumed learns the table in force (after a rebalance, with fencing).
    fn refence(&self, node: &str) {
        let spec = self.spec();
        if !self.shard.fencing() || spec.epoch <= 1 {
            return;
        }
        if node == ROUTER {
            if let Ok(addr) = self.router_addr() {
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        if rebalance::tell_router(addr, &spec).is_ok() {
                            return;
                        }
                        std::thread::sleep(Duration::from_millis(100));
                    }
                });
            }
        } else if let Some(m) = self.members().into_iter().find(|m| m.id == node) {
            rebalance::refence_later(m, spec, Duration::from_secs(10));
        }
    }

    pub(crate) fn switch_with<'a>(&self, members: &'a [Member]) -> Result<Switch<'a>, TargetError> {
        Ok(Switch {
            members,
            base: self.base,
            fencing: self.shard.fencing(),
            router: self.router_addr()?,
        })
    }

    /// One range move (see [`super::shard_rebalance`]): fence, copy, switch; rolled back
    /// (ownership as before, a newer epoch) if the copy fails.
    fn move_range(&self, seed: u64) -> Result<serde_json::Value, TargetError> {
        let workload = self.workload.lock().map(|w| w.clone()).unwrap_or_default();
        let mut table = self.routing.lock().unwrap_or_else(|p| p.into_inner());
        let (range, to) = rebalance::draw(&table, &workload, seed)
            .ok_or_else(|| TargetError::unsupported("builtin-sharded", "rebalancing one group"))?;
        let mv = RangeMove::new(&table, range.clone(), to)
            .map_err(|e| TargetError::node(ROUTER, e.to_string()))?;
        let members = self.members();
        let (spec, mut v) = rebalance::switch(&self.switch_with(&members)?, &Handover::from(&mv));
        *table = spec
            .table()
            .map_err(|e| TargetError::node(ROUTER, e.to_string()))?;
        let from = mv.givers(&[]);
        v["action"] = serde_json::json!("move");
        v["range"] = serde_json::json!([range.lo, range.hi]);
        v["to"] = serde_json::json!(to);
        v["from"] = serde_json::json!(from);
        let hit = members
            .iter()
            .filter(|m| m.group == to || from.contains(&m.group));
        Ok(add::hit_all(v, hit))
    }

    fn nodes_client(&self, node: &str) -> Option<std::net::SocketAddr> {
        self.ctxs
            .get(node)
            .and_then(|c| c.net.dial.get("client").copied())
    }
}

impl Target for Sharded {
    fn name(&self) -> &str {
        "builtin-sharded"
    }
    fn ports(&self) -> PortPlan {
        self.groups[0].ports()
    }
    fn setup(&mut self, nodes: Vec<NodeCtx>) -> Result<(), TargetError> {
        let mut members: Vec<Vec<NodeCtx>> = vec![Vec::new(); self.groups.len()];
        for n in nodes {
            if n.id == ROUTER {
                self.router = Some(n);
                continue;
            }
            let i: usize =
                n.id.strip_prefix('n')
                    .and_then(|i| i.parse().ok())
                    .filter(|&i| i >= 1 && i <= self.size * self.groups.len())
                    .ok_or_else(|| TargetError::UnknownNode(n.id.clone()))?;
            let g = (i - 1) / self.size;
            self.group_of.insert(n.id.clone(), g);
            self.ctxs.insert(n.id.clone(), n.clone());
            members[g].push(n);
        }
        // Each group's nodes know only their own group's peers.
        for (g, mut m) in members.into_iter().enumerate() {
            let ids: Vec<NodeId> = m.iter().map(|n| n.id.clone()).collect();
            for n in &mut m {
                n.net.peers.retain(|id, _| ids.contains(id));
            }
            self.groups[g].setup(m)?;
        }
        self.router_ctx()?;
        Ok(())
    }
    fn start(&self, node: &str) -> Result<(), TargetError> {
        if self.dormant(node) {
            return Err(TargetError::node(
                node,
                "reserved for --shard-adds: not added yet",
            ));
        }
        if node != ROUTER {
            self.group(node)?.start(node)?;
            self.refence(node);
            return Ok(());
        }
        let r = self.router_ctx()?;
        self.sup.start(node, || -> Result<_, TargetError> {
            let mut p =
                NodeProcess::new(node, vec![], self.router_argv(r), vec![], r.log.clone()).marked(&self.tag);
            p.start()?;
            Ok(vec![p])
        })
    }
    fn healthy(&self, node: &str, t: Duration) -> Result<(), TargetError> {
        if node != ROUTER {
            return self.group(node)?.healthy(node, t);
        }
        StoreClient::connect(self.router_addr()?, t)
            .map(|_| ())
            .map_err(|e| TargetError::node(ROUTER, e.to_string()))
    }
    fn stop(&self, node: &str) -> Result<(), TargetError> {
        match node {
            ROUTER => Ok(self.sup.stop(node, Duration::from_secs(2))?),
            _ => self.group(node)?.stop(node),
        }
    }
    fn kill(&self, node: &str) -> Result<(), TargetError> {
        match node {
            ROUTER => Ok(self.sup.kill(node)?),
            _ => self.group(node)?.kill(node),
        }
    }
    fn pause(&self, node: &str) -> Result<(), TargetError> {
        match node {
            ROUTER => Ok(self.sup.pause(node)?),
            _ => self.group(node)?.pause(node),
        }
    }
    fn resume(&self, node: &str) -> Result<(), TargetError> {
        match node {
            ROUTER => self.sup.resume(node)?,
            _ => self.group(node)?.resume(node)?,
        }
        self.refence(node);
        Ok(())
    }
    fn is_running(&self, node: &str) -> bool {
        match node {
            ROUTER => self.sup.is_running(node),
            _ => self.group(node).is_ok_and(|g| g.is_running(node)),
        }
    }
    fn set_clock_offset(&self, node: &str, ms: i64) -> Result<(), TargetError> {
        match node {
            ROUTER => Err(TargetError::unsupported(
                "builtin-sharded",
                "clock faults on the router",
            )),
            _ => self.group(node)?.set_clock_offset(node, ms),
        }
    }
    fn set_clock_rate(&self, node: &str, rate: f64) -> Result<(), TargetError> {
        match node {
            ROUTER => Err(TargetError::unsupported(
                "builtin-sharded",
                "clock faults on the router",
            )),
            _ => self.group(node)?.set_clock_rate(node, rate),
        }
    }
    fn supports_clock_rate(&self) -> bool {
        true
    }
    fn supports_clock_offset(&self) -> bool {
        true
    }
    fn has_leader(&self) -> bool {
        true
    }
    /// The started groups' leaders take turns: the k-th fault aimed at the leader hits
    /// group k mod G's (the turn moves only once one is found, so a poll waiting for an
    /// election keeps asking the same group, and a seed's schedule hits the same groups).
    fn leader(&self) -> Result<Option<NodeId>, TargetError> {
        let started = self.started.load(Ordering::SeqCst).clamp(1, self.groups.len());
        turn_leader(&self.leader_turn, started, |g| self.groups[g].leader())
    }
    fn dormant(&self, node: &str) -> bool {
        self.group_of
            .get(node)
            .is_some_and(|&g| g >= self.started.load(Ordering::SeqCst))
    }
    /// A group added while reserved ones are left and the seed draws it (or when
    /// one group cannot move a range), else a range move.
    fn rebalance(&self, seed: u64) -> Result<serde_json::Value, TargetError> {
        let groups = self.routing.lock().map(|t| t.groups()).unwrap_or(self.base);
        if rebalance::adds_now(seed, groups, self.groups.len()) {
            return self.add_group();
        }
        self.move_range(seed)
    }
    fn supports_rebalance(&self) -> bool {
        self.groups.len() >= 2
    }
    fn prepare(&self, w: &WorkloadInfo) -> Result<(), TargetError> {
        if let Ok(mut name) = self.workload.lock() {
            *name = w.name.clone();
        }
        if w.name == "bank" {
            return Err(TargetError::unsupported(
                "builtin-sharded",
                "the bank workload (its transfers cross shards; use register, set or append)",
            ));
        }
        Ok(())
    }
    /// Every client talks to the router, whichever node it was assigned.
    fn client(&self, _node: &str, w: &WorkloadInfo) -> Result<Box<dyn Client>, TargetError> {
        let addrs = BTreeMap::from([(ROUTER.to_string(), self.router_addr()?)]);
        Ok(super::builtin::client_for(addrs, ROUTER, w))
    }
    fn log_files(&self) -> Vec<(NodeId, PathBuf)> {
        let started = self.started.load(Ordering::SeqCst);
        let mut v: Vec<(NodeId, PathBuf)> = self.groups[..started.min(self.groups.len())]
            .iter()
            .flat_map(|g| g.log_files())
            .collect();
        v.extend(self.router.iter().map(|r| (r.id.clone(), r.log.clone())));
        v
    }
    fn teardown(&mut self) -> Result<(), TargetError> {
        self.sup.kill_all();
        for g in &mut self.groups {
            g.teardown()?;
        }
        Ok(())
    }
}

/// Asks group `turn mod groups` for its leader; the turn advances only when one answers.
fn turn_leader(
    turn: &AtomicUsize,
    groups: usize,
    ask: impl Fn(usize) -> Result<Option<NodeId>, TargetError>,
) -> Result<Option<NodeId>, TargetError> {
    let t = turn.load(Ordering::SeqCst);
    let found = ask(t % groups.max(1))?;
    if found.is_some() {
        turn.store(t + 1, Ordering::SeqCst);
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leader_faults_take_the_groups_in_turn_and_a_group_without_one_keeps_its_turn() {
        let turn = AtomicUsize::new(0);
        let elected = std::cell::Cell::new(false);
        let ask = |g: usize| -> Result<Option<NodeId>, TargetError> {
            // Group 1 (the second) has no leader until `elected`.
            Ok((g != 1 || elected.get()).then(|| format!("g{g}")))
        };
        let mut hit = Vec::new();
        hit.push(turn_leader(&turn, 3, ask).unwrap());
        hit.push(turn_leader(&turn, 3, ask).unwrap());
        hit.push(turn_leader(&turn, 3, ask).unwrap());
        elected.set(true);
        for _ in 0..3 {
            hit.push(turn_leader(&turn, 3, ask).unwrap());
        }
        let names: Vec<Option<&str>> = hit.iter().map(|h| h.as_deref()).collect();
        assert_eq!(
            names,
            [Some("g0"), None, None, Some("g1"), Some("g2"), Some("g0")]
        );
    }
}
