//! `faultline bench store --topology leaderless`: the node flags of each
//! topology, readiness of a leaderless cluster, and its peer-message count.

use super::Args;
use crate::store::admin::AdminClient;
use crate::store::conflict::ConflictMode;
use crate::store::Topology;
use crate::system::builtin::value_name;
use anyhow::bail;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// The `faultline node` flags of the bench's topology, checked before any
/// node starts (a bad quorum is refused naming its flag).
pub(super) fn node_args(a: &Args, ids: &[String]) -> anyhow::Result<Vec<String>> {
    if a.topology == Topology::SingleLeader {
        return Ok(vec![
            "--replication".into(),
            value_name(&a.replication),
            "--reads".into(),
            value_name(&a.read_mode),
        ]);
    }
    let nodes: Vec<&str> = ids.iter().map(String::as_str).collect();
    let mut l = a.leaderless.config(nodes[0], &nodes)?;
    l.conflict = a.leaderless.conflict.unwrap_or(ConflictMode::Lww);
    let mut v: Vec<String> = vec!["--topology".into(), "leaderless".into()];
    for (flag, x) in [("--n", l.n), ("--w", l.w), ("--r", l.r)] {
        v.extend([flag.to_string(), x.to_string()]);
    }
    v.extend(["--conflict".into(), value_name(&l.conflict)]);
    v.extend(["--read-repair".into(), value_name(&l.read_repair)]);
    v.extend(["--anti-entropy-ms".into(), l.anti_entropy_ms.to_string()]);
    if l.sloppy_quorum {
        v.push("--sloppy-quorum".into());
    }
    Ok(v)
}

/// Waits (20 s at most) until every node answers its admin status.
pub(super) fn wait_ready(admin: &[SocketAddr]) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let t = Duration::from_secs(1);
    while !admin
        .iter()
        .all(|a| AdminClient::connect(*a, t).and_then(|mut c| c.status()).is_ok())
    {
        if Instant::now() > deadline {
            bail!("the leaderless nodes did not all answer within 20 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// Peer messages every node reports having sent (`None` for a topology
/// that does not count them, or when a node does not answer).
pub(super) fn messages_sent(admin: &[SocketAddr]) -> Option<u64> {
    let t = Duration::from_secs(1);
    admin
        .iter()
        .map(|a| {
            let s = AdminClient::connect(*a, t).and_then(|mut c| c.status()).ok()?;
            s.detail.get("messages_sent")?.as_u64()
        })
        .sum()
}
