//! Version orders of registers, inferred as Elle does, and the ww/rw edges
//! they give.
//!
//! Sources, in order: the initial state (nil precedes every value; its rw
//! edges are built from nil reads directly), writes-follow-reads (an `ok` txn
//! that read `a` and then wrote `b` puts `a` before `b`; on by default: if that
//! were false the txn's write would precede the version it read, itself a G1c
//! cycle, so only the name of an anomaly can be wrong, never whether read
//! committed holds), and two assumptions about the system, off by default:
//! per-key sequential consistency (each process's successive txns on a key see
//! later versions) and per-key linearizability (the same in real-time order).
//! A source that would make some key's version order cyclic is reported as
//! `cyclic-versions` and left out, as Elle does. Each version edge `a → b`
//! gives writer(a) → ww → writer(b) and every reader of `a` → rw → writer(b).
//! The upstream txn of an assumption edge is always `ok`, so an `info` write
//! never precedes anything it was not seen to precede.

use super::super::atom::{pack, FxMap, Interner, NONE};
use super::super::classify::Collector;
use super::super::graph::{self, Edge, Via, RW, WW};
use super::super::txn::{Status, Txn};
use super::super::ElleOptions;
use super::Ext;
use serde_json::json;

/// Beyond this many version-order edges the analysis stops and says it is incomplete.
pub const MAX_VERSION_EDGES: usize = 20_000_000;

/// (key, earlier value, later value).
type VersionEdge = (u32, u32, u32);

/// Accepted version edges: (key, earlier, later, source).
pub struct Versions {
    pub edges: Vec<(u32, u32, u32, Via)>,
    pub sources: Vec<&'static str>,
}

impl Versions {
    pub fn count(&self) -> usize {
        self.edges.len()
    }
}

/// The value a txn last left a key at (its last write, else its read).
fn last(e: &Ext) -> Option<u32> {
    e.write.or(e.read)
}

/// The value a txn first saw or made of a key (its read, else its write).
fn first(e: &Ext) -> Option<u32> {
    e.read.or(e.write)
}

/// Infers version orders from the enabled sources.
pub fn infer(exts: &[Ext], txns: &[Txn], o: &ElleOptions, found: &mut Collector, int: &Interner) -> Versions {
    let mut v = Versions {
        edges: Vec::new(),
        sources: vec!["initial-state"],
    };
    let mut candidates: Vec<(&'static str, Via, Vec<VersionEdge>)> = Vec::new();
    if o.wfr_keys {
        let es = exts
            .iter()
            .filter_map(|e| match (e.read, e.write) {
                (Some(r), Some(w)) if r != NONE && r != w => Some((e.key, r, w)),
                _ => None,
            })
            .collect();
        candidates.push(("writes-follow-reads", Via::WritesFollowReads, es));
    }
    if o.sequential_keys {
        candidates.push(("sequential-keys", Via::SequentialKeys, sequential(exts, txns)));
    }
    if o.linearizable_keys {
        candidates.push((
            "linearizable-keys",
            Via::LinearizableKeys,
            linearizable(exts, txns),
        ));
    }
    for (name, via, mut es) in candidates {
        es.sort_unstable();
        es.dedup();
        let mut all: Vec<(u32, u32, u32)> = v.edges.iter().map(|&(k, a, b, _)| (k, a, b)).collect();
        all.extend_from_slice(&es);
        let cyclic = cyclic_keys(&mut all);
        if cyclic.is_empty() {
            v.edges.extend(es.into_iter().map(|(k, a, b)| (k, a, b, via)));
            v.sources.push(name);
            continue;
        }
        let sources: Vec<&str> = v.sources.iter().copied().chain([name]).collect();
        for (key, values) in cyclic {
            let shown: Vec<String> = values.iter().map(|&x| int.show(x)).collect();
            let vals: Vec<serde_json::Value> = values.iter().map(|&x| int.json(x)).collect();
            found.push(
                "cyclic-versions",
                format!(
                    "with {} the version order of {} is cyclic (through {}), so that inference is left out",
                    sources.join(", "),
                    int.show(key),
                    shown.join(", ")
                ),
                Vec::new(),
                json!({"key": int.json(key), "values": vals, "sources": sources}),
            );
        }
    }
    v
}

/// Keys whose version graph (with nil first) is cyclic, with the values on
/// or between cycles. Sorts `edges`.
fn cyclic_keys(edges: &mut [(u32, u32, u32)]) -> Vec<(u32, Vec<u32>)> {
    edges.sort_unstable();
    let mut out = Vec::new();
    for group in edges.chunk_by(|x, y| x.0 == y.0) {
        let key = group[0].0;
        // A value before nil contradicts the initial state outright.
        if let Some(&(_, a, _)) = group.iter().find(|&&(_, a, b)| b == NONE && a != NONE) {
            out.push((key, vec![a]));
            continue;
        }
        let es: Vec<(u32, u32)> = group
            .iter()
            .map(|&(_, a, b)| (a, b))
            .filter(|&(a, b)| a != NONE && a != b)
            .collect();
        let rest = remainder(&es);
        if !rest.is_empty() {
            out.push((key, rest));
        }
    }
    out
}

/// Nodes left after repeatedly removing sources and then sinks (empty iff acyclic).
fn remainder(es: &[(u32, u32)]) -> Vec<u32> {
    let mut adj: FxMap<u32, (Vec<u32>, Vec<u32>)> = FxMap::default(); // node → (preds, succs)
    for &(a, b) in es {
        adj.entry(a).or_default().1.push(b);
        adj.entry(b).or_default().0.push(a);
    }
    let mut alive: FxMap<u32, (u32, u32)> = adj
        .iter()
        .map(|(&n, (p, s))| (n, (p.len() as u32, s.len() as u32)))
        .collect();
    for forward in [true, false] {
        let deg = |d: &(u32, u32)| if forward { d.0 } else { d.1 };
        let mut stack: Vec<u32> = alive
            .iter()
            .filter(|(_, d)| deg(d) == 0)
            .map(|(&n, _)| n)
            .collect();
        while let Some(n) = stack.pop() {
            if alive.remove(&n).is_none() {
                continue;
            }
            let next = if forward { &adj[&n].1 } else { &adj[&n].0 };
            for to in next {
                if let Some(d) = alive.get_mut(to) {
                    let x = if forward { &mut d.0 } else { &mut d.1 };
                    *x -= 1;
                    if *x == 0 {
                        stack.push(*to);
                    }
                }
            }
        }
        // No survivor of the forward pass has an edge to a removed node (a
        // node goes only once all its predecessors have), so out-degrees hold.
    }
    let mut rest: Vec<u32> = alive.into_keys().collect();
    rest.sort_unstable();
    rest
}

/// Per-key sequential consistency: successive txns of one process on a key.
fn sequential(exts: &[Ext], txns: &[Txn]) -> Vec<(u32, u32, u32)> {
    let mut latest: FxMap<(crate::history::Process, u32), u32> = FxMap::default();
    let mut out = Vec::new();
    for e in exts {
        let t = &txns[e.txn as usize];
        if let (Some(&a), Some(b)) = (latest.get(&(t.process, e.key)), first(e)) {
            if a != b {
                out.push((e.key, a, b));
            }
        }
        if t.status == Status::Ok {
            if let Some(a) = last(e) {
                latest.insert((t.process, e.key), a);
            }
        }
    }
    out
}

/// Per-key linearizability: txns on a key ordered in real time.
fn linearizable(exts: &[Ext], txns: &[Txn]) -> Vec<(u32, u32, u32)> {
    let mut by_key: FxMap<u32, Vec<usize>> = FxMap::default();
    for (i, e) in exts.iter().enumerate() {
        if first(e).is_some() {
            by_key.entry(e.key).or_default().push(i);
        }
    }
    let mut out = Vec::new();
    let mut rt = Vec::new();
    for (key, idx) in by_key {
        let sub: Vec<Txn> = idx.iter().map(|&i| txns[exts[i].txn as usize].clone()).collect();
        rt.clear();
        graph::realtime_edges(&sub, &mut rt);
        for r in &rt {
            let (ea, eb) = (&exts[idx[r.from as usize]], &exts[idx[r.to as usize]]);
            if let (Some(a), Some(b)) = (last(ea), first(eb)) {
                if a != b {
                    out.push((key, a, b));
                }
            }
        }
    }
    out
}

/// Adds the ww and rw edges of the inferred version edges. Returns false if capped.
pub fn edges(v: &Versions, exts: &[Ext], writers: &FxMap<u64, u32>, out: &mut Vec<Edge>) -> bool {
    let mut readers: FxMap<u64, Vec<u32>> = FxMap::default();
    for e in exts {
        if let Some(r) = e.read.filter(|&r| r != NONE) {
            readers.entry(pack(e.key, r)).or_default().push(e.txn);
        }
    }
    let mut added = 0usize;
    for &(key, a, b, via) in &v.edges {
        if a == NONE {
            continue; // nil readers already have rw edges to every writer
        }
        let Some(&wb) = writers.get(&pack(key, b)) else {
            continue;
        };
        if let Some(&wa) = writers.get(&pack(key, a)) {
            if wa != wb {
                out.push(Edge::data(wa, wb, WW, key, a, b).via(via));
                added += 1;
            }
        }
        for &r in readers.get(&pack(key, a)).map(Vec::as_slice).unwrap_or(&[]) {
            if r != wb {
                if added >= MAX_VERSION_EDGES {
                    return false;
                }
                out.push(Edge::data(r, wb, RW, key, a, b).via(via));
                added += 1;
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remainder_is_empty_iff_acyclic() {
        assert!(remainder(&[(1, 2), (2, 3), (1, 3)]).is_empty());
        assert_eq!(remainder(&[(1, 2), (2, 1), (2, 3), (0, 1)]), vec![1, 2]);
    }

    #[test]
    fn values_before_nil_are_cyclic() {
        let mut es = vec![(7, 1, NONE), (8, 1, 2)];
        let c = cyclic_keys(&mut es);
        assert_eq!(c, vec![(7, vec![1])]);
    }
}
