//! etcd as a runner target: the [`TargetSystem`] glue between the generic external target
//! and the etcd cluster and client.

use super::{Etcd, EtcdClientConfig, EtcdNodeSpec, EtcdWorkload};
use crate::client::Client;
use crate::system::external::{addr, te, Cluster, ExternalError, ExternalTarget, TargetDef, TargetSystem};
use crate::system::{NodeCtx, NodeId, PortPlan, TargetError, WorkloadInfo};
use std::path::Path;
use std::time::Duration;

const ETCD_TOML: &str = include_str!("../../../targets/etcd.toml");

/// `targets/etcd.toml` from the working directory, else the built-in copy.
pub fn definition() -> Result<(TargetDef, std::path::PathBuf), ExternalError> {
    crate::system::external::load_def("etcd.toml", ETCD_TOML)
}

/// etcd as a runner target.
pub type EtcdTarget = ExternalTarget<Etcd>;

impl ExternalTarget<Etcd> {
    /// From a definition file; `serializable` as in [`Self::new`].
    pub fn from_def(def: TargetDef, path: &Path, serializable: bool) -> EtcdTarget {
        let s = serializable || def.adapter_str("reads", "linearizable") == "serializable";
        Self::with_def(def, path, s)
    }

    /// `serializable`: register reads with `serializable: true` (stale reads expected).
    pub fn new(serializable: bool) -> Result<EtcdTarget, ExternalError> {
        Self::load("etcd.toml", ETCD_TOML, |def| {
            serializable || def.adapter_str("reads", "linearizable") == "serializable"
        })
    }
}

/// The client settings for workload `w` from definition `def` (`serializable`: register
/// reads with `serializable: true`), wherever the members run.
pub fn client_config(
    def: &TargetDef,
    serializable: bool,
    w: &WorkloadInfo,
) -> Result<EtcdClientConfig, TargetError> {
    let workload = EtcdWorkload::from_name(&w.name).ok_or_else(|| {
        TargetError::unsupported(
            "etcd",
            &format!("workload `{}` (known: register, set, mutex)", w.name),
        )
    })?;
    Ok(EtcdClientConfig {
        workload,
        serializable,
        lease_ttl_s: def.adapter_int("lease_ttl_s", 10),
        prefix: def.adapter_str("prefix", "fl/"),
    })
}

impl TargetSystem for Etcd {
    const NAME: &'static str = "etcd";
    /// Serializable register reads.
    type Opts = bool;
    fn ports(_def: &TargetDef) -> PortPlan {
        PortPlan {
            names: vec!["client".into(), "peer".into()],
            peer: "peer".into(),
            client: "client".into(),
        }
    }
    fn spec(_def: &TargetDef, n: &NodeCtx) -> Result<EtcdNodeSpec, TargetError> {
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
        let cfg = client_config(t.def(), *t.opts(), w)?;
        Ok(Box::new(c.client(node, cfg).map_err(te)?))
    }
}
