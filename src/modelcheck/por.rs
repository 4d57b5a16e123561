//! Partial-order reduction: in a state where one delivery commutes with
//! everything that can happen before it, explore only that delivery (a
//! persistent set of one step) instead of every enabled step.
//!
//! The step is `a` = the oldest message on `x -> t`, when (all checked in
//! [`ample`]):
//! 1. no fault can fire any more (the budget is spent: no `Timeout`, hence no
//!    tick ever again; no `Crash`, no `Isolate`);
//! 2. `t` is a follower, and so is every node `y` other than `x` and `t`;
//!    the links `y -> t` are empty and `t -> y` hold only replies;
//! 3. applied to a copy, `a` leaves clients, the linearizability frontier, acks and leader events
//!    as they were, keeps `t` a follower, sends at most one reply and only to
//!    `x`, and lowers the message weight `W` (a request counts 2, a reply 1).
//!
//! Why that is sound (for the three safety properties and the
//! write-acknowledged reachability check): without ticks a follower only
//! answers (`on_vote`, `on_append`, `on_snapshot` send one reply each;
//! campaigns start only on a tick), a reply earns no answer, and only a
//! leader or a candidate sends requests. So by 1 and 2 no node but `x` can
//! ever put a message on a link into `t`, and nothing but `a` changes `t`:
//! every other step (a delivery to another node, an invoke at a leader other
//! than `t`, `Heal`) touches other cores, other clients and other links, or
//! the tail of `x -> t` / the head of `t -> x` (FIFO: a push at the tail and a
//! pop at the head of a non-empty queue commute), and `a` touches no client
//! and no observer (3). Deadness ([`super::canon::is_dead`]) only grows with
//! the receiver's state, so dropping dead messages commutes too. Hence `a`
//! stays enabled and commutes with every path `w` that avoids it, and does not
//! change any property's value (it changes no leader, log of a leader, ack,
//! leader event or frontier). For a path `w` from `s` to a violating `v`: if
//! `w = u a v'`, then `a u v'` reaches `v` from `s.a` in one step fewer; if
//! `w` avoids `a`, then `w` leads from `s.a` to `v.a`, which violates as `v`
//! does, by a path as long, while `W(s.a) < W(s)`. Induction on (path length,
//! `W`) shows the reduced search reaches a violating state whenever the full
//! one does; every path it takes is a path of the full model, so it finds
//! nothing the full model does not. Merged states (see [`super::canon`]) have
//! the same futures and the same `W`, so the argument carries over to them.
//!
//! What changes: the counterexample is a real path but not always the
//! shortest, and `--depth` cuts a different (reordered) set of paths.

use super::world::World;
use crate::store::core::{Message, Role};

/// The one delivery (`from`, `to`) to explore from `w` when the reduction
/// applies (see the module doc), or `None` to explore every step. `deliver`
/// is the model's own delivery step (passed in, so that this module does not
/// import the model that calls it).
pub fn ample(enabled: bool, w: &World, deliver: impl Fn(&mut World, u8, u8)) -> Option<(u8, u8)> {
    let b = w.budget;
    let faults_over = b.total == 0 || (b.timeouts == 0 && b.crashes == 0 && b.partitions == 0);
    if !enabled || !faults_over {
        return None;
    }
    let n = w.n();
    for t in 0..n {
        if !follower(w, t) {
            continue;
        }
        for x in (0..n).filter(|&x| x != t && !w.links[x * n + t].is_empty()) {
            let others_quiet = (0..n).filter(|&y| y != x && y != t).all(|y| {
                follower(w, y) && w.links[y * n + t].is_empty() && w.links[t * n + y].iter().all(is_reply)
            });
            if others_quiet && invisible(w, &deliver, x, t) {
                return Some((x as u8, t as u8));
            }
        }
    }
    None
}

fn follower(w: &World, i: usize) -> bool {
    w.up(i as u8).is_some_and(|c| c.role() == Role::Follower)
}

fn is_reply(m: &Message) -> bool {
    matches!(m, Message::VoteReply { .. } | Message::AppendReply { .. })
}

/// The message weight: a request (that may earn a reply) counts 2, a reply 1.
pub fn weight(w: &World) -> usize {
    w.links
        .iter()
        .flatten()
        .map(|m| if is_reply(m) { 1 } else { 2 })
        .sum()
}

/// Condition 3 of the module doc, on the step's actual effect.
fn invisible(w: &World, deliver: &impl Fn(&mut World, u8, u8), x: usize, t: usize) -> bool {
    let n = w.n();
    let mut next = w.clone();
    deliver(&mut next, x as u8, t as u8);
    let links_kept = (0..n * n)
        .filter(|&l| l != x * n + t && l != t * n + x)
        .all(|l| next.links[l] == w.links[l]);
    let (before, after) = (&w.links[t * n + x], &next.links[t * n + x]);
    let one_reply = after.len() <= before.len() + 1
        && after.starts_with(before)
        && after[before.len()..].iter().all(is_reply);
    links_kept
        && one_reply
        && follower(&next, t)
        && next.clients == w.clients
        && next.lin == w.lin
        && next.acks == w.acks
        && next.leaders == w.leaders
        && weight(&next) < weight(w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modelcheck::model::{Model, Step};
    use crate::modelcheck::world::fingerprint;
    use crate::modelcheck::{check, Settings};
    use crate::store::core::{Reads, Replication};
    use stateright::Model as _;

    fn settings(replication: Replication, faults: u8) -> Settings {
        let mut s = Settings::new(replication);
        s.faults = faults;
        s
    }

    /// The reduced and the full search agree: no violation in either, a write
    /// acknowledged in both, fewer states reduced (fault-free, and a timeout
    /// with one client); a known violation is still found with it on.
    #[test]
    fn reduction_keeps_verdicts() {
        let mut timeout = settings(Replication::Quorum, 1);
        (timeout.clients, timeout.crashes, timeout.partitions) = (1, 0, 0);
        for s in [settings(Replication::Quorum, 0), timeout] {
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

    /// The oracle for independence is the model itself: on pseudo-random walks
    /// through the full model, wherever the reduction picks a step `a`, every
    /// other enabled step `b` leaves `a` enabled and `a` then `b` reaches the
    /// state `b` then `a` does.
    #[test]
    fn the_chosen_delivery_commutes_with_every_other_step() {
        let model = Model::new(settings(Replication::Quorum, 1));
        let full = Model::new(Settings {
            por: false,
            ..model.settings.clone()
        });
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let (mut checked, mut actions) = (0, Vec::new());
        for _ in 0..300 {
            let mut w = full.init_states().remove(0);
            for _ in 0..60 {
                full.actions(&w, &mut actions);
                if let Some(a) = model.reduced(&w) {
                    checked += commutes(&full, &w, a, &actions);
                }
                if actions.is_empty() {
                    break;
                }
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let step = actions[(seed % actions.len() as u64) as usize];
                actions.clear();
                w = full.next_state(&w, step).unwrap();
            }
            actions.clear();
        }
        assert!(checked > 100, "only {checked} pairs checked");
    }

    fn commutes(m: &Model, w: &World, a: Step, actions: &[Step]) -> usize {
        let wa = m.next_state(w, a).unwrap();
        let mut checked = 0;
        for &b in actions.iter().filter(|&&b| b != a) {
            let wb = m.next_state(w, b).unwrap();
            let mut after_b = Vec::new();
            m.actions(&wb, &mut after_b);
            assert!(after_b.contains(&a), "{b:?} disabled {a:?}:\n{w:?}");
            let ab = m.next_state(&wa, b).unwrap();
            let ba = m.next_state(&wb, a).unwrap();
            assert!(
                fingerprint(&ab) == fingerprint(&ba),
                "{a:?} and {b:?} do not commute:\n{w:?}"
            );
            checked += 1;
        }
        checked
    }
}
