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
//!
//! Pruning, for models that answer [`Model::dead`] (kv: appends only extend
//! a value): a new state in which some pending `ok` pure op can never
//! succeed, and no reset that could revive it is still open, is abandoned
//! before it is memoised or explored ([`Search::doomed`]). Only ops among
//! the current candidates are examined, so this is cheap and sound, not
//! complete.

use super::cache::{zobrist, Cache};
use crate::checker::{memory_ran_out, time_ran_out};
use crate::model::Model;
use crate::util::hash::hash_of;
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
pub struct Limits<'a> {
    pub deadline: Option<Instant>,
    pub memory_limit: Option<u64>,
    /// Estimated cache bytes over all partitions.
    pub memory_used: &'a AtomicU64,
    /// Set once some partition is invalid: the others stop.
    pub stop: &'a AtomicBool,
}

/// States a [`Stuck`] keeps, at the end of its prefix.
pub const STUCK_STATES: usize = 32;

/// Where the search got stuck furthest (for the witness).
#[derive(Clone, Debug)]
pub struct Stuck<S> {
    /// Ops linearized, in order, each with the state after it (only the
    /// last [`STUCK_STATES`] keep theirs: a long prefix of big states would
    /// cost its length times their size).
    pub prefix: Vec<(usize, Option<S>)>,
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

/// A resumable search over one partition: [`Search::run`] advances it by a
/// quantum of steps, so a scheduler can interleave partitions and let an easy
/// violation stop the others before a hard partition finishes.
pub struct Search<M: Model> {
    list: List,
    zob: Vec<u64>,
    remaining: usize,
    linearized: FixedBitSet,
    set_hash: u64,
    /// The current state: an index into `cache`, which owns every state.
    state: u32,
    cache: Cache<M::State>,
    /// (call node, state before (cache index), op was pure and placed greedily).
    stack: Vec<(u32, u32, bool)>,
    /// Per op: [`Model::is_pure`]. A pure op that can take effect in the
    /// current state, while it is callable (invoked before every pending
    /// return), may be linearized right now without loss: any linearization
    /// from here can move it to the front, as it leaves every state unchanged
    /// and no pending op must precede it in real time.
    pure: Vec<bool>,
    /// Whether the model answers [`Model::dead`]; then `resets` lists the
    /// ops for which [`Model::resets`] holds, by invocation position.
    prune: bool,
    resets: Vec<u32>,
    /// Per op: its position in `resets`, or NIL.
    reset_pos: Vec<u32>,
    /// Invariant: every reset in `resets[..first_open]` is linearized (so
    /// [`Search::doomed`] need not look at them).
    first_open: usize,
    best: Option<Stuck<M::State>>,
    witness: bool,
    entry: u32,
    entry_bytes: u64,
    bytes_local: u64,
    /// The model's table bytes at the last flush.
    model_bytes: u64,
    pub stats: Stats,
}

impl<M: Model> Search<M> {
    /// With `witness`, the search also records where it got stuck furthest
    /// (costs copies of the prefix, so callers ask only after a violation).
    pub fn new(model: &mut M, entries: &[Entry<M::Op>], witness: bool) -> Self {
        let n = entries.len();
        let list = build_list(entries);
        let entry = list.next[HEAD as usize];
        let linearized = FixedBitSet::with_capacity(n);
        let mut resets: Vec<u32> = (0..n as u32)
            .filter(|&k| model.resets(&entries[k as usize].op))
            .collect();
        resets.sort_by_key(|&k| entries[k as usize].call);
        let mut reset_pos = vec![NIL; n];
        for (i, &k) in resets.iter().enumerate() {
            reset_pos[k as usize] = i as u32;
        }
        let mut cache = Cache::new();
        let init = model.init();
        let state = cache
            .insert(hash_of(&init), &linearized, init)
            .expect("an empty cache takes any entry");
        Search {
            list,
            zob: zobrist(n),
            remaining: entries.iter().filter(|e| e.ret.is_some()).count(),
            linearized,
            set_hash: 0,
            state,
            cache,
            stack: Vec::new(),
            pure: entries.iter().map(|e| model.is_pure(&e.op)).collect(),
            prune: model.has_dead(),
            reset_pos,
            resets,
            first_open: 0,
            best: None,
            witness,
            entry,
            entry_bytes: (n.div_ceil(64) * 8 + std::mem::size_of::<(M::State, u32)>() + 24) as u64,
            bytes_local: 0,
            model_bytes: 0,
            stats: Stats::default(),
        }
    }

    /// Adds this search's new bytes (cache entries, model tables) to the
    /// shared count; the total after it.
    fn flush(&mut self, model: &M, budget: &Limits<'_>) -> u64 {
        let now = model.heap_bytes() as u64;
        let grown = now.saturating_sub(self.model_bytes);
        self.model_bytes = self.model_bytes.max(now);
        let b = std::mem::take(&mut self.bytes_local) + grown;
        self.stats.cache_entries = self.cache.len();
        budget.memory_used.fetch_add(b, Ordering::Relaxed) + b
    }

    /// Advances by at most `quantum` steps; `None` when the quantum ran out
    /// undecided. The model and entries must be the ones given to `new`.
    pub fn run(
        &mut self,
        model: &mut M,
        entries: &[Entry<M::Op>],
        budget: &Limits<'_>,
        quantum: u64,
    ) -> Option<Outcome<M::State>> {
        let mut tick = 0u32;
        let mut left = quantum;
        loop {
            if self.remaining == 0 {
                self.flush(model, budget);
                return Some(Outcome::Linearizable);
            }
            self.stats.steps += 1;
            tick += 1;
            if tick == CHECK_EVERY {
                tick = 0;
                if let Some(stop) = self.checkpoint(model, budget, &mut left) {
                    return stop;
                }
            }
            let entry = self.entry;
            if entry != NIL && is_call(entry) {
                self.try_call(model, entries, entry);
            } else if let Some(done) = self.backtrack(model, entries, budget, entry) {
                return Some(done);
            }
        }
    }

    /// Every [`CHECK_EVERY`] steps: publishes this search's memory, then honours a
    /// cancel, the memory and time budgets and the end of the quantum (`left`).
    /// `Some(x)` ends the run with `x` (`Some(None)`: the quantum ran out undecided).
    #[inline]
    fn checkpoint(
        &mut self,
        model: &M,
        budget: &Limits<'_>,
        left: &mut u64,
    ) -> Option<Option<Outcome<M::State>>> {
        let total = self.flush(model, budget);
        if budget.stop.load(Ordering::Relaxed) {
            return Some(Some(Outcome::Cancelled));
        }
        if let Some(limit) = budget.memory_limit {
            if total > limit {
                return Some(Some(Outcome::OutOfBudget(memory_ran_out(
                    limit,
                    &format!("{} cached states", self.cache.len()),
                ))));
            }
        }
        if let Some(d) = budget.deadline {
            if Instant::now() >= d {
                return Some(Some(Outcome::OutOfBudget(time_ran_out())));
            }
        }
        if *left <= CHECK_EVERY as u64 {
            return Some(None);
        }
        *left -= CHECK_EVERY as u64;
        None
    }

    /// Tries to linearize the call at `entry` next. When the model allows it and the
    /// (set, state) pair is new, descends: pushes the choice, unlinks the op and starts
    /// again at the head of the list. Otherwise moves on (to the next entry, or to a
    /// dead end when a pure op failed).
    #[inline]
    fn try_call(&mut self, model: &mut M, entries: &[Entry<M::Op>], entry: u32) {
        let k = op_of(entry);
        if let Some(next_state) = model.step(self.cache.state(self.state), &entries[k].op) {
            let pure = self.pure[k];
            self.linearized.insert(k);
            if !pure && self.prune && self.doomed(model, entries, &next_state) {
                self.linearized.set(k, false);
                self.entry = self.list.next[entry as usize];
                return;
            }
            let h = self.set_hash ^ self.zob[k];
            let bytes = self.entry_bytes + model.state_heap_bytes(&next_state) as u64;
            if let Some(id) = self
                .cache
                .insert(h ^ hash_of(&next_state), &self.linearized, next_state)
            {
                self.bytes_local += bytes;
                self.set_hash = h;
                self.stack.push((entry, self.state, pure));
                self.state = id;
                if self.reset_pos[k] as usize == self.first_open {
                    while self
                        .resets
                        .get(self.first_open)
                        .is_some_and(|&r| self.linearized.contains(r as usize))
                    {
                        self.first_open += 1;
                    }
                }
                self.list.unlink(entry);
                if entries[k].ret.is_some() {
                    self.list.unlink(entry + 1);
                    self.remaining -= 1;
                }
                self.entry = self.list.next[HEAD as usize];
                return;
            }
            self.linearized.set(k, false);
            if pure {
                // Placing a pure op here is never worse than later
                // (see `pure`), and that was a dead end: so is this.
                self.entry = NIL;
                return;
            }
        }
        self.entry = self.list.next[entry as usize];
    }

    /// At a return (or the end of the list) nothing more can be placed: remembers the
    /// longest prefix for the witness, then undoes the last choice and tries the entry
    /// after it. `Some(Violation)` when there is no choice left to undo.
    #[inline]
    fn backtrack(
        &mut self,
        model: &M,
        entries: &[Entry<M::Op>],
        budget: &Limits<'_>,
        entry: u32,
    ) -> Option<Outcome<M::State>> {
        if self.witness
            && self
                .best
                .as_ref()
                .is_none_or(|b| self.stack.len() > b.prefix.len())
        {
            self.best = Some(snapshot(&self.list, &self.stack, &self.cache, self.state, entry));
        }
        let Some((call, old, forced)) = self.stack.pop() else {
            self.flush(model, budget);
            return Some(Outcome::Violation(self.best.take()));
        };
        let k = op_of(call);
        self.linearized.set(k, false);
        self.first_open = self.first_open.min(self.reset_pos[k] as usize);
        self.set_hash ^= self.zob[k];
        self.state = old;
        if entries[k].ret.is_some() {
            self.list.relink(call + 1);
            self.remaining += 1;
        }
        self.list.relink(call);
        // A pure op was placed greedily: if that failed, so does every
        // other choice at this level.
        self.entry = if forced {
            NIL
        } else {
            self.list.next[call as usize]
        };
        None
    }
}

impl<M: Model> Search<M> {
    /// True when some `ok` op among the candidates (invoked before the first
    /// pending return) is [`Model::dead`] in `s` and no reset that is not
    /// yet linearized, invoked before that op returns, could revive it. Such
    /// an op can never be placed from `s` on, so `s` is a dead end. (The op
    /// being placed is already marked in `linearized`.)
    fn doomed(&self, model: &M, entries: &[Entry<M::Op>], s: &M::State) -> bool {
        let mut n = self.list.next[HEAD as usize];
        while n != NIL && is_call(n) {
            let j = op_of(n);
            n = self.list.next[n as usize];
            let Some(ret) = entries[j].ret else { continue };
            if !self.pure[j] || self.linearized.contains(j) || !model.dead(s, &entries[j].op) {
                continue;
            }
            let revivable = self.resets[self.first_open..]
                .iter()
                .map(|&r| r as usize)
                .take_while(|&r| entries[r].call < ret)
                .any(|r| !self.linearized.contains(r) && model.revives(&entries[r].op, &entries[j].op));
            if !revivable {
                return true;
            }
        }
        false
    }
}

/// Runs a whole search to its end (or a budget's).
pub fn search<M: Model>(
    model: &mut M,
    entries: &[Entry<M::Op>],
    budget: &Limits<'_>,
    witness: bool,
) -> (Outcome<M::State>, Stats) {
    let mut s = Search::new(model, entries, witness);
    let out = s
        .run(model, entries, budget, u64::MAX)
        .unwrap_or_else(|| Outcome::OutOfBudget("step limit reached".into()));
    (out, s.stats)
}

fn snapshot<S: Clone + Eq>(
    list: &List,
    stack: &[(u32, u32, bool)],
    cache: &Cache<S>,
    state: u32,
    at: u32,
) -> Stuck<S> {
    let mut prefix = Vec::with_capacity(stack.len());
    for (i, (call, _, _)) in stack.iter().enumerate() {
        let after = stack.get(i + 1).map_or(state, |&(_, s, _)| s);
        let keep = i + STUCK_STATES >= stack.len();
        prefix.push((op_of(*call), keep.then(|| cache.state(after).clone())));
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
        state: cache.state(state).clone(),
    }
}
