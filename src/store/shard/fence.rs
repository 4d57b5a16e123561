//! What a group's node knows of the routing, and the fence it checks each
//! request against: the table's wire form ([`TableSpec`], what the harness
//! pushes to nodes and routers when it rebalances), and [`Fence`], the
//! decision a node makes on a stamped request. Pure data, no I/O: the node
//! shell holds a `Fence` and asks it before handing a request to its core.
//!
//! Invariants: a fence only moves forward (an older table never replaces a
//! newer one); once a node knows epoch `e`, every request stamped below `e`
//! is refused, and so is every request for a key its group does not own at
//! the node's epoch; refusals are certain (the request ran nowhere), so a
//! router may re-route and retry them.

use super::partition::{Partitioner, PartitionerKind};
use super::table::{KeyRange, Refusal, RoutingTable};
use super::{GroupId, ShardError};
use crate::store::ops::{key_str, ClientOp};
use serde::{Deserialize, Serialize};

/// How a node's refusal starts its `fail` reason, so that a router can tell a
/// fence (re-route with a fresher table and retry) from any other failure.
pub const FENCED: &str = "fenced: ";

/// The txn micro-op the harness copies a key range with: `["scan", lo, hi]`
/// reads every key `lo <= key < hi` (`hi` null: no end). It is an admin read,
/// not a key of the request: the fence does not hold it to ownership.
pub const SCAN: &str = "scan";

/// A routing table as it travels (admin calls, router flags).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableSpec {
    pub partitioner: PartitionerKind,
    /// Groups before any was added.
    pub groups: usize,
    /// Groups added since (each by [`RoutingTable::add_group`]).
    #[serde(default)]
    pub added: usize,
    pub epoch: u64,
    #[serde(default)]
    pub moves: Vec<(KeyRange, GroupId)>,
}

impl TableSpec {
    pub fn table(&self) -> Result<RoutingTable, ShardError> {
        let mut base = Partitioner::new(self.partitioner, self.groups)?;
        for _ in 0..self.added {
            base = base.grow();
        }
        Ok(RoutingTable::restore(base, self.epoch, self.moves.clone()))
    }
}

impl RoutingTable {
    /// The wire form of this table (`base_groups`: the groups it started with).
    pub fn spec(&self, base_groups: usize) -> TableSpec {
        TableSpec {
            partitioner: self.kind(),
            groups: base_groups,
            added: self.groups().saturating_sub(base_groups),
            epoch: self.epoch(),
            moves: self.moves().to_vec(),
        }
    }
}

/// The keys a request is held to by the fence: every key it reads or writes
/// (a [`SCAN`] micro-op is not one).
pub fn fenced_keys(op: &ClientOp) -> Vec<String> {
    match op {
        ClientOp::Read { key }
        | ClientOp::Write { key, .. }
        | ClientOp::Cas { key, .. }
        | ClientOp::Append { key, .. } => vec![key_str(key)],
        ClientOp::Txn { ops } => ops
            .iter()
            .filter(|(f, _, _)| f != SCAN)
            .map(|(_, k, _)| key_str(k))
            .collect(),
        ClientOp::Transfer { from, to, .. } => vec![key_str(from), key_str(to)],
    }
}

/// One node's view: its group and the newest table it was told of.
#[derive(Clone, Debug)]
pub struct Fence {
    group: GroupId,
    table: RoutingTable,
}

impl Fence {
    pub fn new(group: GroupId, table: RoutingTable) -> Fence {
        Fence { group, table }
    }

    pub fn epoch(&self) -> u64 {
        self.table.epoch()
    }

    pub fn group(&self) -> GroupId {
        self.group
    }

    /// Takes `table` if it is newer; returns whether it did.
    pub fn learn(&mut self, group: GroupId, table: RoutingTable) -> bool {
        if table.epoch() <= self.table.epoch() {
            return false;
        }
        self.group = group;
        self.table = table;
        true
    }

    /// Whether to serve a request for `keys` stamped with `stamped` (`None`: not
    /// sent by a router). A stamp newer than the node's epoch is judged by the
    /// node's table: the router knows a newer one, and ownership the node
    /// still believes in is safe to serve (moves are only ever pushed to
    /// nodes before routers).
    pub fn check(&self, keys: &[String], stamped: Option<u64>) -> Result<(), Refusal> {
        let current = self.table.epoch();
        let Some(stamped) = stamped else {
            return Err(Refusal::Unstamped { current });
        };
        if stamped < current {
            return Err(Refusal::StaleEpoch { stamped, current });
        }
        match keys.iter().find(|k| self.table.owner(k) != self.group) {
            Some(k) => Err(Refusal::NotOwner {
                group: self.group,
                owner: self.table.owner(k),
                epoch: current,
            }),
            None => Ok(()),
        }
    }
}

/// One range move as the harness carries it out: who gives which keys, the
/// table before and after. The keys `to` receives are those of `range` whose
/// owner under `before` is another group.
#[derive(Clone, Debug)]
pub struct RangeMove {
    pub range: KeyRange,
    pub to: GroupId,
    pub before: RoutingTable,
    pub after: RoutingTable,
}

impl RangeMove {
    pub fn new(before: &RoutingTable, range: KeyRange, to: GroupId) -> Result<RangeMove, ShardError> {
        Ok(RangeMove {
            after: before.move_range(range.clone(), to)?,
            range,
            to,
            before: before.clone(),
        })
    }

    /// Whether `key`, held by `group`, must be copied to the new owner: it is in
    /// the range and `group` owned it before the move (another group's copy of
    /// it is stale, from an earlier ownership).
    pub fn gives(&self, group: GroupId, key: &str) -> bool {
        group != self.to && self.range.contains(key) && self.before.owner(key) == group
    }

    /// The groups that own part of the range before the move, other than `to`.
    pub fn givers(&self, probe: &[String]) -> Vec<GroupId> {
        let mut g: Vec<GroupId> = (0..self.before.groups()).filter(|&g| g != self.to).collect();
        if !probe.is_empty() {
            g.retain(|&g| probe.iter().any(|k| self.gives(g, k)));
        }
        g
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn table(kind: PartitionerKind, k: usize) -> RoutingTable {
        RoutingTable::new(kind, k).unwrap()
    }

    #[test]
    fn a_spec_rebuilds_the_same_table() {
        for kind in [
            PartitionerKind::Hash,
            PartitionerKind::Consistent,
            PartitionerKind::Range,
        ] {
            let t = table(kind, 3)
                .move_range(KeyRange::new("k", Some("l")).unwrap(), 2)
                .unwrap()
                .add_group()
                .move_range(KeyRange::new("s", Some("t")).unwrap(), 3)
                .unwrap();
            let spec = t.spec(3);
            let text = serde_json::to_string(&spec).unwrap();
            let back: TableSpec = serde_json::from_str(&text).unwrap();
            let u = back.table().unwrap();
            assert_eq!((u.epoch(), u.groups()), (4, 4));
            for k in ["k1", "set", "apple", "zoo", "7", "counter", "m42"] {
                assert_eq!(u.owner(k), t.owner(k), "{kind:?} {k}");
            }
        }
    }

    #[test]
    fn the_fence_refuses_old_stamps_unstamped_requests_and_keys_given_away() {
        let t1 = table(PartitionerKind::Hash, 2);
        let from = t1.owner("set");
        let to = 1 - from;
        let mv = RangeMove::new(&t1, KeyRange::new("s", Some("t")).unwrap(), to).unwrap();
        let mut old = Fence::new(from, t1.clone());
        let keys = vec!["set".to_string()];
        assert_eq!(old.check(&keys, Some(1)), Ok(()));
        assert!(matches!(old.check(&keys, None), Err(Refusal::Unstamped { .. })));
        assert!(old.learn(from, mv.after.clone()));
        assert!(
            !old.learn(from, t1.clone()),
            "an older table never replaces a newer one"
        );
        assert_eq!(old.epoch(), 2);
        assert_eq!(
            old.check(&keys, Some(1)),
            Err(Refusal::StaleEpoch {
                stamped: 1,
                current: 2
            })
        );
        assert!(matches!(old.check(&keys, Some(2)), Err(Refusal::NotOwner { owner, .. }) if owner == to));
        // A key the old owner keeps is still served, and a newer stamp too.
        let kept = (0..100)
            .map(|i| format!("k{i}"))
            .find(|k| t1.owner(k) == from)
            .unwrap();
        assert_eq!(old.check(std::slice::from_ref(&kept), Some(3)), Ok(()));
        let new = Fence::new(to, mv.after.clone());
        assert_eq!(new.check(&keys, Some(2)), Ok(()));
        assert!(new.check(&[kept], Some(2)).is_err());
        assert!(
            Refusal::StaleEpoch {
                stamped: 1,
                current: 2
            }
            .to_string()
            .starts_with(FENCED),
            "routers tell fences by their prefix"
        );
    }

    #[test]
    fn a_move_copies_only_what_the_giver_owned() {
        let t1 = table(PartitionerKind::Range, 3);
        // `k*` keys are group 1's under the even alphabetical ranges.
        let mv = RangeMove::new(&t1, KeyRange::new("k", Some("l")).unwrap(), 2).unwrap();
        assert!(mv.gives(1, "k3"));
        assert!(!mv.gives(0, "k3"), "group 0's k3 would be a stale copy");
        assert!(!mv.gives(1, "m1"), "outside the range");
        assert!(!mv.gives(2, "k3"), "the receiver gives nothing");
        assert_eq!(mv.givers(&["k3".into()]), vec![1]);
        assert_eq!(mv.givers(&[]), vec![0, 1]);
        // A move back: the key returns to group 1, whose old copy is not a source.
        let back = RangeMove::new(&mv.after, KeyRange::new("k", Some("l")).unwrap(), 1).unwrap();
        assert!(back.gives(2, "k3") && !back.gives(1, "k3"));
    }

    #[test]
    fn a_scan_is_not_held_to_ownership_but_every_other_key_is() {
        let op = ClientOp::Txn {
            ops: vec![
                (SCAN.into(), json!("s"), json!("t")),
                ("r".into(), json!("x"), json!(null)),
            ],
        };
        assert_eq!(fenced_keys(&op), ["x"]);
        let t = ClientOp::Transfer {
            from: json!("a"),
            to: json!(2),
            amount: 1,
        };
        assert_eq!(fenced_keys(&t), ["a", "2"]);
    }
}
