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
}

pub fn run(a: Args) -> anyhow::Result<i32> {
    let r = clean(if a.all { Scope::All } else { Scope::Stale });
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
