//! Node processes on remote hosts, over SSH: what [`super::process::Supervisor`] is for
//! local nodes. The harness uploads its own binary to each host once (cached by checksum
//! under `<dir>/bin/`), starts every node in the run's directory `<dir>/<tag>/` as
//! `setsid nohup ... &` (a session of its own, a pid file, `FAULTLINE_RUN=<tag>` in its
//! environment), signals it by pid (SIGKILL, SIGSTOP/SIGCONT, SIGTERM: the node's whole
//! process group), and at teardown kills what is left, brings each node's log back into the
//! run's `nodes/<node>.log` and removes the run's directory. A node may be several
//! processes ([`Launch`]: e.g. a Redis server and its Sentinel): the first is the one the
//! nemesis signals and restarts, the others only die at teardown, as locally.
//!
//! Invariant: a node counts as running only while its pid is alive, not a zombie, and still
//! carries this run's marker (a reused pid is not mistaken for the node).

pub mod clock;
mod host;

pub use host::kill_script;

use super::{NodeCtx, TargetError};
use crate::net::ssh::{quote, Fleet, Session, SshError, COMMAND_TIMEOUT};
use crate::util::runtag::ENV_MARKER;
use host::{alive, fetch_log, HostFacts};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// One node's place on its host.
#[derive(Clone, Debug)]
struct Placed {
    host: usize,
    /// The run's directory on the host.
    run_dir: String,
    pid: Option<u32>,
    /// Killed or stopped by the harness (its death is no surprise).
    down_on_purpose: bool,
    local_log: PathBuf,
    /// The node's other processes (by launch name) once started: killed at teardown only.
    extra: Vec<(String, u32)>,
}

impl Placed {
    /// Every process's log: (on the host, here). The main one is `<node>.log`; another
    /// launch `name`'s is `<name>.log` in both directories.
    fn logs(&self, node: &str) -> Vec<(String, PathBuf)> {
        let here = self.local_log.parent().map(PathBuf::from).unwrap_or_default();
        let mut v = vec![(format!("{}/{node}.log", self.run_dir), self.local_log.clone())];
        for (name, _) in &self.extra {
            v.push((
                format!("{}/{name}.log", self.run_dir),
                here.join(format!("{name}.log")),
            ));
        }
        v
    }
}

/// One process of a node on its host: its `name` (its log is `<run dir>/<name>.log`, its
/// pid file `<name>.pid`; the main process's name is the node's), its argv (binary first),
/// extra environment, and files (host path, content) written before the node's processes
/// first start (not at a restart, as a local restart keeps them).
#[derive(Clone, Debug, Default)]
pub struct Launch {
    pub name: String,
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
    pub files: Vec<(String, String)>,
}

impl Launch {
    /// The node's only process: `argv`, nothing else.
    pub fn main(node: &str, argv: &[String]) -> Launch {
        Launch {
            name: node.to_string(),
            argv: argv.to_vec(),
            ..Launch::default()
        }
    }
}

/// What a remote node is started with: its context with the host's paths, the binary on
/// the host and the history's time origin in the host's clock.
pub struct RemoteStart {
    pub ctx: NodeCtx,
    pub binary: String,
    pub origin_ns: u64,
}

/// What runs on the hosts.
#[derive(Clone, Debug)]
pub enum Program {
    /// The harness's own binary, uploaded (cached by checksum): the built-in store.
    Upload(PathBuf),
    /// Programs installed on every host (etcd, ...): each of `binaries` must be on the
    /// PATH of an SSH session there; `install` says how to get them.
    Installed { binaries: Vec<String>, install: String },
}

pub struct RemoteNodes {
    fleet: Arc<Fleet>,
    tag: String,
    program: Program,
    nodes: Mutex<BTreeMap<String, Placed>>,
    facts: Vec<HostFacts>,
}

fn err(e: SshError) -> TargetError {
    TargetError::Config(e.to_string())
}

impl RemoteNodes {
    /// Nodes on `fleet`'s hosts (node i on host i), started from the local `binary`.
    pub fn new(fleet: Arc<Fleet>, tag: &str, binary: PathBuf) -> RemoteNodes {
        Self::running(fleet, tag, Program::Upload(binary))
    }

    /// Nodes on `fleet`'s hosts (node i on host i) running `program`.
    pub fn running(fleet: Arc<Fleet>, tag: &str, program: Program) -> RemoteNodes {
        RemoteNodes {
            fleet,
            tag: tag.to_string(),
            program,
            nodes: Mutex::new(BTreeMap::new()),
            facts: Vec::new(),
        }
    }

    /// The hosts.
    pub fn fleet(&self) -> &Arc<Fleet> {
        &self.fleet
    }

    /// The directory of `node`'s run on its host (its log is `<dir>/<node>.log`).
    pub fn run_dir(&self, node: &str) -> Option<String> {
        self.lock().get(node).map(|p| p.run_dir.clone())
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Placed>> {
        self.nodes.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn placed(&self, node: &str) -> Result<(Placed, &Session), TargetError> {
        let p = self
            .lock()
            .get(node)
            .cloned()
            .ok_or_else(|| TargetError::UnknownNode(node.into()))?;
        let s = self
            .fleet
            .get(p.host)
            .ok_or_else(|| TargetError::node(node, "no host for it"))?;
        Ok((p, s))
    }

    /// Places `nodes` (in order) on the hosts and readies each host: the binary runs there
    /// (same architecture, `setsid` present), is uploaded unless cached, the run's
    /// directories exist, and the host's clock is related to ours.
    pub fn setup(&mut self, nodes: &[NodeCtx]) -> Result<(), TargetError> {
        if nodes.len() != self.fleet.len() {
            return Err(TargetError::Config(format!(
                "{} nodes on {} hosts (one node per host, connect to the hosts used only)",
                nodes.len(),
                self.fleet.len()
            )));
        }
        let name = match &self.program {
            Program::Upload(binary) => {
                let bytes = std::fs::read(binary).map_err(|source| TargetError::Io {
                    context: format!("reading the node binary {}", binary.display()),
                    source,
                })?;
                format!("faultline-{:08x}-{}", crc32fast::hash(&bytes), bytes.len())
            }
            Program::Installed { .. } => String::new(),
        };
        let results = self
            .fleet
            .each(|i, s| host::ready(s, &self.program, &self.tag, &name, &nodes[i].id));
        let mut facts = Vec::new();
        let mut errors = Vec::new();
        for r in results {
            match r {
                Ok(f) => facts.push(f),
                Err(e) => errors.push(e),
            }
        }
        if let Some(e) = SshError::many(errors) {
            return Err(err(e));
        }
        self.facts = facts;
        let mut placed = self.lock();
        for (i, n) in nodes.iter().enumerate() {
            let run_dir = format!("{}/{}", self.fleet.sessions()[i].host.dir, self.tag);
            placed.insert(
                n.id.clone(),
                Placed {
                    host: i,
                    run_dir,
                    pid: None,
                    down_on_purpose: false,
                    local_log: n.log.clone(),
                    extra: Vec::new(),
                },
            );
        }
        Ok(())
    }

    /// `n` as it runs on its host: the host's paths, binary and time origin.
    pub fn start_ctx(&self, n: &NodeCtx, origin_ns: u64) -> Result<RemoteStart, TargetError> {
        let (p, _) = self.placed(&n.id)?;
        let facts = self
            .facts
            .get(p.host)
            .ok_or_else(|| TargetError::node(&n.id, "its host was not set up"))?;
        let mut ctx = n.clone();
        ctx.data_dir = PathBuf::from(format!("{}/{}/data", p.run_dir, n.id));
        ctx.log = PathBuf::from(format!("{}/{}.log", p.run_dir, n.id));
        let origin = (origin_ns as i128 + facts.clock_offset_ns).clamp(0, u64::MAX as i128) as u64;
        Ok(RemoteStart {
            ctx,
            binary: facts.binary.clone(),
            origin_ns: origin,
        })
    }

    /// Starts `node` with `argv` (binary first) unless it is running already.
    pub fn start(&self, node: &str, argv: &[String]) -> Result<(), TargetError> {
        self.launch(node, &[Launch::main(node, argv)])
    }

    /// Starts `node` unless it is running already: the first time every one of
    /// `launches` (their files written first), later only the first, main one.
    pub fn launch(&self, node: &str, launches: &[Launch]) -> Result<(), TargetError> {
        if self.is_running(node) {
            return Ok(());
        }
        let (p, s) = self.placed(node)?;
        let first = p.pid.is_none();
        let todo = if first {
            launches
        } else {
            &launches[..launches.len().min(1)]
        };
        let mut script = format!("cd {} || exit 1; ", quote(&p.run_dir));
        for (path, content) in todo.iter().filter(|_| first).flat_map(|l| &l.files) {
            script.push_str(&format!(
                "printf %s {} > {} || exit 1; ",
                quote(content),
                quote(path)
            ));
        }
        for l in todo {
            let cmd: Vec<String> = l.argv.iter().map(|a| quote(a)).collect();
            let env: Vec<String> = l.env.iter().map(|(k, v)| format!("{k}={}", quote(v))).collect();
            script.push_str(&format!(
                "{ENV_MARKER}={tag} {env} setsid nohup {cmd} >> {log} 2>&1 < /dev/null & echo $! > {pidf}; echo $!; ",
                tag = quote(&self.tag),
                env = env.join(" "),
                cmd = cmd.join(" "),
                log = quote(&format!("{}/{}.log", p.run_dir, l.name)),
                pidf = quote(&format!("{}/{}.pid", p.run_dir, l.name)),
            ));
        }
        let out = s
            .run(&script, COMMAND_TIMEOUT)
            .map_err(|e| TargetError::node(node, e.to_string()))?;
        let pids: Vec<u32> = out.split_whitespace().filter_map(|x| x.parse().ok()).collect();
        if pids.len() != todo.len() {
            return Err(TargetError::node(
                node,
                format!("no pid from the start command: `{}`", out.trim()),
            ));
        }
        if let Some(x) = self.lock().get_mut(node) {
            x.pid = Some(pids[0]);
            x.down_on_purpose = false;
            if first {
                x.extra = todo[1..]
                    .iter()
                    .map(|l| l.name.clone())
                    .zip(pids[1..].iter().copied())
                    .collect();
            }
        }
        Ok(())
    }

    /// Writes `content` to the file `path` on `node`'s host (e.g. a libfaketime offset).
    pub fn write(&self, node: &str, path: &str, content: &str) -> Result<(), TargetError> {
        let (_, s) = self.placed(node)?;
        let script = format!("printf %s {} > {}", quote(content), quote(path));
        s.run(&script, COMMAND_TIMEOUT)
            .map(|_| ())
            .map_err(|e| TargetError::node(node, e.to_string()))
    }

    /// Steps the system clock of `node`'s host to `offset_ms` off (`--set-host-clocks`, see
    /// [`clock`]); the offset is kept in the run's directory there, which heals it.
    pub fn step_clock(&self, node: &str, offset_ms: i64) -> Result<(), TargetError> {
        let (p, s) = self.placed(node)?;
        clock::step(s, &p.run_dir, offset_ms)
            .map(|_| ())
            .map_err(|e| TargetError::node(node, e.to_string()))
    }

    /// Sends `sig` (`KILL`, `STOP`, `CONT`, `TERM`) to the node's process group; for KILL and
    /// TERM waits up to `wait` for it to be gone.
    fn signal(&self, node: &str, sig: &str, wait: Duration) -> Result<(), TargetError> {
        let (p, s) = self.placed(node)?;
        let Some(pid) = p.pid else { return Ok(()) };
        let rounds = (wait.as_millis() / 20).max(1);
        let script = format!(
            "kill -{sig} -- -{pid} 2>/dev/null || kill -{sig} {pid} 2>/dev/null; \
             i=0; while [ $i -lt {rounds} ] && [ {waits} = 1 ] && {alive}; do sleep 0.02; i=$((i+1)); done; true",
            waits = u8::from(sig == "KILL" || sig == "TERM"),
            alive = alive(pid, &self.tag),
        );
        s.run(&script, COMMAND_TIMEOUT + wait)
            .map(|_| ())
            .map_err(|e| TargetError::node(node, e.to_string()))
    }

    fn mark_down(&self, node: &str) {
        if let Some(x) = self.lock().get_mut(node) {
            x.down_on_purpose = true;
        }
    }

    /// SIGKILL, then waits until the process is gone.
    pub fn kill(&self, node: &str) -> Result<(), TargetError> {
        self.mark_down(node);
        self.signal(node, "KILL", Duration::from_secs(2))
    }

    /// SIGCONT + SIGTERM, up to `grace` for a clean exit, then SIGKILL.
    pub fn stop(&self, node: &str, grace: Duration) -> Result<(), TargetError> {
        self.mark_down(node);
        self.signal(node, "CONT", Duration::ZERO)?;
        self.signal(node, "TERM", grace)?;
        self.signal(node, "KILL", Duration::from_secs(2))
    }

    pub fn pause(&self, node: &str) -> Result<(), TargetError> {
        self.signal(node, "STOP", Duration::ZERO)
    }

    pub fn resume(&self, node: &str) -> Result<(), TargetError> {
        self.signal(node, "CONT", Duration::ZERO)
    }

    /// Whether the node's process is alive on its host (possibly paused). A node found dead
    /// that nobody killed has its log brought back at once, so the harness can say why.
    pub fn is_running(&self, node: &str) -> bool {
        let Ok((p, s)) = self.placed(node) else {
            return false;
        };
        let Some(pid) = p.pid else { return false };
        let script = format!("if {}; then echo up; fi", alive(pid, &self.tag));
        match s.run(&script, COMMAND_TIMEOUT) {
            Ok(out) if out.contains("up") => true,
            Ok(_) => {
                if !p.down_on_purpose {
                    let (remote, here) = &p.logs(node)[0];
                    let _ = fetch_log(s, remote, here);
                }
                false
            }
            Err(_) => false,
        }
    }

    /// Steps back every host clock the run left stepped, kills every node, brings their logs
    /// back, removes the run's directories (also after a setup cut short). Idempotent.
    pub fn teardown(&self) -> Result<(), TargetError> {
        let placed: Vec<(String, Placed)> = self.lock().iter().map(|(n, p)| (n.clone(), p.clone())).collect();
        let tag = self.tag.clone();
        let result = self.fleet.all(|i, s| {
            let run_dir = format!("{}/{tag}", s.host.dir);
            // Before the directory (and the offset file in it) goes. A clock not stepped back
            // keeps the directory, so `cleanup --hosts` can still step it back.
            let unhealed = clock::heal(s, &run_dir).err().map(|e| SshError::Setup {
                host: s.host.to_string(),
                what: format!(
                    "its clock was not stepped back ({e}); {run_dir} stays for `faultline cleanup --hosts`"
                ),
            });
            let rm = |first: Option<SshError>| match unhealed {
                Some(e) => Err(e),
                None => {
                    s.run(&format!("rm -rf {}", quote(&run_dir)), COMMAND_TIMEOUT)?;
                    first.map_or(Ok(()), Err)
                }
            };
            let mine: Vec<&(String, Placed)> = placed.iter().filter(|(_, p)| p.host == i).collect();
            if mine.is_empty() {
                // A setup cut short may have left the run's directory.
                return rm(None);
            }
            let pids: Vec<String> = mine
                .iter()
                .flat_map(|(_, p)| p.pid.into_iter().chain(p.extra.iter().map(|(_, x)| *x)))
                .map(|p| p.to_string())
                .collect();
            if !pids.is_empty() {
                s.run(&kill_script(&pids, &tag), COMMAND_TIMEOUT)?;
            }
            let mut first = None;
            for (remote, here) in mine.iter().flat_map(|(node, p)| p.logs(node)) {
                if let Err(e) = fetch_log(s, &remote, &here) {
                    first.get_or_insert(e);
                }
            }
            rm(first)
        });
        self.lock().clear();
        result.map_err(err)
    }
}
