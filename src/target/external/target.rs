//! Glue between the runner's [`Target`] trait and the etcd / Redis clusters: node contexts from
//! the network back end become node specs; [`ExternalError`]s become [`TargetError`]s.
//!
//! `--target etcd` / `--target redis` read `targets/<name>.toml` from the working directory if
//! present (so users can edit it), else the copy compiled into the binary.

use super::{ExternalError, TargetDef};
use crate::client::Client;
use crate::target::etcd::{EtcdClientConfig, EtcdCluster, EtcdNodeSpec, EtcdWorkload};
use crate::target::redis::{RedisCluster, RedisNodeSpec, RedisWorkload};
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

/// etcd as a runner target.
pub struct EtcdTarget {
    def: TargetDef,
    path: PathBuf,
    serializable: bool,
    cluster: Option<EtcdCluster>,
}

impl EtcdTarget {
    /// `serializable`: register reads with `serializable: true` (stale reads expected).
    pub fn new(serializable: bool) -> Result<EtcdTarget, ExternalError> {
        let (def, path) = load_def("etcd.toml")?;
        let serializable = serializable || def.adapter_str("reads", "linearizable") == "serializable";
        Ok(EtcdTarget {
            def,
            path,
            serializable,
            cluster: None,
        })
    }
    fn c(&self) -> Result<&EtcdCluster, TargetError> {
        self.cluster
            .as_ref()
            .ok_or_else(|| TargetError::Config("etcd target used before setup".into()))
    }
}

impl Target for EtcdTarget {
    fn name(&self) -> &str {
        "etcd"
    }
    fn ports(&self) -> PortPlan {
        PortPlan {
            names: vec!["client".into(), "peer".into()],
            peer: "peer".into(),
            client: "client".into(),
        }
    }
    fn setup(&mut self, nodes: Vec<NodeCtx>) -> Result<(), TargetError> {
        for b in &self.def.binaries {
            super::check_binary(b, &self.def.install).map_err(te)?;
        }
        let mut specs = Vec::new();
        for n in &nodes {
            specs.push(EtcdNodeSpec {
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
            });
        }
        self.cluster = Some(EtcdCluster::new(self.def.clone(), &self.path, specs));
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
    fn leader(&self) -> Result<Option<NodeId>, TargetError> {
        Ok(self.c()?.leader(Duration::from_secs(2)))
    }
    fn client(&self, node: &str, w: &WorkloadInfo) -> Result<Box<dyn Client>, TargetError> {
        let workload = EtcdWorkload::from_name(&w.name).ok_or_else(|| {
            TargetError::unsupported(
                "etcd",
                &format!("workload `{}` (known: register, set, mutex)", w.name),
            )
        })?;
        let cfg = EtcdClientConfig {
            workload,
            serializable: self.serializable,
            lease_ttl_s: self.def.adapter_int("lease_ttl_s", 10),
            prefix: self.def.adapter_str("prefix", "fl/"),
        };
        Ok(Box::new(self.c()?.client(node, cfg).map_err(te)?))
    }
    fn log_files(&self) -> Vec<(NodeId, PathBuf)> {
        self.cluster.as_ref().map(|c| c.log_files()).unwrap_or_default()
    }
    fn teardown(&mut self) -> Result<(), TargetError> {
        if let Some(c) = &self.cluster {
            c.teardown();
        }
        Ok(())
    }
}

/// Redis + Sentinel as a runner target.
pub struct RedisTarget {
    def: TargetDef,
    path: PathBuf,
    cluster: Option<RedisCluster>,
}

impl RedisTarget {
    pub fn new() -> Result<RedisTarget, ExternalError> {
        let (def, path) = load_def("redis-sentinel.toml")?;
        Ok(RedisTarget {
            def,
            path,
            cluster: None,
        })
    }
    fn c(&self) -> Result<&RedisCluster, TargetError> {
        self.cluster
            .as_ref()
            .ok_or_else(|| TargetError::Config("redis target used before setup".into()))
    }
}

impl Target for RedisTarget {
    fn name(&self) -> &str {
        "redis"
    }
    fn ports(&self) -> PortPlan {
        PortPlan {
            names: vec!["redis".into(), "sentinel".into()],
            peer: "redis".into(),
            client: "redis".into(),
        }
    }
    fn setup(&mut self, nodes: Vec<NodeCtx>) -> Result<(), TargetError> {
        for b in &self.def.binaries {
            super::check_binary(b, &self.def.install).map_err(te)?;
        }
        let mut specs = Vec::new();
        for n in &nodes {
            specs.push(RedisNodeSpec {
                id: n.id.clone(),
                redis_listen: addr(n, &n.net.listen, "redis")?,
                redis_dial: addr(n, &n.net.dial, "redis")?,
                sentinel_listen: addr(n, &n.net.listen, "sentinel")?,
                sentinel_dial: addr(n, &n.net.dial, "sentinel")?,
                exec_prefix: n.net.exec_prefix.clone(),
                data_dir: n.data_dir.clone(),
                log: n.log.clone(),
            });
        }
        self.cluster = Some(RedisCluster::new(self.def.clone(), &self.path, specs));
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
        self.c()?.set_clock_offset(node, offset_ms).map_err(te)
    }
    fn leader(&self) -> Result<Option<NodeId>, TargetError> {
        Ok(self.c()?.leader(Duration::from_secs(2)))
    }
    fn client(&self, _node: &str, w: &WorkloadInfo) -> Result<Box<dyn Client>, TargetError> {
        let workload = RedisWorkload::from_name(&w.name).ok_or_else(|| {
            TargetError::unsupported("redis", &format!("workload `{}` (known: register, set)", w.name))
        })?;
        let n = self.def.adapter_int("wait_replicas", 0);
        let wait = (n > 0).then(|| (n as u32, self.def.adapter_int("wait_timeout_ms", 100) as u64));
        Ok(Box::new(self.c()?.client(workload, wait)))
    }
    fn log_files(&self) -> Vec<(NodeId, PathBuf)> {
        self.cluster.as_ref().map(|c| c.log_files()).unwrap_or_default()
    }
    fn teardown(&mut self) -> Result<(), TargetError> {
        if let Some(c) = &self.cluster {
            c.teardown();
        }
        Ok(())
    }
}
