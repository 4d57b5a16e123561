//! `--shards` and `--partitioner`: the sharded store's settings, part of
//! [`super::BuiltinModes`] (a file of its own so that `builtin` and `sharded`
//! do not import each other).

use crate::store::router::CrossShard;
use crate::store::shard::PartitionerKind;
use crate::util::Invalid;
use serde::{Deserialize, Serialize};

/// The most groups `--shard-adds` may reserve: each add grows the cluster by a group.
pub const MAX_ADDS: usize = 4;

/// The router's node name.
pub const ROUTER: &str = "router";

/// `--shards` and `--partitioner` (`None`: not sharded).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardModes {
    pub shards: Option<usize>,
    pub partitioner: Option<PartitionerKind>,
    /// `--no-shard-fencing` is `Some(false)`: a rebalance does not fence the old owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard_fencing: Option<bool>,
    /// `--cross-shard` (default reject).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cross_shard: Option<CrossShard>,
    /// `--shard-adds N`: groups reserved for `--nemesis rebalance` to add while
    /// clients run (placed at the start, their processes started at the add).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard_adds: Option<usize>,
}

impl ShardModes {
    pub fn is_sharded(&self) -> bool {
        self.shards.is_some()
    }

    pub fn partitioner(&self) -> PartitionerKind {
        self.partitioner.unwrap_or_default()
    }

    /// Whether a rebalance fences the old owner (the default).
    pub fn fencing(&self) -> bool {
        self.shard_fencing.unwrap_or(true)
    }

    pub fn cross_shard(&self) -> CrossShard {
        self.cross_shard.unwrap_or_default()
    }

    /// Groups reserved for adds (`--shard-adds`, default none).
    pub fn adds(&self) -> usize {
        self.shard_adds.unwrap_or(0)
    }

    /// Every group a run may have: the K it starts with and those reserved for adds.
    pub fn all_groups(&self) -> usize {
        self.shards.unwrap_or(1) + self.adds()
    }

    /// Each replica group's node names for groups of `size`, reserved ones included
    /// (`None`: not sharded). The checkers that read node logs judge each group on
    /// its own (its own terms).
    pub fn replica_groups(&self, size: usize) -> Option<Vec<Vec<String>>> {
        self.shards?;
        Some(
            (0..self.all_groups())
                .map(|g| (g * size + 1..=(g + 1) * size).map(|i| format!("n{i}")).collect())
                .collect(),
        )
    }

    /// Node names for groups of `size`: the groups' nodes (reserved groups' last),
    /// then the router.
    pub fn node_names(&self, size: usize) -> Vec<String> {
        let k = self.all_groups();
        let mut v: Vec<String> = (1..=k * size).map(|i| format!("n{i}")).collect();
        v.push(ROUTER.into());
        v
    }

    /// K of at least one, a partitioner only with shards, and the whole fits `max` nodes.
    pub fn validate(&self, size: usize, max: usize) -> Result<(), Invalid> {
        let Some(k) = self.shards else {
            let stray = [
                ("--partitioner", "target.partitioner", self.partitioner.is_some()),
                (
                    "--no-shard-fencing",
                    "target.shard_fencing",
                    self.shard_fencing.is_some(),
                ),
                ("--cross-shard", "target.cross_shard", self.cross_shard.is_some()),
                ("--shard-adds", "target.shard_adds", self.shard_adds.is_some()),
            ];
            return match stray.into_iter().find(|s| s.2) {
                Some((flag, key, _)) => Err(Invalid::new(flag, key, "is about shards: add --shards K")),
                None => Ok(()),
            };
        };
        if k == 0 || k * size + 1 > max {
            return Err(Invalid::new(
                "--shards",
                "target.shards",
                format!(
                    "must be at least 1, and K groups of --nodes {size} plus the router at most {max} nodes (got {k})"
                ),
            ));
        }
        if self.adds() > MAX_ADDS {
            return Err(Invalid::new(
                "--shard-adds",
                "target.shard_adds",
                format!(
                    "at most {MAX_ADDS} groups can be added in one run (got {})",
                    self.adds()
                ),
            ));
        }
        if (k + self.adds()) * size + 1 > max {
            return Err(Invalid::new(
                "--shard-adds",
                "target.shard_adds",
                format!(
                    "K + N groups of --nodes {size} plus the router must be at most {max} nodes (got K {k}, N {})",
                    self.adds()
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn modes(k: usize, adds: Option<usize>) -> ShardModes {
        ShardModes {
            shards: Some(k),
            shard_adds: adds,
            ..ShardModes::default()
        }
    }

    #[test]
    fn groups_reserved_for_adds_are_named_placed_and_judged_like_the_others() {
        let m = modes(2, Some(1));
        assert_eq!(m.all_groups(), 3);
        assert_eq!(m.node_names(2), ["n1", "n2", "n3", "n4", "n5", "n6", ROUTER]);
        let g = m.replica_groups(2).unwrap();
        assert_eq!(g, [["n1", "n2"], ["n3", "n4"], ["n5", "n6"]]);
        assert_eq!(modes(2, None).replica_groups(2).unwrap().len(), 2);
        assert!(m.validate(2, 7).is_ok());
        let e = m.validate(2, 6).unwrap_err().to_string();
        assert!(e.contains("--shard-adds"), "{e}");
        let e = modes(1, Some(MAX_ADDS + 1))
            .validate(1, 64)
            .unwrap_err()
            .to_string();
        assert!(e.contains("--shard-adds"), "{e}");
        let stray = ShardModes {
            shard_adds: Some(1),
            ..ShardModes::default()
        };
        assert!(stray
            .validate(3, 64)
            .unwrap_err()
            .to_string()
            .contains("--shard-adds"));
    }
}
