//! Version orders of list-append keys and the ww/wr/rw edges they give, plus
//! the anomalies of single reads against them (G1a, G1b).
//!
//! The version order of a key is its longest read; consecutive elements give
//! ww, a read's last foreign element gives wr from its appender, and the
//! element after a read's end gives rw to its appender. An append that no read
//! observed still happened after every observed element (reads are prefixes of
//! the key's one list, and the longest read lacks it), so it is placed there,
//! its order among other unobserved appends unknown: the appender of the last
//! observed element → ww → its txn, and every reader of the whole observed
//! list → rw → its txn (readers of shorter prefixes reach it through the
//! observed ww chain). Only `ok` and `info` appends are placed: an `info` txn
//! gets edges in but none out unless some read observed one of its appends, so
//! a write that may never have happened closes no cycle by itself.

use super::super::atom::{pack, FxMap, NONE};
use super::super::graph::{Edge, Via, RW, WR, WW};
use super::super::txn::Txn;
use super::scan::{show_list, Scan};
use serde_json::json;

/// Beyond this many edges from unobserved appends the analysis stops adding
/// them and says it is incomplete (a clean result is then `unknown`).
pub const MAX_UNOBSERVED_EDGES: usize = 20_000_000;

/// Edges and what it took to build them.
pub struct Built {
    pub edges: Vec<Edge>,
    pub unobserved_appends: u64,
    pub unobserved_edges: u64,
    pub unknown_elements: u64,
    pub complete: bool,
}

/// Builds every data edge and marks observed elements; pushes G1a and G1b
/// anomalies into `s.found`.
pub fn build(s: &mut Scan, txns: &[Txn]) -> Built {
    let mut edges: Vec<Edge> = Vec::with_capacity(s.reads.len() * 2 + s.writers.len());
    let mut first_failed: FxMap<u32, usize> = FxMap::default();
    let mut unknown_elements = 0u64;
    for (&key, (l, _)) in &s.longest {
        let mut prev: Option<(u32, u32)> = None;
        for (i, &v) in l.iter().enumerate() {
            match s.writers.get_mut(&pack(key, v)) {
                Some(w) => {
                    w.observed = true;
                    if let Some((pt, pv)) = prev {
                        if pt != w.txn {
                            edges.push(Edge::data(pt, w.txn, WW, key, pv, v));
                        }
                    }
                    prev = Some((w.txn, v));
                }
                None if s.failed.contains_key(&pack(key, v)) => {
                    first_failed.entry(key).or_insert(i);
                }
                None => unknown_elements += 1,
            }
        }
    }
    for r in s.reads.iter().filter(|r| r.ok) {
        let l = &s.longest[&r.key].0;
        let len = r.len as usize;
        let reader_op = txns[r.txn as usize].op;
        if let Some(&ff) = first_failed.get(&r.key) {
            if ff < len {
                let v = l[ff];
                let wop = txns[s.failed[&pack(r.key, v)] as usize].op;
                s.found.push(
                    "G1a",
                    format!(
                        "op {reader_op} read {} = {}, which includes {} appended by op {wop}, a transaction that failed (aborted read)",
                        s.int.show(r.key),
                        show_list(&s.int, &l[..len]),
                        s.int.show(v)
                    ),
                    vec![wop, reader_op],
                    json!({"key": s.int.json(r.key), "element": s.int.json(v), "writer": wop, "reader": reader_op}),
                );
            }
        }
        let mut j = len;
        while j > 0 && s.writers.get(&pack(r.key, l[j - 1])).map(|w| w.txn) == Some(r.txn) {
            j -= 1;
        }
        if j > 0 {
            if let Some(w) = s.writers.get(&pack(r.key, l[j - 1])) {
                if w.intermediate {
                    let wop = txns[w.txn as usize].op;
                    s.found.push(
                        "G1b",
                        format!(
                            "op {reader_op} read {} = {}, ending in {} which op {wop} appended but then appended to again in the same transaction (intermediate read)",
                            s.int.show(r.key),
                            show_list(&s.int, &l[..len]),
                            s.int.show(l[j - 1])
                        ),
                        vec![wop, reader_op],
                        json!({"key": s.int.json(r.key), "element": s.int.json(l[j - 1]), "writer": wop, "reader": reader_op}),
                    );
                }
                edges.push(Edge::data(w.txn, r.txn, WR, r.key, l[j - 1], NONE));
            }
        }
        if len < l.len() {
            if let Some(w) = s.writers.get(&pack(r.key, l[len])) {
                if w.txn != r.txn {
                    let a = if len > 0 { l[len - 1] } else { NONE };
                    edges.push(Edge::data(r.txn, w.txn, RW, r.key, a, l[len]));
                }
            }
        }
    }
    let mut b = Built {
        edges,
        unobserved_appends: 0,
        unobserved_edges: 0,
        unknown_elements,
        complete: true,
    };
    place_unobserved(s, &mut b);
    b
}

/// Adds the edges of appends no read observed (see the module docs).
fn place_unobserved(s: &Scan, b: &mut Built) {
    // Key → (value, txn) of each unobserved append, one per (key, txn).
    let mut unobserved: FxMap<u32, Vec<(u32, u32)>> = FxMap::default();
    for (&kv, w) in &s.writers {
        if !w.observed {
            b.unobserved_appends += 1;
            let (key, v) = ((kv >> 32) as u32, kv as u32);
            let list = unobserved.entry(key).or_default();
            if !list.iter().any(|&(_, t)| t == w.txn) {
                list.push((v, w.txn));
            }
        }
    }
    if unobserved.is_empty() {
        return;
    }
    // Readers of each such key's whole observed list.
    let mut readers: FxMap<u32, Vec<u32>> = FxMap::default();
    for r in s.reads.iter().filter(|r| r.ok && unobserved.contains_key(&r.key)) {
        if s.longest[&r.key].0.len() == r.len as usize {
            let rs = readers.entry(r.key).or_default();
            if rs.last() != Some(&r.txn) {
                rs.push(r.txn);
            }
        }
    }
    let mut keys: Vec<u32> = unobserved.keys().copied().collect();
    keys.sort_unstable();
    for key in keys {
        let mut list = unobserved.remove(&key).unwrap_or_default();
        list.sort_unstable_by_key(|&(_, t)| t);
        let last = s.longest.get(&key).and_then(|(l, _)| l.last().copied());
        let last_writer = last.and_then(|v| s.writers.get(&pack(key, v))).map(|w| w.txn);
        let rs = readers.get(&key).map(Vec::as_slice).unwrap_or(&[]);
        for &(v, t) in &list {
            if b.unobserved_edges as usize + rs.len() + 1 > MAX_UNOBSERVED_EDGES {
                b.complete = false;
                return;
            }
            if let (Some(w), Some(a)) = (last_writer, last) {
                if w != t {
                    b.edges.push(Edge::data(w, t, WW, key, a, v).via(Via::Unobserved));
                    b.unobserved_edges += 1;
                }
            }
            for &r in rs.iter().filter(|&&r| r != t) {
                b.edges
                    .push(Edge::data(r, t, RW, key, last.unwrap_or(NONE), v).via(Via::Unobserved));
                b.unobserved_edges += 1;
            }
        }
    }
}
