//! Namespace "hosts" for `--hosts` tests: a hub namespace with a bridge, a control namespace
//! and N host namespaces on 10.77.50.0/24 (no default route), each host running Debian's
//! `sshd` on its own address with a throwaway key pair (root login by key only). faultline
//! runs inside the control namespace. Everything (sshd, anything left in the namespaces, the
//! namespaces) is removed on drop. Needs root, `ip`, `sshd`, `ssh-keygen`.
//!
//! The hosts share this machine's kernel, so a real `date -s` on one would step this
//! machine's clock: [`SshHosts::with_fake_clocks`] gives every host a fake `date` and a boot
//! id of its own (see [`FAKE_DATE`]); sshd does not start unless the fake answers.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};

fn sh(args: &[&str]) {
    let o = Command::new(args[0]).args(&args[1..]).output().unwrap();
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A namespace host's `date` (tests only; `@STEPS@`, `@REAL@` filled in): it never sets a
/// clock. Its clock stands still at 1,700,000,000 s plus every step logged, so a step is
/// exactly what the harness asked for (no process start-up on a loaded machine enters it):
/// `-s @S.F` appends the step to STEPS (ns, then the arguments); `+%s%N` answers that clock;
/// `--fake-probe` says `fake`; anything else is the real `date`.
const FAKE_DATE: &str = r#"#!/bin/sh
steps='@STEPS@'
real='@REAL@'
now=1700000000000000000
off=0
if [ -f "$steps" ]; then while read -r ns rest; do off=$((off + ns)); done < "$steps"; fi
case "$1" in
--fake-probe) echo fake; exit 0;;
-s)
  want=${2#@}; sec=${want%.*}; frac=${want#"$sec"}; frac=${frac#.}
  frac=$(printf '%-9.9s' "$frac" | tr ' ' 0)
  echo "$(( sec * 1000000000 + 1$frac - 1000000000 - now - off )) $*" >> "$steps"
  exit 0;;
+%s%N) echo $((now + off)); exit 0;;
esac
exec "$real" "$@"
"#;

/// The path of program `p` on this machine.
fn which(p: &str) -> PathBuf {
    let o = Command::new("sh")
        .args(["-c", &format!("command -v {p}")])
        .output()
        .unwrap();
    PathBuf::from(String::from_utf8_lossy(&o.stdout).trim())
}

pub struct SshHosts {
    pub prefix: String,
    pub dir: tempfile::TempDir,
    pub addrs: Vec<String>,
    sshd: Vec<Child>,
    created: Vec<String>,
}

impl SshHosts {
    /// `n` hosts; host `no_nft` (if any) sees no usable `nft`.
    pub fn new(n: usize, no_nft: Option<usize>) -> SshHosts {
        let hidden: Vec<(usize, &str)> = no_nft.map(|i| (i, "nft")).into_iter().collect();
        SshHosts::hiding(n, &hidden)
    }

    /// `n` hosts; each `(i, program)` of `hidden` makes `program` on host i (0-based) an
    /// empty file, as if it were not installed there (a bind mount in that sshd's own mount
    /// namespace; every other host sees this machine's file).
    pub fn hiding(n: usize, hidden: &[(usize, &str)]) -> SshHosts {
        SshHosts::start(n, hidden, false)
    }

    /// `n` hosts, each with a fake `date` ([`FAKE_DATE`], logging to [`SshHosts::clock_steps`])
    /// bind-mounted over the real one and a boot id of its own, in its sshd's mount namespace.
    pub fn with_fake_clocks(n: usize) -> SshHosts {
        SshHosts::start(n, &[], true)
    }

    fn start(n: usize, hidden: &[(usize, &str)], fake_clocks: bool) -> SshHosts {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let prefix = format!("fls{}x{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst));
        let dir = tempfile::tempdir().unwrap();
        let mut h = SshHosts {
            prefix,
            dir,
            addrs: Vec::new(),
            sshd: Vec::new(),
            created: Vec::new(),
        };
        let d = h.dir.path().to_path_buf();
        for k in ["id", "wrong", "host_key"] {
            sh(&[
                "ssh-keygen",
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-f",
                d.join(k).to_str().unwrap(),
            ]);
        }
        std::fs::copy(d.join("id.pub"), d.join("authorized_keys")).unwrap();
        std::fs::write(d.join("empty"), "").unwrap();
        std::fs::create_dir_all("/run/sshd").unwrap();
        let hub = h.ns("hub");
        h.add_ns(&hub);
        sh(&["ip", "-n", &hub, "link", "add", "br0", "type", "bridge"]);
        sh(&["ip", "-n", &hub, "link", "set", "br0", "up"]);
        h.attach("ctl", "vctl", "10.77.50.2");
        for i in 0..n {
            let addr = format!("10.77.50.{}", 11 + i);
            h.attach(&format!("h{}", i + 1), &format!("vh{i}"), &addr);
            std::fs::create_dir_all(d.join(format!("h{}", i + 1))).unwrap();
            let conf = d.join(format!("sshd{i}.conf"));
            std::fs::write(
                &conf,
                format!(
                    "Port 22\nListenAddress {addr}\nHostKey {d}/host_key\nAuthorizedKeysFile {d}/authorized_keys\n\
                     PermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                     UsePAM no\nStrictModes no\nPidFile {d}/sshd{i}.pid\nLogLevel ERROR\n",
                    d = d.display()
                ),
            )
            .unwrap();
            let mut hide: String = hidden
                .iter()
                .filter(|(h, _)| *h == i)
                .map(|(_, p)| format!("mount --bind {}/empty \"$(command -v {p})\" && ", d.display()))
                .collect();
            if fake_clocks {
                hide.push_str(&h.fake_clock(i));
            }
            let script = format!("{hide}exec /usr/sbin/sshd -D -e -f {}", conf.display());
            let child = Command::new("ip")
                .args([
                    "netns",
                    "exec",
                    &h.ns(&format!("h{}", i + 1)),
                    "sh",
                    "-c",
                    &script,
                ])
                .spawn()
                .unwrap();
            h.sshd.push(child);
            h.addrs.push(addr);
        }
        h.wait_listening();
        h
    }

    /// Writes host i's fake `date` and boot id; returns the shell that mounts them over the
    /// real ones and checks the fake answers (else sshd never starts).
    fn fake_clock(&self, i: usize) -> String {
        let d = self.dir.path();
        let real = d.join("date.real");
        if !real.exists() {
            std::fs::copy(which("date"), &real).unwrap();
        }
        let dir = d.join(format!("clock{}", i + 1));
        std::fs::create_dir_all(&dir).unwrap();
        let fake = dir.join("date");
        let script = FAKE_DATE
            .replace("@STEPS@", self.clock_steps_file(i).to_str().unwrap())
            .replace("@REAL@", real.to_str().unwrap());
        std::fs::write(&fake, script).unwrap();
        sh(&["chmod", "755", fake.to_str().unwrap()]);
        let boot = dir.join("boot_id");
        std::fs::write(&boot, format!("00000000-0000-4000-8000-{:012}\n", i + 1)).unwrap();
        format!(
            "mount --bind {fake} \"$(readlink -f \"$(command -v date)\")\" && \
             mount --bind {boot} /proc/sys/kernel/random/boot_id && \
             [ \"$(date --fake-probe)\" = fake ] && ",
            fake = fake.display(),
            boot = boot.display()
        )
    }

    fn clock_steps_file(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("clock{}/steps", i + 1))
    }

    /// The clock steps host i's fake `date` was asked for, in ns (see [`FAKE_DATE`]).
    pub fn clock_steps(&self, i: usize) -> Vec<i64> {
        std::fs::read_to_string(self.clock_steps_file(i))
            .unwrap_or_default()
            .lines()
            .map(|l| l.split_whitespace().next().unwrap().parse().unwrap())
            .collect()
    }

    pub fn ns(&self, role: &str) -> String {
        format!("{}-{role}", self.prefix)
    }

    fn add_ns(&mut self, ns: &str) {
        sh(&["ip", "netns", "add", ns]);
        self.created.push(ns.to_string());
        sh(&["ip", "-n", ns, "link", "set", "lo", "up"]);
    }

    fn attach(&mut self, role: &str, port: &str, addr: &str) {
        let (hub, ns) = (self.ns("hub"), self.ns(role));
        self.add_ns(&ns);
        sh(&[
            "ip", "-n", &hub, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", &ns,
        ]);
        sh(&["ip", "-n", &hub, "link", "set", port, "master", "br0", "up"]);
        sh(&[
            "ip",
            "-n",
            &ns,
            "addr",
            "add",
            &format!("{addr}/24"),
            "dev",
            "eth0",
        ]);
        sh(&["ip", "-n", &ns, "link", "set", "eth0", "up"]);
    }

    fn wait_listening(&self) {
        for (i, a) in self.addrs.iter().enumerate() {
            let ok = (0..100).any(|_| {
                let o = Command::new("ip")
                    .args(["netns", "exec", &self.ns(&format!("h{}", i + 1)), "ss", "-ltn"])
                    .output()
                    .unwrap();
                let up = String::from_utf8_lossy(&o.stdout).contains(&format!("{a}:22"));
                if !up {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                up
            });
            assert!(ok, "sshd on {a} did not come up");
        }
    }

    /// Writes a hosts file listing `hosts` (address per host) with `key`; returns its path.
    pub fn hosts_file(&self, name: &str, key: &str, extra: &[&str]) -> PathBuf {
        let d = self.dir.path();
        let mut t = format!(
            "identity = \"{}/{key}\"\nknown_hosts = \"{}/known_hosts\"\n",
            d.display(),
            d.display()
        );
        let mut all: Vec<String> = self.addrs.clone();
        all.extend(extra.iter().map(|s| s.to_string()));
        for (i, a) in all.iter().enumerate() {
            t.push_str(&format!(
                "[[host]]\nname = \"h{}\"\naddress = \"{a}\"\ndir = \"{}/h{}\"\n",
                i + 1,
                d.display(),
                i + 1
            ));
        }
        let p = d.join(name);
        std::fs::write(&p, t).unwrap();
        p
    }

    /// `faultline ARGS` inside the control namespace.
    pub fn faultline(&self, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.ns("ctl")])
            .arg(crate::support::runner::bin())
            .args(args);
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.faultline(args).output().unwrap()
    }

    /// `nft list tables` on host i (0-based).
    pub fn tables(&self, i: usize) -> String {
        let o = Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.ns(&format!("h{}", i + 1)),
                "nft",
                "list",
                "tables",
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).to_string()
    }

    pub fn host_dir(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("h{}", i + 1))
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for SshHosts {
    fn drop(&mut self) {
        for c in &mut self.sshd {
            let _ = c.kill();
            let _ = c.wait();
        }
        for ns in self.created.iter().rev() {
            let pids = Command::new("ip").args(["netns", "pids", ns]).output();
            if let Ok(o) = pids {
                for p in String::from_utf8_lossy(&o.stdout).split_whitespace() {
                    if let Ok(p) = p.parse::<i32>() {
                        unsafe {
                            libc::kill(p, libc::SIGKILL);
                        }
                    }
                }
            }
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}
