//! Running the real binary on a file, as a separate process (an abort or a
//! stack overflow must show as such, not take the harness down), with a
//! timeout, measuring wall time and the child's own peak RSS (`wait4`).

use std::ffi::OsStr;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How one run ended.
#[derive(Clone, Debug)]
pub struct Run {
    /// Exit code, when it exited.
    pub code: Option<i32>,
    /// The signal that ended it (6 is an abort: a panic in a drop, a stack overflow).
    pub signal: Option<i32>,
    pub wall: Duration,
    /// Peak resident set of the child, KiB.
    pub max_rss_kib: u64,
    /// Killed at the timeout.
    pub timed_out: bool,
    /// The end of stderr (a few KiB).
    pub stderr: String,
}

impl Run {
    /// A Rust panic (exit 101 or the message), an abort, or any other signal.
    pub fn crashed(&self) -> bool {
        self.signal.is_some() || self.code == Some(101) || self.stderr.contains("panicked at")
    }
}

/// Runs `bin ARGS`, stdout to `stdout` (a file), stderr kept; killed after `timeout`.
pub fn run(bin: &Path, args: &[&OsStr], stdout: &Path, timeout: Duration) -> std::io::Result<Run> {
    let err_file = tempfile::tempfile()?;
    let start = Instant::now();
    let child = Command::new(bin)
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(stdout)?)
        .stderr(err_file.try_clone()?)
        .spawn()?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let mut timed_out = false;
    loop {
        // SAFETY: pid is our own unreaped child; status and usage outlive the call.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if r == pid {
            break;
        }
        if r < 0 {
            return Err(std::io::Error::last_os_error());
        }
        if !timed_out && start.elapsed() > timeout {
            // SAFETY: signalling our own child, which has not been reaped.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            timed_out = true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let wall = start.elapsed();
    // The child is reaped: `child` must not be waited on again (dropping it does not).
    drop(child);
    let mut err = err_file;
    let mut bytes = Vec::new();
    std::io::Seek::seek(&mut err, std::io::SeekFrom::Start(0))?;
    err.read_to_end(&mut bytes)?;
    let tail = &bytes[bytes.len().saturating_sub(4096)..];
    let (code, signal) = if libc::WIFEXITED(status) {
        (Some(libc::WEXITSTATUS(status)), None)
    } else {
        (None, Some(libc::WTERMSIG(status)))
    };
    Ok(Run {
        code,
        signal,
        wall,
        max_rss_kib: usage.ru_maxrss as u64,
        timed_out,
        stderr: String::from_utf8_lossy(tail).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_exit_codes_signals_and_timeouts() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let sh = Path::new("/bin/sh");
        let r = run(
            sh,
            &[OsStr::new("-c"), OsStr::new("echo hi; exit 3")],
            &out,
            Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!((r.code, r.signal, r.timed_out), (Some(3), None, false));
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "hi\n");
        assert!(r.max_rss_kib > 0);
        let r = run(
            sh,
            &[OsStr::new("-c"), OsStr::new("kill -ABRT $$")],
            &out,
            Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!(r.signal, Some(libc::SIGABRT));
        assert!(r.crashed());
        let r = run(
            sh,
            &[OsStr::new("-c"), OsStr::new("sleep 5")],
            &out,
            Duration::from_millis(100),
        )
        .unwrap();
        assert!(r.timed_out && r.signal == Some(libc::SIGKILL));
    }
}
