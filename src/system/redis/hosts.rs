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
            "test -f {lib} || {{ echo \"libfaketime is missing ({lib_shown}): apt-get install faketime\" >&2; exit 1; }}; \
             LD_PRELOAD={preload} FAKETIME=+0 timeout -s KILL 3 {bin} --version >/dev/null 2>&1 || \
             {{ echo \"{bin_shown} does not run under libfaketime within 3 s (apt-get install faketime; see README on Redis and libfaketime)\" >&2; exit 1; }}",
            lib = quote(FAKETIME_LIB),
            lib_shown = FAKETIME_LIB,
            preload = quote(FAKETIME_PRELOAD),
            bin = quote(&bin),
            bin_shown = bin.replace(['"', '\\', '$', '`'], ""),
        ))
    }

    fn clock_file(c: &Cluster<Redis>, node: &str, offset_ms: i64) -> Result<(String, String), TargetError> {
        c.clock_offset_file(node, offset_ms)
            .map_err(|e| TargetError::Config(e.to_string()))
    }

    /// `sentinel-events.log` beside the node logs.
    fn derived_here(logs: &[(NodeId, PathBuf)]) -> Vec<(NodeId, PathBuf)> {
        let dir = logs.first().and_then(|(_, p)| p.parent());
        dir.map(|d| vec![("sentinel-events".into(), d.join(EVENTS_FILE))])
            .unwrap_or_default()
    }

    fn derive(c: &Cluster<Redis>, logs: &[(NodeId, PathBuf)], origin_ns: u64) {
        if let Some((_, out)) = Self::derived_here(logs).pop() {
            // A failure leaves no events file: the checkers then judge by the history alone.
            let _ = c.events_from(logs, out, origin_ns);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::system::external::NodeSpec;

    fn cluster() -> Cluster<Redis> {
        let (def, path) = super::super::definition().unwrap();
        let specs = (1..=3)
            .map(|i| {
                let a = |p: u16| std::net::SocketAddr::from(([10, 0, 0, i], p));
                let dir = PathBuf::from("/run/h/fl1-0");
                RedisNodeSpec::local(
                    format!("n{i}"),
                    a(7000),
                    a(7001),
                    dir.join(format!("n{i}/data")),
                    dir.join(format!("n{i}.log")),
                )
            })
            .collect();
        Cluster::new(def, &path, specs)
    }

    #[test]
    fn a_host_runs_the_local_server_and_sentinel_with_its_paths_and_keeps_its_marker() {
        let c = cluster();
        let s = c.spec("n2").unwrap();
        let with = <Redis as HostsSystem>::launches(&c, s, "redis-server", true).unwrap();
        assert_eq!(with.len(), 2);
        assert_eq!(
            (with[0].name.as_str(), with[1].name.as_str()),
            ("n2", "n2-sentinel")
        );
        let argv = with[0].argv.join(" ");
        assert!(argv.contains("--replicaof 10.0.0.1 7000"), "{argv}");
        assert!(argv.ends_with("--set-proc-title no"), "{argv}");
        assert!(with[1].argv.ends_with(&["--set-proc-title".into(), "no".into()]));
        let files: Vec<&str> = with[0].files.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            files,
            ["/run/h/fl1-0/n2.faketime", "/run/h/fl1-0/n2-sentinel.conf"]
        );
        assert!(with[0].files[1].1.contains("sentinel monitor fl 10.0.0.1 7000 2"));
        assert!(with.iter().all(|l| l.env.iter().any(|(k, _)| k == "LD_PRELOAD")));
        // Without libfaketime on every host, nothing is preloaded.
        let without = <Redis as HostsSystem>::launches(&c, s, "redis-server", false).unwrap();
        assert!(without.iter().all(|l| l.env.is_empty()));
    }

    #[test]
    fn a_clock_offset_is_a_file_on_the_host_and_the_probe_needs_libfaketime() {
        let c = cluster();
        let (path, text) = <Redis as HostsSystem>::clock_file(&c, "n3", -1500).unwrap();
        assert_eq!(
            (path.as_str(), text.as_str()),
            ("/run/h/fl1-0/n3.faketime", "-1.500\n")
        );
        let probe = <Redis as HostsSystem>::clock_probe(&c.def).unwrap();
        assert!(
            probe.contains(FAKETIME_LIB) && probe.contains("--version"),
            "{probe}"
        );
        let mut off = c.def.clone();
        off.clock_faults = false;
        assert!(<Redis as HostsSystem>::clock_probe(&off).is_none());
    }
}
