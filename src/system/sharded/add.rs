//! Adding a reserved group to a running sharded store (`--shard-adds`, drawn by
//! `--nemesis rebalance`): its nodes, placed at the start, are started now; once
//! the group has a leader, the grown partitioner's table goes out by the same
//! fence-copy-switch protocol as a range move ([`super::super::shard_rebalance`]).
//! An add whose copy fails is rolled back like a move; the group's nodes keep
//! running, owning nothing, and the next add reuses them.

use super::super::shard_rebalance::{self as rebalance, Member};
use super::super::{NodeId, Target, TargetError};
use super::{Sharded, ROUTER};
use crate::store::shard::Handover;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// How long an added group may take to elect a leader before the add gives up.
const ADD_LEADER_WAIT: Duration = Duration::from_secs(10);

impl Sharded {
    /// Adds the next reserved group live: starts its nodes (unless an earlier add that
    /// was rolled back left them running), waits for its leader, then hands every key
    /// the grown partitioner gives it (and, under `hash`, keys moving between old
    /// groups) over by the same fence-copy-switch protocol as a move.
    pub(super) fn add_group(&self) -> Result<serde_json::Value, TargetError> {
        let mut table = self.routing.lock().unwrap_or_else(|p| p.into_inner());
        let g = table.groups();
        let new = self.groups.get(g).ok_or_else(|| {
            TargetError::unsupported("builtin-sharded", "adding a group beyond --shard-adds")
        })?;
        let ids: Vec<NodeId> = self
            .group_of
            .iter()
            .filter(|(_, &x)| x == g)
            .map(|(id, _)| id.clone())
            .collect();
        self.started.fetch_max(g + 1, Ordering::SeqCst);
        for id in ids.iter().filter(|id| !new.is_running(id)) {
            new.start(id)?;
        }
        let t0 = Instant::now();
        let leader = loop {
            if let Ok(Some(l)) = new.leader() {
                break l;
            }
            if t0.elapsed() >= ADD_LEADER_WAIT {
                let first = ids.first().cloned().unwrap_or_default();
                return Err(TargetError::node(
                    &first,
                    format!("the added group {g} elected no leader within {ADD_LEADER_WAIT:?}"),
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let members = self.members();
        let ho = Handover::add(&table);
        let (spec, mut v) = rebalance::switch(&self.switch_with(&members)?, &ho);
        *table = spec
            .table()
            .map_err(|e| TargetError::node(ROUTER, e.to_string()))?;
        v["action"] = serde_json::json!("add");
        v["added"] = serde_json::json!(g);
        v["nodes"] = serde_json::json!(ids);
        v["leader"] = serde_json::json!(leader);
        v["groups"] = serde_json::json!(table.groups());
        v["leader_ms"] = serde_json::json!(t0.elapsed().as_millis() as u64);
        Ok(hit_all(v, members.iter()))
    }
}

/// Adds the nodes a rebalance hit (the router always) and its aim to its value.
pub(super) fn hit_all<'a>(
    mut v: serde_json::Value,
    hit: impl Iterator<Item = &'a Member>,
) -> serde_json::Value {
    let mut nodes: Vec<String> = vec![ROUTER.into()];
    nodes.extend(hit.map(|m| m.id.clone()));
    v["hit"] = serde_json::json!(nodes);
    v["target"] = serde_json::json!("all");
    v
}
