//! A cluster of real node processes, generic over the system it runs (etcd, Redis, ...): the
//! node specs, the processes by node, the preflight checks, start-all with a bounded health
//! wait, and the per-node nemesis operations. Each system says only what differs: how a node is
//! spawned, how health is probed, what its spec looks like ([`System`], [`NodeSpec`]).
//!
//! Invariant: if [`Cluster::start_all`] fails, every process it started is already killed;
//! dropping the cluster kills the rest. The first process of a node is its main one (the one
//! the nemesis kills, pauses and restarts); the others (e.g. a Sentinel) only die at teardown.

use super::{check_binary, check_ports_free, free_ports, wait_until, ExternalError, Retry, TargetDef};
use crate::system::process::{log_tail, NodeProcess, ProcessError, Supervisor};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Where one node listens and how its process is placed.
pub trait NodeSpec {
    /// A spec for node `id` on loopback with its two ports `a`, `b` (listen = dial).
    fn local(id: String, a: SocketAddr, b: SocketAddr, data_dir: PathBuf, log: PathBuf) -> Self;
    fn id(&self) -> &str;
    fn log(&self) -> &Path;
    fn data_dir(&self) -> &Path;
    /// Argv prefix placing the process (e.g. `ip netns exec NS`), or empty.
    fn exec_prefix(&self) -> &[String];
    /// The listen addresses to check free before start (only when not in a namespace), each
    /// with the name of what needs it.
    fn listens(&self) -> Vec<(SocketAddr, String)>;
    /// Log files of this node, by process name (default: the main log).
    fn log_files(&self) -> Vec<(String, PathBuf)> {
        vec![(self.id().to_string(), self.log().to_path_buf())]
    }
    /// The directory of the node's log (and of its other generated files).
    fn dir(&self) -> &Path {
        self.log().parent().unwrap_or(Path::new("."))
    }
}

/// The [`NodeSpec`] accessors of a spec struct with the fields `id: String`, `log: PathBuf`,
/// `data_dir: PathBuf` and `exec_prefix: Vec<String>` (used inside its `impl NodeSpec`).
macro_rules! spec_fields {
    () => {
        fn id(&self) -> &str {
            &self.id
        }
        fn log(&self) -> &std::path::Path {
            &self.log
        }
        fn data_dir(&self) -> &std::path::Path {
            &self.data_dir
        }
        fn exec_prefix(&self) -> &[String] {
            &self.exec_prefix
        }
    };
}
pub(crate) use spec_fields;

/// What a system adds to the generic cluster: its own state and how its nodes run.
pub trait System: Sized {
    type Spec: NodeSpec;
    /// How a node is called in errors (`etcd member`, `Redis node`).
    const NODE: &'static str;
    /// The main process's name in the "exited" error (`process`, `redis-server`).
    const PROCESS: &'static str;
    fn new(def: &TargetDef, specs: &[Self::Spec]) -> Self;
    /// Checks beyond binaries and ports, run before anything starts.
    fn preflight(_c: &Cluster<Self>) -> Result<(), ExternalError> {
        Ok(())
    }
    /// Spawns every process of node `s`, main one first.
    fn spawn(c: &Cluster<Self>, s: &Self::Spec) -> Result<Vec<NodeProcess>, ExternalError>;
    /// One health probe of `node`.
    fn healthy(c: &Cluster<Self>, node: &str, timeout: Duration) -> Result<(), String>;
    /// The node as named in a never-healthy error.
    fn describe(s: &Self::Spec) -> String;
}

/// A running (or startable) cluster of system `Y`.
pub struct Cluster<Y: System> {
    pub def: TargetDef,
    pub def_path: PathBuf,
    pub specs: Vec<Y::Spec>,
    pub sys: Y,
    procs: Supervisor,
}

impl<Y: System> Cluster<Y> {
    pub fn new(def: TargetDef, def_path: &Path, specs: Vec<Y::Spec>) -> Cluster<Y> {
        Cluster {
            sys: Y::new(&def, &specs),
            def,
            def_path: def_path.to_path_buf(),
            specs,
            procs: Supervisor::new(),
        }
    }

    /// `def.nodes` nodes on 127.0.0.1 under `dir`, two ports each from `def.port_base`
    /// (0: free ports).
    pub fn local(def: TargetDef, def_path: &Path, dir: &Path) -> Result<Cluster<Y>, ExternalError> {
        let n = def.nodes;
        let ports: Vec<u16> = if def.port_base == 0 {
            free_ports(2 * n)?
        } else {
            (0..2 * n as u16).map(|i| def.port_base + i).collect()
        };
        let specs = (0..n)
            .map(|i| {
                let id = format!("n{}", i + 1);
                Y::Spec::local(
                    id.clone(),
                    ([127, 0, 0, 1], ports[2 * i]).into(),
                    ([127, 0, 0, 1], ports[2 * i + 1]).into(),
                    dir.join(format!("{id}.data")),
                    dir.join(format!("{id}.log")),
                )
            })
            .collect();
        Ok(Cluster::new(def, def_path, specs))
    }

    /// [`Self::local`] then [`Self::start_all`]. With free ports (`port_base = 0`), a port
    /// another process takes between the draw and the check is not the user's error: the
    /// ports are drawn again (up to 5 tries) before [`ExternalError::PortInUse`] is returned.
    pub fn start_local(def: TargetDef, def_path: &Path, dir: &Path) -> Result<Cluster<Y>, ExternalError> {
        let mut tries = 0;
        loop {
            let c = Cluster::local(def.clone(), def_path, dir)?;
            match c.start_all() {
                Err(ExternalError::PortInUse { .. }) if def.port_base == 0 && tries < 4 => tries += 1,
                r => return r.map(|()| c),
            }
        }
    }

    pub fn nodes(&self) -> Vec<String> {
        self.specs.iter().map(|s| s.id().to_string()).collect()
    }

    pub fn spec(&self, node: &str) -> Result<&Y::Spec, ExternalError> {
        self.specs
            .iter()
            .find(|s| s.id() == node)
            .ok_or_else(|| ExternalError::Node {
                node: node.to_string(),
                detail: format!("no such {}", Y::NODE),
            })
    }

    /// Checks binaries and ports, starts every node, and waits (bounded by
    /// `health_timeout_ms`) until all are healthy. On error nothing is left running.
    pub fn start_all(&self) -> Result<(), ExternalError> {
        for b in &self.def.binaries {
            check_binary(b, &self.def.install)?;
        }
        Y::preflight(self)?;
        for s in &self.specs {
            if s.exec_prefix().is_empty() {
                for (a, what) in s.listens() {
                    check_ports_free(a.ip(), &[a.port()], &what)?;
                }
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
            self.start(s.id())?;
        }
        let limit = Duration::from_millis(self.def.health_timeout_ms);
        let start = Instant::now();
        for s in &self.specs {
            let left = limit.saturating_sub(start.elapsed());
            if let Err(detail) = self.wait_healthy(s.id(), left) {
                return Err(ExternalError::NeverHealthy {
                    what: Y::describe(s),
                    waited: start.elapsed(),
                    detail,
                    log: s.log().to_path_buf(),
                    tail: log_tail(s.log(), 40),
                });
            }
        }
        Ok(())
    }

    /// Starts one node: restarts its main process if it ran before (keeping its data dir),
    /// else spawns all its processes.
    pub fn start(&self, node: &str) -> Result<(), ExternalError> {
        let s = self.spec(node)?;
        std::fs::create_dir_all(s.data_dir())
            .map_err(|e| ExternalError::io(format!("create {}", s.data_dir().display()), e))?;
        self.procs.start(node, || Y::spawn(self, s))
    }

    /// One health probe of `node` (what it checks is the system's).
    pub fn healthy(&self, node: &str, timeout: Duration) -> Result<(), String> {
        Y::healthy(self, node, timeout)
    }

    /// Waits up to `limit` for the node to be healthy; the error is the last reason.
    pub fn wait_healthy(&self, node: &str, limit: Duration) -> Result<(), String> {
        wait_until(limit, Duration::from_millis(100), || {
            if !self.is_running(node) {
                return Err(Retry::fatal(format!("{} of {node} exited", Y::PROCESS)));
            }
            self.healthy(node, Duration::from_millis(1000))
                .map_err(Retry::again)
        })
        .map_err(|(_, e)| e)
    }

    /// Runs `f` on the node's main process.
    fn with<T>(&self, node: &str, f: impl FnOnce(&mut NodeProcess) -> T) -> Result<T, ExternalError> {
        self.procs.with(node, f).map_err(|e| match e {
            ProcessError::NotStarted(node) => ExternalError::Node {
                node,
                detail: "was never started".into(),
            },
            e => e.into(),
        })
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
    /// The OS process id of the node's main process, while it has one (for its CPU time).
    pub fn pid(&self, node: &str) -> Option<u32> {
        self.procs.pid(node)
    }
    pub fn is_running(&self, node: &str) -> bool {
        self.procs.is_running(node)
    }

    pub fn log_files(&self) -> Vec<(String, PathBuf)> {
        self.specs.iter().flat_map(|s| s.log_files()).collect()
    }

    /// Kills every process of every node. Idempotent.
    pub fn teardown(&self) {
        self.procs.kill_all();
    }
}

impl<Y: System> Drop for Cluster<Y> {
    fn drop(&mut self) {
        self.teardown();
    }
}
