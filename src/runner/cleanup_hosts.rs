//! `faultline cleanup --hosts`: what runs left on remote hosts. A run is found by its tag
//! (`fl<pid>-<n>`, the harness's pid on this machine) in the names of its nftables table and
//! of its directory under each host's `dir`; its node processes by the `FAULTLINE_RUN=<tag>`
//! marker in their environment. Which runs are removed follows [`Scope`] against this
//! machine's processes (runs of another control machine need `--all`). A host clock a run
//! left stepped (`--set-host-clocks`) is stepped back first, by the offset recorded in the
//! run's directory, before that directory goes.

use super::cleanup::{wanted, Scope};
use crate::net::hosts::Inventory;
use crate::net::remote;
use crate::net::ssh::{connect::CONNECT_LIMIT, quote, Fleet, Session, SshError, COMMAND_TIMEOUT};
use crate::system::remote::clock;
use crate::util::runtag::{RunTag, ENV_MARKER};
use std::collections::BTreeSet;

/// What was removed on one host.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct HostRemoved {
    pub host: String,
    /// Run tags whose table, directory or processes were removed.
    pub runs: Vec<String>,
    pub tables: usize,
    pub processes: Vec<u32>,
    pub dirs: usize,
    /// Host clock offsets (ms) stepped back, with their run's tag.
    pub clocks: Vec<(String, i64)>,
}

/// Connects to every host of `inv` and removes the leftovers of runs in `scope`.
pub fn clean(inv: &Inventory, scope: Scope) -> Result<Vec<HostRemoved>, SshError> {
    let fleet = Fleet::connect(&inv.hosts(), CONNECT_LIMIT)?;
    fleet.each(|_, s| clean_host(s, scope)).into_iter().collect()
}

/// Run tags with something left on `s`: (tags with a table, tags with a directory).
fn found(s: &Session) -> Result<(BTreeSet<String>, BTreeSet<String>), SshError> {
    let tables: BTreeSet<String> = remote::tables(s)?.into_iter().collect();
    let ls = s.run(
        &format!("ls -1 {} 2>/dev/null; true", quote(&s.host.dir)),
        COMMAND_TIMEOUT,
    )?;
    let dirs = ls
        .lines()
        .map(str::trim)
        .filter(|d| RunTag::owner_of(d).is_some() && d.contains('-'))
        .map(String::from)
        .collect();
    Ok((tables, dirs))
}

/// The pids of processes marked with run `tag` on `s` and working in the run's directory
/// there (a host sharing its process table with others, as namespaces on one machine do,
/// sees only its own nodes).
fn marked(s: &Session, tag: &str) -> Result<Vec<u32>, SshError> {
    let script = format!(
        "for f in $(grep -lzx {} /proc/[0-9]*/environ 2>/dev/null); do p=${{f#/proc/}}; p=${{p%/environ}}; \
         case \"$(readlink /proc/$p/cwd)\" in {}*) echo $p;; esac; done; true",
        quote(&format!("{ENV_MARKER}={tag}")),
        quote(&format!("{}/{tag}", s.host.dir)),
    );
    Ok(s.run(&script, COMMAND_TIMEOUT)?
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect())
}

fn clean_host(s: &Session, scope: Scope) -> Result<HostRemoved, SshError> {
    let (tables, dirs) = found(s)?;
    let mut r = HostRemoved {
        host: s.host.name.clone(),
        ..HostRemoved::default()
    };
    let tags: BTreeSet<&String> = tables.iter().chain(dirs.iter()).collect();
    for tag in tags {
        let owned = RunTag::owner_of(tag).is_some_and(|o| wanted(o, scope));
        if !owned {
            continue;
        }
        let run_dir = format!("{}/{tag}", s.host.dir);
        if dirs.contains(tag) {
            // The offset is recorded in the run's directory: step back before it goes.
            if let Some(ms) = clock::heal(s, &run_dir)?.filter(|ms| *ms != 0) {
                r.clocks.push((tag.clone(), ms));
            }
        }
        let pids = marked(s, tag)?;
        if !pids.is_empty() {
            let list: Vec<String> = pids.iter().map(|p| p.to_string()).collect();
            s.run(&crate::system::remote::kill_script(&list, tag), COMMAND_TIMEOUT)?;
            r.processes.extend(pids);
        }
        if tables.contains(tag) {
            remote::delete_table(s, tag)?;
            r.tables += 1;
        }
        if dirs.contains(tag) {
            s.run(&format!("rm -rf {}", quote(&run_dir)), COMMAND_TIMEOUT)?;
            r.dirs += 1;
        }
        r.runs.push(tag.clone());
    }
    Ok(r)
}
