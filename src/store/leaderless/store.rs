//! One node's local data: every key state it holds (as a home replica, as a
//! fallback for a hint, or as a coordinator), a Merkle tree per ring range
//! it replicates, and the hints it still has to hand off.
//!
//! Invariants: a held state only ever grows by joins; each tree holds exactly
//! the `(key, digest)` of the held keys of its range; a fallback keeps its
//! copy after handing it off (the dots it minted stay known, so it never
//! mints one twice).

use super::merkle::MerkleTree;
use super::ring::Ring;
use super::types::NodeId;
use crate::store::conflict::{KeyState, Lattice};
use std::collections::BTreeMap;

#[derive(Clone, Debug)]
struct Held {
    state: KeyState,
    digest: u64,
}

#[derive(Clone, Debug)]
pub struct Store {
    ring: Ring,
    data: BTreeMap<String, Held>,
    /// Range (arc) -> tree, for the arcs this node is one of the N replicas of.
    trees: BTreeMap<u32, MerkleTree>,
    /// (home, key) -> the core time of the next handoff attempt.
    hints: BTreeMap<(NodeId, String), u64>,
}

impl Store {
    pub fn new(ring: Ring, me: &str, n: usize, depth: u32) -> Store {
        let trees = (0..ring.arcs())
            .filter(|&a| ring.replicates(a, me, n))
            .map(|a| (a as u32, MerkleTree::new(depth)))
            .collect();
        Store {
            ring,
            data: BTreeMap::new(),
            trees,
            hints: BTreeMap::new(),
        }
    }

    pub fn ring(&self) -> &Ring {
        &self.ring
    }

    pub fn get(&self, key: &str) -> Option<&KeyState> {
        self.data.get(key).map(|h| &h.state)
    }

    pub fn digest(&self, key: &str) -> Option<u64> {
        self.data.get(key).map(|h| h.digest)
    }

    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Joins `state` into `key`; true if the held state changed.
    pub fn join(&mut self, key: &str, state: &KeyState) -> bool {
        let changed = match self.data.get_mut(key) {
            Some(h) => {
                h.state.join(state);
                let d = h.state.digest();
                let changed = d != h.digest;
                h.digest = d;
                changed
            }
            None => {
                let digest = state.digest();
                self.data.insert(
                    key.to_string(),
                    Held {
                        state: state.clone(),
                        digest,
                    },
                );
                true
            }
        };
        if changed {
            let arc = self.ring.arc_of(key) as u32;
            if let (Some(t), Some(h)) = (self.trees.get_mut(&arc), self.data.get(key)) {
                t.set(key, h.digest);
            }
        }
        changed
    }

    /// Registers a hint (due at once); true if it is new.
    pub fn add_hint(&mut self, home: &str, key: &str, now: u64) -> bool {
        self.hints
            .insert((home.to_string(), key.to_string()), now)
            .is_none()
    }

    pub fn clear_hint(&mut self, home: &str, key: &str) -> bool {
        self.hints.remove(&(home.to_string(), key.to_string())).is_some()
    }

    pub fn has_hint(&self, home: &str, key: &str) -> bool {
        self.hints.contains_key(&(home.to_string(), key.to_string()))
    }

    /// Hints due at `now` for homes `ready` accepts, at most `max`; each is
    /// rescheduled `interval` later.
    pub fn due_hints(
        &mut self,
        now: u64,
        interval: u64,
        max: usize,
        ready: impl Fn(&str) -> bool,
    ) -> Vec<(NodeId, String)> {
        let mut out = Vec::new();
        for ((home, key), next) in self.hints.iter_mut() {
            if out.len() >= max {
                break;
            }
            if now >= *next && ready(home) {
                *next = now.saturating_add(interval);
                out.push((home.clone(), key.clone()));
            }
        }
        out
    }

    /// Pending hints per home node.
    pub fn hints_pending(&self) -> BTreeMap<NodeId, usize> {
        let mut out = BTreeMap::new();
        for (home, _) in self.hints.keys() {
            *out.entry(home.clone()).or_insert(0) += 1;
        }
        out
    }

    pub fn tree(&mut self, arc: u32) -> Option<&mut MerkleTree> {
        self.trees.get_mut(&arc)
    }

    /// Every replicated range's root.
    pub fn roots(&mut self) -> BTreeMap<u32, u64> {
        self.trees.iter_mut().map(|(a, t)| (*a, t.root())).collect()
    }

    /// Every held key and state (for tests and the convergence reads).
    pub fn iter(&self) -> impl Iterator<Item = (&String, &KeyState)> {
        self.data.iter().map(|(k, h)| (k, &h.state))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::conflict::LwwRegister;
    use serde_json::json;

    #[test]
    fn joins_update_the_range_tree_only_for_replicated_keys() {
        let nodes: Vec<NodeId> = (1..=4).map(|i| format!("n{i}")).collect();
        let ring = Ring::new(&nodes, 8);
        let mut s = Store::new(ring.clone(), "n1", 2, 2);
        let mine = (0..200)
            .map(|i| format!("k{i}"))
            .find(|k| ring.replicates(ring.arc_of(k), "n1", 2))
            .unwrap();
        let other = (0..200)
            .map(|i| format!("k{i}"))
            .find(|k| !ring.replicates(ring.arc_of(k), "n1", 2))
            .unwrap();
        let st = KeyState::Lww(LwwRegister::new(1, "n2", json!(1)));
        assert!(s.join(&mine, &st));
        assert!(
            !s.join(&mine, &st),
            "joining the same state again changes nothing"
        );
        assert!(s.join(&other, &st), "held, e.g. as a hint");
        let arc = ring.arc_of(&mine) as u32;
        let t = s.tree(arc).unwrap();
        assert_eq!(t.leaf_keys(t.leaf_of(&mine)).len(), 1);
        assert!(s.tree(ring.arc_of(&other) as u32).is_none());
        let newer = KeyState::Lww(LwwRegister::new(2, "n2", json!(2)));
        let before = s.roots()[&arc];
        assert!(s.join(&mine, &newer));
        assert_ne!(s.roots()[&arc], before);
    }

    #[test]
    fn hints_are_due_at_once_then_at_the_interval() {
        let ring = Ring::new(&["n1".to_string(), "n2".to_string()], 4);
        let mut s = Store::new(ring, "n1", 1, 1);
        assert!(s.add_hint("n2", "k", 100));
        assert!(!s.add_hint("n2", "k", 100));
        assert_eq!(s.due_hints(100, 50, 10, |_| false), vec![]);
        assert_eq!(s.due_hints(100, 50, 10, |_| true).len(), 1);
        assert!(s.due_hints(120, 50, 10, |_| true).is_empty());
        assert_eq!(s.due_hints(150, 50, 10, |_| true).len(), 1);
        assert_eq!(s.hints_pending()["n2"], 1);
        assert!(s.clear_hint("n2", "k") && !s.has_hint("n2", "k"));
    }
}
