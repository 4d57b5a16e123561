//! The Wing-Gong-Lowe search (as in Lowe's "Testing for linearizability" and
//! Porcupine) over one partition.
//!
//! Call and return entries form a doubly linked list in real-time order. The
//! search walks it from the head: a call entry is a candidate to linearize
//! next; reaching a return entry means the op it closes should already have
//! been linearized, so we backtrack. Linearizing an op lifts its call and
//! return out of the list; backtracking unlifts them (dancing links, strictly
//! LIFO). Every (linearized set, state) reached is memoised; a pair seen
//! before is a dead end already explored.
//!
//! `info` ops have no return entry: they never block anyone and may be
//! linearized anywhere after their call, or never. The search succeeds as
//! soon as every `ok` op is linearized.

use super::cache::{hash_of, zobrist, Cache};
use crate::model::Model;
use fixedbitset::FixedBitSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

const NIL: u32 = u32::MAX;
const HEAD: u32 = 0;
/// Budget checks happen every this many steps.
const CHECK_EVERY: u32 = 1024;

/// One op to place: model op plus its real-time interval in history positions.
#[derive(Clone, Debug)]
pub struct Entry<O> {
    pub op: O,
    pub call: usize,
    /// `None` for `info`/pending ops.
    pub ret: Option<usize>,
}

/// Shared limits of one check.
pub struct Budget<'a> {
    pub deadline: Option<Instant>,
    pub memory_limit: Option<u64>,
    /// Estimated cache bytes over all partitions.
    pub memory_used: &'a AtomicU64,
    /// Set once some partition is invalid: the others stop.
    pub stop: &'a AtomicBool,
}

/// Where the search got stuck furthest (for the witness).
#[derive(Clone, Debug)]
pub struct Stuck<S> {
    /// Ops linearized, in order, each with the state after it.
    pub prefix: Vec<(usize, S)>,
    /// The op whose return came before it could be placed (None: none blocks).
    pub blocking: Option<usize>,
    /// Ops invoked but not linearized at that point, before `blocking` returned.
    pub candidates: Vec<usize>,
    /// The model state at that point (after the prefix).
    pub state: S,
}

#[derive(Debug)]
pub enum Outcome<S> {
    Linearizable,
    /// Not linearizable; the witness when it was asked for.
    Violation(Option<Stuck<S>>),
    /// A budget ran out (the reason).
    OutOfBudget(String),
    /// Another partition was invalid first.
    Cancelled,
}

/// Statistics of one search.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stats {
    pub steps: u64,
    pub cache_entries: usize,
}

struct List {
    next: Vec<u32>,
    prev: Vec<u32>,
}

impl List {
    fn unlink(&mut self, n: u32) {
        let (p, x) = (self.prev[n as usize], self.next[n as usize]);
        self.next[p as usize] = x;
        if x != NIL {
            self.prev[x as usize] = p;
        }
    }
    fn relink(&mut self, n: u32) {
        let (p, x) = (self.prev[n as usize], self.next[n as usize]);
        self.next[p as usize] = n;
        if x != NIL {
            self.prev[x as usize] = n;
        }
    }
}

/// Node ids: 0 is the head; op k has call node 2k+1 and return node 2k+2.
fn call_node(k: usize) -> u32 {
    (2 * k + 1) as u32
}
fn op_of(node: u32) -> usize {
    (node as usize - 1) / 2
}
fn is_call(node: u32) -> bool {
    node % 2 == 1
}

fn build_list<O>(entries: &[Entry<O>]) -> List {
    let mut events: Vec<(usize, u32)> = Vec::with_capacity(entries.len() * 2);
    for (k, e) in entries.iter().enumerate() {
        events.push((e.call, call_node(k)));
        if let Some(r) = e.ret {
            events.push((r, call_node(k) + 1));
        }
    }
    events.sort_unstable();
    let n = 2 * entries.len() + 1;
    let mut list = List {
        next: vec![NIL; n],
        prev: vec![NIL; n],
    };
    let mut last = HEAD;
    for &(_, node) in &events {
        list.next[last as usize] = node;
        list.prev[node as usize] = last;
        last = node;
    }
    list
}

/// Runs the search. With `witness`, also records where it got stuck furthest
/// (costs copies of the prefix, so callers ask only after a violation).
pub fn search<M: Model>(
    model: &mut M,
    entries: &[Entry<M::Op>],
    budget: &Budget<'_>,
    witness: bool,
) -> (Outcome<M::State>, Stats) {
    let n = entries.len();
    let mut list = build_list(entries);
    let zob = zobrist(n);
    let mut remaining = entries.iter().filter(|e| e.ret.is_some()).count();
    let mut linearized = FixedBitSet::with_capacity(n);
    let mut set_hash = 0u64;
    let mut state = model.init();
    let mut cache: Cache<M::State> = Cache::new();
    let mut stack: Vec<(u32, M::State)> = Vec::new();
    let mut best: Option<Stuck<M::State>> = None;
    let mut stats = Stats::default();
    let entry_bytes = (n.div_ceil(64) * 8 + std::mem::size_of::<(FixedBitSet, M::State, u32)>() + 24) as u64;
    let mut bytes_local = 0u64;
    let mut tick = 0u32;
    let mut entry = list.next[HEAD as usize];

    loop {
        if remaining == 0 {
            stats.cache_entries = cache.len();
            budget.memory_used.fetch_add(bytes_local, Ordering::Relaxed);
            return (Outcome::Linearizable, stats);
        }
        stats.steps += 1;
        tick += 1;
        if tick == CHECK_EVERY {
            tick = 0;
            let total = budget.memory_used.fetch_add(bytes_local, Ordering::Relaxed) + bytes_local;
            bytes_local = 0;
            stats.cache_entries = cache.len();
            if budget.stop.load(Ordering::Relaxed) {
                return (Outcome::Cancelled, stats);
            }
            if let Some(limit) = budget.memory_limit {
                if total > limit {
                    return (
                        Outcome::OutOfBudget(format!(
                            "memory limit of {limit} bytes reached ({} cached states)",
                            cache.len()
                        )),
                        stats,
                    );
                }
            }
            if let Some(d) = budget.deadline {
                if Instant::now() >= d {
                    return (Outcome::OutOfBudget("time limit reached".into()), stats);
                }
            }
        }

        if entry != NIL && is_call(entry) {
            let k = op_of(entry);
            if let Some(next_state) = model.step(&state, &entries[k].op) {
                linearized.insert(k);
                let h = set_hash ^ zob[k];
                if cache.insert(h ^ hash_of(&next_state), &linearized, &next_state) {
                    bytes_local += entry_bytes + M::state_heap_bytes(&next_state) as u64;
                    set_hash = h;
                    stack.push((entry, std::mem::replace(&mut state, next_state)));
                    list.unlink(entry);
                    if entries[k].ret.is_some() {
                        list.unlink(entry + 1);
                        remaining -= 1;
                    }
                    entry = list.next[HEAD as usize];
                    continue;
                }
                linearized.set(k, false);
            }
            entry = list.next[entry as usize];
        } else {
            if witness && best.as_ref().is_none_or(|b| stack.len() > b.prefix.len()) {
                best = Some(snapshot(&list, &stack, &state, entry));
            }
            let Some((call, old)) = stack.pop() else {
                stats.cache_entries = cache.len();
                budget.memory_used.fetch_add(bytes_local, Ordering::Relaxed);
                return (Outcome::Violation(best), stats);
            };
            let k = op_of(call);
            linearized.set(k, false);
            set_hash ^= zob[k];
            state = old;
            if entries[k].ret.is_some() {
                list.relink(call + 1);
                remaining += 1;
            }
            list.relink(call);
            entry = list.next[call as usize];
        }
    }
}

fn snapshot<S: Clone>(list: &List, stack: &[(u32, S)], state: &S, at: u32) -> Stuck<S> {
    let mut prefix = Vec::with_capacity(stack.len());
    for (i, (call, _)) in stack.iter().enumerate() {
        let after = stack.get(i + 1).map(|(_, s)| s.clone()).unwrap_or_else(|| state.clone());
        prefix.push((op_of(*call), after));
    }
    let mut candidates = Vec::new();
    let mut n = list.next[HEAD as usize];
    while n != NIL && n != at {
        if is_call(n) {
            candidates.push(op_of(n));
        }
        n = list.next[n as usize];
    }
    Stuck {
        prefix,
        blocking: (at != NIL).then(|| op_of(at)),
        candidates,
        state: state.clone(),
    }
}
