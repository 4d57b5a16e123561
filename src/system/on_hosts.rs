//! External systems on remote hosts (`faultline test --target etcd|redis|FILE.toml --hosts`):
//! the same nodes as the local target (the argv rendered from the same definition, the same
//! health probe, leader lookup and client), only placed differently. [`OnHosts`] describes
//! the cluster with each host's paths through the local [`ExternalTarget`] (which then only
//! answers probes, leader lookups and clients) and runs every process on the hosts through
//! [`RemoteNodes`]: started over SSH in the run's directory there, signalled by pid, its log
//! brought back at teardown. A system says only what runs on a host ([`HostsSystem`]).
//!
//! Clock offsets, one rule for clock and clock-drift: the system's own mechanism where every
//! host has it (libfaketime for Redis, probed when built); else, only with
//! `--set-host-clocks`, each host's system clock stepped with `date -s`
//! ([`super::remote::clock`]); rates never.
//!
//! Invariant: the described cluster never spawns a local process; every process of a node
//! is a remote one.

use super::external::{te, Cluster, ExternalError, ExternalTarget, TargetDef, TargetSystem};
use super::remote::{Launch, Program, RemoteNodes};
use super::{NodeCtx, NodeId, PortPlan, Target, TargetError, WorkloadInfo};
use crate::client::Client;
use crate::net::ssh::{Fleet, SshError, COMMAND_TIMEOUT};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// What a system adds to run on hosts.
pub trait HostsSystem: TargetSystem {
    /// What must be on every host (checked before anything starts, exit 3 naming the host):
    /// by default the definition's `binaries`, else its start program, installed there.
    fn program(def: &TargetDef, path: &Path) -> Result<Program, ExternalError> {
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
        Ok(Program::Installed {
            binaries,
            install: def.install.clone(),
        })
    }
    /// The processes of node `s` on its host, main first; `binary` is the program's path
    /// there; `clocks`: clock offsets work on every host (see [`HostsSystem::clock_probe`]).
    fn launches(
        c: &Cluster<Self>,
        s: &Self::Spec,
        binary: &str,
        clocks: bool,
    ) -> Result<Vec<Launch>, ExternalError>;
    /// A shell script exiting 0 on a host where this system's clock offsets work, if the
    /// definition allows them there at all; else saying why on stderr, with what to install.
    fn clock_probe(_def: &TargetDef) -> Option<String> {
        None
    }
    /// The file (host path, content) that sets `node`'s clock offset to `offset_ms`.
    fn clock_file(_c: &Cluster<Self>, _node: &str, _offset_ms: i64) -> Result<(String, String), TargetError> {
        Err(TargetError::unsupported(Self::NAME, "clock offsets on hosts"))
    }
    /// Where the logs derived from the node logs (`logs`: every process's, here) will be,
    /// each with its name: listed before teardown, written by [`HostsSystem::derive`].
    fn derived_here(_logs: &[(NodeId, PathBuf)]) -> Vec<(NodeId, PathBuf)> {
        Vec::new()
    }
    /// Writes the derived logs once the node logs are back here (at teardown).
    fn derive(_c: &Cluster<Self>, _logs: &[(NodeId, PathBuf)], _origin_ns: u64) {}
}

/// The rule for clock faults on hosts, stated in every refusal of one.
pub const HOSTS_CLOCK_RULE: &str =
    "on hosts, one rule for clock and clock-drift: a system's own clock where every host has it \
(the built-in store's admin clock: offsets and rates; Redis: libfaketime, offsets), else offsets only with \
--set-host-clocks, which steps each host's real system clock with `date -s` (never rates)";

/// The first line of why a host failed the clock probe, naming the host.
fn probe_failure(s: &crate::net::ssh::Session, e: SshError) -> String {
    match e {
        SshError::Failed { stderr, .. } if !stderr.is_empty() => {
            format!("{}: {}", s.host, stderr.lines().next().unwrap_or_default())
        }
        e => e.to_string(),
    }
}

/// An external system with its nodes on hosts, node i on host i.
pub struct OnHosts<Y: TargetSystem> {
    inner: ExternalTarget<Y>,
    remote: RemoteNodes,
    origin_ns: u64,
    /// Clock offsets work on every host (probed when built).
    clocks: bool,
    /// The first host where the clock probe failed, and why.
    probe_failed: Option<String>,
    /// Clock offsets step each host's system clock (`--set-host-clocks`, where `clocks` is
    /// off: the system's own mechanism wins).
    host_clocks: bool,
    /// Each node's program on its host.
    binaries: BTreeMap<NodeId, String>,
    /// Every process's log here (`nodes/<name>.log`), filled at teardown.
    logs: Vec<(NodeId, PathBuf)>,
    /// The derived logs are written.
    derived: bool,
}

impl<Y: HostsSystem> OnHosts<Y> {
    /// `inner`'s nodes on `fleet`'s hosts. Probes every host for clock offsets when the
    /// system has a probe (a host where they do not work leaves them off for the run, so a
    /// clock fault is refused before anything starts, naming the first such host).
    pub fn new(
        inner: ExternalTarget<Y>,
        fleet: Arc<Fleet>,
        tag: &str,
        origin_ns: u64,
    ) -> Result<Self, ExternalError> {
        let program = Y::program(inner.def(), inner.path())?;
        let (clocks, probe_failed) = match Y::clock_probe(inner.def()) {
            Some(script) => {
                let failed = fleet
                    .each(|_, s| s.run(&script, COMMAND_TIMEOUT).err().map(|e| probe_failure(s, e)))
                    .into_iter()
                    .flatten()
                    .next();
                (failed.is_none(), failed)
            }
            None => (false, None),
        };
        Ok(OnHosts {
            inner,
            remote: RemoteNodes::running(fleet, tag, program),
            origin_ns,
            clocks,
            probe_failed,
            host_clocks: false,
            binaries: BTreeMap::new(),
            logs: Vec::new(),
            derived: false,
        })
    }

    /// With `on` (`--set-host-clocks`), clock offsets step each host's system clock where
    /// the system has no working clock of its own there; every host is checked first (not
    /// this machine's kernel, a `date` with nanoseconds), an error names the host.
    pub fn set_host_clocks(mut self, on: bool) -> Result<Self, TargetError> {
        if !on || self.clocks {
            return Ok(self);
        }
        let errors = self
            .remote
            .fleet()
            .each(|_, s| super::remote::clock::check_host(s).err());
        if let Some(e) = SshError::many(errors.into_iter().flatten().collect()) {
            return Err(TargetError::Config(format!("--set-host-clocks: {e}")));
        }
        self.host_clocks = true;
        Ok(self)
    }

    fn c(&self) -> Result<&Cluster<Y>, TargetError> {
        self.inner
            .cluster()
            .ok_or_else(|| TargetError::Config(format!("{} target used before setup", Y::NAME)))
    }

    fn launches(&self, node: &str) -> Result<Vec<Launch>, TargetError> {
        let c = self.c()?;
        let binary = self.binaries.get(node).map(String::as_str).unwrap_or_default();
        Y::launches(c, c.spec(node).map_err(te)?, binary, self.clocks).map_err(te)
    }
}

impl<Y> Target for OnHosts<Y>
where
    Y: HostsSystem + Send + Sync,
    Y::Spec: Send + Sync,
    Y::Opts: Send + Sync,
{
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn ports(&self) -> PortPlan {
        self.inner.ports()
    }
    fn health_timeout(&self) -> Duration {
        self.inner.health_timeout()
    }
    /// Readies every host (programs installed or uploaded, the run's directories made),
    /// then describes each node with its host's paths.
    fn setup(&mut self, nodes: Vec<NodeCtx>) -> Result<(), TargetError> {
        self.remote.setup(&nodes)?;
        let mut specs = Vec::new();
        for n in &nodes {
            let at = self.remote.start_ctx(n, self.origin_ns)?;
            specs.push(Y::spec(self.inner.def(), &at.ctx)?);
            self.binaries.insert(n.id.clone(), at.binary);
        }
        self.inner.describe(specs);
        for n in &nodes {
            let here = n.log.parent().map(PathBuf::from).unwrap_or_default();
            for (i, l) in self.launches(&n.id)?.iter().enumerate() {
                let log = if i == 0 {
                    n.log.clone()
                } else {
                    here.join(format!("{}.log", l.name))
                };
                self.logs.push((l.name.clone(), log));
            }
        }
        Ok(())
    }
    fn start(&self, node: &str) -> Result<(), TargetError> {
        self.remote.launch(node, &self.launches(node)?)
    }
    fn healthy(&self, node: &str, timeout: Duration) -> Result<(), TargetError> {
        self.inner.healthy(node, timeout)
    }
    fn stop(&self, node: &str) -> Result<(), TargetError> {
        let grace = Duration::from_millis(self.inner.def().stop_grace_ms);
        self.remote.stop(node, grace)
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
    fn set_clock_offset(&self, node: &str, offset_ms: i64) -> Result<(), TargetError> {
        if self.clocks {
            let (path, content) = Y::clock_file(self.c()?, node, offset_ms)?;
            return self.remote.write(node, &path, &content);
        }
        if self.host_clocks {
            return self.remote.step_clock(node, offset_ms);
        }
        Err(TargetError::unsupported(
            self.name(),
            "clock offsets on these hosts",
        ))
    }
    fn supports_clock_offset(&self) -> bool {
        self.clocks || self.host_clocks
    }
    fn clock_refusal(&self) -> Option<String> {
        let rule = HOSTS_CLOCK_RULE;
        Some(match &self.probe_failed {
            Some(why) => format!("{why}; {rule}"),
            None => rule.to_string(),
        })
    }
    fn has_leader(&self) -> bool {
        self.inner.has_leader()
    }
    fn leader(&self) -> Result<Option<NodeId>, TargetError> {
        self.inner.leader()
    }
    fn prepare(&self, w: &WorkloadInfo) -> Result<(), TargetError> {
        self.inner.prepare(w)
    }
    fn client(&self, node: &str, w: &WorkloadInfo) -> Result<Box<dyn Client>, TargetError> {
        self.inner.client(node, w)
    }
    fn log_files(&self) -> Vec<(NodeId, PathBuf)> {
        let mut v = self.logs.clone();
        v.extend(Y::derived_here(&self.logs));
        v
    }
    /// Kills every process, brings the logs back, removes the run's directories, then
    /// derives what the system derives from the logs.
    fn teardown(&mut self) -> Result<(), TargetError> {
        let r = self.remote.teardown();
        if let (false, Some(c)) = (self.derived, self.inner.cluster()) {
            Y::derive(c, &self.logs, self.origin_ns);
            self.derived = true;
        }
        r
    }
}
