//! The remote control layer: commands, uploads and downloads on the hosts of an inventory,
//! over the system's OpenSSH client with one multiplexed master connection per host
//! (`ControlMaster`), as Jepsen's control layer does over its SSH library.
//!
//! The `ssh` binary is driven with `std::process` rather than through an async wrapper: every
//! caller (targets, network back ends, cleanup) is synchronous, and owning the processes lets
//! the harness tie the masters' lifetime to its own (`PR_SET_PDEATHSIG`: a SIGKILLed harness
//! leaves no master behind) and keep them out of the terminal's process group (a Ctrl-C
//! reaches the harness, which still needs its connections to heal the hosts).
//!
//! - [`Session`]: one host: `run` a shell script (privileged through `sudo -n` when the host
//!   says `sudo = true`) with a timeout, `upload`, `download`.
//! - [`connect::Fleet`]: every host of an inventory, connected and checked in parallel
//!   (reachable, key accepted, root or passwordless sudo, a working `nft`), each failure
//!   naming the host and what to fix, within [`connect::CONNECT_LIMIT`].

pub mod connect;

pub use connect::Fleet;

use super::hosts::Host;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;
use thiserror::Error;

/// How long an ordinary remote command may take.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a file transfer may take (the harness's own binary is tens of MB).
pub const TRANSFER_TIMEOUT: Duration = Duration::from_secs(180);

#[derive(Debug, Error)]
pub enum SshError {
    #[error("{host}: unreachable: {cause} (check its address and that it is up)")]
    Unreachable { host: String, cause: String },
    #[error("{host}: refuses SSH connections: {cause} (is sshd running on that port?)")]
    Refused { host: String, cause: String },
    #[error("{host}: the key was refused: {cause} ({fix})")]
    Key {
        host: String,
        cause: String,
        fix: String,
    },
    #[error("{host}: host key not accepted: {cause} (check the host, or its line in `known_hosts`)")]
    HostKey { host: String, cause: String },
    /// Connected, but the host lacks what the harness needs (sudo, root, nft, ...).
    #[error("{host}: {what}")]
    Setup { host: String, what: String },
    #[error("{host}: `{command}` did not finish within {secs} s")]
    Timeout {
        host: String,
        command: String,
        secs: u64,
    },
    #[error("{host}: `{command}` failed ({status}): {stderr}")]
    Failed {
        host: String,
        command: String,
        status: String,
        stderr: String,
    },
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
    /// Several hosts failed; each error names its host.
    #[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
    Many(Vec<SshError>),
}

impl SshError {
    /// One error for a list of them (`None` for an empty list).
    pub fn many(mut errors: Vec<SshError>) -> Option<SshError> {
        match errors.len() {
            0 => None,
            1 => errors.pop(),
            _ => Some(SshError::Many(errors)),
        }
    }
}

/// `s` as one single-quoted word for a POSIX shell.
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// What a remote command printed and how it ended.
#[derive(Debug)]
pub struct Output {
    /// The exit code (`None`: killed by a signal).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// One host's connection: a master ssh process holding a multiplexed session on a control
/// socket; every command is a short-lived `ssh` client riding on it. Dropping the session
/// ends the master.
pub struct Session {
    pub host: Host,
    sock: PathBuf,
    master: Mutex<Option<Child>>,
}

impl Session {
    /// ssh options shared by the master and every command.
    fn options(&self) -> Vec<String> {
        let h = &self.host;
        let mut v: Vec<String> = [
            "-o",
            "BatchMode=yes",
            "-o",
            "ConnectTimeout=5",
            "-o",
            "StrictHostKeyChecking=accept-new",
            "-o",
            "LogLevel=ERROR",
            "-o",
            "ServerAliveInterval=5",
            "-o",
            "ServerAliveCountMax=2",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if let Some(k) = &h.known_hosts {
            v.push("-o".into());
            v.push(format!("UserKnownHostsFile={}", k.display()));
        }
        if let Some(id) = &h.identity {
            v.extend(["-i".into(), id.display().to_string()]);
            v.extend(["-o".into(), "IdentitiesOnly=yes".into()]);
        }
        v.extend(["-p".into(), h.port.to_string(), "-l".into(), h.user.clone()]);
        v.extend(["-S".into(), self.sock.display().to_string()]);
        v
    }

    /// `script` as the command line sent to the host: through `sh -c`, and `sudo -n` when
    /// `privileged` and the host logs in as a user with sudo.
    fn remote_command(&self, script: &str, privileged: bool) -> String {
        if privileged && self.host.sudo {
            format!("sudo -n sh -c {}", quote(script))
        } else {
            format!("sh -c {}", quote(script))
        }
    }

    /// Runs one ssh client on the master's socket; `stdout` goes to a file when given.
    fn exec(
        &self,
        script: &str,
        privileged: bool,
        stdin: Stdio,
        stdout: Option<File>,
        timeout: Duration,
    ) -> Result<Output, SshError> {
        let mut cmd = Command::new("ssh");
        cmd.args(self.options())
            .args(["-o", "ControlMaster=no", "-T"])
            .arg(&self.host.address)
            .arg("--")
            .arg(self.remote_command(script, privileged))
            .stdin(stdin)
            .stderr(Stdio::piped());
        cmd.stdout(match stdout {
            Some(f) => Stdio::from(f),
            None => Stdio::piped(),
        });
        // Out of the terminal's process group: a Ctrl-C must not cut the heal short.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let shown = crate::util::text::clip(script, 120);
        let child = cmd.spawn().map_err(|source| SshError::Io {
            context: format!("{}: starting ssh", self.host),
            source,
        })?;
        let pid = child.id();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait_with_output());
        });
        let out = match rx.recv_timeout(timeout) {
            Ok(r) => r,
            Err(_) => {
                let _ =
                    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), nix::sys::signal::SIGKILL);
                let _ = rx.recv();
                return Err(SshError::Timeout {
                    host: self.host.to_string(),
                    command: shown,
                    secs: timeout.as_secs(),
                });
            }
        }
        .map_err(|source| SshError::Io {
            context: format!("{}: waiting for ssh", self.host),
            source,
        })?;
        Ok(Output {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }

    fn checked(&self, script: &str, out: Output) -> Result<String, SshError> {
        if out.code == Some(0) {
            return Ok(out.stdout);
        }
        Err(SshError::Failed {
            host: self.host.to_string(),
            command: crate::util::text::clip(script, 120),
            status: out
                .code
                .map_or("killed by a signal".into(), |c| format!("exit {c}")),
            stderr: crate::util::text::clip(&out.stderr, 400),
        })
    }

    /// Runs `script` with root's privileges (directly, or through `sudo -n`); its stdout if
    /// it exits 0, else an error with its stderr.
    pub fn run(&self, script: &str, timeout: Duration) -> Result<String, SshError> {
        let out = self.exec(script, true, Stdio::null(), None, timeout)?;
        self.checked(script, out)
    }

    /// Runs `script` as the login user, whatever its exit code.
    pub fn run_as_login(&self, script: &str, timeout: Duration) -> Result<Output, SshError> {
        self.exec(script, false, Stdio::null(), None, timeout)
    }

    /// Copies the local file `local` to `remote` (its directory must exist), mode 0755,
    /// atomically: a half-written file is never seen under `remote`.
    pub fn upload(&self, local: &Path, remote: &str, timeout: Duration) -> Result<(), SshError> {
        let f = File::open(local).map_err(|source| SshError::Io {
            context: format!("opening {}", local.display()),
            source,
        })?;
        let tmp = format!("{remote}.part{}", std::process::id());
        let script = format!(
            "cat > {t} && chmod 755 {t} && mv -f {t} {r}",
            t = quote(&tmp),
            r = quote(remote)
        );
        let out = self.exec(&script, true, Stdio::from(f), None, timeout)?;
        self.checked(&script, out).map(|_| ())
    }

    /// Copies the remote file `remote` into the local file `local` (replaced).
    pub fn download(&self, remote: &str, local: &Path, timeout: Duration) -> Result<(), SshError> {
        let f = File::create(local).map_err(|source| SshError::Io {
            context: format!("creating {}", local.display()),
            source,
        })?;
        let script = format!("cat {}", quote(remote));
        let out = self.exec(&script, true, Stdio::null(), Some(f), timeout)?;
        self.checked(&script, out).map(|_| ())
    }

    /// Ends the master connection. Idempotent.
    pub fn close(&self) {
        let mut m = self.master.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(mut c) = m.take() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(c.id() as i32),
                nix::sys::signal::SIGTERM,
            );
            let _ = c.wait();
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_any_quote_in_the_script() {
        for s in ["plain", "it's", "'", "a 'b' \"c\" $d `e`", ""] {
            let out = std::process::Command::new("sh")
                .args(["-c", &format!("printf %s {}", quote(s))])
                .output()
                .unwrap();
            assert_eq!(String::from_utf8_lossy(&out.stdout), s);
        }
    }
}
