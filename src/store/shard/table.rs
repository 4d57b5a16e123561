//! The routing table: a partitioner plus key ranges moved since, stamped with
//! an epoch; and the fence an owning group checks each request against.
//!
//! A router stamps every request with the epoch of the table it routed by. A
//! group that has been told of a newer table refuses requests stamped with an
//! older epoch, so a router (or client) still using the old table cannot write
//! to a group that gave the keys away: the old owner is fenced.
//!
//! Invariants: `owner` has exactly one answer per key; [`RoutingTable::move_range`]
//! changes the owner of exactly the keys in the range (to its target), and every
//! change returns a table with the next epoch.

use super::partition::{Partitioner, PartitionerKind};
use super::{GroupId, ShardError};
use serde::{Deserialize, Serialize};

/// The keys `lo <= key < hi` (`hi` `None`: no upper end), by byte order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRange {
    pub lo: String,
    pub hi: Option<String>,
}

impl KeyRange {
    pub fn new(lo: &str, hi: Option<&str>) -> Result<KeyRange, ShardError> {
        if hi.is_some_and(|h| h <= lo) {
            return Err(ShardError::EmptyRange {
                lo: lo.into(),
                hi: hi.unwrap_or_default().into(),
            });
        }
        Ok(KeyRange {
            lo: lo.into(),
            hi: hi.map(String::from),
        })
    }

    pub fn contains(&self, key: &str) -> bool {
        self.lo.as_str() <= key && self.hi.as_deref().is_none_or(|h| key < h)
    }
}

#[derive(Clone, Debug)]
pub struct RoutingTable {
    epoch: u64,
    base: Partitioner,
    /// Moves in order; a later one overrides an earlier one where they overlap.
    moves: Vec<(KeyRange, GroupId)>,
}

/// Why an owner refused a request.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("fenced: stale routing epoch {stamped} (the group is at epoch {current})")]
    StaleEpoch { stamped: u64, current: u64 },
    #[error("fenced: routing epoch {stamped} is newer than the group's {current}")]
    FutureEpoch { stamped: u64, current: u64 },
    #[error(
        "fenced: a request without a routing epoch (the group is at epoch {current}; go through the router)"
    )]
    Unstamped { current: u64 },
    #[error("fenced: group {group} does not own this key at epoch {epoch} (group {owner} does)")]
    NotOwner {
        group: GroupId,
        owner: GroupId,
        epoch: u64,
    },
}

impl RoutingTable {
    /// Epoch 1: `groups` groups under `kind`'s partitioner.
    pub fn new(kind: PartitionerKind, groups: usize) -> Result<RoutingTable, ShardError> {
        Ok(RoutingTable::with(Partitioner::new(kind, groups)?))
    }

    pub fn with(base: Partitioner) -> RoutingTable {
        RoutingTable {
            epoch: 1,
            base,
            moves: Vec::new(),
        }
    }

    /// A table as [`super::fence::TableSpec`] carries it.
    pub(super) fn restore(base: Partitioner, epoch: u64, moves: Vec<(KeyRange, GroupId)>) -> RoutingTable {
        RoutingTable { epoch, base, moves }
    }

    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The moves since the base partitioner, in order.
    pub fn moves(&self) -> &[(KeyRange, GroupId)] {
        &self.moves
    }

    pub fn groups(&self) -> usize {
        self.base.groups()
    }

    pub fn partitioner(&self) -> &Partitioner {
        &self.base
    }

    pub fn kind(&self) -> PartitionerKind {
        self.base.kind()
    }

    pub fn owner(&self, key: &str) -> GroupId {
        self.moves
            .iter()
            .rev()
            .find(|(r, _)| r.contains(key))
            .map_or_else(|| self.base.owner(key), |(_, g)| *g)
    }

    /// The next epoch's table, in which group `to` owns `range`.
    pub fn move_range(&self, range: KeyRange, to: GroupId) -> Result<RoutingTable, ShardError> {
        if to >= self.groups() {
            return Err(ShardError::NoSuchGroup {
                group: to,
                groups: self.groups(),
            });
        }
        let mut next = self.clone();
        next.epoch += 1;
        next.moves.push((range, to));
        Ok(next)
    }

    /// The next epoch's table with one more group (the partitioner grown; moved
    /// ranges stay where they were moved).
    pub fn add_group(&self) -> RoutingTable {
        RoutingTable {
            epoch: self.epoch + 1,
            base: self.base.grow(),
            moves: self.moves.clone(),
        }
    }

    /// Whether `group`, knowing this table, serves a request for `key` that a router
    /// stamped with epoch `stamped`.
    pub fn admit(&self, group: GroupId, key: &str, stamped: u64) -> Result<(), Refusal> {
        let current = self.epoch;
        if stamped < current {
            return Err(Refusal::StaleEpoch { stamped, current });
        }
        if stamped > current {
            return Err(Refusal::FutureEpoch { stamped, current });
        }
        let owner = self.owner(key);
        if owner != group {
            return Err(Refusal::NotOwner {
                group,
                owner,
                epoch: current,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The oracle: replay every move over the base partitioner, key by key.
    fn brute_owner(base: &Partitioner, moves: &[(KeyRange, GroupId)], key: &str) -> GroupId {
        let mut owner = base.owner(key);
        for (r, g) in moves {
            if r.lo.as_str() <= key && r.hi.as_ref().is_none_or(|h| key < h.as_str()) {
                owner = *g;
            }
        }
        owner
    }

    #[test]
    fn an_old_owner_fenced_by_the_new_epoch_refuses_old_stamps() {
        let t1 = RoutingTable::new(PartitionerKind::Range, 3).unwrap();
        let from = t1.owner("k1");
        let to = (from + 1) % 3;
        let t2 = t1.move_range(KeyRange::new("k", Some("l")).unwrap(), to).unwrap();
        assert_eq!((t1.epoch(), t2.epoch()), (1, 2));
        assert_eq!(t2.owner("k1"), to);
        assert_eq!(t2.owner("apple"), t1.owner("apple"));
        // Before the fence the old owner serves the old epoch's requests...
        assert_eq!(t1.admit(from, "k1", 1), Ok(()));
        // ...after it (it knows t2) it refuses them, and the new owner serves epoch 2.
        assert_eq!(
            t2.admit(from, "k1", 1),
            Err(Refusal::StaleEpoch {
                stamped: 1,
                current: 2
            })
        );
        assert_eq!(
            t2.admit(from, "k1", 2),
            Err(Refusal::NotOwner {
                group: from,
                owner: to,
                epoch: 2
            })
        );
        assert_eq!(t2.admit(to, "k1", 2), Ok(()));
        assert!(matches!(t1.admit(to, "k1", 2), Err(Refusal::FutureEpoch { .. })));
        assert!(t1.move_range(KeyRange::new("a", None).unwrap(), 3).is_err());
        assert!(KeyRange::new("b", Some("a")).is_err());
    }

    #[test]
    fn adding_a_group_bumps_the_epoch_and_keeps_moves() {
        let t = RoutingTable::new(PartitionerKind::Consistent, 2).unwrap();
        let t = t.move_range(KeyRange::new("x", None).unwrap(), 0).unwrap();
        let u = t.add_group();
        assert_eq!((u.epoch(), u.groups()), (3, 3));
        assert_eq!(u.owner("xylophone"), 0, "a moved range stays moved");
    }

    fn kind() -> impl Strategy<Value = PartitionerKind> {
        prop_oneof![
            Just(PartitionerKind::Hash),
            Just(PartitionerKind::Consistent),
            Just(PartitionerKind::Range)
        ]
    }

    fn range() -> impl Strategy<Value = KeyRange> {
        ("[a-z]{0,2}", proptest::option::of("[a-z]{1,2}"))
            .prop_filter_map("non-empty", |(lo, hi)| KeyRange::new(&lo, hi.as_deref()).ok())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

        /// After any sequence of moves: one owner per key, as the oracle says; each move
        /// changes only the moved keys' owner, and those to the target.
        #[test]
        fn moves_change_exactly_the_moved_keys(
            kind in kind(),
            groups in 1usize..5,
            moves in proptest::collection::vec((range(), 0usize..5), 0..6),
            keys in proptest::collection::vec("[a-z0-9]{0,4}", 1..50),
        ) {
            let mut t = RoutingTable::new(kind, groups).unwrap();
            let mut applied = Vec::new();
            for (r, to) in moves {
                let to = to % groups;
                let next = t.move_range(r.clone(), to).unwrap();
                prop_assert_eq!(next.epoch(), t.epoch() + 1);
                for k in &keys {
                    let (a, b) = (t.owner(k), next.owner(k));
                    if r.contains(k) {
                        prop_assert_eq!(b, to);
                    } else {
                        prop_assert_eq!(a, b, "{} moved outside {:?}", k, r);
                    }
                }
                applied.push((r, to));
                t = next;
            }
            for k in &keys {
                let g = t.owner(k);
                prop_assert!(g < groups);
                prop_assert_eq!(g, brute_owner(t.partitioner(), &applied, k));
                // Exactly one group admits a current-epoch request for the key.
                let admitted = (0..groups).filter(|&x| t.admit(x, k, t.epoch()).is_ok()).count();
                prop_assert_eq!(admitted, 1);
                prop_assert!((0..groups).all(|x| t.admit(x, k, t.epoch() - 1).is_err()));
            }
        }
    }
}
