//! `faultline test --hosts`: the same run with its nodes on remote hosts. Connects to the
//! hosts the run uses (node i on host i) and checks them before anything starts (exit 3
//! naming a host and what to fix), then hands a remote target and the hosts back end to
//! [`super::run`]: the phases, clients (on this machine), nemesis and checks are unchanged.

use super::{run, RunOutcome, RunnerError, TestConfig};
use crate::net::hosts::{Host, Inventory};
use crate::net::remote::HostsNet;
use crate::net::ssh::{connect::CONNECT_LIMIT, Fleet};
use crate::net::RunTag;
use std::sync::Arc;
use std::time::Instant;

/// Runs `cfg` on the first `cfg.system.nodes` hosts of `inv`.
pub fn execute(
    cfg: &TestConfig,
    inv: &Inventory,
    tag: RunTag,
    origin_ns: u64,
) -> Result<RunOutcome, RunnerError> {
    let hosts: Vec<Host> = inv.hosts().into_iter().take(cfg.system.nodes).collect();
    if hosts.len() < cfg.system.nodes {
        return Err(RunnerError::Config(format!(
            "--nodes {} but the inventory lists {} hosts (one node per host)",
            cfg.system.nodes,
            hosts.len()
        )));
    }
    let t = Instant::now();
    let fleet = Fleet::connect(&hosts, CONNECT_LIMIT).map_err(|e| RunnerError::Hosts(e.to_string()))?;
    let fleet = Arc::new(fleet);
    let note = format!(
        "hosts ({} over SSH, connected and checked in {:.2} s: {})",
        hosts.len(),
        t.elapsed().as_secs_f64(),
        hosts
            .iter()
            .map(|h| format!("{}={}", h.name, h.address))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let target = crate::system::build_on_hosts(
        &cfg.system,
        origin_ns,
        tag.as_str(),
        fleet.clone(),
        cfg.set_host_clocks,
    )?;
    let net = Box::new(HostsNet::new(fleet, tag, inv.base_port()));
    run(cfg, target, net, &note, origin_ns)
}
