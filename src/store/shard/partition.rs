//! The three partitioners (`--partitioner`): which of K groups owns a key.
//!
//! - `hash`: the key's hash modulo K. Even spread; adding a group re-deals
//!   almost every key (K/(K+1) of them).
//! - `consistent`: a ring of virtual nodes per group (the leaderless store's
//!   [`Ring`]); a key belongs to the group of the next token clockwise. Adding a
//!   group moves only the keys its new tokens take (1/(K+1) of them).
//! - `range`: contiguous key ranges by lower bounds, like volumes of an
//!   encyclopedia. The default bounds split the alphabet evenly by a key's first
//!   three letters, so keys that are not spread over the alphabet (`k1`..`k9`,
//!   `acct-3`) pile onto one group: the hot spot of the seeds' notes. Adding a
//!   group splits the widest range in two.
//!
//! Invariant: `owner` is a pure function of the key and the partitioner, and is
//! always below `groups()`.

use super::{GroupId, ShardError};
use crate::store::leaderless::{key_hash, Ring};
use serde::{Deserialize, Serialize};

/// Virtual nodes per group on the consistent-hash ring.
pub const VNODES: usize = 64;

/// What `--partitioner` names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum PartitionerKind {
    /// Hash of the key modulo the number of groups.
    #[default]
    Hash,
    /// Consistent hashing: a ring with virtual nodes per group.
    Consistent,
    /// Key ranges by boundaries (alphabetical: hot spots when keys are not uniform).
    Range,
}

/// A partitioner with its groups.
#[derive(Clone, Debug)]
pub enum Partitioner {
    Hash {
        groups: usize,
    },
    Consistent {
        groups: usize,
        ring: Ring,
    },
    /// `(lower bound, group)`, sorted by bound; the first bound is `""`, so
    /// every key has a range: the last whose bound is at most the key.
    Range {
        ranges: Vec<(String, GroupId)>,
    },
}

/// Positions of range bounds: the first three letters of a key, `a`..`z`,
/// as a number below [`SPACE`] (a missing letter counts as `a`).
const LETTERS: u32 = 26;
pub const SPACE: u32 = LETTERS * LETTERS * LETTERS;

/// The position of `key`'s first three letters (others clamped to `a`..`z`).
pub fn position(key: &str) -> u32 {
    let b = key.as_bytes();
    (0..3).fold(0, |acc, i| {
        let c = b.get(i).map_or(0, |c| c.saturating_sub(b'a').min(25) as u32);
        acc * LETTERS + c
    })
}

/// The shortest bound at `pos` (trailing `a`s trimmed; 0 is `""`).
pub fn bound_at(pos: u32) -> String {
    let mut s: Vec<u8> = (0..3)
        .map(|i| b'a' + ((pos / LETTERS.pow(2 - i)) % LETTERS) as u8)
        .collect();
    while s.last() == Some(&b'a') {
        s.pop();
    }
    String::from_utf8(s).unwrap_or_default()
}

fn group_name(g: GroupId) -> String {
    format!("g{g}")
}

impl Partitioner {
    /// K groups; `range` takes the even alphabetical bounds.
    pub fn new(kind: PartitionerKind, groups: usize) -> Result<Partitioner, ShardError> {
        if groups == 0 {
            return Err(ShardError::NoGroups(groups));
        }
        Ok(match kind {
            PartitionerKind::Hash => Partitioner::Hash { groups },
            PartitionerKind::Consistent => Partitioner::Consistent {
                groups,
                ring: ring(groups),
            },
            PartitionerKind::Range => Partitioner::Range {
                ranges: (0..groups)
                    .map(|g| (bound_at((g as u64 * SPACE as u64 / groups as u64) as u32), g))
                    .collect(),
            },
        })
    }

    /// Ranges with explicit bounds: group `i + 1` owns keys from `bounds[i]` on.
    pub fn ranges(bounds: &[String]) -> Result<Partitioner, ShardError> {
        if bounds.windows(2).any(|w| w[0] >= w[1]) || bounds.first().is_some_and(|b| b.is_empty()) {
            return Err(ShardError::Boundaries(bounds.to_vec()));
        }
        let mut ranges = vec![(String::new(), 0)];
        ranges.extend(bounds.iter().enumerate().map(|(i, b)| (b.clone(), i + 1)));
        Ok(Partitioner::Range { ranges })
    }

    pub fn kind(&self) -> PartitionerKind {
        match self {
            Partitioner::Hash { .. } => PartitionerKind::Hash,
            Partitioner::Consistent { .. } => PartitionerKind::Consistent,
            Partitioner::Range { .. } => PartitionerKind::Range,
        }
    }

    pub fn groups(&self) -> usize {
        match self {
            Partitioner::Hash { groups } | Partitioner::Consistent { groups, .. } => *groups,
            Partitioner::Range { ranges } => ranges.len(),
        }
    }

    pub fn owner(&self, key: &str) -> GroupId {
        match self {
            Partitioner::Hash { groups } => (key_hash(key) % *groups as u64) as usize,
            Partitioner::Consistent { ring, .. } => ring
                .walk(ring.arc_of(key))
                .next()
                .and_then(|g| g[1..].parse().ok())
                .unwrap_or(0),
            Partitioner::Range { ranges } => {
                let i = ranges.partition_point(|(lo, _)| lo.as_str() <= key);
                ranges[i.saturating_sub(1)].1
            }
        }
    }

    /// The same partitioner with one more group (its index is the old count).
    pub fn grow(&self) -> Partitioner {
        match self {
            Partitioner::Hash { groups } => Partitioner::Hash { groups: groups + 1 },
            Partitioner::Consistent { groups, .. } => Partitioner::Consistent {
                groups: groups + 1,
                ring: ring(groups + 1),
            },
            Partitioner::Range { ranges } => {
                let mut ranges = ranges.clone();
                let (i, lo, hi) = widest(&ranges);
                let new = ranges.len();
                if hi - lo >= 2 {
                    ranges.insert(i + 1, (bound_at(lo + (hi - lo) / 2), new));
                } else {
                    // Nothing left to split at this resolution: the new group
                    // takes keys past the last bound's successor.
                    ranges.push((format!("{}\u{10FFFF}", ranges[ranges.len() - 1].0), new));
                }
                Partitioner::Range { ranges }
            }
        }
    }

    /// The `(lower bound, group)` list of a range partitioner (empty otherwise).
    pub fn range_bounds(&self) -> &[(String, GroupId)] {
        match self {
            Partitioner::Range { ranges } => ranges,
            _ => &[],
        }
    }
}

fn ring(groups: usize) -> Ring {
    let names: Vec<String> = (0..groups).map(group_name).collect();
    Ring::new(&names, VNODES)
}

/// The range covering the most positions: its index, start and end position.
fn widest(ranges: &[(String, GroupId)]) -> (usize, u32, u32) {
    (0..ranges.len())
        .map(|i| {
            let lo = position(&ranges[i].0);
            let hi = ranges.get(i + 1).map_or(SPACE, |(b, _)| position(b));
            (i, lo, hi)
        })
        .max_by_key(|&(i, lo, hi)| (hi.saturating_sub(lo), std::cmp::Reverse(i)))
        .unwrap_or((0, 0, SPACE))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn brute_range(ranges: &[(String, GroupId)], key: &str) -> GroupId {
        // The last range whose bound is at most the key (bounds are sorted).
        let mut owner = ranges[0].1;
        for (lo, g) in ranges {
            if lo.as_str() <= key {
                owner = *g;
            }
        }
        owner
    }

    #[test]
    fn bounds_and_positions_round_trip() {
        for pos in [0, 1, 25, 26, 675, 676, SPACE / 3, SPACE - 1] {
            assert_eq!(position(&bound_at(pos)), pos, "{pos} {:?}", bound_at(pos));
        }
        assert_eq!(bound_at(0), "");
        assert_eq!(bound_at(SPACE / 2), "n");
        assert!(bound_at(SPACE / 3) < bound_at(2 * SPACE / 3));
    }

    #[test]
    fn range_default_bounds_are_alphabetical_and_make_a_hot_spot() {
        let p = Partitioner::new(PartitionerKind::Range, 3).unwrap();
        let bounds: Vec<&str> = p.range_bounds().iter().map(|(b, _)| b.as_str()).collect();
        assert_eq!(bounds, ["", "iri", "rir"]);
        // The register workload's keys k0..k9 all start with `k`: one group takes all.
        let owners: Vec<GroupId> = (0..10).map(|i| p.owner(&format!("k{i}"))).collect();
        assert!(owners.iter().all(|&g| g == 1), "{owners:?}");
        assert_eq!(p.owner("apple"), 0);
        assert_eq!(p.owner("zebra"), 2);
        assert_eq!(p.owner("0-digits-sort-first"), 0);
    }

    #[test]
    fn hash_and_consistent_spread_keys_over_every_group() {
        for kind in [PartitionerKind::Hash, PartitionerKind::Consistent] {
            let p = Partitioner::new(kind, 4).unwrap();
            let mut count = [0usize; 4];
            for i in 0..8000 {
                count[p.owner(&format!("key-{i}"))] += 1;
            }
            assert!(count.iter().all(|&c| c > 1000 && c < 3000), "{kind:?}: {count:?}");
        }
        assert_eq!(
            Partitioner::new(PartitionerKind::Hash, 0).unwrap_err(),
            ShardError::NoGroups(0)
        );
    }

    #[test]
    fn growing_a_range_partitioner_splits_the_widest_range() {
        let p = Partitioner::new(PartitionerKind::Range, 2).unwrap();
        let q = p.grow();
        let b: Vec<(&str, GroupId)> = q.range_bounds().iter().map(|(b, g)| (b.as_str(), *g)).collect();
        assert_eq!(b, [("", 0), ("gn", 2), ("n", 1)]);
        assert_eq!(q.groups(), 3);
        // Keys below `gn` stay, `gn`..`n` move to the new group, the rest stay.
        assert_eq!((q.owner("apple"), q.owner("house"), q.owner("zoo")), (0, 2, 1));
        assert!(Partitioner::ranges(&["m".into(), "c".into()]).is_err());
        assert!(Partitioner::ranges(&["".into()]).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

        /// Every key has exactly one owner, a real group; ranges agree with a linear scan.
        #[test]
        fn every_key_has_one_owner_below_the_group_count(
            kind in prop_oneof![Just(PartitionerKind::Hash), Just(PartitionerKind::Consistent), Just(PartitionerKind::Range)],
            groups in 1usize..7,
            grows in 0usize..3,
            keys in proptest::collection::vec("[ -~]{0,6}", 1..40),
        ) {
            let mut p = Partitioner::new(kind, groups).unwrap();
            for _ in 0..grows { p = p.grow(); }
            prop_assert_eq!(p.groups(), groups + grows);
            for k in &keys {
                let g = p.owner(k);
                prop_assert!(g < p.groups());
                prop_assert_eq!(g, p.owner(k));
                if kind == PartitionerKind::Range {
                    prop_assert_eq!(g, brute_range(p.range_bounds(), k));
                }
            }
        }

        /// Growing consistent hashing or ranges only moves keys to the new group.
        #[test]
        fn growing_moves_keys_only_to_the_new_group(
            kind in prop_oneof![Just(PartitionerKind::Consistent), Just(PartitionerKind::Range)],
            groups in 1usize..6,
            keys in proptest::collection::vec("[a-z0-9]{1,6}", 1..60),
        ) {
            let p = Partitioner::new(kind, groups).unwrap();
            let q = p.grow();
            for k in &keys {
                let (a, b) = (p.owner(k), q.owner(k));
                prop_assert!(a == b || b == groups, "{} moved {} -> {}", k, a, b);
            }
        }
    }
}
