//! Read-write register analysis: wr edges from unique written values, rw edges
//! from reads of the initial nil, ww/rw edges from the inferred version orders
//! of [`version`], and non-cycle anomalies (internal, G1a, G1b, lost-update).
//!
//! Every write is assumed unique per key. Without list histories the version
//! order is mostly unknown. A read of nil precedes every written version of
//! the key, so it gets an rw edge to every writer of that key; this is sound
//! (any cycle through such an edge implies one through direct
//! anti-dependencies with as many rw edges).

pub mod version;

use super::atom::{pack, FxMap, Interner, NONE};
use super::classify::Collector;
use super::graph::{Edge, Via, RW, WR};
use super::txn::{self, MopKind, Status, Txn};
use super::{Analysis, ElleError, ElleOptions};
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

/// A transaction's external view of one key: its first read (before any
/// write of the key; `ok` txns only, [`NONE`] for nil) and its last write.
#[derive(Clone, Copy, Debug)]
pub struct Ext {
    pub txn: u32,
    pub key: u32,
    pub read: Option<u32>,
    pub write: Option<u32>,
}

#[derive(Default)]
struct Scan {
    int: Interner,
    found: Collector,
    writers: FxMap<u64, Writer>,
    by_key: FxMap<u32, Vec<(u32, u32)>>,
    failed: FxMap<u64, u32>,
    /// (reader, key, value or NONE)
    reads: Vec<(u32, u32, u32)>,
    exts: Vec<Ext>,
    dup_writes: u64,
}

/// Analyses a rw-register history.
pub fn analyze(h: &History, txns: &[Txn], o: &ElleOptions) -> Result<Analysis, ElleError> {
    let mut s = scan(h, txns)?;
    let mut edges = Vec::with_capacity(s.reads.len());
    let (nil_edges, mut complete) = nil_and_wr_edges(&mut s, txns, &mut edges);
    let v = version::infer(&s.exts, txns, o, &mut s.found, &s.int);
    complete &= version::edges(&v, &s.exts, &s.writers_by_kv(), &mut edges);
    lost_updates(&mut s, txns);
    let mut stats = serde_json::Map::new();
    stats.insert("writes".into(), json!(s.writers.len()));
    stats.insert("reads".into(), json!(s.reads.len()));
    stats.insert("duplicate_writes".into(), json!(s.dup_writes));
    stats.insert("nil_read_edges".into(), json!(nil_edges));
    stats.insert("version_order_sources".into(), json!(v.sources));
    stats.insert("inferred_version_edges".into(), json!(v.count()));
    Ok(Analysis {
        edges,
        found: s.found,
        interner: s.int,
        stats,
        complete,
    })
}

impl Scan {
    /// (key, value) → writer txn.
    fn writers_by_kv(&self) -> FxMap<u64, u32> {
        self.writers.iter().map(|(&kv, w)| (kv, w.txn)).collect()
    }
}

/// Per txn and key: (key, last known value, last write kv, first read, last write).
type Local = (u32, Option<u32>, Option<u64>, Option<u32>, Option<u32>);

fn scan(h: &History, txns: &[Txn]) -> Result<Scan, ElleError> {
    let mut s = Scan::default();
    let mut mops = Vec::new();
    let mut local: Vec<Local> = Vec::new();
    for (t, txn) in txns.iter().enumerate() {
        let t = t as u32;
        txn::mops(h, txn.value_pos, &mut mops)?;
        local.clear();
        for m in &mops {
            let index = h.ops[txn.value_pos].index;
            let bad = |message: String| ElleError::BadTxn { index, message };
            let key = s.int.intern_value(m.key).ok_or_else(|| bad("bad key".into()))?;
            let slot = match local.iter().position(|l| l.0 == key) {
                Some(i) => i,
                None => {
                    local.push((key, None, None, None, None));
                    local.len() - 1
                }
            };
            match m.kind {
                MopKind::Append => return Err(ElleError::MixedModel { index }),
                MopKind::Write => {
                    let v = s.int.intern_value(m.value).ok_or_else(|| {
                        bad(format!(
                            "written value must be an integer or string, got {}",
                            m.value
                        ))
                    })?;
                    s.write(t, txn.status, &mut local[slot], v);
                }
                MopKind::Read if txn.status == Status::Ok => {
                    let v = match m.value {
                        Value::Null => NONE,
                        other => s.int.intern_value(other).ok_or_else(|| {
                            bad(format!(
                                "a register read must return null or a scalar, got {other}"
                            ))
                        })?,
                    };
                    s.read(t, txn.op, &mut local[slot], v);
                }
                MopKind::Read => {}
            }
        }
        if txn.status != Status::Fail {
            s.exts.extend(local.iter().map(|l| Ext {
                txn: t,
                key: l.0,
                read: l.3,
                write: l.4,
            }));
        }
    }
    Ok(s)
}

impl Scan {
    fn write(&mut self, t: u32, status: Status, l: &mut Local, v: u32) {
        let kv = pack(l.0, v);
        l.1 = Some(v);
        if status == Status::Fail {
            self.failed.entry(kv).or_insert(t);
            return;
        }
        l.4 = Some(v);
        if let Some(prev) = l.2.replace(kv) {
            if let Some(w) = self.writers.get_mut(&prev) {
                if w.txn == t {
                    w.intermediate = true;
                }
            }
        }
        match self.writers.entry(kv) {
            Entry::Occupied(_) => self.dup_writes += 1,
            Entry::Vacant(e) => {
                e.insert(Writer {
                    txn: t,
                    intermediate: false,
                });
                self.by_key.entry(l.0).or_default().push((t, v));
            }
        }
    }

    fn read(&mut self, t: u32, op: u64, l: &mut Local, v: u32) {
        let key = l.0;
        if let Some(expected) = l.1 {
            if expected != v {
                let int = &self.int;
                self.found.push(
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
        } else if l.4.is_none() && l.3.is_none() {
            l.3 = Some(v);
        }
        l.1 = Some(v);
        self.reads.push((t, key, v));
    }
}

/// wr edges, rw edges from nil reads, G1a and G1b. Returns (nil edges, complete).
fn nil_and_wr_edges(s: &mut Scan, txns: &[Txn], edges: &mut Vec<Edge>) -> (usize, bool) {
    let mut complete = true;
    let mut nil_edges = 0usize;
    for &(r, key, v) in &s.reads {
        let rop = txns[r as usize].op;
        let int = &s.int;
        if v == NONE {
            for &(w, wv) in s.by_key.get(&key).map(Vec::as_slice).unwrap_or(&[]) {
                if w != r {
                    if nil_edges >= MAX_NIL_EDGES {
                        complete = false;
                        break;
                    }
                    nil_edges += 1;
                    edges.push(Edge::data(r, w, RW, key, NONE, wv).via(Via::Initial));
                }
            }
            continue;
        }
        let kv = pack(key, v);
        match s.writers.get(&kv) {
            Some(w) if w.txn != r => {
                if w.intermediate {
                    let wop = txns[w.txn as usize].op;
                    s.found.push(
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
            None => {
                if let Some(&w) = s.failed.get(&kv) {
                    let wop = txns[w as usize].op;
                    s.found.push(
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
            }
        }
    }
    (nil_edges, complete)
}

/// Lost updates: `ok` txns that read the same value of a key and then wrote it.
fn lost_updates(s: &mut Scan, txns: &[Txn]) {
    let mut groups: FxMap<(u32, u32), Vec<u32>> = FxMap::default();
    for e in &s.exts {
        if let (Some(r), Some(_), Status::Ok) = (e.read, e.write, txns[e.txn as usize].status) {
            groups.entry((e.key, r)).or_default().push(e.txn);
        }
    }
    let mut cases: Vec<((u32, u32), Vec<u32>)> = groups.into_iter().filter(|(_, ts)| ts.len() > 1).collect();
    cases.sort_unstable();
    for ((key, v), ts) in cases {
        let int = &s.int;
        let ops: Vec<u64> = ts.iter().map(|&t| txns[t as usize].op).collect();
        let names: Vec<String> = ops.iter().map(|o| format!("op {o}")).collect();
        s.found.push(
            "lost-update",
            format!(
                "{} all read {} = {} and then wrote it; serially each would have read the other's write (lost update)",
                names.join(", "),
                int.show(key),
                int.show(v)
            ),
            ops.clone(),
            json!({"key": int.json(key), "value": int.json(v), "txns": ops}),
        );
    }
}
