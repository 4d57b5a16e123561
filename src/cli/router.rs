//! `faultline router`: the router of a sharded built-in store (see
//! [`crate::store::router`]). The harness starts it beside the groups' nodes
//! for `faultline test --shards K`.

use crate::store::router::{serve, CrossShard, RouterConfig};
use crate::store::shard::PartitionerKind;
use anyhow::{bail, Context};
use std::net::SocketAddr;
use std::time::Duration;

/// Arguments of `faultline router`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Client address the router binds.
    #[arg(long)]
    pub listen: SocketAddr,
    /// One replica group's nodes and client addresses, `n1=HOST:PORT,n2=HOST:PORT`;
    /// repeat per group, in group order.
    #[arg(long = "group", required = true)]
    pub groups: Vec<String>,
    /// Which group owns a key: hash (modulo K), consistent (ring), range (alphabetical).
    #[arg(long, value_enum, default_value = "hash")]
    pub partitioner: PartitionerKind,
    /// Time a request may spend in its group before the router answers unknown.
    #[arg(long, default_value_t = 800)]
    pub forward_timeout_ms: u64,
    /// The routing table to start with, as JSON (a `TableSpec`: what the harness
    /// passes a restarted router after rebalancing); default: epoch 1.
    #[arg(long)]
    pub routing: Option<String>,
    /// Requests whose keys span groups: reject (fail naming the groups) or
    /// split (unsafe: per-group parts, no atomicity).
    #[arg(long, value_enum, default_value = "reject")]
    pub cross_shard: CrossShard,
}

/// `n1=HOST:PORT,n2=HOST:PORT` as (id, address) pairs.
fn parse_group(i: usize, s: &str) -> anyhow::Result<Vec<(String, SocketAddr)>> {
    let nodes = s
        .split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            let (id, addr) = p
                .split_once('=')
                .with_context(|| format!("--group {}: `{p}` is not ID=HOST:PORT", i + 1))?;
            let addr = addr
                .trim()
                .parse()
                .with_context(|| format!("--group {}: bad address in `{p}`", i + 1))?;
            Ok((id.trim().to_string(), addr))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    if nodes.is_empty() {
        bail!("--group {}: no nodes", i + 1);
    }
    Ok(nodes)
}

pub fn run(a: Args) -> anyhow::Result<i32> {
    let groups = a
        .groups
        .iter()
        .enumerate()
        .map(|(i, g)| parse_group(i, g))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if a.forward_timeout_ms == 0 {
        bail!("--forward-timeout-ms must be positive");
    }
    let routing = a
        .routing
        .as_deref()
        .map(serde_json::from_str)
        .transpose()
        .context("--routing: not a routing table (JSON)")?;
    serve(RouterConfig {
        routing,
        cross_shard: a.cross_shard,
        listen: a.listen,
        groups,
        partitioner: a.partitioner,
        forward_timeout: Duration::from_millis(a.forward_timeout_ms),
    })?;
    Ok(crate::exit::VALID)
}
