//! The dependency graph over transactions: data edges (ww, wr, rw) inferred by
//! the model analyses, plus process and real-time order edges built here.
//!
//! Invariants: nodes are indices into the txn list; there are no self-loops;
//! after [`Graph::build`] the edges are sorted by `from`, and `out(n)` is the
//! slice of edges leaving `n`.

use super::atom::NONE;
use super::txn::{Status, Txn};
use crate::history::Process;
use std::collections::HashMap;

/// Edge type bits; a mask of them selects which edges a search may use.
pub const WW: u8 = 1;
pub const WR: u8 = 2;
pub const RW: u8 = 4;
pub const PROCESS: u8 = 8;
pub const REALTIME: u8 = 16;
pub const DATA: u8 = WW | WR | RW;
pub const ALL: u8 = DATA | PROCESS | REALTIME;

/// Short name of one edge bit.
pub fn kind_name(k: u8) -> &'static str {
    match k {
        WW => "ww",
        WR => "wr",
        RW => "rw",
        PROCESS => "process",
        _ => "realtime",
    }
}

/// Where a version order behind a ww or rw edge came from (for explanations).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(u8)]
pub enum Via {
    /// Observed directly (a read, or consecutive elements of a list).
    #[default]
    Observed,
    /// An append no read observed, placed after every observed element.
    Unobserved,
    /// The initial nil state precedes every written version.
    Initial,
    /// A transaction's write follows its own read of the key.
    WritesFollowReads,
    /// Assumed per-key sequential consistency (process order).
    SequentialKeys,
    /// Assumed per-key linearizability (real-time order).
    LinearizableKeys,
}

/// One dependency `from → to`. `key`, `a`, `b` are interned ids ([`NONE`] when
/// not applicable): for ww, `a` is from's value and `b` to's; for wr, `a` is the
/// value read; for rw, `a` is the value read (or NONE for an empty/nil read)
/// and `b` the value `to` wrote next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Edge {
    pub from: u32,
    pub to: u32,
    pub kind: u8,
    pub key: u32,
    pub a: u32,
    pub b: u32,
    pub via: Via,
}

impl Edge {
    pub fn data(from: u32, to: u32, kind: u8, key: u32, a: u32, b: u32) -> Edge {
        Edge {
            from,
            to,
            kind,
            key,
            a,
            b,
            via: Via::Observed,
        }
    }

    /// The same edge, inferred through `via`.
    pub fn via(self, via: Via) -> Edge {
        Edge { via, ..self }
    }
    fn order(from: u32, to: u32, kind: u8) -> Edge {
        Edge::data(from, to, kind, NONE, NONE, NONE)
    }
}

/// A bare edge of one kind (tests).
#[cfg(test)]
pub fn edge(from: u32, to: u32, kind: u8) -> Edge {
    Edge::data(from, to, kind, NONE, NONE, NONE)
}

/// A placeholder edge (tests and defaults).
pub const NONE_EDGE: Edge = Edge {
    from: 0,
    to: 0,
    kind: 0,
    key: NONE,
    a: NONE,
    b: NONE,
    via: Via::Observed,
};

/// Adjacency in compressed sparse row form.
pub struct Graph {
    pub n: usize,
    pub edges: Vec<Edge>,
    offsets: Vec<u32>,
}

impl Graph {
    /// Sorts `edges` by source and indexes them. Self-loops are dropped.
    pub fn build(n: usize, mut edges: Vec<Edge>) -> Graph {
        edges.retain(|e| e.from != e.to);
        edges.sort_unstable_by_key(|e| (e.from, e.to, e.kind));
        let mut offsets = vec![0u32; n + 1];
        for e in &edges {
            offsets[e.from as usize + 1] += 1;
        }
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }
        Graph { n, edges, offsets }
    }

    /// Edges leaving `node`, with their indices into `edges`.
    pub fn out(&self, node: u32) -> std::ops::Range<usize> {
        self.offsets[node as usize] as usize..self.offsets[node as usize + 1] as usize
    }
}

/// Process edges: each `ok` txn to the next txn its process invoked. Failed
/// txns did not happen and are skipped; an `info` txn may take effect at any
/// later time, so it gets an edge in but never one out.
pub fn process_edges(txns: &[Txn], out: &mut Vec<Edge>) {
    let mut last: HashMap<Process, u32> = HashMap::new();
    for (i, t) in txns.iter().enumerate() {
        if t.status == Status::Fail {
            continue;
        }
        if let Some(&prev) = last.get(&t.process) {
            out.push(Edge::order(prev, i as u32, PROCESS));
        }
        if t.status == Status::Ok {
            last.insert(t.process, i as u32);
        }
    }
}

/// Real-time edges: T1 → T2 when T1 completed (ok) before T2 was invoked.
///
/// Only the transitive reduction's frontier is materialised, in O(n · c) for
/// concurrency c rather than O(n²): a completed txn stays on the frontier
/// until some txn invoked after its completion completes itself (which then
/// implies the order to everything invoked later). Each invocation takes an
/// edge from every frontier member. `txns` must be in invocation order.
pub fn realtime_edges(txns: &[Txn], out: &mut Vec<Edge>) {
    let mut completes: Vec<(usize, u32)> = txns
        .iter()
        .enumerate()
        .filter_map(|(i, t)| t.ok_pos.map(|p| (p, i as u32)))
        .collect();
    completes.sort_unstable();
    // (txn, position of its ok completion), in completion order.
    let mut frontier: Vec<(u32, usize)> = Vec::new();
    let (mut ti, mut ci) = (0usize, 0usize);
    while ti < txns.len() || ci < completes.len() {
        let next_inv = txns.get(ti).map(|t| t.invoke_pos).unwrap_or(usize::MAX);
        let next_ok = completes.get(ci).map(|c| c.0).unwrap_or(usize::MAX);
        if next_inv < next_ok {
            if txns[ti].status != Status::Fail {
                out.extend(frontier.iter().map(|&(p, _)| Edge::order(p, ti as u32, REALTIME)));
            }
            ti += 1;
        } else {
            let (pos, t) = completes[ci];
            ci += 1;
            // Members that completed before t's invocation now precede t, and
            // through t everything invoked from here on.
            let inv = txns[t as usize].invoke_pos;
            frontier.retain(|&(_, done)| done > inv);
            frontier.push((t, pos));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, RngSeed};

    /// Txns from (process, invoke pos, ok pos or None) with positions given directly.
    fn txns(spec: &[(u64, usize, Option<usize>)]) -> Vec<Txn> {
        spec.iter()
            .map(|&(p, inv, ok)| Txn {
                op: inv as u64,
                status: if ok.is_some() { Status::Ok } else { Status::Info },
                process: Process::Client(p),
                invoke_pos: inv,
                ok_pos: ok,
                value_pos: inv,
            })
            .collect()
    }

    /// Random interval histories: each txn invoked at a fresh position, completed later or never.
    fn intervals() -> impl Strategy<Value = Vec<(u64, usize, Option<usize>)>> {
        prop::collection::vec((0usize..6, prop::bool::weighted(0.85)), 1..40).prop_map(|v| {
            // Lay out events: txn i invokes at step 2i; completes `len` invocations later.
            let n = v.len();
            let mut ev: Vec<(usize, usize, bool)> = Vec::new(); // (sort key, txn, is_completion)
            for (i, &(len, done)) in v.iter().enumerate() {
                ev.push((4 * i, i, false));
                if done {
                    ev.push((4 * (i + len) + 1, i, true));
                }
            }
            ev.sort();
            let mut spec = vec![(0u64, 0usize, None); n];
            for (pos, &(_, t, c)) in ev.iter().enumerate() {
                if c {
                    spec[t].2 = Some(pos);
                } else {
                    spec[t] = (t as u64, pos, None);
                }
            }
            spec
        })
    }

    fn closure(n: usize, edges: &[Edge]) -> Vec<Vec<bool>> {
        let mut r = vec![vec![false; n]; n];
        for e in edges {
            r[e.from as usize][e.to as usize] = true;
        }
        for k in 0..n {
            let row_k = r[k].clone();
            for row in r.iter_mut() {
                if row[k] {
                    for (x, &y) in row.iter_mut().zip(&row_k) {
                        *x |= y;
                    }
                }
            }
        }
        r
    }

    proptest! {
        #![proptest_config(Config { cases: 200, rng_seed: RngSeed::Fixed(7), failure_persistence: None, ..Config::default() })]

        /// The frontier construction's transitive closure is exactly the
        /// brute-force "completed before invoked" relation.
        #[test]
        fn realtime_closure_matches_brute_force(spec in intervals()) {
            let ts = txns(&spec);
            let mut edges = Vec::new();
            realtime_edges(&ts, &mut edges);
            let r = closure(ts.len(), &edges);
            for (a, ta) in ts.iter().enumerate() {
                for (b, tb) in ts.iter().enumerate() {
                    let want = ta.ok_pos.is_some_and(|c| c < tb.invoke_pos);
                    prop_assert_eq!(r[a][b], want, "{} -> {}", a, b);
                }
            }
            prop_assert!(edges.len() <= ts.len() * 8, "not sparse: {} edges", edges.len());
        }
    }

    #[test]
    fn process_edges_skip_fail_and_leave_info_without_successors() {
        let mut ts = txns(&[(1, 0, Some(1)), (1, 2, None), (1, 4, Some(5)), (1, 6, Some(7))]);
        ts[2].status = Status::Fail;
        ts[2].ok_pos = None;
        let mut e = Vec::new();
        process_edges(&ts, &mut e);
        let pairs: Vec<(u32, u32)> = e.iter().map(|e| (e.from, e.to)).collect();
        assert_eq!(pairs, vec![(0, 1), (0, 3)]);
    }
}
