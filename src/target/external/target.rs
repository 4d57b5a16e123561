//! Glue between the runner's [`Target`] trait and the etcd / Redis clusters: node contexts from
//! the network back end become node specs; [`ExternalError`]s become [`TargetError`]s. One
//! generic [`ExternalTarget`] does the forwarding; each system says only its name, ports, spec
//! and client ([`TargetSystem`]).
//!
//! `--target etcd` / `--target redis` read `targets/<name>.toml` from the working directory if
//! present (so users can edit it), else the copy compiled into the binary.

use super::{Cluster, ExternalError, System, TargetDef};
use crate::client::Client;
use crate::target::etcd::{Etcd, EtcdClientConfig, EtcdNodeSpec, EtcdWorkload};
use crate::target::redis::logparse::TimeBase;
use crate::target::redis::{Redis, RedisNodeSpec, RedisWorkload};
use crate::target::{NodeCtx, NodeId, PortPlan, Target, TargetError, WorkloadInfo};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

const ETCD_TOML: &str = include_str!("../../../targets/etcd.toml");
const REDIS_TOML: &str = include_str!("../../../targets/redis-sentinel.toml");

fn te(e: ExternalError) -> TargetError {
    TargetError::Config(e.to_string())
}

/// Loads `targets/<file>` from the working directory, else the built-in copy.
pub fn load_def(file: &str) -> Result<(TargetDef, PathBuf), ExternalError> {
    let path = Path::new("targets").join(file);
    if path.is_file() {
        return Ok((TargetDef::load(&path)?, path));
    }
    let text = match file {
        "etcd.toml" => ETCD_TOML,
        _ => REDIS_TOML,
    };
    let p = PathBuf::from(format!("(built-in) targets/{file}"));
    Ok((TargetDef::parse(text, &p)?, p))
}

fn addr(
    ctx: &NodeCtx,
    map: &std::collections::BTreeMap<String, SocketAddr>,
    port: &str,
) -> Result<SocketAddr, TargetError> {
    map.get(port)
        .copied()
        .ok_or_else(|| TargetError::node(&ctx.id, format!("the network back end gave no `{port}` port")))
}

/// What a system adds to the generic runner target.
pub trait TargetSystem: System {
    /// The target's name (`etcd`, `redis`).
    const NAME: &'static str;
    /// Target options beyond the definition (e.g. etcd's serializable reads).
    type Opts;
    fn ports() -> PortPlan;
    /// The node spec for a node context from the network back end.
    fn spec(n: &NodeCtx) -> Result<Self::Spec, TargetError>;
    fn leader(c: &Cluster<Self>) -> Option<NodeId>;
    fn client(
        t: &ExternalTarget<Self>,
        c: &Cluster<Self>,
        node: &str,
        w: &WorkloadInfo,
    ) -> Result<Box<dyn Client>, TargetError>;
    fn set_clock_offset(_c: &Cluster<Self>, _node: &str, _offset_ms: i64) -> Result<(), TargetError> {
        Err(TargetError::unsupported(Self::NAME, "clock offsets"))
    }
    /// Called once the cluster exists (nothing started yet).
    fn after_setup(_t: &ExternalTarget<Self>, _c: &Cluster<Self>) {}
    /// Called at teardown before the processes are killed; must leave every derived log
    /// complete, since the checkers read them right after.
    fn before_teardown(_c: &Cluster<Self>) -> Result<(), TargetError> {
        Ok(())
    }
    /// Logs derived from the node logs (e.g. Redis failover events), beyond each node's own.
    fn derived_logs(_c: &Cluster<Self>) -> Vec<(NodeId, PathBuf)> {
        Vec::new()
    }
}

/// An external system as a runner target: its definition, its options, and (after setup) its
/// cluster.
pub struct ExternalTarget<Y: TargetSystem> {
    def: TargetDef,
    path: PathBuf,
    opts: Y::Opts,
    cluster: Option<Cluster<Y>>,
}

/// etcd as a runner target.
pub type EtcdTarget = ExternalTarget<Etcd>;
/// Redis + Sentinel as a runner target.
pub type RedisTarget = ExternalTarget<Redis>;

impl<Y: TargetSystem> ExternalTarget<Y> {
    fn load(file: &str, opts: impl FnOnce(&TargetDef) -> Y::Opts) -> Result<Self, ExternalError> {
        let (def, path) = load_def(file)?;
        Ok(ExternalTarget {
            opts: opts(&def),
            def,
            path,
            cluster: None,
        })
    }
    fn c(&self) -> Result<&Cluster<Y>, TargetError> {
        self.cluster
            .as_ref()
            .ok_or_else(|| TargetError::Config(format!("{} target used before setup", Y::NAME)))
    }
}

impl<Y: TargetSystem> ExternalTarget<Y> {
    /// From an already loaded definition (`faultline test --target FILE.toml`).
    pub fn with_def(def: TargetDef, path: &Path, opts: Y::Opts) -> Self {
        ExternalTarget {
            def,
            path: path.to_path_buf(),
            opts,
            cluster: None,
        }
    }
}

impl ExternalTarget<Etcd> {
    /// From a definition file; `serializable` as in [`Self::new`].
    pub fn from_def(def: TargetDef, path: &Path, serializable: bool) -> EtcdTarget {
        let s = serializable || def.adapter_str("reads", "linearizable") == "serializable";
        Self::with_def(def, path, s)
    }

    /// `serializable`: register reads with `serializable: true` (stale reads expected).
    pub fn new(serializable: bool) -> Result<EtcdTarget, ExternalError> {
        Self::load("etcd.toml", |def| {
            serializable || def.adapter_str("reads", "linearizable") == "serializable"
        })
    }
}

impl ExternalTarget<Redis> {
    /// Without a time origin: no failover events are derived (see [`Self::with_time_origin`]).
    pub fn new() -> Result<RedisTarget, ExternalError> {
        Self::load("redis-sentinel.toml", |_| None)
    }

    /// `origin_ns` (CLOCK_MONOTONIC) is the history's time 0: failover and primary events are
    /// derived from the Sentinel and server logs in that base, into
    /// `nodes/sentinel-events.log`. The REALTIME−MONOTONIC offset is captured now.
    pub fn with_time_origin(origin_ns: u64) -> Result<RedisTarget, ExternalError> {
        Self::load("redis-sentinel.toml", |_| Some(TimeBase::capture(origin_ns)))
    }

    /// From a definition file, deriving failover events as [`Self::with_time_origin`].
    pub fn from_def(def: TargetDef, path: &Path, origin_ns: u64) -> RedisTarget {
        Self::with_def(def, path, Some(TimeBase::capture(origin_ns)))
    }
}

impl<Y> Target for ExternalTarget<Y>
where
    Y: TargetSystem + Send + Sync,
    Y::Spec: Send + Sync,
    Y::Opts: Send + Sync,
{
    fn name(&self) -> &str {
        Y::NAME
    }
    fn ports(&self) -> PortPlan {
        Y::ports()
    }
    fn health_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.def.health_timeout_ms)
    }
    fn setup(&mut self, nodes: Vec<NodeCtx>) -> Result<(), TargetError> {
        for b in &self.def.binaries {
            super::check_binary(b, &self.def.install).map_err(te)?;
        }
        let specs = nodes.iter().map(Y::spec).collect::<Result<Vec<_>, _>>()?;
        let c = Cluster::new(self.def.clone(), &self.path, specs);
        // The system's own checks (e.g. that clock faults can work), before anything starts.
        Y::preflight(&c).map_err(te)?;
        Y::after_setup(self, &c);
        self.cluster = Some(c);
        Ok(())
    }
    fn start(&self, node: &str) -> Result<(), TargetError> {
        self.c()?.start(node).map_err(te)
    }
    fn healthy(&self, node: &str, timeout: Duration) -> Result<(), TargetError> {
        self.c()?
            .healthy(node, timeout)
            .map_err(|m| TargetError::node(node, m))
    }
    fn stop(&self, node: &str) -> Result<(), TargetError> {
        self.c()?.stop(node).map_err(te)
    }
    fn kill(&self, node: &str) -> Result<(), TargetError> {
        self.c()?.kill(node).map_err(te)
    }
    fn pause(&self, node: &str) -> Result<(), TargetError> {
        self.c()?.pause(node).map_err(te)
    }
    fn resume(&self, node: &str) -> Result<(), TargetError> {
        self.c()?.resume(node).map_err(te)
    }
    fn is_running(&self, node: &str) -> bool {
        self.c().map(|c| c.is_running(node)).unwrap_or(false)
    }
    fn set_clock_offset(&self, node: &str, offset_ms: i64) -> Result<(), TargetError> {
        Y::set_clock_offset(self.c()?, node, offset_ms)
    }
    fn leader(&self) -> Result<Option<NodeId>, TargetError> {
        Ok(Y::leader(self.c()?))
    }
    fn client(&self, node: &str, w: &WorkloadInfo) -> Result<Box<dyn Client>, TargetError> {
        Y::client(self, self.c()?, node, w)
    }
    fn log_files(&self) -> Vec<(NodeId, PathBuf)> {
        let Some(c) = &self.cluster else { return Vec::new() };
        let mut logs = c.log_files();
        logs.extend(Y::derived_logs(c));
        logs
    }
    fn teardown(&mut self) -> Result<(), TargetError> {
        let mut r = Ok(());
        if let Some(c) = &self.cluster {
            r = Y::before_teardown(c);
            c.teardown();
        }
        r
    }
}

impl TargetSystem for Etcd {
    const NAME: &'static str = "etcd";
    /// Serializable register reads.
    type Opts = bool;
    fn ports() -> PortPlan {
        PortPlan {
            names: vec!["client".into(), "peer".into()],
            peer: "peer".into(),
            client: "client".into(),
        }
    }
    fn spec(n: &NodeCtx) -> Result<EtcdNodeSpec, TargetError> {
        Ok(EtcdNodeSpec {
            id: n.id.clone(),
            client_listen: addr(n, &n.net.listen, "client")?,
            client_dial: addr(n, &n.net.dial, "client")?,
            peer_listen: addr(n, &n.net.listen, "peer")?,
            peer_advertise: n
                .net
                .peers
                .get(&n.id)
                .copied()
                .ok_or_else(|| TargetError::node(&n.id, "no peer address"))?,
            exec_prefix: n.net.exec_prefix.clone(),
            data_dir: n.data_dir.clone(),
            log: n.log.clone(),
        })
    }
    fn leader(c: &Cluster<Etcd>) -> Option<NodeId> {
        c.leader(Duration::from_secs(2))
    }
    fn client(
        t: &EtcdTarget,
        c: &Cluster<Etcd>,
        node: &str,
        w: &WorkloadInfo,
    ) -> Result<Box<dyn Client>, TargetError> {
        let workload = EtcdWorkload::from_name(&w.name).ok_or_else(|| {
            TargetError::unsupported(
                "etcd",
                &format!("workload `{}` (known: register, set, mutex)", w.name),
            )
        })?;
        let cfg = EtcdClientConfig {
            workload,
            serializable: t.opts,
            lease_ttl_s: t.def.adapter_int("lease_ttl_s", 10),
            prefix: t.def.adapter_str("prefix", "fl/"),
        };
        Ok(Box::new(c.client(node, cfg).map_err(te)?))
    }
}

impl TargetSystem for Redis {
    const NAME: &'static str = "redis";
    /// The time base for derived events, if the run gave one.
    type Opts = Option<TimeBase>;
    fn ports() -> PortPlan {
        PortPlan {
            names: vec!["redis".into(), "sentinel".into()],
            peer: "redis".into(),
            client: "redis".into(),
        }
    }
    fn spec(n: &NodeCtx) -> Result<RedisNodeSpec, TargetError> {
        Ok(RedisNodeSpec {
            id: n.id.clone(),
            redis_listen: addr(n, &n.net.listen, "redis")?,
            redis_dial: addr(n, &n.net.dial, "redis")?,
            sentinel_listen: addr(n, &n.net.listen, "sentinel")?,
            sentinel_dial: addr(n, &n.net.dial, "sentinel")?,
            exec_prefix: n.net.exec_prefix.clone(),
            data_dir: n.data_dir.clone(),
            log: n.log.clone(),
        })
    }
    fn leader(c: &Cluster<Redis>) -> Option<NodeId> {
        c.leader(Duration::from_secs(2))
    }
    fn client(
        t: &RedisTarget,
        c: &Cluster<Redis>,
        _node: &str,
        w: &WorkloadInfo,
    ) -> Result<Box<dyn Client>, TargetError> {
        let workload = RedisWorkload::from_name(&w.name).ok_or_else(|| {
            TargetError::unsupported("redis", &format!("workload `{}` (known: register, set)", w.name))
        })?;
        let n = t.def.adapter_int("wait_replicas", 0);
        let wait = (n > 0).then(|| (n as u32, t.def.adapter_int("wait_timeout_ms", 100) as u64));
        Ok(Box::new(c.client(workload, wait)))
    }
    fn set_clock_offset(c: &Cluster<Redis>, node: &str, offset_ms: i64) -> Result<(), TargetError> {
        c.set_clock_offset(node, offset_ms).map_err(te)
    }
    fn after_setup(t: &RedisTarget, c: &Cluster<Redis>) {
        if let Some(tb) = t.opts {
            c.start_events(tb);
        }
    }
    fn before_teardown(c: &Cluster<Redis>) -> Result<(), TargetError> {
        c.finish_events().map(|_| ()).map_err(|source| TargetError::Io {
            context: "writing nodes/sentinel-events.log".into(),
            source,
        })
    }
    fn derived_logs(c: &Cluster<Redis>) -> Vec<(NodeId, PathBuf)> {
        match (c.events_path(), c.sys_has_events()) {
            (Some(p), true) => vec![("sentinel-events".into(), p)],
            _ => Vec::new(),
        }
    }
}
