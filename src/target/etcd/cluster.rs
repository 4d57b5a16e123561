//! An etcd cluster of real processes: rendered from `targets/etcd.toml`, started together
//! (`--initial-cluster-state new`), health-checked with a bounded wait, then killed, paused,
//! resumed and restarted one node at a time by the nemesis.
//!
//! Invariant: if [`EtcdCluster::start_all`] fails, every process it started is already killed;
//! dropping the cluster kills the rest.

use super::http;
use super::{EtcdClient, EtcdClientConfig};
use crate::target::external::{
    check_binary, check_ports_free, free_ports, wait_until, ExternalError, NodeProcess, NodeVars, Retry,
    TargetDef,
};
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Where one etcd member listens, how others reach it, and how to place its process.
#[derive(Clone, Debug)]
pub struct EtcdNodeSpec {
    pub id: String,
    pub client_listen: SocketAddr,
    /// The address the harness and clients dial.
    pub client_dial: SocketAddr,
    pub peer_listen: SocketAddr,
    /// The peer URL other members use for this node.
    pub peer_advertise: SocketAddr,
    /// Argv prefix placing the process (e.g. `ip netns exec NS`), or empty.
    pub exec_prefix: Vec<String>,
    pub data_dir: PathBuf,
    pub log: PathBuf,
}

/// A running (or startable) etcd cluster.
pub struct EtcdCluster {
    def: TargetDef,
    def_path: PathBuf,
    specs: Vec<EtcdNodeSpec>,
    token: String,
    procs: Mutex<BTreeMap<String, NodeProcess>>,
}

impl EtcdCluster {
    pub fn new(def: TargetDef, def_path: &Path, specs: Vec<EtcdNodeSpec>) -> EtcdCluster {
        let token = format!("faultline-{}-{}", std::process::id(), specs.len());
        EtcdCluster {
            def,
            def_path: def_path.to_path_buf(),
            specs,
            token,
            procs: Mutex::new(BTreeMap::new()),
        }
    }

    /// `def.nodes` members on 127.0.0.1 under `dir`, ports from `def.port_base` (0: free ports).
    pub fn local(def: TargetDef, def_path: &Path, dir: &Path) -> Result<EtcdCluster, ExternalError> {
        let n = def.nodes;
        let ports: Vec<u16> = if def.port_base == 0 {
            free_ports(2 * n)?
        } else {
            (0..2 * n as u16).map(|i| def.port_base + i).collect()
        };
        let specs = (0..n)
            .map(|i| {
                let id = format!("n{}", i + 1);
                let client: SocketAddr = ([127, 0, 0, 1], ports[2 * i]).into();
                let peer: SocketAddr = ([127, 0, 0, 1], ports[2 * i + 1]).into();
                EtcdNodeSpec {
                    client_listen: client,
                    client_dial: client,
                    peer_listen: peer,
                    peer_advertise: peer,
                    exec_prefix: vec![],
                    data_dir: dir.join(format!("{id}.data")),
                    log: dir.join(format!("{id}.log")),
                    id,
                }
            })
            .collect();
        Ok(EtcdCluster::new(def, def_path, specs))
    }

    pub fn nodes(&self) -> Vec<String> {
        self.specs.iter().map(|s| s.id.clone()).collect()
    }

    pub fn spec(&self, node: &str) -> Result<&EtcdNodeSpec, ExternalError> {
        self.specs
            .iter()
            .find(|s| s.id == node)
            .ok_or_else(|| ExternalError::Node {
                node: node.to_string(),
                detail: "no such etcd member".into(),
            })
    }

    fn argv(&self, s: &EtcdNodeSpec) -> Result<Vec<String>, ExternalError> {
        let mut peers = Vec::new();
        for p in &self.specs {
            let v = NodeVars::new(
                &p.id,
                &p.peer_advertise.ip().to_string(),
                Path::new(""),
                &p.data_dir,
            )
            .set("peer_advertise", p.peer_advertise.to_string());
            peers.push(crate::target::external::render(
                &self.def.peer,
                &v,
                &self.def_path,
            )?);
        }
        let dir = s.log.parent().unwrap_or(Path::new("."));
        let v = NodeVars::new(&s.id, &s.client_listen.ip().to_string(), dir, &s.data_dir)
            .set("client_listen", s.client_listen.to_string())
            .set("client_advertise", s.client_dial.to_string())
            .set("peer_listen", s.peer_listen.to_string())
            .set("peer_advertise", s.peer_advertise.to_string())
            .set("peers", peers.join(","))
            .set("token", self.token.clone());
        v.argv(&self.def.start, &self.def_path)
    }

    /// Checks binaries and ports, starts every member, and waits (bounded by
    /// `health_timeout_ms`) until all are healthy. On error nothing is left running.
    pub fn start_all(&self) -> Result<(), ExternalError> {
        for b in &self.def.binaries {
            check_binary(b, &self.def.install)?;
        }
        for s in &self.specs {
            if s.exec_prefix.is_empty() {
                check_ports_free(
                    s.client_listen.ip(),
                    &[s.client_listen.port()],
                    &format!("etcd {} client", s.id),
                )?;
                check_ports_free(
                    s.peer_listen.ip(),
                    &[s.peer_listen.port()],
                    &format!("etcd {} peer", s.id),
                )?;
            }
        }
        let r = self.start_all_inner();
        if r.is_err() {
            self.teardown();
        }
        r
    }

    fn start_all_inner(&self) -> Result<(), ExternalError> {
        for s in &self.specs {
            self.start(&s.id)?;
        }
        let limit = Duration::from_millis(self.def.health_timeout_ms);
        let start = Instant::now();
        for s in &self.specs {
            let left = limit.saturating_sub(start.elapsed());
            if let Err(detail) = self.wait_healthy(&s.id, left) {
                return Err(ExternalError::NeverHealthy {
                    what: format!("etcd member {} ({})", s.id, s.client_dial),
                    waited: start.elapsed(),
                    detail,
                    log: s.log.clone(),
                    tail: NodeProcess::tail_of(&s.log, 40),
                });
            }
        }
        Ok(())
    }

    /// Starts one member (restarts keep its data dir, so it rejoins).
    pub fn start(&self, node: &str) -> Result<(), ExternalError> {
        let s = self.spec(node)?;
        std::fs::create_dir_all(&s.data_dir)
            .map_err(|e| ExternalError::io(format!("create {}", s.data_dir.display()), e))?;
        let mut procs = self.procs.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = procs.get_mut(node) {
            return p.start();
        }
        let p = NodeProcess::spawn(node, s.exec_prefix.clone(), self.argv(s)?, vec![], s.log.clone())?;
        procs.insert(node.to_string(), p);
        Ok(())
    }

    /// Waits up to `limit` for `/health` to say true; the error is the last reason.
    pub fn wait_healthy(&self, node: &str, limit: Duration) -> Result<(), String> {
        wait_until(limit, Duration::from_millis(100), || {
            if !self.is_running(node) {
                return Err(Retry::fatal(format!("process of {node} exited")));
            }
            self.healthy(node, Duration::from_millis(1000))
                .map_err(Retry::again)
        })
        .map_err(|(_, e)| e)
    }

    /// One `/health` probe.
    pub fn healthy(&self, node: &str, timeout: Duration) -> Result<(), String> {
        let s = self.spec(node).map_err(|e| e.to_string())?;
        let r = http::request(s.client_dial, "GET", "/health", b"", Instant::now() + timeout)
            .map_err(|e| e.to_string())?;
        let v: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
        if r.status == 200 && v.get("health").and_then(Value::as_str) == Some("true") {
            Ok(())
        } else {
            Err(format!(
                "/health answered {}: {}",
                r.status,
                String::from_utf8_lossy(&r.body)
            ))
        }
    }

    /// The member that the answering members name as leader (by `/v3/maintenance/status`).
    pub fn leader(&self, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        let mut ids = BTreeMap::new();
        let mut leader = None;
        for s in &self.specs {
            let Ok(r) = http::request(s.client_dial, "POST", "/v3/maintenance/status", b"{}", deadline)
            else {
                continue;
            };
            let v: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
            let me = v
                .pointer("/header/member_id")
                .map(|m| m.to_string().trim_matches('"').to_string());
            if let Some(me) = me {
                ids.insert(me, s.id.clone());
            }
            if let Some(l) = v.get("leader") {
                leader = Some(l.to_string().trim_matches('"').to_string());
            }
        }
        leader.and_then(|l| ids.get(&l).cloned())
    }

    pub fn client(&self, node: &str, cfg: EtcdClientConfig) -> Result<EtcdClient, ExternalError> {
        Ok(EtcdClient::new(node, self.spec(node)?.client_dial, cfg))
    }

    fn with<T>(&self, node: &str, f: impl FnOnce(&mut NodeProcess) -> T) -> Result<T, ExternalError> {
        let mut procs = self.procs.lock().unwrap_or_else(|p| p.into_inner());
        let p = procs.get_mut(node).ok_or_else(|| ExternalError::Node {
            node: node.to_string(),
            detail: "was never started".into(),
        })?;
        Ok(f(p))
    }

    pub fn kill(&self, node: &str) -> Result<(), ExternalError> {
        self.with(node, |p| p.kill())
    }
    pub fn stop(&self, node: &str) -> Result<(), ExternalError> {
        let grace = Duration::from_millis(self.def.stop_grace_ms);
        self.with(node, |p| p.stop(grace))
    }
    pub fn pause(&self, node: &str) -> Result<(), ExternalError> {
        self.with(node, |p| p.pause())
    }
    pub fn resume(&self, node: &str) -> Result<(), ExternalError> {
        self.with(node, |p| p.resume())
    }
    pub fn is_running(&self, node: &str) -> bool {
        self.with(node, |p| p.is_running()).unwrap_or(false)
    }

    pub fn log_files(&self) -> Vec<(String, PathBuf)> {
        self.specs.iter().map(|s| (s.id.clone(), s.log.clone())).collect()
    }

    /// Kills every member. Idempotent.
    pub fn teardown(&self) {
        let mut procs = self.procs.lock().unwrap_or_else(|p| p.into_inner());
        for p in procs.values_mut() {
            p.kill();
        }
        procs.clear();
    }
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        self.teardown();
    }
}
