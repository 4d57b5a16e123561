//! An etcd cluster of real processes: rendered from `targets/etcd.toml`, started together
//! (`--initial-cluster-state new`), health-checked with a bounded wait, then killed, paused,
//! resumed and restarted one node at a time by the nemesis. The process handling is the generic
//! [`Cluster`]; this file says only how an etcd member is spawned and probed.

use super::http;
use super::{EtcdClient, EtcdClientConfig};
use crate::system::external::{spec_fields, Cluster, ExternalError, NodeSpec, NodeVars, System, TargetDef};
use crate::system::process::NodeProcess;
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
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

impl NodeSpec for EtcdNodeSpec {
    fn local(id: String, client: SocketAddr, peer: SocketAddr, data_dir: PathBuf, log: PathBuf) -> Self {
        EtcdNodeSpec {
            id,
            client_listen: client,
            client_dial: client,
            peer_listen: peer,
            peer_advertise: peer,
            exec_prefix: vec![],
            data_dir,
            log,
        }
    }
    spec_fields!();
    fn listens(&self) -> Vec<(SocketAddr, String)> {
        vec![
            (self.client_listen, format!("etcd {} client", self.id)),
            (self.peer_listen, format!("etcd {} peer", self.id)),
        ]
    }
}

/// What etcd adds to the generic cluster: the initial-cluster token.
pub struct Etcd {
    token: String,
}

/// A running (or startable) etcd cluster.
pub type EtcdCluster = Cluster<Etcd>;

impl System for Etcd {
    type Spec = EtcdNodeSpec;
    const NODE: &'static str = "etcd member";
    const PROCESS: &'static str = "process";

    fn new(_def: &TargetDef, specs: &[EtcdNodeSpec]) -> Etcd {
        Etcd {
            token: format!("faultline-{}-{}", std::process::id(), specs.len()),
        }
    }

    fn spawn(c: &EtcdCluster, s: &EtcdNodeSpec) -> Result<Vec<NodeProcess>, ExternalError> {
        let argv = c.argv(s)?;
        Ok(vec![NodeProcess::spawn(
            &s.id,
            s.exec_prefix.clone(),
            argv,
            vec![],
            s.log.clone(),
        )?])
    }

    /// One `/health` probe.
    fn healthy(c: &EtcdCluster, node: &str, timeout: Duration) -> Result<(), String> {
        let s = c.spec(node).map_err(|e| e.to_string())?;
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

    fn describe(s: &EtcdNodeSpec) -> String {
        format!("etcd member {} ({})", s.id, s.client_dial)
    }
}

impl Cluster<Etcd> {
    /// The argv member `s` is started with (from the definition's `start` template), the
    /// same wherever it runs: locally, in a namespace or on a remote host.
    pub fn argv(&self, s: &EtcdNodeSpec) -> Result<Vec<String>, ExternalError> {
        let mut peers = Vec::new();
        for p in &self.specs {
            let v = NodeVars::new(
                &p.id,
                &p.peer_advertise.ip().to_string(),
                Path::new(""),
                &p.data_dir,
            )
            .set("peer_advertise", p.peer_advertise.to_string());
            peers.push(crate::system::external::render(
                &self.def.peer,
                &v,
                &self.def_path,
            )?);
        }
        let v = NodeVars::new(&s.id, &s.client_listen.ip().to_string(), s.dir(), &s.data_dir)
            .set("client_listen", s.client_listen.to_string())
            .set("client_advertise", s.client_dial.to_string())
            .set("peer_listen", s.peer_listen.to_string())
            .set("peer_advertise", s.peer_advertise.to_string())
            .set("peers", peers.join(","))
            .set("token", self.sys.token.clone());
        v.argv(&self.def.start, &self.def_path)
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
}
