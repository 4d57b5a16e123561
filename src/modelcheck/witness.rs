//! A counterexample as a faultline history (the format of DESIGN.md), so that
//! `faultline check` and the report explain it like any recorded run.
//!
//! The path is replayed step by step with a [`Trace`]: every client invoke
//! and answer becomes an op (key `x`, process = client, a fresh process after
//! an `info`), every fault a nemesis invoke/info pair; step `i` is timed at
//! `i` ms. A lost acknowledged write leaves no trace in the clients' ops by
//! itself, so the history then ends with a probe: a fresh client reads from
//! the leader that lacks the write while every message in flight is
//! delivered in order, and the read's answer is what the checkers see.

use super::model::{leader_missing_an_ack, Model, Step};
use super::trace::{name, Trace};
use super::world::{Client, World};
use crate::history::Op;
use serde_json::json;
use std::collections::BTreeMap;

/// The nemesis ops of a fault step taken from `w`.
fn fault(t: &mut Trace, w: &World, step: Step) {
    match step {
        Step::Crash { node } => {
            t.nemesis("kill", json!("kill"), json!({ "hit": [name(node)] }));
            t.nemesis("start", json!("start"), json!({ "hit": [name(node)] }));
        }
        Step::Isolate { node } => {
            let others: Vec<String> = (0..w.n() as u8).filter(|&j| j != node).map(name).collect();
            let mut grudge: BTreeMap<String, Vec<String>> =
                others.iter().map(|o| (o.clone(), vec![name(node)])).collect();
            grudge.insert(name(node), others);
            t.nemesis("partition", json!("partition"), json!({ "grudge": grudge }));
        }
        Step::Heal => t.nemesis("heal", json!("heal"), json!({ "healed": true })),
        Step::Timeout { node } => t.nemesis(
            "election-timeout",
            json!("election-timeout"),
            json!({ "hit": [name(node)], "clock_jump": "past every deadline" }),
        ),
        Step::Deliver { .. } | Step::Invoke { .. } => {}
    }
}

/// The history of `path` (each state with the step taken from it; the last
/// has none), ending with a probe read when `property` is a lost write.
pub fn history(model: &Model, path: &[(World, Option<Step>)], property: &str) -> Vec<Op> {
    let mut notes = Some(Trace::default());
    let mut stamped = 0;
    let mut last = None;
    for (i, (w, step)) in path.iter().enumerate() {
        let mut next = w.clone();
        if let Some(step) = *step {
            if let Some(t) = notes.as_mut() {
                fault(t, w, step);
            }
            model.apply(&mut next, step, &mut notes);
        }
        stamped = stamp(&mut notes, stamped, i as u64);
        last = Some(next);
    }
    if let (Some(w), "acknowledged writes survive") = (last, property) {
        probe(model, w, &mut notes);
        stamp(&mut notes, stamped, path.len() as u64);
    }
    let mut ops = notes.map(|t| t.ops).unwrap_or_default();
    for (i, op) in ops.iter_mut().enumerate() {
        op.index = i as u64;
    }
    ops
}

/// Times the ops of step `i` from `from` on: `i` ms, 1 µs apart.
fn stamp(notes: &mut Option<Trace>, from: usize, i: u64) -> usize {
    let Some(t) = notes.as_mut() else { return from };
    for (j, op) in t.ops[from..].iter_mut().enumerate() {
        op.time = (i + 1) * 1_000_000 + j as u64 * 1_000;
    }
    t.ops.len()
}

/// A fresh client reads from a leader missing an acknowledged write while
/// every message in flight is delivered (oldest link first), until it is
/// answered or nothing is left to deliver.
fn probe(model: &Model, mut w: World, notes: &mut Option<Trace>) {
    let Some(node) = leader_missing_an_ack(&w) else {
        return;
    };
    let c = w.clients.len() as u8;
    w.clients.push(Client {
        next_op: 1,
        pending: None,
    });
    model.apply(&mut w, Step::Invoke { client: c, node }, notes);
    let n = w.n();
    for _ in 0..10_000 {
        if w.clients[c as usize].pending.is_none() {
            return;
        }
        let Some(l) = w.links.iter().position(|q| !q.is_empty()) else {
            return;
        };
        let (from, to) = ((l / n) as u8, (l % n) as u8);
        model.apply(&mut w, Step::Deliver { from, to }, notes);
    }
}

#[cfg(test)]
mod tests {
    use crate::checker::linearizable;
    use crate::checker::{CheckOptions, Validity};
    use crate::history::{pair, History, OpType, Process};
    use crate::modelcheck::{check, Settings};
    use crate::store::core::{Reads, Replication};

    fn counterexample(s: Settings) -> History {
        let v = check(s).unwrap().violation.expect("a counterexample");
        History::new(v.history)
    }

    /// The history of each unsafe mode's counterexample pairs cleanly and the
    /// linearizability checker, given only the history, calls it invalid: a
    /// lost write through the probe read, a stale read by itself.
    #[test]
    fn counterexamples_are_histories_the_checker_rejects() {
        let mut stale = Settings::new(Replication::Quorum);
        stale.reads = Reads::Leader;
        for s in [Settings::new(Replication::Async), stale] {
            let h = counterexample(s.clone());
            pair(&h).unwrap_or_else(|e| panic!("{s:?}: {e}"));
            let v = linearizable::check(&h, &CheckOptions::default()).unwrap();
            assert_eq!(v.valid, Validity::Invalid, "{s:?}: {}", v.summary);
            let nemesis = h.nemesis_ops().count();
            assert!(
                nemesis >= 2 && nemesis.is_multiple_of(2),
                "{s:?}: fault ops come in pairs"
            );
            assert!(h
                .ops
                .windows(2)
                .all(|w| w[0].time < w[1].time && w[0].index + 1 == w[1].index));
        }
    }

    /// An op that got `info` leaves its process: the client's next op runs as
    /// a fresh process (the history format's rule).
    #[test]
    fn a_client_after_info_gets_a_fresh_process() {
        let mut t = crate::modelcheck::trace::Trace::default();
        t.invoked(0, 0);
        t.answered(0, 0, 0, None);
        t.invoked(0, 1);
        let ops = &t.ops;
        assert_eq!(ops[1].ty, OpType::Info);
        assert_eq!(ops[0].process, Process::Client(0));
        assert_eq!(ops[2].process, Process::Client(crate::modelcheck::trace::FRESH));
    }
}
