//! Redis + Sentinel as a runner target: the [`TargetSystem`] glue between the generic external
//! target and the Redis cluster, client and failover events.

use super::logparse::TimeBase;
use super::{Redis, RedisNodeSpec, RedisWorkload};
use crate::client::Client;
use crate::system::external::{addr, te, Cluster, ExternalError, ExternalTarget, TargetDef, TargetSystem};
use crate::system::{NodeCtx, NodeId, PortPlan, TargetError, WorkloadInfo};
use std::path::{Path, PathBuf};
use std::time::Duration;

const REDIS_TOML: &str = include_str!("../../../targets/redis-sentinel.toml");

/// `targets/redis-sentinel.toml` from the working directory, else the built-in copy.
pub fn definition() -> Result<(TargetDef, PathBuf), ExternalError> {
    crate::system::external::load_def("redis-sentinel.toml", REDIS_TOML)
}

/// Redis + Sentinel as a runner target.
pub type RedisTarget = ExternalTarget<Redis>;

impl ExternalTarget<Redis> {
    /// Without a time origin: no failover events are derived (see [`Self::with_time_origin`]).
    pub fn new() -> Result<RedisTarget, ExternalError> {
        Self::load("redis-sentinel.toml", REDIS_TOML, |_| None)
    }

    /// `origin_ns` (CLOCK_MONOTONIC) is the history's time 0: failover and primary events are
    /// derived from the Sentinel and server logs in that base, into
    /// `nodes/sentinel-events.log`. The REALTIME−MONOTONIC offset is captured now.
    pub fn with_time_origin(origin_ns: u64) -> Result<RedisTarget, ExternalError> {
        Self::load("redis-sentinel.toml", REDIS_TOML, |_| {
            Some(TimeBase::capture(origin_ns))
        })
    }

    /// From a definition file, deriving failover events as [`Self::with_time_origin`].
    pub fn from_def(def: TargetDef, path: &Path, origin_ns: u64) -> RedisTarget {
        Self::with_def(def, path, Some(TimeBase::capture(origin_ns)))
    }
}

impl TargetSystem for Redis {
    const NAME: &'static str = "redis";
    /// The time base for derived events, if the run gave one.
    type Opts = Option<TimeBase>;
    fn ports(_def: &TargetDef) -> PortPlan {
        PortPlan {
            names: vec!["redis".into(), "sentinel".into()],
            peer: "redis".into(),
            client: "redis".into(),
        }
    }
    fn spec(_def: &TargetDef, n: &NodeCtx) -> Result<RedisNodeSpec, TargetError> {
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
        let n = t.def().adapter_int("wait_replicas", 0);
        let wait = (n > 0).then(|| (n as u32, t.def().adapter_int("wait_timeout_ms", 100) as u64));
        Ok(Box::new(c.client(workload, wait)))
    }
    const CLOCK_OFFSETS: bool = true;
    fn set_clock_offset(c: &Cluster<Redis>, node: &str, offset_ms: i64) -> Result<(), TargetError> {
        c.set_clock_offset(node, offset_ms).map_err(te)
    }
    fn after_setup(t: &RedisTarget, c: &Cluster<Redis>) {
        if let Some(tb) = *t.opts() {
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
