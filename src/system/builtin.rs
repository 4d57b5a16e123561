//! The built-in store as a target: `faultline node` processes placed by the
//! network back end, spoken to with `store::client` and `store::admin`.
//!
//! Workload mapping: register/session ops map 1:1 (key as given); set `add`
//! appends to key `set` and its `read` reads it; counter `incr` is a txn
//! `incr` on key `counter`; bank accounts are keys `acct-<n>` (the first
//! holds the whole total initially, set up by the first transfer's client),
//! bank `read` is a txn of reads; `txn` passes through. `NotLeader` answers are
//! followed once to the hinted leader.

use super::builtin_ops::{acct, Answer, OpMap};
use super::process::{NodeProcess, Supervisor};
use super::remote::RemoteNodes;
use super::{NodeCtx, NodeId, PortPlan, Target, TargetError, WorkloadInfo};
use crate::client::{Client, Completion};
use crate::history::Op;
use crate::store::admin::AdminClient;
use crate::store::client::{ClientError, StoreClient};
use crate::store::core::{Reads, Replication, Role};
use crate::store::ops::Request;
use crate::store::wal::FsyncPolicy;
use crate::store::Topology;
use crate::system::leaderless::{LeaderlessClient, LeaderlessModes};
use crate::system::multileader::MultiLeaderModes;
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The built-in store's modes: what `faultline node` is started with. The safe defaults
/// (quorum, linearizable reads, fencing, batched fsync) must pass every checker; each unsafe
/// mode must be caught (README's table).
#[derive(Clone, Debug, PartialEq)]
pub struct BuiltinModes {
    pub replication: Replication,
    pub reads: Reads,
    pub fencing: bool,
    pub fsync: FsyncPolicy,
    pub heartbeat_ms: u64,
    pub election_timeout_ms: u64,
    /// Which protocol the nodes run; `leaderless` takes the settings below.
    pub topology: Topology,
    pub leaderless: LeaderlessModes,
    /// A leaderless key a plan or flag set while the topology is single-leader
    /// (refused by [`crate::system::SystemConfig::validate`], never ignored).
    pub leaderless_given: Option<&'static str>,
    /// `--shards K`: K groups behind a router ([`crate::system::sharded`]).
    pub shards: super::shard_modes::ShardModes,
    /// `--topology multi-leader`'s settings.
    pub multileader: MultiLeaderModes,
    /// A multi-leader key set while the topology is another one (refused).
    pub multileader_given: Option<&'static str>,
}

impl Default for BuiltinModes {
    fn default() -> Self {
        BuiltinModes {
            replication: Replication::Quorum,
            reads: Reads::Linearizable,
            fencing: true,
            fsync: FsyncPolicy::Batch,
            heartbeat_ms: 50,
            election_timeout_ms: 500,
            topology: Topology::SingleLeader,
            leaderless: LeaderlessModes::default(),
            leaderless_given: None,
            shards: Default::default(),
            multileader: MultiLeaderModes::default(),
            multileader_given: None,
        }
    }
}

/// The name a clap value enum is written with (`semi-sync`), for argv and messages.
pub fn value_name<T: clap::ValueEnum>(v: &T) -> String {
    v.to_possible_value()
        .map(|p| p.get_name().to_string())
        .unwrap_or_default()
}

pub struct Builtin {
    binary: PathBuf,
    modes: BuiltinModes,
    time_origin_ns: u64,
    /// The run tag its node processes carry (`faultline cleanup` finds them by it).
    tag: String,
    sup: Supervisor,
    nodes: BTreeMap<NodeId, NodeCtx>,
    /// Set when the nodes run on remote hosts (`--hosts`) instead of under `sup`.
    remote: Option<RemoteNodes>,
}

impl Builtin {
    /// `binary` runs `faultline node ...` (normally this executable).
    pub fn new(binary: PathBuf, modes: BuiltinModes, time_origin_ns: u64, tag: &str) -> Builtin {
        Builtin {
            binary,
            modes,
            time_origin_ns,
            tag: tag.to_string(),
            sup: Supervisor::new(),
            nodes: BTreeMap::new(),
            remote: None,
        }
    }

    /// The same store with its nodes on remote hosts, started and signalled over SSH.
    pub fn on_hosts(mut self, remote: RemoteNodes) -> Builtin {
        self.remote = Some(remote);
        self
    }

    fn ctx(&self, node: &str) -> Result<&NodeCtx, TargetError> {
        self.nodes
            .get(node)
            .ok_or_else(|| TargetError::UnknownNode(node.into()))
    }

    fn dial(&self, node: &str, port: &str) -> Result<SocketAddr, TargetError> {
        self.ctx(node)?
            .net
            .dial
            .get(port)
            .copied()
            .ok_or_else(|| TargetError::node(node, format!("no {port} port")))
    }

    fn admin(&self, node: &str, t: Duration) -> Result<AdminClient, TargetError> {
        AdminClient::connect(self.dial(node, "admin")?, t).map_err(|e| TargetError::node(node, e.to_string()))
    }

    fn argv(&self, n: &NodeCtx) -> Vec<String> {
        let bin = self.binary.display().to_string();
        self.argv_with(n, &bin, self.time_origin_ns)
    }

    /// The node's command line: `n`'s placement and paths, `binary`, events timed from `origin`.
    fn argv_with(&self, n: &NodeCtx, binary: &str, origin: u64) -> Vec<String> {
        let m = &self.modes;
        let cluster: Vec<String> = n.net.peers.iter().map(|(id, a)| format!("{id}={a}")).collect();
        let mut v = n.net.exec_prefix.clone();
        v.push(binary.to_string());
        v.extend(
            [
                "node",
                "--id",
                &n.id,
                "--listen",
                &n.net.listen["peer"].to_string(),
                "--client",
                &n.net.listen["client"].to_string(),
                "--admin",
                &n.net.listen["admin"].to_string(),
                "--cluster",
                &cluster.join(","),
                "--data-dir",
                &n.data_dir.display().to_string(),
                "--log",
                &n.log.display().to_string(),
                "--replication",
                &value_name(&m.replication),
                "--reads",
                &value_name(&m.reads),
                "--fsync",
                &value_name(&m.fsync),
                "--heartbeat-ms",
                &m.heartbeat_ms.to_string(),
                "--election-timeout-ms",
                &m.election_timeout_ms.to_string(),
                "--time-origin-ns",
                &origin.to_string(),
            ]
            .iter()
            .map(|s| s.to_string()),
        );
        if !m.fencing {
            v.push("--no-fencing".into());
        }
        match m.topology {
            Topology::Leaderless => v.extend(m.leaderless.argv()),
            Topology::MultiLeader => v.extend(m.multileader.argv()),
            Topology::SingleLeader => {}
        }
        v
    }

    fn leaderless(&self) -> bool {
        self.modes.topology == Topology::Leaderless
    }

    /// The conflict mode a leaderless-style client speaks, if the topology has one.
    fn conflict(&self) -> Option<crate::store::conflict::ConflictMode> {
        match self.modes.topology {
            Topology::Leaderless => Some(self.modes.leaderless.conflict),
            Topology::MultiLeader => Some(self.modes.multileader.conflict),
            Topology::SingleLeader => None,
        }
    }
}

impl Target for Builtin {
    fn name(&self) -> &str {
        "builtin"
    }
    fn ports(&self) -> PortPlan {
        PortPlan {
            names: vec!["peer".into(), "client".into(), "admin".into()],
            peer: "peer".into(),
            client: "client".into(),
        }
    }
    fn setup(&mut self, nodes: Vec<NodeCtx>) -> Result<(), TargetError> {
        if let Some(r) = &mut self.remote {
            r.setup(&nodes)?;
        }
        for n in nodes {
            self.nodes.insert(n.id.clone(), n);
        }
        Ok(())
    }
    fn start(&self, node: &str) -> Result<(), TargetError> {
        let n = self.ctx(node)?;
        if let Some(r) = &self.remote {
            let at = r.start_ctx(n, self.time_origin_ns)?;
            return r.start(node, &self.argv_with(&at.ctx, &at.binary, at.origin_ns));
        }
        self.sup.start(node, || -> Result<_, TargetError> {
            let mut p = NodeProcess::new(node, vec![], self.argv(n), vec![], n.log.clone()).marked(&self.tag);
            p.start()?;
            Ok(vec![p])
        })
    }
    fn healthy(&self, node: &str, t: Duration) -> Result<(), TargetError> {
        let s = self
            .admin(node, t)?
            .status()
            .map_err(|e| TargetError::node(node, e.to_string()))?;
        // Leaderless: every node coordinates, so answering is being ready.
        if s.leader.is_some() || (self.leaderless() && s.role == Role::Peer) {
            Ok(())
        } else {
            Err(TargetError::node(node, "no leader known yet"))
        }
    }
    fn stop(&self, node: &str) -> Result<(), TargetError> {
        match &self.remote {
            Some(r) => r.stop(node, Duration::from_secs(2)),
            None => Ok(self.sup.stop(node, Duration::from_secs(2))?),
        }
    }
    fn kill(&self, node: &str) -> Result<(), TargetError> {
        match &self.remote {
            Some(r) => r.kill(node),
            None => Ok(self.sup.kill(node)?),
        }
    }
    fn pause(&self, node: &str) -> Result<(), TargetError> {
        match &self.remote {
            Some(r) => r.pause(node),
            None => Ok(self.sup.pause(node)?),
        }
    }
    fn resume(&self, node: &str) -> Result<(), TargetError> {
        match &self.remote {
            Some(r) => r.resume(node),
            None => Ok(self.sup.resume(node)?),
        }
    }
    fn is_running(&self, node: &str) -> bool {
        match &self.remote {
            Some(r) => r.is_running(node),
            None => self.sup.is_running(node),
        }
    }
    fn set_clock_offset(&self, node: &str, ms: i64) -> Result<(), TargetError> {
        self.admin(node, Duration::from_millis(500))?
            .set_clock_offset(ms)
            .map_err(|e| TargetError::node(node, e.to_string()))
    }
    fn set_clock_rate(&self, node: &str, rate: f64) -> Result<(), TargetError> {
        self.admin(node, Duration::from_millis(500))?
            .set_clock_rate(rate)
            .map_err(|e| TargetError::node(node, e.to_string()))
    }
    fn supports_clock_rate(&self) -> bool {
        true
    }
    fn supports_clock_offset(&self) -> bool {
        true
    }
    fn has_leader(&self) -> bool {
        !self.leaderless()
    }
    fn datacenters(&self) -> Option<Vec<Vec<NodeId>>> {
        if self.modes.topology != Topology::MultiLeader {
            return None;
        }
        let ids: Vec<String> = self.nodes.keys().cloned().collect();
        crate::system::multileader::datacenters(&ids, self.modes.multileader.datacenters)
    }
    fn leader(&self) -> Result<Option<NodeId>, TargetError> {
        let mut best: Option<(u64, String)> = None;
        for id in self.nodes.keys() {
            if let Ok(mut a) = self.admin(id, Duration::from_millis(300)) {
                if let Ok(s) = a.status() {
                    if s.role == Role::Leader && best.as_ref().is_none_or(|(t, _)| s.term > *t) {
                        best = Some((s.term, id.clone()));
                    }
                }
            }
        }
        Ok(best.map(|(_, n)| n))
    }
    fn prepare(&self, w: &WorkloadInfo) -> Result<(), TargetError> {
        if w.name != "bank" {
            return Ok(());
        }
        let first = w.params["accounts"][0].clone();
        let total = w.params["total"].clone();
        let op = Op::new(
            crate::history::OpType::Invoke,
            crate::history::Process::Client(0),
            "write",
            total,
        )
        .with_key(acct(&first));
        let mut last = String::new();
        for attempt in 0..50 {
            let node = self
                .nodes
                .keys()
                .nth(attempt % self.nodes.len().max(1))
                .cloned()
                .unwrap_or_default();
            let mut c = self.client(
                &node,
                &WorkloadInfo {
                    name: "register".into(),
                    params: Value::Null,
                },
            )?;
            let r = c.invoke(&op, Duration::from_secs(2));
            if r.ty == crate::history::OpType::Ok {
                return Ok(());
            }
            last = r.error.unwrap_or_default();
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(TargetError::node(
            "cluster",
            format!("cannot write bank balances: {last}"),
        ))
    }
    fn client(&self, node: &str, w: &WorkloadInfo) -> Result<Box<dyn Client>, TargetError> {
        let addrs: BTreeMap<String, SocketAddr> = self
            .nodes
            .keys()
            .map(|id| Ok((id.clone(), self.dial(id, "client")?)))
            .collect::<Result<_, TargetError>>()?;
        self.ctx(node)?;
        if let Some(conflict) = self.conflict() {
            let addrs = addrs.into_iter().collect();
            return Ok(Box::new(LeaderlessClient::new(addrs, node, w, conflict)));
        }
        Ok(Box::new(BuiltinClient {
            addrs,
            node: node.to_string(),
            conn: None,
            map: OpMap::new(w.clone()),
            next_id: 0,
        }))
    }
    fn log_files(&self) -> Vec<(NodeId, PathBuf)> {
        self.nodes
            .values()
            .map(|n| (n.id.clone(), n.log.clone()))
            .collect()
    }
    fn teardown(&mut self) -> Result<(), TargetError> {
        self.sup.kill_all();
        match &self.remote {
            Some(r) => r.teardown(),
            None => Ok(()),
        }
    }
}

/// A client of the single-leader store speaking `w`'s ops, first to `node` of `addrs`
/// (the sharded store's clients: to its router).
pub(crate) fn client_for(
    addrs: BTreeMap<String, SocketAddr>,
    node: &str,
    w: &WorkloadInfo,
) -> Box<dyn Client> {
    Box::new(BuiltinClient {
        addrs,
        node: node.to_string(),
        conn: None,
        map: OpMap::new(w.clone()),
        next_id: 0,
    })
}

struct BuiltinClient {
    addrs: BTreeMap<String, SocketAddr>,
    node: String,
    conn: Option<StoreClient>,
    map: OpMap,
    next_id: u64,
}

impl BuiltinClient {
    fn send(
        &mut self,
        node: &str,
        req: &Request,
        t: Duration,
    ) -> Result<crate::store::ops::Response, ClientError> {
        if self
            .conn
            .as_ref()
            .map(|c| Some(c.addr()) != self.addrs.get(node).copied())
            .unwrap_or(true)
        {
            self.conn = None;
            let addr = self.addrs[node];
            self.conn = Some(StoreClient::connect(addr, t)?);
        }
        let r = self.conn.as_mut().expect("connected").request(req, t);
        if r.is_err() {
            self.conn = None;
        }
        r
    }
}

impl Client for BuiltinClient {
    fn invoke(&mut self, op: &Op, timeout: Duration) -> Completion {
        let cop = match self.map.translate(op) {
            Ok(c) => c,
            Err(e) => return Completion::fail(op.value.clone(), e),
        };
        self.next_id += 1;
        let req = Request {
            id: self.next_id,
            op: cop,
        };
        let mut node = self.node.clone();
        for _hop in 0..2 {
            match self.send(&node, &req, timeout) {
                Ok(resp) => {
                    let known = |l: &str| self.addrs.contains_key(l);
                    match self.map.answer(op, &resp.node, resp.outcome, known) {
                        Answer::Done(c) => return c,
                        Answer::Redirect(l) => node = l,
                    }
                }
                Err(e) if e.is_definite() => return Completion::fail(op.value.clone(), e.to_string()),
                Err(e) => return Completion::info(op.value.clone(), e.to_string()),
            }
        }
        Completion::fail(op.value.clone(), "not leader after redirect")
    }
}
