//! Per-shard load of a run: how many ops each group was asked to serve and how
//! many succeeded, by the routing table the router used. Recorded in
//! results.json and drawn in the report, where the `range` partitioner's hot
//! spot shows as one group taking (nearly) every op.

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
}

impl ShardLoad {
    pub fn new(table: &RoutingTable) -> ShardLoad {
        ShardLoad {
            partitioner: table.kind(),
            groups: vec![GroupLoad::default(); table.groups()],
            cross_shard: 0,
        }
    }

    /// Counts one history op touching `keys`: an invocation, or an `ok` completion.
    pub fn count(&mut self, table: &RoutingTable, keys: &[String], invoked: bool, ok: bool) {
        let mut owners: Vec<usize> = keys.iter().map(|k| table.owner(k)).collect();
        owners.sort_unstable();
        owners.dedup();
        match owners.as_slice() {
            [g] => {
                let l = &mut self.groups[*g];
                l.invoked += invoked as u64;
                l.ok += ok as u64;
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
    }
}
