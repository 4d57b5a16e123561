//! Redis + Sentinel on remote hosts (`faultline test --target redis --hosts`): the generic
//! [`OnHosts`] layer over the local Redis target. Each node is the hosts' installed
//! `redis-server` and `redis-sentinel` (the definition's `binaries`, checked on every host),
//! started with the argv and Sentinel config the local target renders, server at the
//! inventory's `base_port`, Sentinel at `base_port + 1`. Clock faults use the host's
//! libfaketime where every host has it and runs `redis-server` under it (probed when the
//! target is built); else they are refused before anything starts. Failover events are
//! derived once, at teardown, from the logs brought back.
//!
//! Both processes run with `--set-proc-title no`: Redis's process title overwrites its
//! environment, where the run's marker must stay readable (liveness, `cleanup --hosts`).

use super::events::EVENTS_FILE;
use super::{Redis, RedisNodeSpec, RedisTarget};
use crate::net::ssh::{quote, Fleet};
use crate::system::external::{Cluster, ExternalError, TargetDef};
use crate::system::faketime::{FAKETIME_LIB, FAKETIME_PRELOAD};
use crate::system::on_hosts::{HostsSystem, OnHosts};
use crate::system::remote::Launch;
use crate::system::{NodeId, TargetError};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Redis nodes on hosts.
pub type RedisOnHosts = OnHosts<Redis>;

impl HostsSystem for Redis {
    fn launches(
        c: &Cluster<Redis>,
        s: &RedisNodeSpec,
        _binary: &str,
        clocks: bool,
    ) -> Result<Vec<Launch>, ExternalError> {
        let mut v = c.launches(s)?;
        for l in &mut v {
            l.argv.extend(["--set-proc-title".to_string(), "no".to_string()]);
            if !clocks {
                l.env.clear();
            }
        }
        Ok(v)
    }

    /// libfaketime where the local target expects it, and `redis-server --version`
    /// finishing under the local target's preload within 3 s.
    fn clock_probe(def: &TargetDef) -> Option<String> {
        if !def.clock_faults {
            return None;
        }
        let bin = def
            .start
            .first()
            .cloned()
            .unwrap_or_else(|| "redis-server".into());
        Some(format!(
            "test -f {lib} && LD_PRELOAD={preload} FAKETIME=+0 timeout -s KILL 3 {bin} --version >/dev/null 2>&1",
            lib = quote(FAKETIME_LIB),
            preload = quote(FAKETIME_PRELOAD),
            bin = quote(&bin),
        ))
    }

    fn clock_file(c: &Cluster<Redis>, node: &str, offset_ms: i64) -> Result<(String, String), TargetError> {
        c.clock_offset_file(node, offset_ms)
            .map_err(|e| TargetError::Config(e.to_string()))
    }

    fn derive_logs(c: &Cluster<Redis>, logs: &[(NodeId, PathBuf)], origin_ns: u64) -> Vec<(NodeId, PathBuf)> {
        let Some(dir) = logs.first().and_then(|(_, p)| p.parent()) else {
            return Vec::new();
        };
        let out = dir.join(EVENTS_FILE);
        match c.events_from(logs, out.clone(), origin_ns) {
            Ok(_) => vec![("sentinel-events".into(), out)],
            Err(_) => Vec::new(),
        }
    }
}

/// Redis nodes of definition `def` (read from `path`) on `fleet`'s hosts, node i on host i.
pub fn redis_on_hosts(
    def: TargetDef,
    path: &Path,
    fleet: Arc<Fleet>,
    tag: &str,
    origin_ns: u64,
) -> Result<RedisOnHosts, ExternalError> {
    // No journal during the run: the logs are on the hosts until teardown.
    OnHosts::new(RedisTarget::with_def(def, path, None), fleet, tag, origin_ns)
}
