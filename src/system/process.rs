//! Node processes, the one supervisor of every system the harness starts: real OS processes
//! with real signals (SIGKILL, SIGSTOP/SIGCONT), their output appended to a per-node log.
//!
//! Each node runs in its own process group, so a wrapper (`ip netns exec`, a shell) and the
//! server it starts are signalled together, and a Ctrl-C on the terminal does not reach nodes
//! before the runner heals. Every process carries `FAULTLINE_RUN=<tag>` in its environment, so
//! `faultline cleanup` finds it after the harness died. Dropping a [`NodeProcess`] (or the
//! [`Supervisor`] owning it) kills and reaps it.

use crate::system::faketime;
use crate::util::runtag::{RunTag, ENV_MARKER};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ProcessError {
    #[error("cannot start `{command}` for node {node}: {source}")]
    Spawn {
        node: String,
        command: String,
        source: std::io::Error,
    },
    #[error("node {node}: cannot open log {path}: {source}")]
    Log {
        node: String,
        path: String,
        source: std::io::Error,
    },
    #[error("node {0}: empty start command")]
    Empty(String),
    #[error("node {0} was never started")]
    NotStarted(String),
}

/// One node's server process. `argv` is run as `prefix ++ argv` (the prefix enters a network
/// namespace, or is empty).
pub struct NodeProcess {
    pub name: String,
    argv: Vec<String>,
    prefix: Vec<String>,
    env: Vec<(String, String)>,
    log: PathBuf,
    child: Option<Child>,
    paused: bool,
    /// `FAULTLINE_RUN` for the process: the run tag `faultline cleanup` finds it by.
    marker: String,
}

impl NodeProcess {
    /// Starts the process now.
    pub fn spawn(
        name: &str,
        prefix: Vec<String>,
        argv: Vec<String>,
        env: Vec<(String, String)>,
        log: PathBuf,
    ) -> Result<NodeProcess, ProcessError> {
        let mut p = NodeProcess::new(name, prefix, argv, env, log);
        p.start()?;
        Ok(p)
    }

    /// The process, not started yet. It will carry this harness's run marker.
    pub fn new(
        name: &str,
        prefix: Vec<String>,
        argv: Vec<String>,
        env: Vec<(String, String)>,
        log: PathBuf,
    ) -> NodeProcess {
        NodeProcess {
            name: name.to_string(),
            argv,
            prefix,
            env,
            log,
            child: None,
            paused: false,
            marker: RunTag::for_pid(std::process::id()).as_str().to_string(),
        }
    }

    /// Marks the process with this run's tag instead of the harness's default one.
    pub fn marked(mut self, tag: &str) -> NodeProcess {
        self.marker = tag.to_string();
        self
    }

    /// The full command line, for messages.
    pub fn command_line(&self) -> String {
        self.prefix
            .iter()
            .chain(self.argv.iter())
            .cloned()
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// (Re)starts the process if it is not running.
    pub fn start(&mut self) -> Result<(), ProcessError> {
        if self.is_running() {
            return Ok(());
        }
        let log_err = |source| ProcessError::Log {
            node: self.name.clone(),
            path: self.log.display().to_string(),
            source,
        };
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(log_err)?;
        let log2 = log.try_clone().map_err(log_err)?;
        let full: Vec<&String> = self.prefix.iter().chain(self.argv.iter()).collect();
        let Some((program, args)) = full.split_first() else {
            return Err(ProcessError::Empty(self.name.clone()));
        };
        let mut cmd = Command::new(program);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log2))
            .process_group(0);
        // The run marker names this harness as the owner, so `faultline cleanup`
        // finds the node if the harness dies without tearing it down.
        cmd.env(ENV_MARKER, &self.marker);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().map_err(|source| ProcessError::Spawn {
            node: self.name.clone(),
            command: self.command_line(),
            source,
        })?;
        self.child = Some(child);
        self.paused = false;
        Ok(())
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// True while the process has not exited (a paused process is running).
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    fn signal(&self, sig: Signal) {
        if let Some(pid) = self.pid() {
            // The group may already be gone; that is what we wanted anyway.
            let _ = killpg(Pid::from_raw(pid as i32), sig);
        }
    }

    /// SIGKILL to the whole group, then reap. Idempotent.
    pub fn kill(&mut self) {
        // Signal before taking the child: `signal` finds the group by the child's pid.
        self.signal(Signal::SIGKILL);
        if let Some(mut c) = self.child.take() {
            let _ = c.wait();
            // A SIGKILLed process cannot remove libfaketime's files for it.
            if self
                .env
                .iter()
                .any(|(k, v)| k == "LD_PRELOAD" && v.contains("faketime"))
            {
                faketime::remove_files_of(Path::new(faketime::SHM_DIR), c.id());
            }
        }
        self.paused = false;
    }

    /// SIGTERM, up to `grace` for a clean exit, then SIGKILL.
    pub fn stop(&mut self, grace: Duration) {
        if self.child.is_none() {
            return;
        }
        self.signal(Signal::SIGCONT);
        self.signal(Signal::SIGTERM);
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if !self.is_running() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill();
    }

    /// SIGSTOP: the process keeps its sockets but answers nothing.
    pub fn pause(&mut self) {
        if self.child.is_some() {
            self.signal(Signal::SIGSTOP);
            self.paused = true;
        }
    }

    pub fn resume(&mut self) {
        if self.child.is_some() {
            self.signal(Signal::SIGCONT);
            self.paused = false;
        }
    }

    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// Kill, then start again with the same command (data dir kept).
    pub fn restart(&mut self) -> Result<(), ProcessError> {
        self.kill();
        self.start()
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The last `lines` lines of the node's log (for error messages).
    pub fn log_tail(&self, lines: usize) -> String {
        log_tail(&self.log, lines)
    }

    /// The last `lines` lines of any log file.
    pub fn tail_of(path: &Path, lines: usize) -> String {
        log_tail(path, lines)
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The last `lines` lines of a file, reading at most its last 64 KiB.
pub fn log_tail(path: &Path, lines: usize) -> String {
    let Ok(mut f) = std::fs::File::open(path) else {
        return String::from("(no log)");
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(65536)));
    let mut buf = Vec::new();
    let _ = f.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Node processes by node, shared by the client, nemesis and control threads. A node's first
/// process is its main one (the one the nemesis kills, pauses and restarts); the others (a
/// Redis Sentinel) only die at teardown. Dropping the supervisor kills them all.
#[derive(Default)]
pub struct Supervisor {
    procs: Mutex<BTreeMap<String, Vec<NodeProcess>>>,
}

impl Supervisor {
    pub fn new() -> Supervisor {
        Supervisor::default()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Vec<NodeProcess>>> {
        self.procs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts `node`: restarts its main process if it ran before (its data dir is kept),
    /// else spawns all its processes with `spawn`, main one first.
    pub fn start<E: From<ProcessError>>(
        &self,
        node: &str,
        spawn: impl FnOnce() -> Result<Vec<NodeProcess>, E>,
    ) -> Result<(), E> {
        let mut procs = self.lock();
        if let Some(p) = procs.get_mut(node).and_then(|v| v.first_mut()) {
            return Ok(p.start()?);
        }
        let p = spawn()?;
        procs.insert(node.to_string(), p);
        Ok(())
    }

    /// Runs `f` on the node's main process.
    pub fn with<T>(&self, node: &str, f: impl FnOnce(&mut NodeProcess) -> T) -> Result<T, ProcessError> {
        let mut procs = self.lock();
        let p = procs
            .get_mut(node)
            .and_then(|v| v.first_mut())
            .ok_or_else(|| ProcessError::NotStarted(node.to_string()))?;
        Ok(f(p))
    }

    /// SIGKILL the main process and reap it. A node that is not running is not an error.
    pub fn kill(&self, node: &str) -> Result<(), ProcessError> {
        self.with(node, |p| p.kill())
    }

    /// SIGTERM, up to `grace` for a clean exit, then SIGKILL.
    pub fn stop(&self, node: &str, grace: Duration) -> Result<(), ProcessError> {
        self.with(node, |p| p.stop(grace))
    }

    /// SIGSTOP.
    pub fn pause(&self, node: &str) -> Result<(), ProcessError> {
        self.with(node, |p| p.pause())
    }

    /// SIGCONT.
    pub fn resume(&self, node: &str) -> Result<(), ProcessError> {
        self.with(node, |p| p.resume())
    }

    /// The OS process id of the node's main process, while it has one.
    pub fn pid(&self, node: &str) -> Option<u32> {
        self.with(node, |p| p.pid()).ok().flatten()
    }

    /// Whether the main process exists (possibly paused); reaps it if it exited.
    pub fn is_running(&self, node: &str) -> bool {
        self.with(node, |p| p.is_running()).unwrap_or(false)
    }

    /// Kills every process of every node. Idempotent.
    pub fn kill_all(&self) {
        let mut procs = self.lock();
        for p in procs.values_mut().flatten() {
            p.kill();
        }
        procs.clear();
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        self.kill_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
        let ok = (0..200).any(|_| {
            let found = f();
            if !found {
                std::thread::sleep(Duration::from_millis(10));
            }
            found
        });
        assert!(ok, "{what}");
    }

    #[test]
    fn kill_pause_resume_restart_and_drop_reap_the_process_group() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("n1.log");
        let argv = vec!["sh".into(), "-c".into(), "echo started; exec sleep 30".into()];
        let mut p = NodeProcess::spawn("n1", vec![], argv, vec![], log.clone()).unwrap();
        let pid = p.pid().unwrap();
        assert!(p.is_running());
        wait_for("output goes to the log", || log_tail(&log, 5).contains("started"));
        p.pause();
        assert!(p.is_paused());
        p.resume();
        p.kill();
        assert!(!p.is_running());
        p.restart().unwrap();
        let pid2 = p.pid().unwrap();
        assert_ne!(pid, pid2);
        drop(p);
        // The reaped group is gone: signal 0 fails.
        assert!(nix::sys::signal::kill(Pid::from_raw(pid2 as i32), None).is_err());
    }

    #[test]
    fn the_supervisor_marks_restarts_and_kills_nodes_and_names_missing_ones() {
        let dir = tempfile::tempdir().unwrap();
        let s = Supervisor::new();
        let spawn = |node: &str, argv: Vec<String>| {
            let log = dir.path().join(format!("{node}.log"));
            let n = node.to_string();
            move || -> Result<Vec<NodeProcess>, ProcessError> {
                let mut p = NodeProcess::new(&n, vec![], argv, vec![], log).marked("fltest-9");
                p.start()?;
                Ok(vec![p])
            }
        };
        s.start("n1", spawn("n1", vec!["sleep".into(), "30".into()]))
            .unwrap();
        assert!(s.is_running("n1"));
        let pid = s.pid("n1").unwrap();
        // The parent can resume from posix_spawn's vfork before the kernel has
        // published the new image's environment: poll briefly.
        wait_for("FAULTLINE_RUN marker in /proc/PID/environ", || {
            let env = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
            String::from_utf8_lossy(&env).contains("FAULTLINE_RUN=fltest-9")
        });
        s.pause("n1").unwrap();
        s.resume("n1").unwrap();
        s.kill("n1").unwrap();
        assert!(!s.is_running("n1"));
        s.kill("n1").unwrap();
        // A second start restarts the main process rather than spawning anew.
        s.start("n1", || -> Result<Vec<NodeProcess>, ProcessError> {
            panic!("spawned twice")
        })
        .unwrap();
        assert!(s.is_running("n1") && s.pid("n1") != Some(pid));
        let missing = s.start("n2", spawn("n2", vec!["/nonexistent/faultline-node".into()]));
        assert!(matches!(missing, Err(ProcessError::Spawn { .. })), "{missing:?}");
        assert!(matches!(s.kill("n9"), Err(ProcessError::NotStarted(_))));
        s.kill_all();
        assert!(!s.is_running("n1"));
    }
}
