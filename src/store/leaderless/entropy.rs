//! Anti-entropy: every interval a node compares, with its next peer in turn,
//! the Merkle trees of the ranges both replicate. The exchange descends only
//! into subtrees whose hashes differ, one level per message (each message
//! answers the previous one), then swaps the keys of differing leaves, then
//! the states of differing keys both ways. Repaired keys are logged as
//! `ae-repair` events with their size.
//!
//! Invariant: the exchange is stateless on both sides (each message carries
//! what the next step needs), so a lost message only ends that exchange early.
//! The opener then runs it again with the same peer after the replica
//! deadline, at most [`MAX_RETRIES`] times a round, until the peer answers
//! the roots with "in sync" (a level-1 message with no groups, which every
//! responder sends when no shared range differs). Without the retry a single
//! lost message left the pair apart until its next turn in the rotation,
//! several rounds later with more than three nodes: in the simulator (seed
//! 2716, five nodes, 4.6% loss) six exchanges in a row between a stale replica
//! and the two current ones each lost one message, and the replica kept an
//! older value for eight seconds after the heal.

use super::merkle::{differing_keys, differing_slots, FANOUT};
use super::ring::Ring;
use super::types::{AeGroup, AeLeaf, Config, Msg, NodeId};
use super::Core;
use crate::store::conflict::KeyState;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

/// Times an exchange is opened again with the same peer in one round.
pub const MAX_RETRIES: u32 = 3;

#[derive(Clone, Debug)]
pub(super) struct Entropy {
    next_round: u64,
    cursor: usize,
    /// Peer -> the ranges we both replicate.
    shared: BTreeMap<NodeId, BTreeSet<u32>>,
    /// The exchange this node opened last, until its peer confirms the
    /// ranges in sync (or it has been retried [`MAX_RETRIES`] times).
    open: Option<Open>,
}

/// An exchange not yet known to have completed.
#[derive(Clone, Debug)]
struct Open {
    peer: NodeId,
    session: u64,
    /// Core time at which it is opened again if still unconfirmed.
    retry_at: u64,
    retries: u32,
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
            open: None,
        }
    }

    /// `peer` found every range we share in sync: our exchange `session` is done.
    fn confirmed(&mut self, peer: &str, session: u64) {
        if self
            .open
            .as_ref()
            .is_some_and(|o| o.session == session && o.peer == peer)
        {
            self.open = None;
        }
    }

    fn shares(&self, peer: &str, arc: u32) -> bool {
        self.shared.get(peer).is_some_and(|s| s.contains(&arc))
    }
}

impl Core {
    pub(super) fn tick_entropy(&mut self, now: u64) {
        if self.cfg.anti_entropy_ms == 0 {
            return;
        }
        if now < self.ae.next_round {
            return self.retry_exchange(now);
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

    /// Opens the last exchange again if its peer has not confirmed it in
    /// sync by now (a message of it may have been lost).
    fn retry_exchange(&mut self, now: u64) {
        let Some(o) = self.ae.open.as_ref().filter(|o| now >= o.retry_at) else {
            return;
        };
        let (peer, retries) = (o.peer.clone(), o.retries);
        if retries >= MAX_RETRIES || !self.health.is_up(&peer) {
            self.ae.open = None;
            return;
        }
        self.start_exchange(&peer);
        if let Some(o) = self.ae.open.as_mut() {
            o.retries = retries + 1;
        }
    }

    /// Opens an exchange with `peer`: our roots of every range we share.
    pub fn start_exchange(&mut self, peer: &str) {
        self.ae.open = None;
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
            self.ae.open = Some(Open {
                peer: peer.to_string(),
                session,
                retry_at: self.now.mono_ns.saturating_add(self.cfg.replica_timeout_ns),
                retries: 0,
            });
        }
    }

    /// Compares the peer's hashes at `level` with ours; answers with our
    /// children of the nodes that differ, or our keys if they are leaves.
    pub(super) fn on_ae_level(&mut self, from: &str, session: u64, level: u32, groups: Vec<AeGroup>) {
        if level == 1 && groups.is_empty() {
            return self.ae.confirmed(from, session);
        }
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
        // At the roots, "in sync" is answered too (no groups), so that the
        // opener can tell a finished exchange from a lost message.
        if !next.is_empty() || (level == 0 && leaves.is_empty()) {
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

#[cfg(test)]
mod tests {
    use super::super::types::{Action, Input, Now, Record};
    use super::*;
    use crate::store::conflict::LwwRegister;

    fn core(id: &str, keys: &[(&str, i64)]) -> Core {
        let cfg = Config::new(id, &["n1", "n2"]);
        let records = keys.iter().map(|(k, v)| Record::Merge {
            key: k.to_string(),
            state: KeyState::Lww(LwwRegister::new(1, "n1", json!(v))),
            hint: None,
        });
        Core::new(cfg, records, Now::default(), 1)
    }

    fn at(ms: u64) -> Now {
        Now {
            mono_ns: ms * 1_000_000,
            wall_ns: 0,
        }
    }

    /// The anti-entropy messages among `acts`.
    fn ae(acts: Vec<Action>) -> Vec<Msg> {
        acts.into_iter()
            .filter_map(|a| match a {
                Action::Send { msg, .. } if matches!(msg, Msg::AeLevel { .. } | Msg::AeLeaves { .. }) => {
                    Some(msg)
                }
                _ => None,
            })
            .collect()
    }

    fn roots(msgs: &[Msg]) -> usize {
        msgs.iter()
            .filter(|m| matches!(m, Msg::AeLevel { level: 0, .. }))
            .count()
    }

    fn deliver(to: &mut Core, now: Now, from: &str, msgs: Vec<Msg>) -> Vec<Msg> {
        let mut out = Vec::new();
        for msg in msgs {
            let input = Input::Peer {
                from: from.to_string(),
                msg,
            };
            out.extend(ae(to.step(now, input)));
        }
        out
    }

    #[test]
    fn a_peer_in_sync_says_so_and_the_exchange_is_not_opened_again() {
        let (mut a, mut b) = (core("n1", &[("k", 1)]), core("n2", &[("k", 1)]));
        a.start_exchange("n2");
        let opened = ae(std::mem::take(&mut a.out));
        assert_eq!(roots(&opened), 1);
        let answer = deliver(&mut b, at(1), "n1", opened);
        assert!(
            matches!(answer.as_slice(), [Msg::AeLevel { level: 1, groups, .. }] if groups.is_empty()),
            "in sync is answered: {answer:?}"
        );
        assert!(deliver(&mut a, at(2), "n2", answer).is_empty());
        let retried = ae(a.step(at(500), Input::Tick));
        assert!(retried.is_empty(), "confirmed in sync: {retried:?}");
    }

    #[test]
    fn an_unanswered_exchange_is_opened_again_at_most_max_retries_times() {
        let mut a = core("n1", &[("k", 1)]);
        a.start_exchange("n2");
        assert_eq!(roots(&ae(std::mem::take(&mut a.out))), 1);
        // Every message is lost: one retry per replica deadline (150 ms), then none.
        let mut opened = 0;
        for ms in (5..=990).step_by(5) {
            opened += roots(&ae(a.step(at(ms), Input::Tick)));
        }
        assert_eq!(opened, MAX_RETRIES as usize);
        // A retry that is answered "in sync" ends the retries.
        let mut a = core("n1", &[("k", 1)]);
        let mut b = core("n2", &[("k", 1)]);
        a.start_exchange("n2");
        let _lost = std::mem::take(&mut a.out);
        let retry = ae(a.step(at(150), Input::Tick));
        assert_eq!(roots(&retry), 1);
        let answer = deliver(&mut b, at(151), "n1", retry);
        assert!(deliver(&mut a, at(152), "n2", answer).is_empty());
        for ms in (155..=990).step_by(5) {
            assert!(ae(a.step(at(ms), Input::Tick)).is_empty(), "at {ms} ms");
        }
    }
}
