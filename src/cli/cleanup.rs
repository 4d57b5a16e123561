//! `faultline cleanup`: remove node processes and namespaces (with their
//! nftables rules) left by faultline runs whose harness died, and libfaketime
//! shared-memory files of processes that no longer exist.

use crate::runner::cleanup::{clean, marked_processes, namespaces, Scope};

/// Arguments of `faultline cleanup`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Also remove leftovers of runs whose harness still seems alive.
    #[arg(long)]
    pub all: bool,
    /// Also remove what runs left on the hosts listed in FILE: their nftables tables, node
    /// processes and run directories, after stepping back a host clock a run left stepped
    /// (`--set-host-clocks`).
    #[arg(long, value_name = "FILE")]
    pub hosts: Option<std::path::PathBuf>,
}

pub fn run(a: Args) -> anyhow::Result<i32> {
    let scope = if a.all { Scope::All } else { Scope::Stale };
    if let Some(p) = &a.hosts {
        let inv = crate::net::hosts::Inventory::load(p)?;
        for h in crate::runner::cleanup_hosts::clean(&inv, scope)? {
            let clocks: String = h
                .clocks
                .iter()
                .map(|(tag, ms)| format!("; host clock stepped back from {ms:+} ms to 0 ({tag})"))
                .collect();
            println!(
                "host {}: removed {} run(s): {} nft table(s), {} node process(es), {} run directory(ies){}{clocks}",
                h.host,
                h.runs.len(),
                h.tables,
                h.processes.len(),
                h.dirs,
                if h.runs.is_empty() {
                    String::new()
                } else {
                    format!(": {}", h.runs.join(" "))
                }
            );
        }
    }
    let r = clean(scope);
    println!(
        "removed {} node process(es), {} namespace(s), {} libfaketime shm file(s){}",
        r.processes.len(),
        r.namespaces.len(),
        r.shm_files.len(),
        if r.namespaces.is_empty() {
            String::new()
        } else {
            format!(": {}", r.namespaces.join(" "))
        }
    );
    let left_p = marked_processes().len();
    let left_n = namespaces().len();
    if left_p + left_n > 0 {
        println!("still present (live runs): {left_p} process(es), {left_n} namespace(s)");
    }
    Ok(0)
}
