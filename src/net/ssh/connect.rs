//! Connecting to every host of an inventory at once, and checking each can be tested: a
//! master connection per host, then a preflight on all of them in parallel. Whatever fails
//! fails within [`CONNECT_LIMIT`], as one error per host naming it and what to fix.

use super::{Session, SshError, COMMAND_TIMEOUT};
use crate::net::hosts::Host;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The longest a connection and its checks may take before the host counts as unreachable
/// (the whole [`Fleet::connect`] ends within it plus one check's timeout, under 15 s).
pub const CONNECT_LIMIT: Duration = Duration::from_secs(8);
/// How long each preflight check may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// Every host's session, in inventory order.
pub struct Fleet {
    sessions: Vec<Session>,
    /// Holds the control sockets and the masters' stderr files.
    _dir: tempfile::TempDir,
}

/// Starts a master for `s` (not yet connected). Called on the thread that owns the run: the
/// master gets SIGTERM when this thread's process dies (PR_SET_PDEATHSIG).
fn spawn_master(s: &Session, err: &Path) -> Result<Child, SshError> {
    let io = |context: String| move |source| SshError::Io { context, source };
    let log = std::fs::File::create(err).map_err(io(format!("creating {}", err.display())))?;
    let parent = std::process::id() as libc::pid_t;
    let mut cmd = Command::new("ssh");
    cmd.args(s.options())
        .args(["-M", "-N", "-n", "-o", "ControlPersist=no"])
        .arg(&s.host.address)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .process_group(0);
    // SAFETY: prctl and getppid are async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 || libc::getppid() != parent {
                return Err(std::io::Error::other("harness gone"));
            }
            Ok(())
        });
    }
    cmd.spawn().map_err(io(format!("{}: starting ssh", s.host)))
}

/// What an ssh master's stderr says went wrong, as the error to show.
pub fn classify(host: &Host, stderr: &str) -> SshError {
    let h = host.to_string();
    let cause = stderr
        .lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or("ssh exited without a message")
        .trim()
        .to_string();
    let has = |s: &str| stderr.contains(s);
    if has("Permission denied") || has("Too many authentication failures") {
        let fix = match &host.identity {
            Some(k) => format!(
                "add {}.pub to ~{}/.ssh/authorized_keys on the host, or fix `identity`",
                k.display(),
                host.user
            ),
            None => format!(
                "set `identity` to a key in ~{}/.ssh/authorized_keys on the host",
                host.user
            ),
        };
        SshError::Key { host: h, cause, fix }
    } else if has("Connection refused") {
        SshError::Refused { host: h, cause }
    } else if has("Host key verification failed") || has("IDENTIFICATION HAS CHANGED") {
        SshError::HostKey { host: h, cause }
    } else {
        SshError::Unreachable { host: h, cause }
    }
}

impl Fleet {
    /// Connects to every host and checks it (see [`preflight`]); within `limit` per host for
    /// the connection. The first failures of every host are returned together.
    pub fn connect(hosts: &[Host], limit: Duration) -> Result<Fleet, SshError> {
        let dir = tempfile::Builder::new()
            .prefix("fl-ssh")
            .tempdir()
            .map_err(|source| SshError::Io {
                context: "creating the ssh control directory".into(),
                source,
            })?;
        let sessions: Vec<Session> = hosts
            .iter()
            .enumerate()
            .map(|(i, h)| Session {
                host: h.clone(),
                sock: dir.path().join(format!("{i}.sock")),
                master: Mutex::new(None),
            })
            .collect();
        let mut errors = Vec::new();
        for (i, s) in sessions.iter().enumerate() {
            match spawn_master(s, &dir.path().join(format!("{i}.err"))) {
                Ok(c) => *s.master.lock().unwrap_or_else(|e| e.into_inner()) = Some(c),
                Err(e) => errors.push(e),
            }
        }
        let fleet = Fleet { sessions, _dir: dir };
        if let Some(e) = SshError::many(errors) {
            return Err(e);
        }
        fleet.await_masters(limit)?;
        fleet.all(|_, s| preflight(s))?;
        Ok(fleet)
    }

    /// Waits until every master has its control socket (connected and authenticated), or
    /// has exited (why: its stderr), or `limit` has passed.
    fn await_masters(&self, limit: Duration) -> Result<(), SshError> {
        let deadline = Instant::now() + limit;
        let mut pending: Vec<usize> = (0..self.sessions.len()).collect();
        let mut errors = Vec::new();
        while !pending.is_empty() {
            pending.retain(|&i| {
                let s = &self.sessions[i];
                let mut m = s.master.lock().unwrap_or_else(|e| e.into_inner());
                let exited = m.as_mut().is_none_or(|c| !matches!(c.try_wait(), Ok(None)));
                if exited {
                    m.take();
                    let err = std::fs::read_to_string(self._dir.path().join(format!("{i}.err")));
                    errors.push(classify(&s.host, &err.unwrap_or_default()));
                    return false;
                }
                !s.sock.exists()
            });
            if Instant::now() >= deadline {
                for &i in &pending {
                    let s = &self.sessions[i];
                    s.close();
                    errors.push(SshError::Unreachable {
                        host: s.host.to_string(),
                        cause: format!("no SSH session within {} s", limit.as_secs()),
                    });
                }
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        SshError::many(errors).map_or(Ok(()), Err)
    }

    /// A fleet of no hosts (unit tests of what sits on top).
    #[cfg(test)]
    pub(crate) fn empty() -> Fleet {
        Fleet {
            sessions: Vec::new(),
            _dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    pub fn sessions(&self) -> &[Session] {
        &self.sessions
    }

    /// The i-th host's session.
    pub fn get(&self, i: usize) -> Option<&Session> {
        self.sessions.get(i)
    }

    /// `f(index, host)` on every host in parallel; results in host order.
    pub fn each<T: Send>(&self, f: impl Fn(usize, &Session) -> T + Sync) -> Vec<T> {
        let f = &f;
        std::thread::scope(|sc| {
            let handles: Vec<_> = (self.sessions.iter().enumerate())
                .map(|(i, s)| sc.spawn(move || f(i, s)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        })
    }

    /// `f(index, host)` on every host in parallel; every host's error, together.
    pub fn all(&self, f: impl Fn(usize, &Session) -> Result<(), SshError> + Sync) -> Result<(), SshError> {
        let errors: Vec<SshError> = self.each(f).into_iter().filter_map(Result::err).collect();
        SshError::many(errors).map_or(Ok(()), Err)
    }
}

/// What a host must offer every run: root (directly or through passwordless `sudo -n`) and a
/// working `nft` (partitions are nftables rules on the hosts; cleanup removes them).
pub fn preflight(s: &Session) -> Result<(), SshError> {
    let h = &s.host;
    let setup = |what: String| SshError::Setup {
        host: h.to_string(),
        what,
    };
    let who = s.run_as_login("id -u", CHECK_TIMEOUT.min(COMMAND_TIMEOUT))?;
    let uid = who.stdout.trim();
    if h.sudo {
        let out = s.run_as_login("sudo -n true", CHECK_TIMEOUT)?;
        if out.code != Some(0) {
            return Err(setup(format!(
                "`sudo -n true` failed for user {} ({}): allow the user passwordless sudo (NOPASSWD), or log in as root with sudo = false",
                h.user,
                crate::util::text::clip(&out.stderr, 200)
            )));
        }
    } else if uid != "0" {
        return Err(setup(format!(
            "logged in as {} (uid {uid}), not root, and sudo = false: faultline needs root on its hosts (nftables rules, signals to node processes); set sudo = true or log in as root",
            h.user
        )));
    }
    let nft = "command -v nft >/dev/null 2>&1 || exit 127; nft list tables >/dev/null";
    match s.run(nft, CHECK_TIMEOUT) {
        Ok(_) => Ok(()),
        Err(SshError::Failed { status, .. }) if status == "exit 127" => Err(setup(
            "nft not found in root's PATH: install nftables there (apt-get install nftables); partitions are nftables rules on each host".into(),
        )),
        Err(SshError::Failed { stderr, .. }) => Err(setup(format!(
            "`nft list tables` fails there: {stderr} (partitions need a working nftables)"
        ))),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(identity: Option<&str>) -> Host {
        Host {
            name: "h1".into(),
            address: "10.0.0.1".into(),
            user: "root".into(),
            port: 22,
            identity: identity.map(Into::into),
            sudo: false,
            dir: "/tmp/faultline".into(),
            known_hosts: None,
        }
    }

    #[test]
    fn master_failures_name_the_host_and_what_to_fix() {
        let h = host(Some("/k/id"));
        let e = classify(&h, "root@10.0.0.1: Permission denied (publickey).\n");
        assert!(matches!(e, SshError::Key { .. }), "{e}");
        let text = e.to_string();
        assert!(
            text.contains("host h1 (root@10.0.0.1:22)") && text.contains("/k/id.pub"),
            "{text}"
        );
        let e = classify(&h, "ssh: connect to host 10.0.0.1 port 22: Connection refused");
        assert!(
            matches!(e, SshError::Refused { .. }) && e.to_string().contains("sshd"),
            "{e}"
        );
        let e = classify(&h, "ssh: connect to host 10.0.0.1 port 22: No route to host");
        assert!(
            matches!(e, SshError::Unreachable { .. }) && e.to_string().contains("No route"),
            "{e}"
        );
        let e = classify(&h, "Host key verification failed.");
        assert!(matches!(e, SshError::HostKey { .. }), "{e}");
        let e = classify(&host(None), "Permission denied (publickey).");
        assert!(e.to_string().contains("set `identity`"), "{e}");
    }

    #[test]
    fn an_unreachable_host_fails_within_the_limit_and_names_it() {
        // Port 1 on loopback: nothing listens, the connection is refused at once. No test
        // traffic: ssh gets no further than the refused TCP handshake.
        let mut h = host(None);
        h.address = "127.0.0.1".into();
        h.port = 1;
        let t = Instant::now();
        let e = Fleet::connect(&[h], Duration::from_secs(3))
            .err()
            .expect("refused");
        assert!(t.elapsed() < Duration::from_secs(10));
        assert!(e.to_string().contains("host h1"), "{e}");
    }
}
