//! One change of ownership as the harness carries it out, whatever caused it:
//! a range move ([`super::RangeMove`]) or a group added
//! ([`super::RoutingTable::add_group`]). Pure data: which keys each group
//! gives away and to whom, so that one fence-copy-switch protocol serves both.
//!
//! Invariant: a key is given by `g` exactly when `g` owned it before, it lies
//! in the scope, and it has another owner after; it goes to that owner. An
//! add under `hash` modulo K also moves keys between old groups, and they are
//! copied the same way.

use super::fence::RangeMove;
use super::table::{KeyRange, RoutingTable};
use super::GroupId;

#[derive(Clone, Debug)]
pub struct Handover {
    pub before: RoutingTable,
    pub after: RoutingTable,
    /// The keys that may change owner (all keys for an add).
    pub scope: KeyRange,
    /// The group added, if this is an add.
    pub added: Option<GroupId>,
}

impl Handover {
    /// The handover of adding one group to `before`.
    pub fn add(before: &RoutingTable) -> Handover {
        Handover {
            after: before.add_group(),
            before: before.clone(),
            scope: KeyRange {
                lo: String::new(),
                hi: None,
            },
            added: Some(before.groups()),
        }
    }

    /// Whether `group` holds `key` and must copy it to [`Handover::receiver`].
    pub fn gives(&self, group: GroupId, key: &str) -> bool {
        self.scope.contains(key) && self.before.owner(key) == group && self.after.owner(key) != group
    }

    /// The owner of `key` after the change.
    pub fn receiver(&self, key: &str) -> GroupId {
        self.after.owner(key)
    }

    /// The groups that may give keys: every group of the table before.
    pub fn givers(&self) -> Vec<GroupId> {
        (0..self.before.groups()).collect()
    }

    /// The groups the change concerns (givers that own keys of the scope and
    /// receivers), judged on `probe` keys; for an add, the new group is always in.
    pub fn touched(&self, probe: &[String]) -> Vec<GroupId> {
        let mut g: Vec<GroupId> = probe
            .iter()
            .filter(|k| self.scope.contains(k) && self.before.owner(k) != self.after.owner(k))
            .flat_map(|k| [self.before.owner(k), self.after.owner(k)])
            .chain(self.added)
            .collect();
        g.sort_unstable();
        g.dedup();
        g
    }
}

impl From<&RangeMove> for Handover {
    fn from(mv: &RangeMove) -> Handover {
        Handover {
            before: mv.before.clone(),
            after: mv.after.clone(),
            scope: mv.range.clone(),
            added: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::shard::PartitionerKind;

    fn keys() -> Vec<String> {
        (0..300).map(|i| format!("k{i}")).chain(["set".into()]).collect()
    }

    #[test]
    fn an_add_gives_exactly_the_keys_whose_owner_changes_to_their_new_owner() {
        for kind in [
            PartitionerKind::Hash,
            PartitionerKind::Consistent,
            PartitionerKind::Range,
        ] {
            let t = RoutingTable::new(kind, 2)
                .unwrap()
                .move_range(KeyRange::new("k1", Some("k2")).unwrap(), 0)
                .unwrap();
            let h = Handover::add(&t);
            assert_eq!((h.added, h.after.groups(), h.after.epoch()), (Some(2), 3, 3));
            assert_eq!(h.givers(), vec![0, 1]);
            for k in keys() {
                let (a, b) = (t.owner(&k), h.after.owner(&k));
                let giving: Vec<GroupId> = (0..3).filter(|&g| h.gives(g, &k)).collect();
                if a == b {
                    assert!(giving.is_empty(), "{kind:?} {k} stays yet is given");
                } else {
                    assert_eq!(giving, vec![a], "{kind:?} {k}");
                    assert_eq!(h.receiver(&k), b);
                }
                if k.starts_with("k1") {
                    assert_eq!(b, 0, "a moved range stays moved through an add");
                }
            }
            assert!(h.touched(&[]).contains(&2), "the new group is touched");
        }
        // Hash modulo K also moves keys between the old groups; consistent and range never do.
        let h = Handover::add(&RoutingTable::new(PartitionerKind::Hash, 2).unwrap());
        assert!(keys().iter().any(|k| h.gives(0, k) && h.receiver(k) == 1));
    }

    #[test]
    fn a_range_move_hands_over_what_the_move_gives() {
        let t = RoutingTable::new(PartitionerKind::Range, 3).unwrap();
        let mv = RangeMove::new(&t, KeyRange::new("k", Some("l")).unwrap(), 2).unwrap();
        let h = Handover::from(&mv);
        for k in keys() {
            for g in 0..3 {
                assert_eq!(h.gives(g, &k), mv.gives(g, &k), "{g} {k}");
            }
        }
        assert_eq!(h.added, None);
        assert_eq!(h.touched(&["k3".into(), "apple".into()]), vec![1, 2]);
    }
}
