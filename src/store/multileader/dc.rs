//! Datacenters: how the node list splits into groups, who leads each, which
//! datacenter is a key's home (`--conflict avoid`), and where a leader ships
//! a change next under each `--dc-topology`.
//!
//! Loop prevention: a change carries the datacenters that applied it (its
//! `path`, origin first); a leader never ships a change to a datacenter on
//! its path, so every change reaches every datacenter at most once per
//! route, and a route has at most D hops.

use crate::util::hash::hash_of;
use serde::{Deserialize, Serialize};

/// How datacenter leaders replicate to each other.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum DcTopology {
    /// Every leader ships its own writes straight to every other leader.
    #[default]
    AllToAll,
    /// Each leader ships everything it applied to the next datacenter in a
    /// ring; one failed leader stalls the ring behind it.
    Circular,
    /// The first datacenter is the hub: leaves ship their own writes to it,
    /// it forwards everything to every leaf.
    Star,
}

/// The split of the cluster's nodes into datacenters: contiguous groups of
/// the node list, sizes differing by at most one. Invariant: `1 <= D <= nodes`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    groups: Vec<Vec<String>>,
}

impl Layout {
    /// `nodes` split into `d` groups (`d` is clamped to `1..=nodes.len()`).
    pub fn new(nodes: &[String], d: usize) -> Layout {
        let n = nodes.len();
        let d = d.clamp(1, n.max(1));
        let groups = (0..d)
            .map(|i| nodes[i * n / d..(i + 1) * n / d].to_vec())
            .collect();
        Layout { groups }
    }

    pub fn count(&self) -> usize {
        self.groups.len()
    }

    /// The datacenter `node` is in.
    pub fn dc_of(&self, node: &str) -> Option<usize> {
        self.groups.iter().position(|g| g.iter().any(|x| x == node))
    }

    /// A datacenter's fixed leader: its first node.
    pub fn leader(&self, dc: usize) -> &str {
        &self.groups[dc][0]
    }

    /// The nodes of `dc` other than its leader.
    pub fn followers(&self, dc: usize) -> &[String] {
        &self.groups[dc][1..]
    }

    pub fn members(&self, dc: usize) -> &[String] {
        &self.groups[dc]
    }

    /// The key's home datacenter under `--conflict avoid` (by hash).
    pub fn home(&self, key: &str) -> usize {
        (hash_of(key.as_bytes()) % self.groups.len() as u64) as usize
    }
}

/// The datacenters the leader of `me` ships a change to, given the change's
/// origin and `path` (the datacenters that applied it). Never one on `path`.
pub fn next_hops(topo: DcTopology, d: usize, me: usize, origin: usize, path: &[usize]) -> Vec<usize> {
    let fresh = |x: &usize| *x != me && !path.contains(x);
    match topo {
        DcTopology::AllToAll if origin == me => (0..d).filter(fresh).collect(),
        DcTopology::AllToAll => Vec::new(),
        DcTopology::Circular => [(me + 1) % d].into_iter().filter(fresh).collect(),
        DcTopology::Star if me == 0 => (1..d).filter(fresh).collect(),
        DcTopology::Star if origin == me => [0].into_iter().filter(fresh).collect(),
        DcTopology::Star => Vec::new(),
    }
}

/// The datacenters whose leaders ship to `me` (and so may wait for acks).
pub fn sources(topo: DcTopology, d: usize, me: usize) -> Vec<usize> {
    match topo {
        DcTopology::AllToAll => (0..d).filter(|x| *x != me).collect(),
        DcTopology::Circular if d > 1 => vec![(me + d - 1) % d],
        DcTopology::Circular => Vec::new(),
        DcTopology::Star if me == 0 => (1..d).collect(),
        DcTopology::Star => vec![0],
    }
}

/// The replication lag from datacenter `from` to `to` with base `lag_ns`:
/// `lag * ((to - from) mod D)^2`. Links are not a metric (a two-hop route
/// can beat the direct one), as between real datacenters, so a later write
/// can overtake the one it depends on.
pub fn lag_ns(lag_ns: u64, d: usize, from: usize, to: usize) -> u64 {
    let hops = ((to + d - from) % d) as u64;
    lag_ns.saturating_mul(hops * hops)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn names(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("n{i}")).collect()
    }

    #[test]
    fn nodes_split_into_contiguous_groups_led_by_their_first_node() {
        let l = Layout::new(&names(5), 2);
        assert_eq!(l.members(0), ["n1", "n2"]);
        assert_eq!(l.members(1), ["n3", "n4", "n5"]);
        assert_eq!((l.leader(1), l.followers(1)), ("n3", &names(5)[3..]));
        assert_eq!(l.dc_of("n4"), Some(1));
        assert_eq!(Layout::new(&names(3), 3).followers(2), [] as [String; 0]);
        assert_eq!(Layout::new(&names(2), 9).count(), 2);
    }

    /// Floods one change from `origin` through the topology as the leaders
    /// would (each applies once, extends the path, ships on) and returns how
    /// many times each datacenter received it.
    fn flood(topo: DcTopology, d: usize, origin: usize, down: Option<usize>) -> Vec<usize> {
        let mut got = vec![0; d];
        got[origin] = 1;
        let mut queue = vec![(origin, vec![origin])];
        while let Some((at, path)) = queue.pop() {
            for to in next_hops(topo, d, at, origin, &path) {
                assert!(!path.contains(&to), "{topo:?} ships back to {to} along {path:?}");
                got[to] += 1;
                if Some(to) == down || got[to] > 1 {
                    continue;
                }
                let mut p = path.clone();
                p.push(to);
                queue.push((to, p));
            }
        }
        got
    }

    proptest! {
        /// Every topology delivers each change to every datacenter exactly
        /// once, from any origin: no loops, no gaps.
        #[test]
        fn every_topology_reaches_everyone_exactly_once(d in 1usize..8, o in 0usize..8, t in 0usize..3) {
            let topo = [DcTopology::AllToAll, DcTopology::Circular, DcTopology::Star][t];
            let origin = o % d;
            prop_assert_eq!(flood(topo, d, origin, None), vec![1; d]);
        }

        /// A shipper is always a source of the receiver (acks flow back).
        #[test]
        fn shippers_are_the_receivers_sources(d in 1usize..8, me in 0usize..8, o in 0usize..8, t in 0usize..3) {
            let topo = [DcTopology::AllToAll, DcTopology::Circular, DcTopology::Star][t];
            let (me, origin) = (me % d, o % d);
            for to in next_hops(topo, d, me, origin, &[origin, me]) {
                prop_assert!(sources(topo, d, to).contains(&me));
            }
        }
    }

    #[test]
    fn a_failed_datacenter_stalls_circular_and_star_but_not_all_to_all() {
        // DC 1 down: the ring 0 -> 1 -> 2 never reaches 2.
        assert_eq!(flood(DcTopology::Circular, 3, 0, Some(1)), vec![1, 1, 0]);
        // The hub down: no leaf hears another.
        assert_eq!(flood(DcTopology::Star, 3, 1, Some(0)), vec![1, 1, 0]);
        assert_eq!(flood(DcTopology::AllToAll, 3, 0, Some(1)), vec![1, 1, 1]);
    }

    #[test]
    fn two_hops_can_beat_the_direct_link() {
        let (l, d) = (10, 3);
        assert!(lag_ns(l, d, 0, 1) + lag_ns(l, d, 1, 2) < lag_ns(l, d, 0, 2));
        assert_eq!(lag_ns(l, d, 2, 2), 0);
    }
}
