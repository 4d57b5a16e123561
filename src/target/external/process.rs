//! Node processes: real OS processes with real signals (SIGKILL, SIGSTOP/SIGCONT), their output
//! appended to a per-node log file.
//!
//! Each node runs in its own process group so a wrapper (`ip netns exec`, a shell) and the
//! server it starts are signalled together. Dropping a [`NodeProcess`] kills and reaps it.

use super::ExternalError;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom};
use std::net::{IpAddr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian's `faketime` package puts the preload library (clock faults for C programs).
pub const FAKETIME_LIB: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

/// The `LD_PRELOAD` value for clock faults: libfaketime *then* libc. A jemalloc-linked program
/// (Debian's redis-server) hangs under libfaketime alone, because jemalloc's initialisation calls
/// `clock_gettime` before libfaketime has resolved the real one (a recursion it cannot break);
/// preloading libc right after libfaketime makes that lookup succeed. The order matters.
pub const FAKETIME_PRELOAD: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 libc.so.6";

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
}

impl NodeProcess {
    /// Starts the process now.
    pub fn spawn(
        name: &str,
        prefix: Vec<String>,
        argv: Vec<String>,
        env: Vec<(String, String)>,
        log: PathBuf,
    ) -> Result<NodeProcess, ExternalError> {
        let mut p = NodeProcess {
            name: name.to_string(),
            argv,
            prefix,
            env,
            log,
            child: None,
            paused: false,
        };
        p.start()?;
        Ok(p)
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
    pub fn start(&mut self) -> Result<(), ExternalError> {
        if self.is_running() {
            return Ok(());
        }
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(|e| ExternalError::io(format!("open log {}", self.log.display()), e))?;
        let log2 = log
            .try_clone()
            .map_err(|e| ExternalError::io("clone log handle", e))?;
        let full: Vec<&String> = self.prefix.iter().chain(self.argv.iter()).collect();
        let Some((program, args)) = full.split_first() else {
            return Err(ExternalError::Node {
                node: self.name.clone(),
                detail: "empty start command".into(),
            });
        };
        let mut cmd = Command::new(program);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log2))
            .process_group(0);
        // The run marker names this harness as the owner, so `faultline cleanup`
        // finds the node if the harness dies without tearing it down.
        let tag = crate::nemesis::net::names::RunTag::for_pid(std::process::id());
        cmd.env(crate::nemesis::net::names::ENV_MARKER, tag.as_str());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().map_err(|source| ExternalError::Spawn {
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
                super::faketime::remove_files_of(Path::new(super::faketime::SHM_DIR), c.id());
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
    pub fn restart(&mut self) -> Result<(), ExternalError> {
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

/// Finds `binary` on PATH (or checks an explicit path); the error carries the install hint.
pub fn check_binary(binary: &str, hint: &str) -> Result<PathBuf, ExternalError> {
    let missing = || ExternalError::NotInstalled {
        binary: binary.to_string(),
        hint: hint.to_string(),
    };
    if binary.contains('/') {
        let p = PathBuf::from(binary);
        return if p.is_file() { Ok(p) } else { Err(missing()) };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(binary))
        .find(|p| p.is_file())
        .ok_or_else(missing)
}

/// Fails with [`ExternalError::PortInUse`] if any port cannot be bound on `ip` right now.
pub fn check_ports_free(ip: IpAddr, ports: &[u16], what: &str) -> Result<(), ExternalError> {
    for &port in ports {
        if TcpListener::bind((ip, port)).is_err() {
            return Err(ExternalError::PortInUse {
                addr: ip.to_string(),
                port,
                what: what.to_string(),
            });
        }
    }
    Ok(())
}

/// `n` distinct ports free on 127.0.0.1 now (for tests and `port_base = 0`), drawn below the
/// ephemeral range so outgoing connections cannot take them before the nodes bind.
pub fn free_ports(n: usize) -> Result<Vec<u16>, ExternalError> {
    crate::util::ports::free_ports(n).map_err(|e| ExternalError::io("reserve free ports on 127.0.0.1", e))
}

/// Why a health check is not satisfied yet, and whether waiting longer can help.
#[derive(Debug)]
pub struct Retry {
    pub fatal: bool,
    pub why: String,
}

impl Retry {
    pub fn again(why: impl Into<String>) -> Retry {
        Retry {
            fatal: false,
            why: why.into(),
        }
    }
    /// E.g. the process exited: stop waiting now.
    pub fn fatal(why: impl Into<String>) -> Retry {
        Retry {
            fatal: true,
            why: why.into(),
        }
    }
}

impl From<String> for Retry {
    fn from(why: String) -> Retry {
        Retry::again(why)
    }
}

/// Polls `check` every `every` until it returns `Ok`, a fatal [`Retry`], or `limit` has passed;
/// the error is the last failure's description and the time waited.
pub fn wait_until<T>(
    limit: Duration,
    every: Duration,
    mut check: impl FnMut() -> Result<T, Retry>,
) -> Result<T, (Duration, String)> {
    let start = Instant::now();
    loop {
        match check() {
            Ok(v) => return Ok(v),
            Err(r) if r.fatal || start.elapsed() >= limit => return Err((start.elapsed(), r.why)),
            Err(_) => std::thread::sleep(every),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_binary_names_the_install_hint() {
        let e = check_binary("faultline-no-such-binary", "apt-get install nothing").unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("faultline-no-such-binary") && msg.contains("apt-get install nothing"));
        assert!(check_binary("sh", "").is_ok());
    }

    #[test]
    fn busy_port_is_reported() {
        let l = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = l.local_addr().unwrap().port();
        let e = check_ports_free("127.0.0.1".parse().unwrap(), &[port], "test").unwrap_err();
        assert!(matches!(e, ExternalError::PortInUse { port: p, .. } if p == port));
    }

    #[test]
    fn kill_pause_resume_and_drop_reap_the_process() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("n1.log");
        let argv = vec!["sh".into(), "-c".into(), "echo started; exec sleep 30".into()];
        let mut p = NodeProcess::spawn("n1", vec![], argv, vec![], log.clone()).unwrap();
        let pid = p.pid().unwrap();
        assert!(p.is_running());
        // Output goes to the log.
        wait_until(Duration::from_secs(2), Duration::from_millis(10), || {
            if log_tail(&log, 5).contains("started") {
                Ok(())
            } else {
                Err(Retry::again("no output"))
            }
        })
        .unwrap();
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
}
