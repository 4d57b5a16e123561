//! Set elements and their ids: integers hashed cheaply, dense integer ranges interned into a
//! plain array, everything else through a hash map.

use crate::checker::span::Span;
use serde_json::{json, Value};
use std::collections::HashMap;

/// An element, hashed cheaply when it is an integer.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) enum Elem {
    Int(i64),
    Other(String),
}

impl Elem {
    pub(super) fn of(v: &Value) -> Elem {
        match v.as_i64() {
            Some(i) => Elem::Int(i),
            None => Elem::Other(v.to_string()),
        }
    }
    pub(super) fn to_json(&self) -> Value {
        match self {
            Elem::Int(i) => json!(i),
            Elem::Other(s) => serde_json::from_str(s).unwrap_or(Value::String(s.clone())),
        }
    }
}

/// Per element: its add (if any). Its reads live in a flat presence array.
#[derive(Default)]
pub(super) struct ElemInfo<'h> {
    pub(super) add: Option<&'h Span<'h>>,
}

/// Element ids: a plain array when the added integers are dense (the common
/// case, and the fast one), with a hash map for everything else.
pub(super) struct Interner {
    min: i64,
    dense: Vec<u32>,
    map: HashMap<Elem, u32>,
}

impl Interner {
    pub(super) fn for_adds(adds: &[&Span]) -> Interner {
        let ints: Option<Vec<i64>> = adds.iter().map(|a| a.value.as_i64()).collect();
        let (min, len) = match ints {
            Some(v) if !v.is_empty() => {
                let (lo, hi) = (
                    v.iter().min().copied().unwrap_or(0),
                    v.iter().max().copied().unwrap_or(0),
                );
                let span = hi.saturating_sub(lo) as u64;
                if span < 4 * v.len() as u64 + 1024 {
                    (lo, span as usize + 1)
                } else {
                    (0, 0)
                }
            }
            _ => (0, 0),
        };
        Interner {
            min,
            dense: vec![u32::MAX; len],
            map: HashMap::new(),
        }
    }

    pub(super) fn slot(&self, v: &Value) -> Option<usize> {
        let i = v.as_i64()?.checked_sub(self.min)?;
        (i >= 0 && (i as usize) < self.dense.len()).then_some(i as usize)
    }

    pub(super) fn get(&self, v: &Value) -> Option<u32> {
        match self.slot(v) {
            Some(i) => Some(self.dense[i]).filter(|&x| x != u32::MAX),
            None => self.map.get(&Elem::of(v)).copied(),
        }
    }

    pub(super) fn insert<'h>(&mut self, v: &Value, elems: &mut Vec<(Elem, ElemInfo<'h>)>) -> u32 {
        let id = elems.len() as u32;
        elems.push((Elem::of(v), ElemInfo::default()));
        match self.slot(v) {
            Some(i) => self.dense[i] = id,
            None => {
                self.map.insert(Elem::of(v), id);
            }
        }
        id
    }
}
