//! Node processes: spawn with a placement prefix, signal, reap.
//!
//! Every process gets `FAULTLINE_RUN=<tag>` in its environment and its own
//! process group, so `faultline cleanup` can find it after the harness died
//! and a Ctrl-C on the terminal does not hit nodes before the runner heals.

use crate::nemesis::net::names::ENV_MARKER;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ProcessError {
    #[error("node {node}: cannot start `{program}`: {source}")]
    Spawn {
        node: String,
        program: String,
        source: std::io::Error,
    },
    #[error("node {node}: cannot open log {path}: {source}")]
    Log {
        node: String,
        path: String,
        source: std::io::Error,
    },
    #[error("unknown node `{0}`")]
    Unknown(String),
    #[error("node {0} is not running")]
    NotRunning(String),
    #[error("node {node}: signal {signal}: {errno}")]
    Signal {
        node: String,
        signal: String,
        errno: nix::Error,
    },
}

/// How to run one node: the full argv (placement prefix included) and its log.
#[derive(Clone, Debug)]
pub struct Spec {
    pub argv: Vec<String>,
    pub log: PathBuf,
    pub env: Vec<(String, String)>,
}

struct Slot {
    spec: Spec,
    child: Option<Child>,
}

/// Owns a set of node processes. Thread safe; every method is idempotent
/// where that makes sense (killing a dead node is fine).
pub struct Supervisor {
    tag: String,
    slots: Mutex<BTreeMap<String, Slot>>,
}

impl Supervisor {
    pub fn new(tag: &str) -> Supervisor {
        Supervisor {
            tag: tag.to_string(),
            slots: Mutex::new(BTreeMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Slot>> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers (or replaces) how `node` is run. Does not start it.
    pub fn define(&self, node: &str, spec: Spec) {
        self.lock().insert(node.to_string(), Slot { spec, child: None });
    }

    /// Starts `node` unless it is already running. Output is appended to its log.
    pub fn start(&self, node: &str) -> Result<u32, ProcessError> {
        let mut slots = self.lock();
        let slot = slots
            .get_mut(node)
            .ok_or_else(|| ProcessError::Unknown(node.into()))?;
        if let Some(c) = slot.child.as_mut() {
            if matches!(c.try_wait(), Ok(None)) {
                return Ok(c.id());
            }
        }
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&slot.spec.log)
            .map_err(|source| ProcessError::Log {
                node: node.into(),
                path: slot.spec.log.display().to_string(),
                source,
            })?;
        let err = log.try_clone().map_err(|source| ProcessError::Log {
            node: node.into(),
            path: slot.spec.log.display().to_string(),
            source,
        })?;
        let argv = &slot.spec.argv;
        let program = argv.first().cloned().unwrap_or_default();
        let mut cmd = Command::new(&program);
        cmd.args(&argv[1..])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .env(ENV_MARKER, &self.tag)
            .process_group(0);
        for (k, v) in &slot.spec.env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().map_err(|source| ProcessError::Spawn {
            node: node.into(),
            program: argv.join(" "),
            source,
        })?;
        let pid = child.id();
        slot.child = Some(child);
        Ok(pid)
    }

    /// Whether `node`'s process exists (reaps it if it exited).
    pub fn is_running(&self, node: &str) -> bool {
        let mut slots = self.lock();
        match slots.get_mut(node).and_then(|s| s.child.as_mut()) {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    pub fn pid(&self, node: &str) -> Option<u32> {
        self.lock()
            .get(node)
            .and_then(|s| s.child.as_ref())
            .map(|c| c.id())
    }

    fn signal(&self, node: &str, sig: Signal) -> Result<(), ProcessError> {
        let pid = self
            .pid(node)
            .ok_or_else(|| ProcessError::NotRunning(node.into()))?;
        kill(Pid::from_raw(pid as i32), sig).map_err(|errno| ProcessError::Signal {
            node: node.into(),
            signal: format!("{sig:?}"),
            errno,
        })
    }

    /// SIGKILL and reap. A node that is not running is not an error.
    pub fn kill(&self, node: &str) -> Result<(), ProcessError> {
        let mut slots = self.lock();
        let slot = slots
            .get_mut(node)
            .ok_or_else(|| ProcessError::Unknown(node.into()))?;
        if let Some(mut c) = slot.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        Ok(())
    }

    /// SIGTERM (+SIGCONT in case it is paused), then SIGKILL after `grace`.
    pub fn stop(&self, node: &str, grace: Duration) -> Result<(), ProcessError> {
        if self.signal(node, Signal::SIGTERM).is_ok() {
            let _ = self.signal(node, Signal::SIGCONT);
            let deadline = Instant::now() + grace;
            while Instant::now() < deadline && self.is_running(node) {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        self.kill(node)
    }

    pub fn pause(&self, node: &str) -> Result<(), ProcessError> {
        self.signal(node, Signal::SIGSTOP)
    }

    pub fn resume(&self, node: &str) -> Result<(), ProcessError> {
        self.signal(node, Signal::SIGCONT)
    }

    /// Kills every node. Idempotent.
    pub fn kill_all(&self) {
        let names: Vec<String> = self.lock().keys().cloned().collect();
        for n in names {
            let _ = self.resume(&n);
            let _ = self.kill(&n);
        }
    }

    pub fn nodes(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
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

    #[test]
    fn start_pause_kill_and_a_missing_binary() {
        let dir = tempfile::tempdir().unwrap();
        let s = Supervisor::new("fltest");
        s.define(
            "n1",
            Spec {
                argv: vec!["sleep".into(), "30".into()],
                log: dir.path().join("n1.log"),
                env: vec![],
            },
        );
        s.start("n1").unwrap();
        assert!(s.is_running("n1"));
        let pid = s.pid("n1").unwrap();
        let env = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
        assert!(String::from_utf8_lossy(&env).contains("FAULTLINE_RUN=fltest"));
        s.pause("n1").unwrap();
        s.resume("n1").unwrap();
        s.kill("n1").unwrap();
        assert!(!s.is_running("n1"));
        s.kill("n1").unwrap();
        s.define(
            "n2",
            Spec {
                argv: vec!["/nonexistent/faultline-node".into()],
                log: dir.path().join("n2.log"),
                env: vec![],
            },
        );
        assert!(matches!(s.start("n2"), Err(ProcessError::Spawn { .. })));
        assert!(matches!(s.start("n9"), Err(ProcessError::Unknown(_))));
    }
}
