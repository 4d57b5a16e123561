//! `faultline bench store --shards K`: K single-leader groups of `--nodes` node
//! processes each and one `faultline router` in front of them, as `faultline test
//! --shards K` runs them. Every client talks to the router, which forwards each
//! request to the leader of the group owning its key; so `--shards 1` against a
//! run without `--shards` (the same clients straight to the leader) is the cost of
//! the router's hop, and `--shards 3` against `--shards 1` what more groups bring.

use super::{spawn_group, wait_leader, Args, Nodes, Started};
use crate::store::client::StoreClient;
use crate::store::ops::{ClientOp, Outcome, Request};
use crate::store::Topology;
use crate::system::builtin::value_name;
use anyhow::{bail, Context};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The most node processes a sharded bench starts (as `faultline test --shards`).
const MAX_PROCESSES: usize = 100;

/// Refuses what a sharded bench cannot run, before anything starts.
pub(super) fn check(a: &Args) -> anyhow::Result<()> {
    let Some(k) = a.shards else { return Ok(()) };
    if k == 0 {
        bail!("--shards must be positive");
    }
    if a.topology != Topology::SingleLeader {
        bail!(
            "--shards: the sharded store's groups are single-leader (got --topology {})",
            value_name(&a.topology)
        );
    }
    if k * a.node_count() + 1 > MAX_PROCESSES {
        bail!(
            "--shards {k} x --nodes {} is more than {MAX_PROCESSES} processes",
            a.node_count()
        );
    }
    Ok(())
}

/// The node id of node `i` (0-based) of group `g` (0-based) of `per` nodes each, as
/// `faultline test --shards` names them: `n1..nN` for group 1, then group 2, ...
fn node_id(g: usize, i: usize, per: usize) -> String {
    format!("n{}", g * per + i + 1)
}

/// Starts every group, then the router with each group's client addresses.
/// `client` and `admin` list every group's nodes in group order.
pub(super) fn start(a: &Args, dir: &std::path::Path) -> anyhow::Result<Started> {
    let k = a.shards.unwrap_or(1);
    let per = a.node_count();
    let mut nodes = Nodes(Vec::new());
    let (mut client, mut admin) = (Vec::new(), Vec::new());
    let mut groups = Vec::new();
    for g in 0..k {
        let ids: Vec<String> = (0..per).map(|i| node_id(g, i, per)).collect();
        let (c, ad) = spawn_group(a, dir, &ids, &mut nodes)?;
        let members: Vec<String> = ids.iter().zip(&c).map(|(id, x)| format!("{id}={x}")).collect();
        groups.push(members.join(","));
        client.extend(c);
        admin.extend(ad);
    }
    let port = crate::util::ports::free_ports(1)?[0];
    let router = SocketAddr::from(([127, 0, 0, 1], port));
    let exe = std::env::current_exe().context("cannot find the faultline binary")?;
    let mut cmd = Command::new(exe);
    cmd.args(["router", "--listen", &router.to_string()])
        .args(["--partitioner", &value_name(&a.partitioner)]);
    for g in &groups {
        cmd.args(["--group", g]);
    }
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .context("cannot start the router")?;
    nodes.0.push(child);
    Ok(Started {
        nodes,
        client,
        admin,
        router: Some(router),
    })
}

/// Waits for a leader in every group, then (20 s at most) for the router to
/// answer a write to every group; the clients' one target is the router.
pub(super) fn wait(a: &Args, started: &Started, router: SocketAddr) -> anyhow::Result<Vec<SocketAddr>> {
    for (g, admin) in started.admin.chunks(a.node_count()).enumerate() {
        wait_leader(admin).with_context(|| format!("group {}", g + 1))?;
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    // Keys of the bench's own key space: each answered once through the router.
    let mut pending: Vec<u32> = (0..100).collect();
    while !pending.is_empty() {
        if Instant::now() > deadline {
            bail!("the router did not answer writes to every group within 20 s");
        }
        let Ok(mut c) = StoreClient::connect(router, Duration::from_secs(1)) else {
            std::thread::sleep(Duration::from_millis(50));
            continue;
        };
        pending.retain(|k| {
            let op = ClientOp::Write {
                key: serde_json::json!(format!("k{k}")),
                value: serde_json::json!(0),
            };
            let r = c.request(&Request { id: 0, op }, Duration::from_secs(2));
            !matches!(r, Ok(r) if matches!(r.outcome, Outcome::Ok { .. }))
        });
    }
    Ok(vec![router])
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        a: Args,
    }

    fn args(v: &[&str]) -> Args {
        Cli::parse_from(std::iter::once("bench").chain(v.iter().copied())).a
    }

    #[test]
    fn sharded_benches_refuse_zero_groups_leaderless_groups_and_too_many_processes() {
        assert!(check(&args(&[])).is_ok());
        assert!(check(&args(&["--shards", "3"])).is_ok());
        let e = |v: &[&str]| check(&args(v)).unwrap_err().to_string();
        assert!(e(&["--shards", "0"]).contains("positive"));
        assert!(e(&["--shards", "2", "--topology", "leaderless"]).contains("single-leader"));
        assert!(e(&["--shards", "40", "--nodes", "3"]).contains("100 processes"));
    }

    #[test]
    fn group_node_ids_are_unique_across_groups() {
        let ids: std::collections::BTreeSet<String> = (0..3)
            .flat_map(|g| (0..3).map(move |i| node_id(g, i, 3)))
            .collect();
        assert_eq!(ids.len(), 9);
        assert_eq!((node_id(0, 0, 3), node_id(1, 2, 3)), ("n1".into(), "n6".into()));
    }
}
