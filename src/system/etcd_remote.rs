//! etcd on remote hosts (`faultline test --target etcd --hosts`): the same members as the
//! local etcd target (the argv rendered from the same `targets/etcd.toml`, the same health
//! probe, leader lookup and client), only placed differently: each member is the hosts'
//! installed `etcd`, started over SSH in the run's directory there by
//! [`RemoteNodes`] (signalled by pid, its log brought back at teardown), listening on the
//! host's address at the inventory's `base_port` (client) and `base_port + 1` (peer).
//!
//! Invariant: the [`EtcdCluster`] held here only describes the members (specs, argv,
//! probes); it never spawns a local process. Every process is the remote one.

use super::etcd::{client_config, Etcd, EtcdCluster};
use super::external::{te, Cluster, ExternalError, TargetDef, TargetSystem};
use super::remote::{Program, RemoteNodes};
use super::{NodeCtx, NodeId, PortPlan, Target, TargetError, WorkloadInfo};
use crate::client::Client;
use crate::net::ssh::Fleet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub struct EtcdOnHosts {
    def: TargetDef,
    path: PathBuf,
    serializable: bool,
    origin_ns: u64,
    remote: RemoteNodes,
    cluster: Option<EtcdCluster>,
    /// Each member's log on this machine (`nodes/<node>.log`), filled at teardown.
    logs: Vec<(NodeId, PathBuf)>,
}

impl EtcdOnHosts {
    /// Members of definition `def` (read from `path`) on `fleet`'s hosts, member i on host
    /// i; `serializable` register reads as for the local target.
    pub fn new(
        def: TargetDef,
        path: &Path,
        serializable: bool,
        fleet: Arc<Fleet>,
        tag: &str,
        origin_ns: u64,
    ) -> Result<EtcdOnHosts, ExternalError> {
        let mut binaries = def.binaries.clone();
        if binaries.is_empty() {
            binaries.extend(def.start.first().cloned());
        }
        if binaries.is_empty() {
            return Err(ExternalError::BadDefinition {
                path: path.to_path_buf(),
                detail: "`start` is empty".into(),
            });
        }
        let program = Program::Installed {
            binaries,
            install: def.install.clone(),
        };
        Ok(EtcdOnHosts {
            serializable: serializable || def.adapter_str("reads", "linearizable") == "serializable",
            def,
            path: path.to_path_buf(),
            origin_ns,
            remote: RemoteNodes::running(fleet, tag, program),
            cluster: None,
            logs: Vec::new(),
        })
    }

    fn c(&self) -> Result<&EtcdCluster, TargetError> {
        self.cluster
            .as_ref()
            .ok_or_else(|| TargetError::Config("etcd target used before setup".into()))
    }
}

impl Target for EtcdOnHosts {
    fn name(&self) -> &str {
        <Etcd as TargetSystem>::name(&self.def)
    }
    fn ports(&self) -> PortPlan {
        <Etcd as TargetSystem>::ports(&self.def)
    }
    fn health_timeout(&self) -> Duration {
        Duration::from_millis(self.def.health_timeout_ms)
    }
    /// Readies every host (etcd installed, the run's directories made), then describes
    /// each member with its host's paths.
    fn setup(&mut self, nodes: Vec<NodeCtx>) -> Result<(), TargetError> {
        self.remote.setup(&nodes)?;
        let mut specs = Vec::new();
        for n in &nodes {
            let at = self.remote.start_ctx(n, self.origin_ns)?;
            specs.push(<Etcd as TargetSystem>::spec(&self.def, &at.ctx)?);
            self.logs.push((n.id.clone(), n.log.clone()));
        }
        self.cluster = Some(Cluster::new(self.def.clone(), &self.path, specs));
        Ok(())
    }
    fn start(&self, node: &str) -> Result<(), TargetError> {
        let c = self.c()?;
        let argv = c.argv(c.spec(node).map_err(te)?).map_err(te)?;
        self.remote.start(node, &argv)
    }
    fn healthy(&self, node: &str, timeout: Duration) -> Result<(), TargetError> {
        self.c()?
            .healthy(node, timeout)
            .map_err(|m| TargetError::node(node, m))
    }
    fn stop(&self, node: &str) -> Result<(), TargetError> {
        self.remote
            .stop(node, Duration::from_millis(self.def.stop_grace_ms))
    }
    fn kill(&self, node: &str) -> Result<(), TargetError> {
        self.remote.kill(node)
    }
    fn pause(&self, node: &str) -> Result<(), TargetError> {
        self.remote.pause(node)
    }
    fn resume(&self, node: &str) -> Result<(), TargetError> {
        self.remote.resume(node)
    }
    fn is_running(&self, node: &str) -> bool {
        self.remote.is_running(node)
    }
    fn has_leader(&self) -> bool {
        true
    }
    fn leader(&self) -> Result<Option<NodeId>, TargetError> {
        Ok(self.c()?.leader(Duration::from_secs(2)))
    }
    fn client(&self, node: &str, w: &WorkloadInfo) -> Result<Box<dyn Client>, TargetError> {
        let cfg = client_config(&self.def, self.serializable, w)?;
        Ok(Box::new(self.c()?.client(node, cfg).map_err(te)?))
    }
    fn log_files(&self) -> Vec<(NodeId, PathBuf)> {
        self.logs.clone()
    }
    /// Kills every member, brings the logs back and removes the run's directories.
    fn teardown(&mut self) -> Result<(), TargetError> {
        self.remote.teardown()
    }
}
