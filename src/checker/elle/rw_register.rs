//! Read-write register analysis: wr edges from unique written values, rw edges
//! from reads of the initial nil, and non-cycle anomalies.
//!
//! Every write is assumed unique per key. Without list histories the version
//! order is mostly unknown, so ww edges are not inferred (a documented gap:
//! Elle can add them under extra assumptions, e.g. writes-follow-reads). A
//! read of nil precedes every written version of the key, so it gets an rw
//! edge to every writer of that key; this is sound (any cycle through such an
//! edge implies one through direct anti-dependencies with as many rw edges).

use super::atom::{pack, FxMap, Interner, NONE};
use super::classify::Collector;
use super::graph::{Edge, RW, WR};
use super::txn::{self, MopKind, Status, Txn};
use super::{Analysis, ElleError};
use crate::history::History;
use serde_json::{json, Value};
use std::collections::hash_map::Entry;

/// Beyond this many nil-read rw edges the analysis stops adding them and says
/// it is incomplete (so a clean result becomes `unknown`, never a false valid).
pub const MAX_NIL_EDGES: usize = 20_000_000;

struct Writer {
    txn: u32,
    intermediate: bool,
}

/// Analyses a rw-register history.
pub fn analyze(h: &History, txns: &[Txn]) -> Result<Analysis, ElleError> {
    let mut int = Interner::default();
    let mut found = Collector::default();
    let mut writers: FxMap<u64, Writer> = FxMap::default();
    let mut by_key: FxMap<u32, Vec<(u32, u32)>> = FxMap::default();
    let mut failed: FxMap<u64, u32> = FxMap::default();
    // (reader, key, value or NONE)
    let mut reads: Vec<(u32, u32, u32)> = Vec::new();
    let mut mops = Vec::new();
    // Per txn: key → (last known value, last write kv)
    let mut local: Vec<(u32, Option<u32>, Option<u64>)> = Vec::new();
    let mut dup_writes = 0u64;
    for (t, txn) in txns.iter().enumerate() {
        let t = t as u32;
        txn::mops(h, txn.value_pos, &mut mops)?;
        local.clear();
        for m in &mops {
            let index = h.ops[txn.value_pos].index;
            let bad = |message: String| ElleError::BadTxn { index, message };
            let key = int.intern_value(m.key).ok_or_else(|| bad("bad key".into()))?;
            let slot = match local.iter().position(|s| s.0 == key) {
                Some(i) => i,
                None => {
                    local.push((key, None, None));
                    local.len() - 1
                }
            };
            match m.kind {
                MopKind::Append => return Err(ElleError::MixedModel { index }),
                MopKind::Write => {
                    let v = int.intern_value(m.value).ok_or_else(|| {
                        bad(format!(
                            "written value must be an integer or string, got {}",
                            m.value
                        ))
                    })?;
                    let kv = pack(key, v);
                    local[slot].1 = Some(v);
                    if txn.status == Status::Fail {
                        failed.entry(kv).or_insert(t);
                        continue;
                    }
                    if let Some(prev) = local[slot].2.replace(kv) {
                        if let Some(w) = writers.get_mut(&prev) {
                            if w.txn == t {
                                w.intermediate = true;
                            }
                        }
                    }
                    match writers.entry(kv) {
                        Entry::Occupied(_) => dup_writes += 1,
                        Entry::Vacant(e) => {
                            e.insert(Writer {
                                txn: t,
                                intermediate: false,
                            });
                            by_key.entry(key).or_default().push((t, v));
                        }
                    }
                }
                MopKind::Read => {
                    if txn.status != Status::Ok {
                        continue;
                    }
                    let v = match m.value {
                        Value::Null => NONE,
                        other => int.intern_value(other).ok_or_else(|| {
                            bad(format!(
                                "a register read must return null or a scalar, got {other}"
                            ))
                        })?,
                    };
                    if let Some(expected) = local[slot].1 {
                        if expected != v {
                            let op = txn.op;
                            found.push(
                                "internal",
                                format!(
                                    "op {op} read {} = {} but its own earlier micro-ops imply {}",
                                    int.show(key),
                                    int.show(v),
                                    int.show(expected)
                                ),
                                vec![op],
                                json!({"key": int.json(key), "read": int.json(v), "expected": int.json(expected)}),
                            );
                        }
                    }
                    local[slot].1 = Some(v);
                    reads.push((t, key, v));
                }
            }
        }
    }

    let mut edges = Vec::with_capacity(reads.len());
    let mut complete = true;
    let mut nil_edges = 0usize;
    let mut unknown_values = 0u64;
    for &(r, key, v) in &reads {
        let rop = txns[r as usize].op;
        if v == NONE {
            for &(w, wv) in by_key.get(&key).map(Vec::as_slice).unwrap_or(&[]) {
                if w != r {
                    if nil_edges >= MAX_NIL_EDGES {
                        complete = false;
                        break;
                    }
                    nil_edges += 1;
                    edges.push(Edge::data(r, w, RW, key, NONE, wv));
                }
            }
            continue;
        }
        let kv = pack(key, v);
        match writers.get(&kv) {
            Some(w) if w.txn != r => {
                if w.intermediate {
                    let wop = txns[w.txn as usize].op;
                    found.push(
                        "G1b",
                        format!(
                            "op {rop} read {} = {}, which op {wop} wrote but then overwrote in the same transaction (intermediate read)",
                            int.show(key),
                            int.show(v)
                        ),
                        vec![wop, rop],
                        json!({"key": int.json(key), "value": int.json(v), "writer": wop, "reader": rop}),
                    );
                }
                edges.push(Edge::data(w.txn, r, WR, key, v, NONE));
            }
            Some(_) => {}
            None => match failed.get(&kv) {
                Some(&w) => {
                    let wop = txns[w as usize].op;
                    found.push(
                        "G1a",
                        format!(
                            "op {rop} read {} = {}, written only by op {wop}, a transaction that failed (aborted read)",
                            int.show(key),
                            int.show(v)
                        ),
                        vec![wop, rop],
                        json!({"key": int.json(key), "value": int.json(v), "writer": wop, "reader": rop}),
                    );
                }
                None => unknown_values += 1,
            },
        }
    }
    let mut stats = serde_json::Map::new();
    stats.insert("writes".into(), json!(writers.len()));
    stats.insert("reads".into(), json!(reads.len()));
    stats.insert("duplicate_writes".into(), json!(dup_writes));
    stats.insert("unknown_values".into(), json!(unknown_values));
    stats.insert("nil_read_edges".into(), json!(nil_edges));
    Ok(Analysis {
        edges,
        found,
        interner: int,
        stats,
        complete,
    })
}
