//! Which states count as the same: the reductions that make the quorum
//! search with election timeouts finish, each exact (a merged or dropped
//! state has the same future as one kept).
//!
//! - Symmetry: nodes are interchangeable (the core uses ids only to address
//!   and count), so a state is keyed by the smallest hash over every renaming
//!   of its nodes; states that differ by a renaming are explored once.
//!   Off for semi-sync replication, whose choice of synchronous follower
//!   breaks ties by id.
//! - Time: cores and the world clock are hashed through
//!   [`crate::store::core::View`]: a time counts only as "set at the current
//!   clock or before the last jump", the core's own `now` not at all.
//! - Dead messages: a reply its receiver will ignore whenever it arrives is
//!   dropped at once ([`drop_dead`]): delivering it later changes nothing.
//! - History: leader announcements and acknowledged writes are sets, and the
//!   clients' ops count only through their linearizability frontier ([`super::lin`]).
//!
//! A crashed node is keyed by what it would recover from its disk.

use super::world::World;
use crate::store::core::{Core, Message, Recovered, Role, View};
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

impl Hash for World {
    fn hash<H: Hasher>(&self, h: &mut H) {
        let n = self.n();
        let key = if self.symmetric {
            permutations(n).iter().map(|p| keyed(self, p)).min()
        } else {
            None
        };
        key.unwrap_or_else(|| keyed(self, &(0..n as u8).collect::<Vec<_>>()))
            .hash(h);
    }
}

/// Every ordering of `0..n`: `p[i]` is the new number of node `i`.
pub fn permutations(n: usize) -> Vec<Vec<u8>> {
    if n == 0 {
        return vec![Vec::new()];
    }
    let mut out = Vec::new();
    for p in permutations(n - 1) {
        for at in 0..n {
            let mut q = p.clone();
            q.insert(at, (n - 1) as u8);
            out.push(q);
        }
    }
    out
}

/// The node number in an id (`n1` is 0).
fn index_of(id: &str) -> Option<usize> {
    id.strip_prefix('n')?.parse::<usize>().ok()?.checked_sub(1)
}

/// The hash of `w` with node `i` renamed `p[i]` (nodes, links and every
/// mention of a node taken in the new order).
fn keyed(w: &World, p: &[u8]) -> u64 {
    let n = w.n();
    let mut old = vec![0usize; n];
    for (i, &to) in p.iter().enumerate() {
        old[to as usize] = i;
    }
    let rank = |id: &str| index_of(id).and_then(|i| p.get(i).copied()).unwrap_or(u8::MAX);
    let view = View {
        now: w.clock,
        rank: &rank,
    };
    let mut h = DefaultHasher::new();
    for &i in &old {
        let node = &w.nodes[i];
        match &node.core {
            Some(core) => {
                0u8.hash(&mut h);
                core.hash_view(&mut h, &view);
            }
            None => {
                let r = Recovered::from_stored(node.disk.clone());
                let vote = r.vote.as_deref().map(rank);
                (1u8, r.term, vote, &r.snapshot, &r.entries).hash(&mut h);
            }
        }
    }
    for &a in &old {
        for &b in &old {
            w.links[a * n + b].hash(&mut h);
        }
    }
    for c in &w.clients {
        (c.next_op, c.pending.map(|(req, i)| (req, p[i as usize]))).hash(&mut h);
    }
    let mut leaders: Vec<(u64, u8)> = w.leaders.iter().map(|&(t, i)| (t, p[i as usize])).collect();
    leaders.sort_unstable();
    let cut = w.cut.map(|i| p[i as usize]);
    (leaders, &w.acks, w.lost, &w.lin, cut, w.budget).hash(&mut h);
    h.finish()
}

/// True if `to` ignores `msg` now and whenever it arrives later: a reply of
/// an older term (terms never go back, not even across a restart, which
/// recovers the synced hard state), a vote reply that refuses, or one that
/// grants a term the receiver no longer campaigns in (a node campaigns in a
/// term only once). An append reply of the current term may still count
/// (its receiver may become leader of that term), so it stays.
pub fn is_dead(msg: &Message, to: &Core) -> bool {
    match msg {
        Message::VoteReply { term, granted } => {
            *term < to.term() || (*term == to.term() && (!granted || to.role() != Role::Candidate))
        }
        Message::AppendReply { term, .. } => *term < to.term(),
        _ => false,
    }
}

/// Drops every dead message in flight (see [`is_dead`]); FIFO order of the
/// rest is kept.
pub fn drop_dead(w: &mut World) {
    let n = w.n();
    for to in 0..n {
        let Some(core) = w.nodes[to].core.as_ref() else {
            continue;
        };
        for from in 0..n {
            w.links[from * n + to].retain(|m| !is_dead(m, core));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modelcheck::world::fingerprint;
    use crate::modelcheck::{Model, Settings};
    use crate::store::core::Replication;
    use stateright::Model as _;

    #[test]
    fn permutations_are_all_orderings() {
        let mut p = permutations(3);
        assert_eq!(p.len(), 6);
        p.sort();
        p.dedup();
        assert_eq!(p.len(), 6);
        assert_eq!(permutations(5).len(), 120);
    }

    /// The oracle for `is_dead` is the core itself: on pseudo-random walks
    /// that keep every message, delivering a message called dead (wherever it
    /// sits in its link) leaves a state that hashes as the one without it.
    #[test]
    fn delivering_a_dead_message_changes_nothing() {
        let mut s = Settings::new(Replication::Quorum);
        (s.timeouts, s.crashes, s.partitions, s.faults) = (3, 1, 1, 5);
        let model = Model::new(s);
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let (mut checked, mut actions) = (0, Vec::new());
        for _ in 0..200 {
            let mut w = model.init_states().remove(0);
            for _ in 0..80 {
                checked += check_dead(&w);
                model.actions(&w, &mut actions);
                if actions.is_empty() {
                    break;
                }
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let step = actions[(seed % actions.len() as u64) as usize];
                actions.clear();
                model.apply(&mut w, step, &mut None);
            }
        }
        assert!(checked > 50, "only {checked} dead messages seen");
    }

    fn check_dead(w: &World) -> usize {
        let n = w.n();
        let mut checked = 0;
        for (l, q) in w.links.iter().enumerate() {
            let (from, to) = ((l / n) as u8, (l % n) as u8);
            for (k, msg) in q.iter().enumerate() {
                if !w.up(to).is_some_and(|c| is_dead(msg, c)) {
                    continue;
                }
                let mut dropped = w.clone();
                dropped.links[l].remove(k);
                let mut delivered = w.clone();
                let m = delivered.links[l].remove(k);
                delivered.links[l].insert(0, m);
                delivered.deliver(from, to, &mut None);
                assert!(
                    fingerprint(&dropped) == fingerprint(&delivered),
                    "{msg:?} to n{} changed the state:\n{w:?}",
                    to + 1
                );
                checked += 1;
            }
        }
        checked
    }
}
