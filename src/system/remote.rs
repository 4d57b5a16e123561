//! Node processes on remote hosts, over SSH: what [`super::process::Supervisor`] is for
//! local nodes. The harness uploads its own binary to each host once (cached by checksum
//! under `<dir>/bin/`), starts every node in the run's directory `<dir>/<tag>/` as
//! `setsid nohup ... &` (a session of its own, a pid file, `FAULTLINE_RUN=<tag>` in its
//! environment), signals it by pid (SIGKILL, SIGSTOP/SIGCONT, SIGTERM: the node's whole
//! process group), and at teardown kills what is left, brings each node's log back into the
//! run's `nodes/<node>.log` and removes the run's directory.
//!
//! Invariant: a node counts as running only while its pid is alive, not a zombie, and still
//! carries this run's marker (a reused pid is not mistaken for the node).

use super::{NodeCtx, TargetError};
use crate::net::ssh::{quote, Fleet, Session, SshError, COMMAND_TIMEOUT, TRANSFER_TIMEOUT};
use crate::util::clock::monotonic_ns;
use crate::util::runtag::ENV_MARKER;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
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
}

/// Per host: where the binary is and how its clock relates to ours.
#[derive(Clone, Debug)]
struct HostFacts {
    binary: String,
    /// Add to a CLOCK_MONOTONIC reading here for the host's (0 on the same kernel).
    clock_offset_ns: i128,
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

/// A shell test that the process `pid` is alive, not a zombie (whose environment reads
/// empty), and marked with `tag`.
fn alive(pid: u32, tag: &str) -> String {
    format!(
        "grep -qzx {} /proc/{pid}/environ 2>/dev/null",
        quote(&format!("{ENV_MARKER}={tag}"))
    )
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
        let results = self.fleet.each(|i, s| self.ready_host(s, &name, &nodes[i].id));
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
                },
            );
        }
        Ok(())
    }

    /// One host made ready for its node `id`: see [`RemoteNodes::setup`].
    fn ready_host(&self, s: &Session, name: &str, id: &str) -> Result<HostFacts, SshError> {
        let h = &s.host;
        let setup = |what: String| SshError::Setup {
            host: h.to_string(),
            what,
        };
        let local_boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap_or_default();
        let wanted: &[String] = match &self.program {
            Program::Installed { binaries, .. } => binaries,
            Program::Upload(_) => &[],
        };
        let mut probe_cmd = String::from(
            "uname -m; cat /proc/sys/kernel/random/boot_id; command -v setsid >/dev/null && echo setsid",
        );
        for b in wanted {
            let b = quote(b);
            // bash's `command -v` also names a file that is not executable.
            probe_cmd.push_str(&format!(
                "; p=$(command -v {b}) && test -x \"$p\" && echo found:{b} || echo missing:{b}"
            ));
        }
        let probe = s.run(&probe_cmd, COMMAND_TIMEOUT)?;
        let lines: Vec<&str> = probe.lines().map(str::trim).collect();
        if !lines.contains(&"setsid") {
            return Err(setup("`setsid` is missing (install util-linux)".into()));
        }
        let run_dir = format!("{}/{}", h.dir, self.tag);
        let binary = match &self.program {
            Program::Upload(local) => {
                let arch = lines.first().copied().unwrap_or("");
                check_arch(arch).map_err(setup)?;
                let bin_dir = format!("{}/bin", h.dir);
                let binary = format!("{bin_dir}/{name}");
                let mk = format!(
                    "mkdir -p {} {}; if test -x {}; then echo cached; fi",
                    quote(&bin_dir),
                    quote(&format!("{run_dir}/{id}/data")),
                    quote(&binary)
                );
                if !s.run(&mk, COMMAND_TIMEOUT)?.contains("cached") {
                    s.upload(local, &binary, TRANSFER_TIMEOUT)?;
                }
                binary
            }
            Program::Installed { binaries, install } => {
                if let Some(m) = lines.iter().find_map(|l| l.strip_prefix("missing:")) {
                    return Err(setup(format!(
                        "`{m}` is not installed (not on the PATH of an SSH session there); install it: {install}"
                    )));
                }
                let mk = format!("mkdir -p {}", quote(&format!("{run_dir}/{id}/data")));
                s.run(&mk, COMMAND_TIMEOUT)?;
                binaries.first().cloned().unwrap_or_default()
            }
        };
        let same_kernel = lines.get(1).copied() == Some(local_boot.trim()) && !local_boot.is_empty();
        let clock_offset_ns = if same_kernel { 0 } else { clock_offset(s) };
        Ok(HostFacts {
            binary,
            clock_offset_ns,
        })
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
        if self.is_running(node) {
            return Ok(());
        }
        let (p, s) = self.placed(node)?;
        let cmd: Vec<String> = argv.iter().map(|a| quote(a)).collect();
        let log = quote(&format!("{}/{node}.log", p.run_dir));
        let script = format!(
            "cd {dir} && {ENV_MARKER}={tag} setsid nohup {cmd} >> {log} 2>&1 < /dev/null & echo $! > {pidf}; echo $!",
            dir = quote(&p.run_dir),
            tag = quote(&self.tag),
            cmd = cmd.join(" "),
            pidf = quote(&format!("{}/{node}.pid", p.run_dir)),
        );
        let out = s
            .run(&script, COMMAND_TIMEOUT)
            .map_err(|e| TargetError::node(node, e.to_string()))?;
        let pid: u32 = out.trim().parse().map_err(|_| {
            TargetError::node(node, format!("no pid from the start command: `{}`", out.trim()))
        })?;
        if let Some(x) = self.lock().get_mut(node) {
            x.pid = Some(pid);
            x.down_on_purpose = false;
        }
        Ok(())
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
                    let _ = fetch_log(s, &p, node);
                }
                false
            }
            Err(_) => false,
        }
    }

    /// Kills every node, brings their logs back, removes the run's directories (also after
    /// a setup cut short). Idempotent.
    pub fn teardown(&self) -> Result<(), TargetError> {
        let placed: Vec<(String, Placed)> = self.lock().iter().map(|(n, p)| (n.clone(), p.clone())).collect();
        let tag = self.tag.clone();
        let result = self.fleet.all(|i, s| {
            let run_dir = format!("{}/{tag}", s.host.dir);
            let mine: Vec<&(String, Placed)> = placed.iter().filter(|(_, p)| p.host == i).collect();
            if mine.is_empty() {
                // A setup cut short may have left the run's directory.
                return s
                    .run(&format!("rm -rf {}", quote(&run_dir)), COMMAND_TIMEOUT)
                    .map(|_| ());
            }
            let pids: Vec<String> = mine
                .iter()
                .filter_map(|(_, p)| p.pid)
                .map(|p| p.to_string())
                .collect();
            if !pids.is_empty() {
                s.run(&kill_script(&pids, &tag), COMMAND_TIMEOUT)?;
            }
            let mut first = None;
            for (node, p) in &mine {
                if let Err(e) = fetch_log(s, p, node) {
                    first.get_or_insert(e);
                }
            }
            s.run(&format!("rm -rf {}", quote(&run_dir)), COMMAND_TIMEOUT)?;
            first.map_or(Ok(()), Err)
        });
        self.lock().clear();
        result.map_err(err)
    }
}

/// Whether a host reporting `uname -m` = `arch` runs this machine's binaries; the error
/// says what to do.
fn check_arch(arch: &str) -> Result<(), String> {
    let here = std::env::consts::ARCH;
    if arch == here || (arch == "arm64" && here == "aarch64") {
        return Ok(());
    }
    Err(format!(
        "is {arch}, but this faultline binary is built for {here}: run the harness from a machine of the hosts' architecture"
    ))
}

/// Kills `pids` (their process groups) after waking them, and waits briefly for them to go.
pub fn kill_script(pids: &[String], tag: &str) -> String {
    let list = pids.join(" ");
    let alive_any = pids
        .iter()
        .filter_map(|p| p.parse::<u32>().ok())
        .map(|p| alive(p, tag))
        .collect::<Vec<_>>()
        .join(" || ");
    format!(
        "for p in {list}; do kill -CONT -- -$p 2>/dev/null; kill -KILL -- -$p 2>/dev/null || kill -KILL $p 2>/dev/null; done; \
         i=0; while [ $i -lt 100 ] && {{ {alive_any}; }}; do sleep 0.02; i=$((i+1)); done; true"
    )
}

/// Brings `node`'s log back into its local file.
fn fetch_log(s: &Session, p: &Placed, node: &str) -> Result<(), SshError> {
    let remote = format!("{}/{node}.log", p.run_dir);
    s.download(&remote, Path::new(&p.local_log), TRANSFER_TIMEOUT)
}

/// The host's CLOCK_MONOTONIC minus ours, from `/proc/timer_list` (root), read three times
/// and taken from the quickest round trip; 0 if the host does not say.
fn clock_offset(s: &Session) -> i128 {
    let mut best: Option<(u64, i128)> = None;
    for _ in 0..3 {
        let t0 = monotonic_ns();
        let Ok(out) = s.run("grep -m1 '^now at' /proc/timer_list", COMMAND_TIMEOUT) else {
            return 0;
        };
        let t1 = monotonic_ns();
        let Some(remote) = out.split_whitespace().nth(2).and_then(|x| x.parse::<u64>().ok()) else {
            return 0;
        };
        let rtt = t1.saturating_sub(t0);
        let offset = remote as i128 - (t0 as i128 + rtt as i128 / 2);
        if best.is_none_or(|(r, _)| rtt < r) {
            best = Some((rtt, offset));
        }
    }
    best.map_or(0, |(_, o)| o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_liveness_test_wants_this_runs_marker_and_no_zombie() {
        let me = std::process::id();
        let run = |script: &str| {
            std::process::Command::new("sh")
                .args(["-c", script])
                .status()
                .unwrap()
                .success()
        };
        // This test process carries no marker: not "alive" as a node of any run.
        assert!(!run(&alive(me, "fl1-0")));
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .env(ENV_MARKER, "fl1-0")
            .spawn()
            .unwrap();
        let pid = child.id();
        let ok = (0..100).any(|_| {
            std::thread::sleep(Duration::from_millis(10));
            run(&alive(pid, "fl1-0"))
        });
        assert!(ok, "a marked live process is alive");
        assert!(!run(&alive(pid, "fl1-1")), "another run's marker is not ours");
        assert!(run(&kill_script(&[pid.to_string()], "fl1-0")));
        child.wait().unwrap();
        assert!(!run(&alive(pid, "fl1-0")));
    }
}
