//! Finding and removing what faultline left behind: node processes (by their
//! `FAULTLINE_RUN` marker) and network namespaces (by their `fl<pid>-` names;
//! nftables rules, veths and bridges live inside them and go with them).
//! Proxies are threads of the harness and die with it. Also libfaketime's
//! per-process shared-memory files, which a SIGKILLed process cannot remove.

use crate::system::faketime;
use crate::util::runtag::{owner_dead, RunTag, ENV_MARKER};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::process::Command;

/// What one cleanup pass removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Removed {
    pub processes: Vec<u32>,
    pub namespaces: Vec<String>,
    /// libfaketime shared-memory files of processes that no longer exist.
    pub shm_files: Vec<String>,
}

/// Which leftovers to remove.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Only those whose owning harness is dead.
    Stale,
    /// Every faultline leftover except this process's own.
    All,
    /// This process's own run.
    Own,
}

/// Whether a leftover of the run owned by `owner` (a pid here) is in `scope`.
pub fn wanted(owner: u32, scope: Scope) -> bool {
    let me = std::process::id();
    match scope {
        Scope::Stale => owner_dead(owner),
        Scope::All => owner != me,
        Scope::Own => owner == me,
    }
}

/// Node processes carrying the marker: (pid, owner pid).
pub fn marked_processes() -> Vec<(u32, u32)> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return out;
    };
    let needle = format!("{ENV_MARKER}=");
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(env) = std::fs::read(e.path().join("environ")) else {
            continue;
        };
        for var in env.split(|b| *b == 0) {
            let var = String::from_utf8_lossy(var);
            if let Some(tag) = var.strip_prefix(&needle) {
                if let Some(owner) = RunTag::owner_of(tag) {
                    out.push((pid, owner));
                }
            }
        }
    }
    out
}

/// faultline's namespaces: (name, owner pid).
pub fn namespaces() -> Vec<(String, u32)> {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
        return Vec::new();
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter_map(|n| RunTag::owner_of(n).map(|o| (n.to_string(), o)))
        .filter(|(n, _)| n.contains('-'))
        .collect()
}

/// The processes running in network namespace `ns` (`ip netns pids`).
fn namespace_pids(ns: &str) -> Vec<u32> {
    Command::new("ip")
        .args(["netns", "pids", ns])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .filter(|p| *p != std::process::id())
                .collect()
        })
        .unwrap_or_default()
}

/// Removes leftovers in `scope`: processes first, then namespaces.
pub fn clean(scope: Scope) -> Removed {
    let mut r = Removed::default();
    for (pid, owner) in marked_processes() {
        if wanted(owner, scope) && pid != std::process::id() {
            let p = Pid::from_raw(pid as i32);
            let _ = kill(p, Signal::SIGCONT);
            if kill(p, Signal::SIGKILL).is_ok() {
                r.processes.push(pid);
            }
        }
    }
    for (ns, owner) in namespaces() {
        if wanted(owner, scope) {
            // Whatever still runs inside (a node whose marker its program
            // overwrote, as Redis does with its process title) goes first:
            // deleting a namespace does not stop its processes.
            for pid in namespace_pids(&ns) {
                let p = Pid::from_raw(pid as i32);
                let _ = kill(p, Signal::SIGCONT);
                if kill(p, Signal::SIGKILL).is_ok() && !r.processes.contains(&pid) {
                    r.processes.push(pid);
                }
            }
            let ok = Command::new("ip")
                .args(["netns", "del", &ns])
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false);
            if ok {
                r.namespaces.push(ns);
            }
        }
    }
    r.shm_files = faketime::remove_stale(std::path::Path::new(faketime::SHM_DIR));
    r
}
