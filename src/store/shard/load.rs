//! Per-shard load of a run: how many ops each group was asked to serve and how
//! many succeeded, by the routing table in force when each op was invoked (a
//! rebalance starts a new epoch, [`ShardLoad::begin_epoch`]; an op completing
//! after it still counts where it was sent). Recorded in results.json and
//! drawn in the report, where the `range` partitioner's hot spot shows as one
//! group taking (nearly) every op, and a move or an added group as the load
//! shifting from one epoch to the next.

use super::partition::PartitionerKind;
use super::table::RoutingTable;
use serde::{Deserialize, Serialize};

/// One group's share of the ops.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupLoad {
    /// Ops invoked on keys the group owns.
    pub invoked: u64,
    /// Of those, the ones that succeeded.
    pub ok: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShardLoad {
    pub partitioner: PartitionerKind,
    /// Indexed by group.
    pub groups: Vec<GroupLoad>,
    /// Ops whose keys span groups (the router refuses them), invocations.
    pub cross_shard: u64,
    /// The same counts per routing epoch, in order (empty when the table never
    /// changed during the run).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub epochs: Vec<EpochLoad>,
}

/// The load while one routing table was in force.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochLoad {
    pub epoch: u64,
    /// When the table came into force, in ms since the test started.
    pub from_ms: u64,
    /// Indexed by group (the groups this table has).
    pub groups: Vec<GroupLoad>,
}

impl ShardLoad {
    pub fn new(table: &RoutingTable) -> ShardLoad {
        ShardLoad {
            partitioner: table.kind(),
            groups: vec![GroupLoad::default(); table.groups()],
            cross_shard: 0,
            epochs: vec![EpochLoad {
                epoch: table.epoch(),
                from_ms: 0,
                groups: vec![GroupLoad::default(); table.groups()],
            }],
        }
    }

    /// A new routing table comes into force at `from_ms`: ops invoked from now
    /// on count under it (a table not newer than the last is ignored).
    pub fn begin_epoch(&mut self, table: &RoutingTable, from_ms: u64) {
        if self.epochs.last().is_some_and(|e| e.epoch >= table.epoch()) {
            return;
        }
        if self.groups.len() < table.groups() {
            self.groups.resize(table.groups(), GroupLoad::default());
        }
        self.epochs.push(EpochLoad {
            epoch: table.epoch(),
            from_ms,
            groups: vec![GroupLoad::default(); table.groups()],
        });
    }

    /// Drops the per-epoch counts when there was only one epoch (they repeat `groups`).
    pub fn finish(mut self) -> ShardLoad {
        if self.epochs.len() <= 1 {
            self.epochs.clear();
        }
        self
    }

    /// Counts one history op touching `keys` under `table` (the one in force at the
    /// op's invocation): an invocation, or an `ok` completion.
    pub fn count(&mut self, table: &RoutingTable, keys: &[String], invoked: bool, ok: bool) {
        let mut owners: Vec<usize> = keys.iter().map(|k| table.owner(k)).collect();
        owners.sort_unstable();
        owners.dedup();
        match owners.as_slice() {
            [g] => {
                if self.groups.len() <= *g {
                    self.groups.resize(*g + 1, GroupLoad::default());
                }
                let per_epoch = self
                    .epochs
                    .iter_mut()
                    .rev()
                    .find(|e| e.epoch == table.epoch())
                    .and_then(|e| e.groups.get_mut(*g));
                for l in [Some(&mut self.groups[*g]), per_epoch].into_iter().flatten() {
                    l.invoked += invoked as u64;
                    l.ok += ok as u64;
                }
            }
            [] => {}
            _ => self.cross_shard += invoked as u64,
        }
    }

    /// The busiest group's share of the invocations (1/K is perfectly even).
    pub fn hottest_share(&self) -> f64 {
        let total: u64 = self.groups.iter().map(|g| g.invoked).sum();
        let max = self.groups.iter().map(|g| g.invoked).max().unwrap_or(0);
        max as f64 / total.max(1) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ops_count_against_their_owner_and_cross_shard_ops_apart() {
        let t = RoutingTable::new(PartitionerKind::Range, 3).unwrap();
        let mut l = ShardLoad::new(&t);
        for i in 0..10 {
            let k = vec![format!("k{i}")];
            l.count(&t, &k, true, false);
            l.count(&t, &k, false, i % 2 == 0);
        }
        l.count(&t, &["apple".into()], true, false);
        l.count(&t, &["apple".into(), "zoo".into()], true, false);
        assert_eq!(l.groups[1], GroupLoad { invoked: 10, ok: 5 });
        assert_eq!(l.groups[0].invoked, 1);
        assert_eq!(l.cross_shard, 1);
        assert!((l.hottest_share() - 10.0 / 11.0).abs() < 1e-9);
        assert!(l.finish().epochs.is_empty(), "one epoch: no breakdown");
    }

    #[test]
    fn ops_count_under_the_table_in_force_at_their_invocation() {
        let t1 = RoutingTable::new(PartitionerKind::Range, 2).unwrap();
        let k = vec!["k1".to_string()];
        let mut l = ShardLoad::new(&t1);
        l.count(&t1, &k, true, false);
        // The key moves to a group added at 100 ms; an op invoked before completes after.
        let t2 = t1.add_group();
        let t3 = t2
            .move_range(crate::store::shard::KeyRange::new("k", Some("l")).unwrap(), 2)
            .unwrap();
        l.begin_epoch(&t3, 100);
        l.begin_epoch(&t2, 90);
        l.count(&t1, &k, false, true);
        l.count(&t3, &k, true, false);
        l.count(&t3, &k, false, true);
        let l = l.finish();
        assert_eq!(l.groups.len(), 3);
        let from = t1.owner("k1");
        assert_eq!(l.groups[from], GroupLoad { invoked: 1, ok: 1 });
        assert_eq!(l.groups[2], GroupLoad { invoked: 1, ok: 1 });
        let e: Vec<(u64, u64, usize)> = l
            .epochs
            .iter()
            .map(|e| (e.epoch, e.from_ms, e.groups.len()))
            .collect();
        assert_eq!(e, [(1, 0, 2), (3, 100, 3)], "an older table starts no epoch");
        assert_eq!(l.epochs[0].groups[from], GroupLoad { invoked: 1, ok: 1 });
        assert_eq!(l.epochs[1].groups[2], GroupLoad { invoked: 1, ok: 1 });
    }
}
