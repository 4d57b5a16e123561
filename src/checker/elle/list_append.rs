//! List-append analysis: version orders, non-cycle anomalies and ww/wr/rw edges.
//!
//! Every append is assumed unique per key (as Elle assumes). The version order
//! of a key is its longest observed read; every other read must be a prefix of
//! it, else `incompatible-order`. Edges: consecutive elements of the order give
//! ww; a read's last (foreign) element gives wr from its appender; the element
//! after a read's end gives rw to its appender. Reads of `info`/`fail` txns are
//! unknown and ignored; their appends still count as possible writers (info)
//! or as writes that must never be seen (fail: G1a).

use super::atom::{pack, FxMap, Interner, NONE};
use super::classify::Collector;
use super::graph::{Edge, RW, WR, WW};
use super::txn::{self, MopKind, Status, Txn};
use super::{Analysis, ElleError};
use crate::history::History;
use serde_json::{json, Value};
use std::collections::hash_map::Entry;

struct Writer {
    txn: u32,
    /// The same txn appended to this key again afterwards.
    intermediate: bool,
}

struct ReadRec {
    txn: u32,
    key: u32,
    len: u32,
    /// Compatible with the version order (edges come only from these).
    ok: bool,
}

/// Per-txn state of one key, for internal consistency.
struct Local {
    key: u32,
    /// The list as of the txn's last read of the key.
    full: Option<Vec<u32>>,
    /// Appends since that read (or since the start).
    suffix: Vec<u32>,
    last_append: Option<u64>,
}

fn list_json(int: &Interner, l: &[u32]) -> Value {
    Value::Array(l.iter().map(|&v| int.json(v)).collect())
}

fn show_list(int: &Interner, l: &[u32]) -> String {
    let parts: Vec<String> = l.iter().map(|&v| int.show(v)).collect();
    format!("[{}]", parts.join(" "))
}

fn has_dup(l: &[u32]) -> Option<u32> {
    if l.len() <= 16 {
        for i in 0..l.len() {
            if l[i + 1..].contains(&l[i]) {
                return Some(l[i]);
            }
        }
        return None;
    }
    let mut s = l.to_vec();
    s.sort_unstable();
    s.windows(2).find(|w| w[0] == w[1]).map(|w| w[0])
}

/// Analyses a list-append history.
pub fn analyze(h: &History, txns: &[Txn]) -> Result<Analysis, ElleError> {
    let mut int = Interner::default();
    let mut found = Collector::default();
    let mut writers: FxMap<u64, Writer> = FxMap::default();
    let mut failed: FxMap<u64, u32> = FxMap::default();
    let mut longest: FxMap<u32, (Vec<u32>, u32)> = FxMap::default();
    let mut reads: Vec<ReadRec> = Vec::new();
    let mut mops = Vec::new();
    let mut buf: Vec<u32> = Vec::new();
    let mut local: Vec<Local> = Vec::new();
    let mut dup_appends = 0u64;

    for (t, txn) in txns.iter().enumerate() {
        let t = t as u32;
        txn::mops(h, txn.value_pos, &mut mops)?;
        local.clear();
        for m in &mops {
            let bad = |message: String| ElleError::BadTxn {
                index: h.ops[txn.value_pos].index,
                message,
            };
            let key = int.intern_value(m.key).ok_or_else(|| bad("bad key".into()))?;
            let slot = match local.iter().position(|s| s.key == key) {
                Some(i) => i,
                None => {
                    local.push(Local {
                        key,
                        full: None,
                        suffix: Vec::new(),
                        last_append: None,
                    });
                    local.len() - 1
                }
            };
            let slot = &mut local[slot];
            match m.kind {
                MopKind::Write => {
                    return Err(ElleError::MixedModel {
                        index: h.ops[txn.value_pos].index,
                    })
                }
                MopKind::Append => {
                    let v = int.intern_value(m.value).ok_or_else(|| {
                        bad(format!(
                            "append value must be an integer or string, got {}",
                            m.value
                        ))
                    })?;
                    let kv = pack(key, v);
                    slot.suffix.push(v);
                    if txn.status == Status::Fail {
                        failed.entry(kv).or_insert(t);
                        continue;
                    }
                    if let Some(prev) = slot.last_append {
                        if let Some(w) = writers.get_mut(&prev) {
                            if w.txn == t {
                                w.intermediate = true;
                            }
                        }
                    }
                    slot.last_append = Some(kv);
                    match writers.entry(kv) {
                        Entry::Occupied(_) => dup_appends += 1,
                        Entry::Vacant(e) => {
                            e.insert(Writer {
                                txn: t,
                                intermediate: false,
                            });
                        }
                    }
                }
                MopKind::Read => {
                    if txn.status != Status::Ok {
                        continue;
                    }
                    buf.clear();
                    match m.value {
                        Value::Null => {}
                        Value::Array(a) => {
                            for x in a {
                                buf.push(int.intern_value(x).ok_or_else(|| {
                                    bad(format!("read of {} holds a non-scalar element {x}", m.key))
                                })?);
                            }
                        }
                        other => {
                            return Err(bad(format!(
                                "a list-append read must return null or a list, got {other}"
                            )))
                        }
                    }
                    let op = txn.op;
                    let k = int.show(key);
                    if let Some(d) = has_dup(&buf) {
                        found.push(
                            "duplicate-elements",
                            format!(
                                "op {op} read {k} = {} which holds {} more than once",
                                show_list(&int, &buf),
                                int.show(d)
                            ),
                            vec![op],
                            json!({"key": int.json(key), "value": list_json(&int, &buf), "duplicate": int.json(d)}),
                        );
                    }
                    let consistent = match &slot.full {
                        Some(full) => {
                            buf.len() == full.len() + slot.suffix.len()
                                && buf[..full.len()] == full[..]
                                && buf[full.len()..] == slot.suffix[..]
                        }
                        None => buf.ends_with(&slot.suffix),
                    };
                    if !consistent {
                        let expected = match &slot.full {
                            Some(full) => show_list(&int, &[&full[..], &slot.suffix[..]].concat()),
                            None => format!("a list ending in {}", show_list(&int, &slot.suffix)),
                        };
                        found.push(
                            "internal",
                            format!(
                                "op {op} read {k} = {} but its own earlier micro-ops imply {expected}",
                                show_list(&int, &buf)
                            ),
                            vec![op],
                            json!({"key": int.json(key), "read": list_json(&int, &buf), "expected": expected}),
                        );
                    }
                    slot.full = Some(buf.clone());
                    slot.suffix.clear();
                    let ok = match longest.get_mut(&key) {
                        None => {
                            longest.insert(key, (buf.clone(), t));
                            true
                        }
                        Some((l, src)) => {
                            let n = l.len().min(buf.len());
                            if l[..n] != buf[..n] {
                                let other = txns[*src as usize].op;
                                found.push(
                                    "incompatible-order",
                                    format!(
                                        "op {op} read {k} = {} but op {other} read {k} = {}; neither is a prefix of the other",
                                        show_list(&int, &buf),
                                        show_list(&int, l)
                                    ),
                                    vec![other, op],
                                    json!({"key": int.json(key), "reads": [
                                        {"op": other, "value": list_json(&int, l)},
                                        {"op": op, "value": list_json(&int, &buf)}]}),
                                );
                                false
                            } else {
                                if buf.len() > l.len() {
                                    l.clone_from(&buf);
                                    *src = t;
                                }
                                true
                            }
                        }
                    };
                    reads.push(ReadRec {
                        txn: t,
                        key,
                        len: buf.len() as u32,
                        ok,
                    });
                }
            }
        }
    }

    let mut edges: Vec<Edge> = Vec::with_capacity(reads.len() * 2 + writers.len());
    let mut first_failed: FxMap<u32, usize> = FxMap::default();
    let mut unknown_elements = 0u64;
    for (&key, (l, _)) in &longest {
        let mut prev: Option<(u32, u32)> = None;
        for (i, &v) in l.iter().enumerate() {
            match writers.get(&pack(key, v)) {
                Some(w) => {
                    if let Some((pt, pv)) = prev {
                        if pt != w.txn {
                            edges.push(Edge::data(pt, w.txn, WW, key, pv, v));
                        }
                    }
                    prev = Some((w.txn, v));
                }
                None if failed.contains_key(&pack(key, v)) => {
                    first_failed.entry(key).or_insert(i);
                }
                None => unknown_elements += 1,
            }
        }
    }
    for r in reads.iter().filter(|r| r.ok) {
        let l = &longest[&r.key].0;
        let len = r.len as usize;
        let reader_op = txns[r.txn as usize].op;
        if let Some(&ff) = first_failed.get(&r.key) {
            if ff < len {
                let v = l[ff];
                let w = failed[&pack(r.key, v)];
                let wop = txns[w as usize].op;
                found.push(
                    "G1a",
                    format!(
                        "op {reader_op} read {} = {}, which includes {} appended by op {wop}, a transaction that failed (aborted read)",
                        int.show(r.key),
                        show_list(&int, &l[..len]),
                        int.show(v)
                    ),
                    vec![wop, reader_op],
                    json!({"key": int.json(r.key), "element": int.json(v), "writer": wop, "reader": reader_op}),
                );
            }
        }
        let mut j = len;
        while j > 0 && writers.get(&pack(r.key, l[j - 1])).map(|w| w.txn) == Some(r.txn) {
            j -= 1;
        }
        if j > 0 {
            if let Some(w) = writers.get(&pack(r.key, l[j - 1])) {
                if w.intermediate {
                    let wop = txns[w.txn as usize].op;
                    found.push(
                        "G1b",
                        format!(
                            "op {reader_op} read {} = {}, ending in {} which op {wop} appended but then appended to again in the same transaction (intermediate read)",
                            int.show(r.key),
                            show_list(&int, &l[..len]),
                            int.show(l[j - 1])
                        ),
                        vec![wop, reader_op],
                        json!({"key": int.json(r.key), "element": int.json(l[j - 1]), "writer": wop, "reader": reader_op}),
                    );
                }
                edges.push(Edge::data(w.txn, r.txn, WR, r.key, l[j - 1], NONE));
            }
        }
        if len < l.len() {
            if let Some(w) = writers.get(&pack(r.key, l[len])) {
                if w.txn != r.txn {
                    let a = if len > 0 { l[len - 1] } else { NONE };
                    edges.push(Edge::data(r.txn, w.txn, RW, r.key, a, l[len]));
                }
            }
        }
    }
    let mut stats = serde_json::Map::new();
    stats.insert("appends".into(), json!(writers.len()));
    stats.insert("reads".into(), json!(reads.len()));
    stats.insert("keys".into(), json!(longest.len()));
    stats.insert("duplicate_appends".into(), json!(dup_appends));
    stats.insert("unknown_elements".into(), json!(unknown_elements));
    Ok(Analysis {
        edges,
        found,
        interner: int,
        stats,
        complete: true,
    })
}
