//! `kv`: one string value (the Porcupine kv data's semantics): `get` returns
//! the string, `put` replaces it, `append` concatenates. Values start as "".
//! Under per-key partitioning each key gets its own `Kv`; without it,
//! [`super::Keyed`] holds one `Kv` per key.
//!
//! States are interned string ids (0 = ""), so a state is one `u32`; an append
//! builds its result string once and memoises (state, piece) -> state.

use super::{Model, ModelError, OpView};
use crate::checker::linearizable::FxBuild;
use serde_json::Value;
use std::collections::HashMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KvOp {
    Get(u32),
    Put(u32),
    Append(u32),
}

/// The kv model for one key.
#[derive(Debug)]
pub struct Kv {
    strings: Vec<String>,
    ids: HashMap<String, u32, FxBuild>,
    appended: HashMap<(u32, u32), u32, FxBuild>,
}

impl Default for Kv {
    fn default() -> Self {
        let mut ids = HashMap::default();
        ids.insert(String::new(), 0);
        Kv {
            strings: vec![String::new()],
            ids,
            appended: HashMap::default(),
        }
    }
}

impl Kv {
    fn intern_str(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = self.strings.len() as u32;
        self.strings.push(s.to_string());
        self.ids.insert(s.to_string(), id);
        id
    }

    fn intern(&mut self, op: &OpView<'_>, v: &Value) -> Result<u32, ModelError> {
        match v {
            Value::String(s) => Ok(self.intern_str(s)),
            Value::Null => Ok(0),
            other => Err(op.bad("a string", other)),
        }
    }
}

impl Model for Kv {
    type State = u32;
    type Op = KvOp;

    fn name(&self) -> &'static str {
        "kv"
    }

    fn prepare(&mut self, op: &OpView<'_>) -> Result<Option<KvOp>, ModelError> {
        match op.f {
            "get" | "read" => match op.result() {
                Some(v) => Ok(Some(KvOp::Get(self.intern(op, v)?))),
                None => Ok(None),
            },
            "put" | "write" => Ok(Some(KvOp::Put(self.intern(op, op.arg())?))),
            "append" => Ok(Some(KvOp::Append(self.intern(op, op.arg())?))),
            _ => Err(op.unknown_f("kv")),
        }
    }

    fn init(&mut self) -> u32 {
        0
    }

    fn step(&mut self, s: &u32, op: &KvOp) -> Option<u32> {
        match *op {
            KvOp::Get(v) => (v == *s).then_some(*s),
            KvOp::Put(v) => Some(v),
            KvOp::Append(p) => {
                if let Some(&r) = self.appended.get(&(*s, p)) {
                    return Some(r);
                }
                let joined = format!("{}{}", self.strings[*s as usize], self.strings[p as usize]);
                let r = self.intern_str(&joined);
                self.appended.insert((*s, p), r);
                Some(r)
            }
        }
    }

    fn state_json(&self, s: &u32) -> Value {
        Value::String(self.strings[*s as usize].clone())
    }

    fn is_pure(&self, op: &KvOp) -> bool {
        matches!(op, KvOp::Get(_))
    }

    fn explain(&self, s: &u32, op: &KvOp) -> String {
        match *op {
            KvOp::Get(v) => format!(
                "the value is {:?}, but the get returned {:?}",
                self.strings[*s as usize], self.strings[v as usize]
            ),
            _ => "a put or append is always possible".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Outcome;
    use serde_json::json;

    #[test]
    fn append_then_get() {
        let mut m = Kv::default();
        let (a, b, ab, null) = (json!("a"), json!("b"), json!("ab"), json!(null));
        let mk = |f, input, outcome| OpView {
            index: 0,
            key: Some("k"),
            f,
            input,
            outcome,
        };
        let pa = m.prepare(&mk("append", &a, Outcome::Ok(&null))).unwrap().unwrap();
        let pb = m.prepare(&mk("append", &b, Outcome::Info)).unwrap().unwrap();
        let g = m.prepare(&mk("get", &null, Outcome::Ok(&ab))).unwrap().unwrap();
        assert!(m.prepare(&mk("get", &null, Outcome::Info)).unwrap().is_none());
        let s0 = m.init();
        assert_eq!(m.step(&s0, &g), None);
        let s1 = m.step(&s0, &pa).unwrap();
        let s2 = m.step(&s1, &pb).unwrap();
        assert_eq!(m.step(&s2, &g), Some(s2));
        assert_eq!(m.state_json(&s2), json!("ab"));
        // Memoised append gives the same id.
        assert_eq!(m.step(&s1, &pb), Some(s2));
    }
}
