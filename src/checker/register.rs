//! Register histories seen per key as writes and reads, with the one order
//! both `stale` and `session` rely on.
//!
//! Writes' values are unique per key, so a read names the write it saw. The
//! only order used is the *certain* one: write `a` precedes write `b` when `a`
//! completed (ok) before `b` was invoked. Every linearization respects it, so
//! a flag raised from it is never a false alarm. The initial value (`null`,
//! when no write wrote `null`) precedes every write.

use super::span::{Outcome, Span};
use serde_json::Value;
use std::collections::HashMap;

/// One write (or `cas`, which writes its new value) to a key.
#[derive(Clone, Debug)]
pub struct Write {
    pub start: u64,
    /// `u64::MAX` unless acknowledged ok.
    pub end: u64,
    pub process: u64,
    /// Position in the span list.
    pub span: usize,
}

/// The writes of one key, sorted by start, with a suffix minimum of ends so
/// "the earliest-acknowledged write invoked after time t" is a binary search.
#[derive(Default)]
pub struct KeyWrites {
    pub writes: Vec<Write>,
    by_value: HashMap<ValKey, usize>,
    suffix_min_end: Vec<(u64, usize)>,
}

/// What a read's value resolves to.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Source {
    /// The initial value: precedes every write.
    Initial,
    /// The write at this position in [`KeyWrites::writes`].
    Write(usize),
    /// No write wrote this value.
    Unwritten,
}

impl KeyWrites {
    fn finish(&mut self) {
        let mut order: Vec<usize> = (0..self.writes.len()).collect();
        order.sort_by_key(|&i| (self.writes[i].start, i));
        let old = std::mem::take(&mut self.writes);
        let mut remap = vec![0; old.len()];
        for (new, &i) in order.iter().enumerate() {
            remap[i] = new;
        }
        self.writes = order.iter().map(|&i| old[i].clone()).collect();
        for v in self.by_value.values_mut() {
            *v = remap[*v];
        }
        let mut m = (u64::MAX, usize::MAX);
        self.suffix_min_end = vec![m; self.writes.len() + 1];
        for i in (0..self.writes.len()).rev() {
            if self.writes[i].end < m.0 {
                m = (self.writes[i].end, i);
            }
            self.suffix_min_end[i] = m;
        }
    }

    /// Resolves a read value.
    pub fn source(&self, v: &Value) -> Source {
        match self.by_value.get(&ValKey::of(v)) {
            Some(&i) => Source::Write(i),
            None if v.is_null() => Source::Initial,
            None => Source::Unwritten,
        }
    }

    /// When the write behind `s` was certainly done: 0 for the initial value.
    pub fn end_of(&self, s: Source) -> Option<u64> {
        match s {
            Source::Initial => Some(0),
            Source::Write(i) => Some(self.writes[i].end),
            Source::Unwritten => None,
        }
    }

    /// The write acknowledged earliest among those invoked strictly after `t`
    /// (for the initial value, `t` is "before everything"): `(end, position)`.
    pub fn first_acked_after(&self, s: Source) -> Option<(u64, usize)> {
        let i = match s {
            Source::Initial => 0,
            Source::Write(w) => {
                let t = self.writes[w].end;
                if t == u64::MAX {
                    return None;
                }
                self.writes.partition_point(|x| x.start <= t)
            }
            Source::Unwritten => return None,
        };
        let m = self.suffix_min_end[i];
        (m.0 != u64::MAX).then_some(m)
    }

    /// True when `a` certainly precedes `b` (both resolved, `a != b`).
    pub fn precedes(&self, a: Source, b: Source) -> bool {
        match (a, b) {
            (Source::Initial, Source::Write(_)) => true,
            (Source::Write(x), Source::Write(y)) => self.writes[x].end < self.writes[y].start,
            _ => false,
        }
    }
}

/// A hashable form of a value that costs no allocation for integers.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum ValKey {
    Int(i64),
    Other(String),
}

impl ValKey {
    fn of(v: &Value) -> ValKey {
        match v.as_i64() {
            Some(i) => ValKey::Int(i),
            None => ValKey::Other(value_key(v)),
        }
    }
}

/// A hashable form of a value.
pub fn value_key(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The value an op writes: `write`'s value, `cas`'s new value; `None` for others.
pub fn written_value<'a>(s: &Span<'a>) -> Option<&'a Value> {
    match s.f {
        "write" => Some(s.value),
        "cas" => s.value.as_array().filter(|a| a.len() == 2).map(|a| &a[1]),
        _ => None,
    }
}

/// Index of every key's writes. Failed writes are left out (they did not happen).
pub fn index_writes(spans: &[Span]) -> HashMap<String, KeyWrites> {
    let mut m: HashMap<String, KeyWrites> = HashMap::new();
    for (i, s) in spans.iter().enumerate() {
        if s.outcome == Outcome::Fail {
            continue;
        }
        let Some(v) = written_value(s) else { continue };
        let kw = m.entry(s.key_str()).or_default();
        kw.by_value.insert(ValKey::of(v), kw.writes.len());
        kw.writes.push(Write {
            start: s.start,
            end: if s.outcome == Outcome::Ok { s.end } else { u64::MAX },
            process: s.process,
            span: i,
        });
    }
    for kw in m.values_mut() {
        kw.finish();
    }
    m
}
