//! Anti-entropy: every interval a node compares, with its next peer in turn,
//! the Merkle trees of the ranges both replicate. The exchange descends only
//! into subtrees whose hashes differ, one level per message (each message
//! answers the previous one), then swaps the keys of differing leaves, then
//! the states of differing keys both ways. Repaired keys are logged as
//! `ae-repair` events with their size.
//!
//! Invariant: the exchange is stateless on both sides (each message carries
//! what the next step needs), so a lost message only ends that round early.

use super::merkle::{differing_keys, differing_slots, FANOUT};
use super::ring::Ring;
use super::types::{AeGroup, AeLeaf, Config, Msg, NodeId};
use super::Core;
use crate::store::conflict::KeyState;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Debug)]
pub(super) struct Entropy {
    next_round: u64,
    cursor: usize,
    /// Peer -> the ranges we both replicate.
    shared: BTreeMap<NodeId, BTreeSet<u32>>,
}

impl Entropy {
    pub fn new(cfg: &Config, ring: &Ring, now: u64) -> Entropy {
        let shared: BTreeMap<NodeId, BTreeSet<u32>> = cfg
            .nodes
            .iter()
            .filter(|p| **p != cfg.id)
            .map(|p| {
                let arcs = ring.shared_arcs(&cfg.id, p, cfg.n).into_iter().map(|a| a as u32);
                (p.clone(), arcs.collect::<BTreeSet<u32>>())
            })
            .filter(|(_, arcs)| !arcs.is_empty())
            .collect();
        // Stagger the first rounds so that nodes do not all start together.
        let me = cfg.nodes.iter().position(|n| *n == cfg.id).unwrap_or(0) as u64;
        let interval = cfg.anti_entropy_ms * 1_000_000;
        let first = now + interval + interval * me / cfg.nodes.len().max(1) as u64;
        Entropy {
            next_round: first,
            cursor: 0,
            shared,
        }
    }

    fn shares(&self, peer: &str, arc: u32) -> bool {
        self.shared.get(peer).is_some_and(|s| s.contains(&arc))
    }
}

impl Core {
    pub(super) fn tick_entropy(&mut self, now: u64) {
        if self.cfg.anti_entropy_ms == 0 || now < self.ae.next_round {
            return;
        }
        self.ae.next_round = now + self.cfg.anti_entropy_ms * 1_000_000;
        let peers: Vec<NodeId> = self.ae.shared.keys().cloned().collect();
        // The next peer in turn that we believe up.
        for k in 0..peers.len() {
            let p = &peers[(self.ae.cursor + k) % peers.len()];
            if self.health.is_up(p) {
                self.ae.cursor = (self.ae.cursor + k + 1) % peers.len();
                let p = p.clone();
                self.start_exchange(&p);
                return;
            }
        }
    }

    /// Opens an exchange with `peer`: our roots of every range we share.
    pub fn start_exchange(&mut self, peer: &str) {
        let session = self.fresh_id();
        let arcs: Vec<u32> = self
            .ae
            .shared
            .get(peer)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default();
        let groups: Vec<AeGroup> = arcs
            .into_iter()
            .map(|arc| {
                let root = self.store.tree(arc).map(|t| t.root()).unwrap_or(0);
                (arc, 0, if root == 0 { vec![] } else { vec![(0, root)] })
            })
            .collect();
        if !groups.is_empty() {
            self.send(
                peer,
                Msg::AeLevel {
                    session,
                    level: 0,
                    groups,
                },
            );
        }
    }

    /// Compares the peer's hashes at `level` with ours; answers with our
    /// children of the nodes that differ, or our keys if they are leaves.
    pub(super) fn on_ae_level(&mut self, from: &str, session: u64, level: u32, groups: Vec<AeGroup>) {
        let depth = self.cfg.merkle_depth;
        let (mut next, mut leaves): (Vec<AeGroup>, Vec<AeLeaf>) = (Vec::new(), Vec::new());
        for (arc, parent, theirs) in groups {
            if !self.ae.shares(from, arc) {
                continue;
            }
            let Some(tree) = self.store.tree(arc) else {
                continue;
            };
            let mine = if level == 0 {
                let r = tree.root();
                if r == 0 {
                    vec![]
                } else {
                    vec![(0, r)]
                }
            } else {
                tree.children(level - 1, parent)
            };
            for slot in differing_slots(&mine, &theirs) {
                let idx = if level == 0 {
                    0
                } else {
                    parent * FANOUT + slot as u32
                };
                if level < depth {
                    next.push((arc, idx, tree.children(level, idx)));
                } else {
                    leaves.push((arc, idx, tree.leaf_keys(idx)));
                }
            }
        }
        if !next.is_empty() {
            let msg = Msg::AeLevel {
                session,
                level: level + 1,
                groups: next,
            };
            self.send(from, msg);
        }
        if !leaves.is_empty() {
            self.send(from, Msg::AeLeaves { session, leaves });
        }
    }

    /// Compares leaf contents: sends our states of the keys that differ and
    /// asks for theirs.
    pub(super) fn on_ae_leaves(&mut self, from: &str, session: u64, leaves: Vec<AeLeaf>) {
        let (mut states, mut want) = (Vec::new(), Vec::new());
        for (arc, leaf, theirs) in leaves {
            if !self.ae.shares(from, arc) {
                continue;
            }
            let Some(tree) = self.store.tree(arc) else {
                continue;
            };
            let mine = tree.leaf_keys(leaf);
            let their_keys: BTreeSet<&str> = theirs.iter().map(|(k, _)| k.as_str()).collect();
            for k in differing_keys(&mine, &theirs) {
                if let Some(s) = self.store.get(&k) {
                    states.push((k.clone(), s.clone()));
                }
                if their_keys.contains(k.as_str()) {
                    want.push(k);
                }
            }
        }
        if !states.is_empty() || !want.is_empty() {
            self.send(
                from,
                Msg::AeStates {
                    session,
                    states,
                    want,
                },
            );
        }
    }

    /// Joins the peer's states; sends back ours (after the join) for `want`.
    pub(super) fn on_ae_states(
        &mut self,
        from: &str,
        session: u64,
        states: Vec<(String, KeyState)>,
        want: Vec<String>,
    ) {
        for (k, s) in states {
            if self.absorb(&k, &s, None).is_some() {
                let bytes = s.wire_bytes();
                self.event("ae-repair", Some(&k), json!({"from": from, "bytes": bytes}));
            }
        }
        let back: Vec<(String, KeyState)> = want
            .into_iter()
            .filter_map(|k| self.store.get(&k).cloned().map(|s| (k, s)))
            .collect();
        if !back.is_empty() {
            let msg = Msg::AeStates {
                session,
                states: back,
                want: vec![],
            };
            self.send(from, msg);
        }
    }
}
