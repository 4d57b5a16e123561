//! Fault targets as data: which nodes a fault hits, Jepsen's node specs.
//! A schedule draws an [`Aim`] for every fault (from the seed), and the nodes
//! it names are drawn with it, except the leader, which only the live cluster
//! knows (resolved when the step runs).

use rand::seq::SliceRandom;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// `one`, `leader`, `minority`, `majority`, `all`, and `dc` (every node of
/// one datacenter: only a cluster with datacenters, the multi-leader store).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Aim {
    One,
    /// Whoever leads when the step runs (the system is asked).
    Leader,
    /// A random ⌊(n-1)/2⌋ nodes (at least one).
    Minority,
    /// A random ⌊n/2⌋+1 nodes.
    Majority,
    All,
    /// Every node of one random datacenter (a partition: that datacenter, or
    /// every datacenter, cut from the others).
    Dc,
}

pub const AIM_NAMES: &[&str] = &["one", "leader", "minority", "majority", "all", "dc"];
/// The targets of any cluster (what the schedule deals without datacenters).
pub const AIMS: [Aim; 5] = [Aim::One, Aim::Leader, Aim::Minority, Aim::Majority, Aim::All];

impl Aim {
    pub fn name(self) -> &'static str {
        AIM_NAMES[self as usize]
    }

    pub fn parse(s: &str) -> Option<Aim> {
        AIM_NAMES
            .iter()
            .position(|n| *n == s)
            .map(|i| AIMS.get(i).copied().unwrap_or(Aim::Dc))
    }

    /// How many nodes of `n` this aim hits (the leader: one; a datacenter:
    /// one clock offset for all of it, so one).
    pub fn size(self, n: usize) -> usize {
        match self {
            Aim::One | Aim::Leader | Aim::Dc => 1.min(n),
            Aim::Minority => ((n.saturating_sub(1)) / 2).max(1).min(n),
            Aim::Majority => (n / 2 + 1).min(n),
            Aim::All => n,
        }
    }

    /// The victims this aim names among `n` nodes, drawn from `rng`; `dcs`
    /// are the datacenters (node indices) `dc` picks one of (empty: each node
    /// is one).
    pub fn draw_in<R: Rng>(self, rng: &mut R, n: usize, dcs: &[Vec<usize>]) -> Victims {
        if self != Aim::Dc {
            return self.draw(rng, n);
        }
        if dcs.is_empty() {
            return Victims::Nodes(vec![rng.gen_range(0..n.max(1))]);
        }
        Victims::Nodes(dcs[rng.gen_range(0..dcs.len())].clone())
    }

    /// The victims this aim names among `n` nodes, drawn from `rng`.
    pub fn draw<R: Rng>(self, rng: &mut R, n: usize) -> Victims {
        if self == Aim::Leader {
            return Victims::Leader;
        }
        if self == Aim::Dc {
            return self.draw_in(rng, n, &[]);
        }
        let mut idx: Vec<usize> = (0..n).collect();
        idx.shuffle(rng);
        idx.truncate(self.size(n));
        idx.sort();
        Victims::Nodes(idx)
    }
}

/// Which nodes a process or clock fault hits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Victims {
    /// These node indices (into the sorted node list).
    Nodes(Vec<usize>),
    /// Whoever leads when the step runs (falls back to the first node up).
    Leader,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn aims_name_their_sizes() {
        for (i, a) in AIMS.iter().enumerate() {
            assert_eq!(Aim::parse(AIM_NAMES[i]), Some(*a));
        }
        assert_eq!(Aim::parse("most"), None);
        let sizes = |n| AIMS.map(|a| a.size(n));
        assert_eq!(sizes(5), [1, 1, 2, 3, 5]);
        assert_eq!(sizes(3), [1, 1, 1, 2, 3]);
        assert_eq!(sizes(1), [1, 1, 1, 1, 1]);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let Victims::Nodes(v) = Aim::Majority.draw(&mut rng, 7) else {
            panic!()
        };
        assert!(
            v.len() == 4 && v.windows(2).all(|w| w[0] < w[1]) && v[3] < 7,
            "{v:?}"
        );
        assert_eq!(Aim::Leader.draw(&mut rng, 7), Victims::Leader);
        assert_eq!(Aim::parse("dc"), Some(Aim::Dc));
        assert_eq!(Aim::Dc.name(), "dc");
        let dcs = vec![vec![0, 1], vec![2, 3], vec![4]];
        let mut hit = std::collections::BTreeSet::new();
        for _ in 0..50 {
            let Victims::Nodes(v) = Aim::Dc.draw_in(&mut rng, 5, &dcs) else {
                panic!()
            };
            assert!(dcs.contains(&v), "{v:?}");
            hit.insert(v);
        }
        assert_eq!(hit.len(), 3, "every datacenter comes up");
    }
}
