//! `--shards` and `--partitioner`: the sharded store's settings, part of
//! [`super::BuiltinModes`] (a file of its own so that `builtin` and `sharded`
//! do not import each other).

use crate::store::router::CrossShard;
use crate::store::shard::PartitionerKind;
use crate::util::Invalid;
use serde::{Deserialize, Serialize};

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

    /// Each replica group's node names for groups of `size` (`None`: not sharded). The
    /// checkers that read node logs judge each group on its own (its own terms).
    pub fn replica_groups(&self, size: usize) -> Option<Vec<Vec<String>>> {
        let k = self.shards?;
        Some(
            (0..k)
                .map(|g| (g * size + 1..=(g + 1) * size).map(|i| format!("n{i}")).collect())
                .collect(),
        )
    }

    /// Node names for groups of `size`: the groups' nodes, then the router.
    pub fn node_names(&self, size: usize) -> Vec<String> {
        let k = self.shards.unwrap_or(1);
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
        Ok(())
    }
}
