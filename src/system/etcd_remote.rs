//! etcd on remote hosts (`faultline test --target etcd --hosts`): the generic
//! [`OnHosts`] layer over the local etcd target. Each member is the hosts' installed `etcd`
//! (the definition's `binaries`, else its start program), started with the argv the local
//! target renders, listening on the host's address at the inventory's `base_port` (client)
//! and `base_port + 1` (peer). etcd (Go) ignores libfaketime: clock offsets only by stepping
//! the hosts' clocks with `--set-host-clocks` (see [`OnHosts`]).

use super::etcd::{Etcd, EtcdTarget};
use super::external::NodeSpec;
use super::external::{Cluster, ExternalError, TargetDef};
use super::on_hosts::{HostsSystem, OnHosts};
use super::remote::Launch;
use crate::net::ssh::Fleet;
use std::path::Path;
use std::sync::Arc;

/// etcd members on hosts.
pub type EtcdOnHosts = OnHosts<Etcd>;

impl HostsSystem for Etcd {
    fn launches(
        c: &Cluster<Etcd>,
        s: &Self::Spec,
        _binary: &str,
        _clocks: bool,
    ) -> Result<Vec<Launch>, ExternalError> {
        Ok(vec![Launch::main(s.id(), &c.argv(s)?)])
    }
}

/// Members of definition `def` (read from `path`) on `fleet`'s hosts, member i on host i;
/// `serializable` register reads as for the local target.
pub fn etcd_on_hosts(
    def: TargetDef,
    path: &Path,
    serializable: bool,
    fleet: Arc<Fleet>,
    tag: &str,
    origin_ns: u64,
) -> Result<EtcdOnHosts, ExternalError> {
    OnHosts::new(
        EtcdTarget::from_def(def, path, serializable),
        fleet,
        tag,
        origin_ns,
    )
}
