//! A sharded run's per-shard load, from its history: every client op's store
//! keys counted against the routing table in force when the op was invoked.
//! The tables come from the history itself: each rebalance's completion
//! records the table it put in force (`value.table`, a [`TableSpec`]), so a
//! history checked later (`faultline check`, a recheck) gives the same load.

use super::builtin_ops::OpMap;
use super::{SystemConfig, WorkloadInfo};
use crate::history::{History, Op, OpType, Process};
use crate::store::shard::{RoutingTable, ShardLoad, TableSpec};
use std::collections::BTreeMap;

/// The table a rebalance's completion says it put in force, if it is one.
fn table_of(op: &Op) -> Option<RoutingTable> {
    if !op.process.is_nemesis() || op.f != "rebalance" || op.ty == OpType::Invoke {
        return None;
    }
    let spec: TableSpec = serde_json::from_value(op.value.get("table")?.clone()).ok()?;
    spec.table().ok()
}

/// The load for a sharded store; `None` otherwise.
pub fn load(cfg: &SystemConfig, w: &WorkloadInfo, h: &History) -> Option<ShardLoad> {
    let s = &cfg.builtin.shards;
    if !cfg.kind.has_store_modes() || !s.is_sharded() {
        return None;
    }
    let mut table = RoutingTable::new(s.partitioner(), s.shards?).ok()?;
    let map = OpMap::new(w.clone());
    let mut load = ShardLoad::new(&table);
    // Per client process, the table its pending op was invoked under.
    let mut sent: BTreeMap<u64, RoutingTable> = BTreeMap::new();
    for op in &h.ops {
        if let Some(t) = table_of(op) {
            if t.epoch() > table.epoch() {
                load.begin_epoch(&t, op.time / 1_000_000);
                table = t;
            }
            continue;
        }
        let Process::Client(p) = op.process else { continue };
        let Ok(cop) = map.translate(op) else { continue };
        let keys = crate::store::router::keys_of(&cop);
        if op.ty == OpType::Invoke {
            load.count(&table, &keys, true, false);
            sent.insert(p, table.clone());
        } else {
            let under = sent.remove(&p).unwrap_or_else(|| table.clone());
            load.count(&under, &keys, false, op.ty == OpType::Ok);
        }
    }
    Some(load.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::shard::PartitionerKind;
    use crate::workload::WorkloadKind;
    use serde_json::json;

    fn op(ty: OpType, p: Process, f: &str, v: serde_json::Value, ms: u64) -> Op {
        let mut o = Op::new(ty, p, f, v);
        o.time = ms * 1_000_000;
        o
    }

    #[test]
    fn a_group_added_mid_run_takes_the_load_of_the_keys_it_was_given() {
        let mut cfg = SystemConfig::default();
        cfg.builtin.shards.shards = Some(1);
        cfg.builtin.shards.shard_adds = Some(1);
        cfg.builtin.shards.partitioner = Some(PartitionerKind::Hash);
        let w = WorkloadKind::Set.build().info();
        let t1 = RoutingTable::new(PartitionerKind::Hash, 1).unwrap();
        let t2 = t1.add_group();
        let to = t2.owner("set");
        assert_eq!(to, 1, "under hash the set's key moves to the added group");
        let add = |i: u64, ms| {
            [
                op(OpType::Invoke, Process::Client(0), "add", json!(i), ms),
                op(OpType::Ok, Process::Client(0), "add", json!(i), ms + 1),
            ]
        };
        let mut ops: Vec<Op> = (0..3).flat_map(|i| add(i, 10 * i)).collect();
        // One op is in flight across the add: it counts where it was sent.
        ops.push(op(OpType::Invoke, Process::Client(1), "add", json!(9), 40));
        ops.push(op(
            OpType::Invoke,
            Process::Nemesis,
            "rebalance",
            json!({"seed": 0}),
            45,
        ));
        let done = json!({"action": "add", "epoch": 2, "table": t2.spec(1)});
        ops.push(op(OpType::Info, Process::Nemesis, "rebalance", done, 50));
        ops.push(op(OpType::Ok, Process::Client(1), "add", json!(9), 55));
        ops.extend((3..8).flat_map(|i| add(i, 60 + 10 * i)));
        let l = load(&cfg, &w, &History::new(ops)).unwrap();
        assert_eq!(l.groups.len(), 2);
        assert_eq!((l.groups[0].invoked, l.groups[0].ok), (4, 4));
        assert_eq!((l.groups[1].invoked, l.groups[1].ok), (5, 5));
        let e: Vec<(u64, u64)> = l.epochs.iter().map(|e| (e.epoch, e.from_ms)).collect();
        assert_eq!(e, [(1, 0), (2, 50)]);
        assert_eq!(l.epochs[1].groups[1].invoked, 5);
        assert_eq!(l.epochs[1].groups[0].invoked, 0);
    }
}
