//! Glue between the runner's [`Target`] trait and a cluster of real processes: node contexts
//! from the network back end become node specs; [`ExternalError`]s become [`TargetError`]s.
//! One generic [`ExternalTarget`] does the forwarding; each system (etcd, Redis, a command
//! definition; in their own folders) says only its name, ports, spec and client
//! ([`TargetSystem`]).
//!
//! `--target etcd` / `--target redis` read `targets/<name>.toml` from the working directory if
//! present (so users can edit it), else the copy compiled into the binary.

use super::{Cluster, ExternalError, System, TargetDef};
use crate::client::Client;
use crate::system::{NodeCtx, NodeId, PortPlan, Target, TargetError, WorkloadInfo};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// An external system's error as the runner's.
pub fn te(e: ExternalError) -> TargetError {
    TargetError::Config(e.to_string())
}

/// Loads `targets/<file>` from the working directory, else `builtin`, the copy compiled into
/// the binary.
pub fn load_def(file: &str, builtin: &str) -> Result<(TargetDef, PathBuf), ExternalError> {
    let path = Path::new("targets").join(file);
    if path.is_file() {
        return Ok((TargetDef::load(&path)?, path));
    }
    let p = PathBuf::from(format!("(built-in) targets/{file}"));
    Ok((TargetDef::parse(builtin, &p)?, p))
}

/// The address the network back end gave node `ctx` for `port`.
pub fn addr(
    ctx: &NodeCtx,
    map: &std::collections::BTreeMap<String, SocketAddr>,
    port: &str,
) -> Result<SocketAddr, TargetError> {
    map.get(port)
        .copied()
        .ok_or_else(|| TargetError::node(&ctx.id, format!("the network back end gave no `{port}` port")))
}

/// What a system adds to the generic runner target.
pub trait TargetSystem: System {
    /// The target's name (`etcd`, `redis`, `command`), in messages.
    const NAME: &'static str;
    /// Target options beyond the definition (e.g. etcd's serializable reads).
    type Opts;
    /// The name runs are labelled with (default [`Self::NAME`]; a command definition's own).
    fn name(_def: &TargetDef) -> &str {
        Self::NAME
    }
    fn ports(def: &TargetDef) -> PortPlan;
    /// The node spec for a node context from the network back end.
    fn spec(def: &TargetDef, n: &NodeCtx) -> Result<Self::Spec, TargetError>;
    fn leader(c: &Cluster<Self>) -> Option<NodeId>;
    /// Whether [`TargetSystem::leader`] can name a leader (a command target cannot).
    const HAS_LEADER: bool = true;
    fn client(
        t: &ExternalTarget<Self>,
        c: &Cluster<Self>,
        node: &str,
        w: &WorkloadInfo,
    ) -> Result<Box<dyn Client>, TargetError>;
    /// Whether [`TargetSystem::set_clock_offset`] is implemented.
    const CLOCK_OFFSETS: bool = false;
    fn set_clock_offset(_c: &Cluster<Self>, _node: &str, _offset_ms: i64) -> Result<(), TargetError> {
        Err(TargetError::unsupported(Self::NAME, "clock offsets"))
    }
    /// Initial data or checks once the cluster is healthy ([`Target::prepare`]).
    fn prepare(_t: &ExternalTarget<Self>, _w: &WorkloadInfo) -> Result<(), TargetError> {
        Ok(())
    }
    /// Called once the cluster exists (nothing started yet).
    fn after_setup(_t: &ExternalTarget<Self>, _c: &Cluster<Self>) {}
    /// Called at teardown before the processes are killed; must leave every derived log
    /// complete, since the checkers read them right after.
    fn before_teardown(_c: &Cluster<Self>) -> Result<(), TargetError> {
        Ok(())
    }
    /// Logs derived from the node logs (e.g. Redis failover events), beyond each node's own.
    fn derived_logs(_c: &Cluster<Self>) -> Vec<(NodeId, PathBuf)> {
        Vec::new()
    }
}

/// An external system as a runner target: its definition, its options, and (after setup) its
/// cluster.
pub struct ExternalTarget<Y: TargetSystem> {
    def: TargetDef,
    path: PathBuf,
    opts: Y::Opts,
    cluster: Option<Cluster<Y>>,
}

impl<Y: TargetSystem> ExternalTarget<Y> {
    /// From `targets/<file>` (or its built-in copy `builtin`), with options derived from it.
    pub fn load(
        file: &str,
        builtin: &str,
        opts: impl FnOnce(&TargetDef) -> Y::Opts,
    ) -> Result<Self, ExternalError> {
        let (def, path) = load_def(file, builtin)?;
        Ok(ExternalTarget {
            opts: opts(&def),
            def,
            path,
            cluster: None,
        })
    }
    /// The definition it runs.
    pub fn def(&self) -> &TargetDef {
        &self.def
    }

    /// Where the definition came from (for messages and relative paths).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The system's own options.
    pub fn opts(&self) -> &Y::Opts {
        &self.opts
    }

    /// The cluster, once set up.
    pub fn cluster(&self) -> Option<&Cluster<Y>> {
        self.cluster.as_ref()
    }

    /// Describes the cluster of `specs` without the local checks or hooks of
    /// [`Target::setup`]: for nodes whose processes run elsewhere (on `--hosts`), so the
    /// cluster only answers probes, leader lookups and clients, and never spawns.
    pub fn describe(&mut self, specs: Vec<Y::Spec>) -> &Cluster<Y> {
        self.cluster
            .insert(Cluster::new(self.def.clone(), &self.path, specs))
    }

    fn c(&self) -> Result<&Cluster<Y>, TargetError> {
        self.cluster
            .as_ref()
            .ok_or_else(|| TargetError::Config(format!("{} target used before setup", Y::NAME)))
    }
}

impl<Y: TargetSystem> ExternalTarget<Y> {
    /// From an already loaded definition (`faultline test --target FILE.toml`).
    pub fn with_def(def: TargetDef, path: &Path, opts: Y::Opts) -> Self {
        ExternalTarget {
            def,
            path: path.to_path_buf(),
            opts,
            cluster: None,
        }
    }
}

impl<Y> Target for ExternalTarget<Y>
where
    Y: TargetSystem + Send + Sync,
    Y::Spec: Send + Sync,
    Y::Opts: Send + Sync,
{
    fn name(&self) -> &str {
        Y::name(&self.def)
    }
    fn ports(&self) -> PortPlan {
        Y::ports(&self.def)
    }
    fn health_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.def.health_timeout_ms)
    }
    fn setup(&mut self, nodes: Vec<NodeCtx>) -> Result<(), TargetError> {
        for b in &self.def.binaries {
            super::check_binary(b, &self.def.install).map_err(te)?;
        }
        let specs = nodes
            .iter()
            .map(|n| Y::spec(&self.def, n))
            .collect::<Result<Vec<_>, _>>()?;
        let c = Cluster::new(self.def.clone(), &self.path, specs);
        // The system's own checks (e.g. that clock faults can work), before anything starts.
        Y::preflight(&c).map_err(te)?;
        Y::after_setup(self, &c);
        self.cluster = Some(c);
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
        Y::set_clock_offset(self.c()?, node, offset_ms)
    }
    fn supports_clock_offset(&self) -> bool {
        Y::CLOCK_OFFSETS
    }
    fn has_leader(&self) -> bool {
        Y::HAS_LEADER
    }
    fn leader(&self) -> Result<Option<NodeId>, TargetError> {
        Ok(Y::leader(self.c()?))
    }
    fn prepare(&self, w: &WorkloadInfo) -> Result<(), TargetError> {
        Y::prepare(self, w)
    }
    fn client(&self, node: &str, w: &WorkloadInfo) -> Result<Box<dyn Client>, TargetError> {
        Y::client(self, self.c()?, node, w)
    }
    fn log_files(&self) -> Vec<(NodeId, PathBuf)> {
        let Some(c) = &self.cluster else { return Vec::new() };
        let mut logs = c.log_files();
        logs.extend(Y::derived_logs(c));
        logs
    }
    fn teardown(&mut self) -> Result<(), TargetError> {
        let mut r = Ok(());
        if let Some(c) = &self.cluster {
            r = Y::before_teardown(c);
            c.teardown();
        }
        r
    }
}
