//! Partial-order reduction: where the deliveries to one node commute with
//! everything the rest of the cluster can do before them, explore only those
//! deliveries (a persistent set) instead of every enabled step.
//!
//! The set, at a state `s`, is `T(t)` = the deliveries to node `t` (the
//! oldest message of each non-empty link `x -> t`), for a node `t` such that
//! ([`persistent`] takes the smallest such set):
//! 1. no fault can fire any more: the budget allows no `Timeout` (so no tick
//!    and no clock jump, ever again), no `Crash` and no `Isolate`; while a
//!    partition stands (`Heal` enabled), `t` must be a follower;
//! 2. either `t` does not lead and no client waits on it, or every client
//!    waits on `t` or is done;
//! 3. every other node with no message on its way to `t` is down or a
//!    follower whose link from `t` holds only replies.
//!
//! Why `T(t)` is persistent (every path from `s` made only of steps outside
//! `T(t)` is independent of `T(t)`): a step outside it is a delivery to
//! another node `u`, an invoke at a leader `u != t`, or `Heal`; no delivery
//! to `t` on a link empty now can join them (3: without ticks a follower
//! sends only replies to requests, and only `t` could send it one), nor an
//! invoke at `t` (2: `t` does not lead, and only a step at `t` makes it
//! lead; or no client is free, and only `t`'s replies free one). Each such
//! step changes `u`'s core, pops the head of a link into `u` and pushes at
//! the tail of links out of `u` (a push at the tail and a pop at the head of
//! a non-empty FIFO commute); a delivery to `t` does the same at `t`.
//! Clients and the linearizability frontier: by 2 either `t` answers no
//! client (no return to order against an invoke elsewhere), or nobody else
//! can answer or invoke. Leader and ack events are sets. `Heal` changes only
//! where sends land, and a follower sends only its one reply, to the sender,
//! which is on its side of the cut. Dead messages
//! ([`super::canon::is_dead`]) depend on their receiver only. So each step
//! of `T(t)` stays enabled and commutes with every such path.
//!
//! What that keeps: a persistent-set search reaches every terminal state (no
//! step enabled) of the full model (Godefroid's deadlock preservation; with
//! symmetry, up to a renaming, the model being symmetric). Every path ends
//! (no tick once the fault budget is spent; faults, invokes and the messages
//! each delivery may earn are bounded), and every property the search checks
//! is sticky: a linearizability frontier never refills, leader events only
//! accumulate, and a lost acknowledged write is remembered
//! ([`super::world::World::lost`]). So a violation reachable in the full
//! model holds at every terminal state after it, which the reduced search
//! reaches; a reachable ack likewise. Every path the reduced search takes is
//! a path of the full model, so it finds nothing the full model does not.
//! The tests check both against the full search: the same terminal states on
//! small budgets (and no cycle), and the definition on sampled paths.
//!
//! What changes: the counterexample is a real path but not always the
//! shortest, and `--depth` cuts a different (reordered) set of paths.

use super::world::World;
use crate::store::core::{Message, Role};

/// The deliveries `(from, to)` to explore from `w` when the reduction
/// applies (see the module doc), or `None` to explore every step; `ops`
/// is each client's number of ops.
pub fn persistent(enabled: bool, w: &World, ops: usize) -> Option<Vec<(u8, u8)>> {
    let b = w.budget;
    let faults_over = b.total == 0 || (b.timeouts == 0 && b.crashes == 0 && b.partitions == 0);
    if !enabled || !faults_over {
        return None;
    }
    let n = w.n();
    let mut best: Option<Vec<(u8, u8)>> = None;
    for t in 0..n {
        if !quiet_elsewhere(w, t as u8, ops) || !no_new_sender(w, t) {
            continue;
        }
        let set: Vec<(u8, u8)> = (0..n)
            .filter(|&x| !w.links[x * n + t].is_empty())
            .map(|x| (x as u8, t as u8))
            .collect();
        if !set.is_empty() && best.as_ref().is_none_or(|b| set.len() < b.len()) {
            best = Some(set);
        }
    }
    best
}

/// Condition 3 of the module doc: every node with no message on its way to
/// `t` is down, or a follower that owes `t` no answer.
fn no_new_sender(w: &World, t: usize) -> bool {
    let n = w.n();
    (0..n)
        .filter(|&y| y != t && w.links[y * n + t].is_empty())
        .all(|y| match w.up(y as u8) {
            None => true,
            Some(c) => c.role() == Role::Follower && w.links[t * n + y].iter().all(is_reply),
        })
}

fn is_reply(m: &Message) -> bool {
    matches!(m, Message::VoteReply { .. } | Message::AppendReply { .. })
}

/// Conditions 1 (its partition part) and 2 of the module doc for node `t`.
fn quiet_elsewhere(w: &World, t: u8, ops: usize) -> bool {
    let Some(core) = w.up(t) else { return false };
    let waits_on_t = |p: Option<(u64, u8)>| p.is_some_and(|(_, i)| i == t);
    let answers_nobody = !w.clients.iter().any(|c| waits_on_t(c.pending));
    if w.cut.is_some() {
        return core.role() == Role::Follower && answers_nobody;
    }
    let holds_every_client = w
        .clients
        .iter()
        .all(|c| waits_on_t(c.pending) || (c.pending.is_none() && c.next_op as usize >= ops));
    (core.role() != Role::Leader && answers_nobody) || holds_every_client
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modelcheck::model::{Model, Step};
    use crate::modelcheck::world::fingerprint;
    use crate::modelcheck::{check, Settings};
    use crate::store::core::{Reads, Replication};
    use stateright::Model as _;
    use std::collections::{BTreeSet, HashSet};

    fn settings(replication: Replication, faults: u8) -> Settings {
        let mut s = Settings::new(replication);
        s.faults = faults;
        s
    }

    /// One fault kind only, `clients` x `ops`.
    fn one_fault(replication: Replication, kind: usize, clients: usize, ops: usize) -> Settings {
        let mut s = settings(replication, 1);
        (s.clients, s.ops) = (clients, ops);
        (s.timeouts, s.crashes, s.partitions) = (0, 0, 0);
        match kind {
            0 => s.timeouts = 1,
            1 => s.crashes = 1,
            _ => s.partitions = 1,
        }
        s
    }

    /// The reduced and the full search agree: no violation in either, a write
    /// acknowledged in both, fewer states reduced; a known violation is still
    /// found with it on.
    #[test]
    fn reduction_keeps_verdicts() {
        for s in [
            settings(Replication::Quorum, 0),
            one_fault(Replication::Quorum, 0, 1, 2),
        ] {
            let reduced = check(s.clone()).unwrap();
            let full = check(Settings { por: false, ..s }).unwrap();
            assert!(reduced.violation.is_none() && full.violation.is_none());
            assert!(reduced.write_acknowledged && full.write_acknowledged);
            assert!(
                reduced.unique_states < full.unique_states,
                "{reduced:?} vs {full:?}"
            );
        }
        let mut stale = settings(Replication::Quorum, 1);
        (stale.reads, stale.crashes, stale.partitions) = (Reads::Leader, 0, 0);
        let v = check(stale).unwrap().violation.expect("stale read");
        assert_eq!(v.property, "linearizable", "{v:#?}");
        let v = check(settings(Replication::Async, 1)).unwrap().violation;
        assert!(v.is_some(), "async must lose a write with the reduction on");
    }

    /// Every state with no step left, by fingerprint, and how many states
    /// were seen; panics on a cycle (the module doc's "every path ends").
    fn terminals(model: &Model) -> (BTreeSet<u64>, usize) {
        let (mut done, mut on_path, mut ends) = (HashSet::new(), HashSet::new(), BTreeSet::new());
        for w in model.init_states() {
            visit(model, w, &mut done, &mut on_path, &mut ends);
        }
        (ends, done.len())
    }

    /// Depth-first, with the states on the current path kept to spot a cycle.
    fn visit(
        m: &Model,
        w: World,
        done: &mut HashSet<u64>,
        on_path: &mut HashSet<u64>,
        ends: &mut BTreeSet<u64>,
    ) {
        let f = fingerprint(&w);
        assert!(!on_path.contains(&f), "a cycle through\n{w:?}");
        if done.contains(&f) {
            return;
        }
        let mut actions = Vec::new();
        m.actions(&w, &mut actions);
        if actions.is_empty() {
            ends.insert(f);
        }
        on_path.insert(f);
        for a in actions {
            visit(m, m.next_state(&w, a).unwrap(), done, on_path, ends);
        }
        on_path.remove(&f);
        done.insert(f);
    }

    /// The oracle is the full search: on small settings of every fault kind
    /// (and an unsafe mode, whose ends include violations), the reduced
    /// search reaches exactly the same terminal states, in fewer states.
    #[test]
    fn the_reduced_search_reaches_every_terminal_state() {
        let cases = [
            one_fault(Replication::Quorum, 0, 1, 2),
            one_fault(Replication::Quorum, 0, 2, 1),
            one_fault(Replication::Async, 0, 2, 1),
            one_fault(Replication::Quorum, 1, 2, 1),
            one_fault(Replication::Quorum, 2, 2, 1),
            one_fault(Replication::Quorum, 2, 1, 2),
            settings(Replication::Quorum, 0),
        ];
        let mut fewer = 0;
        for s in cases {
            let (reduced, r_states) = terminals(&Model::new(s.clone()));
            let (full, f_states) = terminals(&Model::new(Settings {
                por: false,
                ..s.clone()
            }));
            println!("{s:?}: {} ends, {r_states} vs {f_states} states", full.len());
            assert_eq!(reduced, full, "{s:?}");
            assert!(r_states <= f_states, "{s:?}: {r_states} vs {f_states}");
            fewer += usize::from(r_states < f_states);
        }
        assert!(fewer >= 4, "the reduction cut states in only {fewer} cases");
    }

    /// The definition itself, sampled: on pseudo-random walks through the full
    /// model, wherever the reduction picks a set `T`, a short random path `p`
    /// of steps outside `T` followed by a step `a` of `T` reaches the state
    /// `a` then `p` does (and `p` leaves `a` enabled).
    #[test]
    fn a_chosen_delivery_commutes_with_paths_outside_the_set() {
        let mut s = settings(Replication::Quorum, 1);
        s.ops = 3;
        let model = Model::new(s.clone());
        let full = Model::new(Settings { por: false, ..s });
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut rand = move |k: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % k.max(1) as u64) as usize
        };
        let (mut checked, mut actions) = (0, Vec::new());
        for _ in 0..300 {
            let mut w = full.init_states().remove(0);
            for _ in 0..60 {
                if let Some(set) = model.reduced(&w) {
                    let a = set[rand(set.len())];
                    let len = rand(5);
                    checked += commutes(&full, &w, a, &set, len, &mut rand);
                }
                actions.clear();
                full.actions(&w, &mut actions);
                if actions.is_empty() {
                    break;
                }
                let step = actions[rand(actions.len())];
                w = full.next_state(&w, step).unwrap();
            }
        }
        assert!(checked > 200, "only {checked} paths checked");
    }

    fn node_of(set: &[Step]) -> Option<u8> {
        match set.first() {
            Some(Step::Deliver { to, .. }) => Some(*to),
            _ => None,
        }
    }

    fn commutes(
        m: &Model,
        w: &World,
        a: Step,
        set: &[Step],
        len: usize,
        rand: &mut impl FnMut(usize) -> usize,
    ) -> usize {
        let (mut before, mut after) = (w.clone(), m.next_state(w, a).unwrap());
        let mut actions = Vec::new();
        let mut path = Vec::new();
        for _ in 0..len {
            actions.clear();
            m.actions(&before, &mut actions);
            // Outside `T`: no delivery to its node, now enabled or not.
            actions.retain(|b| !matches!(b, Step::Deliver { to, .. } if Some(*to) == node_of(set)));
            if actions.is_empty() {
                break;
            }
            let b = actions[rand(actions.len())];
            actions.clear();
            m.actions(&after, &mut actions);
            assert!(actions.contains(&b), "{a:?} disabled {b:?}:\n{w:?}");
            path.push(b);
            before = m.next_state(&before, b).unwrap();
            after = m.next_state(&after, b).unwrap();
        }
        actions.clear();
        m.actions(&before, &mut actions);
        assert!(actions.contains(&a), "{path:?} disabled {a:?}:\n{w:?}");
        let end = m.next_state(&before, a).unwrap();
        assert!(
            fingerprint(&end) == fingerprint(&after),
            "{a:?} does not commute with {path:?}:\n{w:?}"
        );
        usize::from(!path.is_empty())
    }
}
