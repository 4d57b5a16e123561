//! Placement: a consistent-hash ring with virtual nodes.
//!
//! Each node owns `vnodes` tokens at hashed positions; the ranges between
//! consecutive tokens are the ring's *arcs*. A key hashes to a point, lands
//! in the arc ending at the next token, and its preference list is the first
//! N distinct nodes met walking clockwise from there. Every node computes the
//! same ring from the same configuration: no randomness, no coordination.
//! Invariant: every key of an arc has the same walk, so arcs are the key
//! ranges anti-entropy compares.

use super::types::NodeId;
use crate::util::hash::hash_of;
use std::collections::BTreeMap;

#[derive(Clone, Debug)]
pub struct Ring {
    nodes: Vec<NodeId>,
    /// (position, node index), sorted by position.
    tokens: Vec<(u64, u16)>,
    /// Per arc (index of its end token): every node, in walk order.
    walks: Vec<Vec<u16>>,
}

/// A key's position on the ring.
pub fn key_hash(key: &str) -> u64 {
    hash_of(key.as_bytes())
}

impl Ring {
    /// Assumes at least one node and `vnodes >= 1` (checked by `Config::validate`).
    pub fn new(nodes: &[NodeId], vnodes: usize) -> Ring {
        let mut tokens: Vec<(u64, u16)> = nodes
            .iter()
            .enumerate()
            .flat_map(|(i, n)| (0..vnodes as u64).map(move |v| (hash_of(&(n.as_str(), v)), i as u16)))
            .collect();
        tokens.sort_unstable();
        let walks = (0..tokens.len())
            .map(|start| {
                let mut walk: Vec<u16> = Vec::with_capacity(nodes.len());
                for k in 0..tokens.len() {
                    let node = tokens[(start + k) % tokens.len()].1;
                    if !walk.contains(&node) {
                        walk.push(node);
                        if walk.len() == nodes.len() {
                            break;
                        }
                    }
                }
                walk
            })
            .collect();
        Ring {
            nodes: nodes.to_vec(),
            tokens,
            walks,
        }
    }

    pub fn arcs(&self) -> usize {
        self.tokens.len()
    }

    /// The arc a key hash falls in: the first token at or after it (wrapping).
    pub fn arc_of_hash(&self, h: u64) -> usize {
        let i = self.tokens.partition_point(|(t, _)| *t < h);
        if i == self.tokens.len() {
            0
        } else {
            i
        }
    }

    pub fn arc_of(&self, key: &str) -> usize {
        self.arc_of_hash(key_hash(key))
    }

    /// Every node in walk order from the arc: the first N are its replicas,
    /// the rest its fallbacks, nearest first.
    pub fn walk(&self, arc: usize) -> impl Iterator<Item = &NodeId> + '_ {
        self.walks[arc].iter().map(|&i| &self.nodes[i as usize])
    }

    /// The first `n` distinct nodes for `key`.
    pub fn preference_list(&self, key: &str, n: usize) -> Vec<NodeId> {
        self.walk(self.arc_of(key)).take(n).cloned().collect()
    }

    /// True when `node` is among the first `n` of the arc's walk.
    pub fn replicates(&self, arc: usize, node: &str, n: usize) -> bool {
        self.walk(arc).take(n).any(|x| x == node)
    }

    /// The arcs `a` and `b` both replicate (what they compare in anti-entropy).
    pub fn shared_arcs(&self, a: &str, b: &str, n: usize) -> Vec<usize> {
        (0..self.arcs())
            .filter(|&arc| self.replicates(arc, a, n) && self.replicates(arc, b, n))
            .collect()
    }

    /// The share of the hash space an arc covers.
    fn arc_share(&self, arc: usize) -> f64 {
        let end = self.tokens[arc].0;
        let start = if arc == 0 {
            self.tokens[self.tokens.len() - 1].0
        } else {
            self.tokens[arc - 1].0
        };
        let width = end.wrapping_sub(start);
        if self.tokens.len() == 1 {
            1.0
        } else {
            width as f64 / 2f64.powi(64)
        }
    }

    /// Per node, the share of the key space it is first in the walk for.
    pub fn ownership(&self) -> BTreeMap<NodeId, f64> {
        let mut out: BTreeMap<NodeId, f64> = self.nodes.iter().map(|n| (n.clone(), 0.0)).collect();
        for arc in 0..self.arcs() {
            if let Some(first) = self.walk(arc).next() {
                *out.entry(first.clone()).or_default() += self.arc_share(arc);
            }
        }
        out
    }

    /// The share of the key space `node` is one of the `n` replicas of.
    pub fn replicated_share(&self, node: &str, n: usize) -> f64 {
        (0..self.arcs())
            .filter(|&a| self.replicates(a, node, n))
            .map(|a| self.arc_share(a))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn ids(n: usize) -> Vec<NodeId> {
        (1..=n).map(|i| format!("n{i}")).collect()
    }

    #[test]
    fn preference_lists_are_n_distinct_nodes_and_deterministic() {
        let ring = Ring::new(&ids(5), 64);
        let again = Ring::new(&ids(5), 64);
        for k in 0..500 {
            let key = format!("k{k}");
            let p = ring.preference_list(&key, 3);
            assert_eq!(p.len(), 3);
            assert_eq!(p.iter().collect::<BTreeSet<_>>().len(), 3, "{key}: {p:?}");
            assert_eq!(p, again.preference_list(&key, 3));
            // A longer list extends the shorter one (fallbacks come after).
            assert_eq!(&ring.preference_list(&key, 5)[..3], &p[..]);
        }
        assert_eq!(
            ring.preference_list("k", 9).len(),
            5,
            "never more nodes than exist"
        );
    }

    #[test]
    fn the_arc_owner_is_the_next_token_clockwise() {
        let ring = Ring::new(&ids(3), 4);
        // Brute force: the token with the smallest position >= h, else the smallest.
        for k in 0..300 {
            let key = format!("key-{k}");
            let h = key_hash(&key);
            let next = ring
                .tokens
                .iter()
                .filter(|(t, _)| *t >= h)
                .min()
                .or_else(|| ring.tokens.iter().min())
                .unwrap();
            let owner = &ring.nodes[next.1 as usize];
            assert_eq!(&ring.preference_list(&key, 1)[0], owner);
        }
    }

    #[test]
    fn ownership_is_spread_and_sums_to_one() {
        let ring = Ring::new(&ids(5), 64);
        let own = ring.ownership();
        let total: f64 = own.values().sum();
        assert!((total - 1.0).abs() < 1e-9, "{total}");
        for (n, s) in &own {
            assert!(*s > 0.1 && *s < 0.3, "{n} owns {s}");
        }
        // Each node replicates about N/nodes of the space.
        let share = ring.replicated_share("n1", 3);
        assert!(share > 0.45 && share < 0.75, "{share}");
        let total_rep: f64 = ids(5).iter().map(|n| ring.replicated_share(n, 3)).sum();
        assert!((total_rep - 3.0).abs() < 1e-9);
    }

    #[test]
    fn keys_spread_over_the_nodes_and_adding_a_node_moves_few() {
        let small = Ring::new(&ids(4), 64);
        let big = Ring::new(&ids(5), 64);
        let keys: Vec<String> = (0..4000).map(|i| format!("k{i}")).collect();
        let moved = keys
            .iter()
            .filter(|k| small.preference_list(k, 1) != big.preference_list(k, 1))
            .count();
        // Consistent hashing: about 1/5 of the keys move to the new node.
        assert!(moved > 400 && moved < 1300, "{moved} of 4000 moved");
        let to_new = keys
            .iter()
            .filter(|k| big.preference_list(k, 1)[0] == "n5")
            .count();
        assert_eq!(moved, to_new, "keys only move to the new node");
    }

    #[test]
    fn shared_arcs_are_exactly_those_both_replicate() {
        let ring = Ring::new(&ids(4), 8);
        let shared = ring.shared_arcs("n1", "n2", 2);
        for arc in 0..ring.arcs() {
            let walk: Vec<&NodeId> = ring.walk(arc).take(2).collect();
            let both = walk.iter().any(|x| *x == "n1") && walk.iter().any(|x| *x == "n2");
            assert_eq!(shared.contains(&arc), both);
        }
    }
}
