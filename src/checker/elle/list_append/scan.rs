//! One pass over the transactions of a list-append history: who appended
//! what, the longest read of each key, every read, and the anomalies visible
//! inside one transaction or one read (internal, future-read,
//! duplicate-elements, incompatible-order).
//!
//! Every append is assumed unique per key (as Elle assumes). Reads of
//! `info`/`fail` txns are unknown and ignored; their appends still count as
//! possible writers (info) or as writes that must never be seen (fail).

use super::super::atom::{pack, FxMap, Interner};
use super::super::classify::Collector;
use super::super::txn::{self, Mop, MopKind, Status, Txn};
use super::super::ElleError;
use crate::history::History;
use serde_json::{json, Value};
use std::collections::hash_map::Entry;

/// The txn that appended an element.
pub struct Writer {
    pub txn: u32,
    /// The same txn appended to this key again afterwards.
    pub intermediate: bool,
    /// Some read holds the element (set by [`super::edges::build`]).
    pub observed: bool,
}

/// One read of an `ok` txn.
pub struct ReadRec {
    pub txn: u32,
    pub key: u32,
    pub len: u32,
    /// A prefix of the key's longest read (edges come only from these).
    pub ok: bool,
}

/// Per-txn state of one key, for internal consistency.
struct Local {
    key: u32,
    /// The list as of the txn's last read of the key.
    full: Option<Vec<u32>>,
    /// Appends since that read (or since the start).
    suffix: Vec<u32>,
    last_append: Option<u64>,
    /// Length of the txn's first read of the key, when it came before any append.
    first_read: Option<u32>,
    appended: bool,
}

/// Everything the later stages need.
#[derive(Default)]
pub struct Scan {
    pub int: Interner,
    pub found: Collector,
    /// (key, element) → its appender (`ok` or `info` txns).
    pub writers: FxMap<u64, Writer>,
    /// (key, element) → a failed txn that appended it.
    pub failed: FxMap<u64, u32>,
    /// Key → (longest read, the txn that read it).
    pub longest: FxMap<u32, (Vec<u32>, u32)>,
    pub reads: Vec<ReadRec>,
    /// (key, length read, txn) of `ok` txns that read a key and then appended to it.
    pub read_then_append: Vec<(u32, u32, u32)>,
    pub dup_appends: u64,
}

pub fn list_json(int: &Interner, l: &[u32]) -> Value {
    Value::Array(l.iter().map(|&v| int.json(v)).collect())
}

pub fn show_list(int: &Interner, l: &[u32]) -> String {
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

/// Scans every transaction.
pub fn scan(h: &History, txns: &[Txn]) -> Result<Scan, ElleError> {
    let mut s = Scan::default();
    let mut mops = Vec::new();
    let mut local: Vec<Local> = Vec::new();
    let mut buf: Vec<u32> = Vec::new();
    for (t, tx) in txns.iter().enumerate() {
        txn::mops(h, tx.value_pos, &mut mops)?;
        local.clear();
        let index = h.ops[tx.value_pos].index;
        for m in &mops {
            let bad = |message: String| ElleError::BadTxn { index, message };
            let key = s.int.intern_value(m.key).ok_or_else(|| bad("bad key".into()))?;
            let slot = match local.iter().position(|l| l.key == key) {
                Some(i) => i,
                None => {
                    local.push(Local {
                        key,
                        full: None,
                        suffix: Vec::new(),
                        last_append: None,
                        first_read: None,
                        appended: false,
                    });
                    local.len() - 1
                }
            };
            let slot = &mut local[slot];
            match m.kind {
                MopKind::Write => return Err(ElleError::MixedModel { index }),
                MopKind::Append => s.append(t as u32, tx, m, key, slot, index)?,
                MopKind::Read if tx.status == Status::Ok => {
                    read_list(&mut s.int, m, &mut buf).map_err(bad)?;
                    s.read(t as u32, tx.op, key, slot, &buf, txns);
                }
                MopKind::Read => {}
            }
        }
        if tx.status == Status::Ok {
            for l in &local {
                if let (Some(len), true) = (l.first_read, l.appended) {
                    s.read_then_append.push((l.key, len, t as u32));
                }
            }
        }
    }
    Ok(s)
}

/// Interns a read's list into `buf`.
fn read_list(int: &mut Interner, m: &Mop, buf: &mut Vec<u32>) -> Result<(), String> {
    buf.clear();
    match m.value {
        Value::Null => Ok(()),
        Value::Array(a) => {
            for x in a {
                buf.push(
                    int.intern_value(x)
                        .ok_or_else(|| format!("read of {} holds a non-scalar element {x}", m.key))?,
                );
            }
            Ok(())
        }
        other => Err(format!(
            "a list-append read must return null or a list, got {other}"
        )),
    }
}

impl Scan {
    fn append(
        &mut self,
        t: u32,
        tx: &Txn,
        m: &Mop,
        key: u32,
        slot: &mut Local,
        index: u64,
    ) -> Result<(), ElleError> {
        let v = self.int.intern_value(m.value).ok_or_else(|| ElleError::BadTxn {
            index,
            message: format!("append value must be an integer or string, got {}", m.value),
        })?;
        let kv = pack(key, v);
        let own = self.writers.get(&kv).is_some_and(|w| w.txn == t);
        if tx.status == Status::Ok && !own && slot.full.as_ref().is_some_and(|f| f.contains(&v)) {
            let op = tx.op;
            let k = self.int.show(key);
            self.found.push(
                "future-read",
                format!(
                    "op {op} read {k} holding {} before appending {} itself (it observed its own later write)",
                    self.int.show(v),
                    self.int.show(v)
                ),
                vec![op],
                json!({"key": self.int.json(key), "element": self.int.json(v)}),
            );
        }
        slot.suffix.push(v);
        slot.appended = true;
        if tx.status == Status::Fail {
            self.failed.entry(kv).or_insert(t);
            return Ok(());
        }
        if let Some(prev) = slot.last_append {
            if let Some(w) = self.writers.get_mut(&prev) {
                if w.txn == t {
                    w.intermediate = true;
                }
            }
        }
        slot.last_append = Some(kv);
        match self.writers.entry(kv) {
            Entry::Occupied(_) => self.dup_appends += 1,
            Entry::Vacant(e) => {
                e.insert(Writer {
                    txn: t,
                    intermediate: false,
                    observed: false,
                });
            }
        }
        Ok(())
    }

    fn read(&mut self, t: u32, op: u64, key: u32, slot: &mut Local, buf: &[u32], txns: &[Txn]) {
        let int = &self.int;
        let k = int.show(key);
        if let Some(d) = has_dup(buf) {
            self.found.push(
                "duplicate-elements",
                format!(
                    "op {op} read {k} = {} which holds {} more than once",
                    show_list(int, buf),
                    int.show(d)
                ),
                vec![op],
                json!({"key": int.json(key), "value": list_json(int, buf), "duplicate": int.json(d)}),
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
                Some(full) => show_list(int, &[&full[..], &slot.suffix[..]].concat()),
                None => format!("a list ending in {}", show_list(int, &slot.suffix)),
            };
            self.found.push(
                "internal",
                format!(
                    "op {op} read {k} = {} but its own earlier micro-ops imply {expected}",
                    show_list(int, buf)
                ),
                vec![op],
                json!({"key": int.json(key), "read": list_json(int, buf), "expected": expected}),
            );
        }
        let first = slot.full.is_none() && !slot.appended;
        slot.full = Some(buf.to_vec());
        slot.suffix.clear();
        let ok = self.order(t, op, key, buf, txns);
        if first && ok {
            slot.first_read = Some(buf.len() as u32);
        }
        self.reads.push(ReadRec {
            txn: t,
            key,
            len: buf.len() as u32,
            ok,
        });
    }

    /// Checks a read against the longest read of its key so far (each must be
    /// a prefix of the other) and keeps the longer.
    fn order(&mut self, t: u32, op: u64, key: u32, buf: &[u32], txns: &[Txn]) -> bool {
        let (l, src) = match self.longest.get_mut(&key) {
            None => {
                self.longest.insert(key, (buf.to_vec(), t));
                return true;
            }
            Some(x) => x,
        };
        let n = l.len().min(buf.len());
        if l[..n] == buf[..n] {
            if buf.len() > l.len() {
                *l = buf.to_vec();
                *src = t;
            }
            return true;
        }
        let int = &self.int;
        let k = int.show(key);
        let other = txns[*src as usize].op;
        self.found.push(
            "incompatible-order",
            format!(
                "op {op} read {k} = {} but op {other} read {k} = {}; neither is a prefix of the other",
                show_list(int, buf),
                show_list(int, l)
            ),
            vec![other, op],
            json!({"key": int.json(key), "reads": [
                {"op": other, "value": list_json(int, l)},
                {"op": op, "value": list_json(int, buf)}]}),
        );
        false
    }
}
