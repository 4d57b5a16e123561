//! `kv`: one string value (the Porcupine kv data's semantics): `get` returns
//! the string, `put` replaces it, `append` concatenates. Values start as "".
//! Under per-key partitioning each key gets its own `Kv`; without it,
//! [`super::Keyed`] holds one `Kv` per key.
//!
//! A state is one `u32`: a canonical node of [`Concats`] (equal ids iff equal
//! strings), so stepping an append never builds a string and cloning,
//! hashing and comparing a state cost one word. Ops hold interned piece ids;
//! a `put` holds the node of its value, computed once at prepare time.

use super::concat::Concats;
use super::{Model, ModelError, OpView, Timed};
use crate::util::text::clip;
use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KvOp {
    /// The piece id of the value the get returned.
    Get(u32),
    /// The node of the value written.
    Put(u32),
    /// The piece id of the appended string.
    Append(u32),
}

/// The kv model for one key.
#[derive(Debug, Default)]
pub struct Kv {
    values: Concats,
}

impl Kv {
    fn piece(&mut self, op: &OpView<'_>, v: &Value) -> Result<u32, ModelError> {
        match v {
            Value::String(s) => Ok(self.values.piece(s)),
            Value::Null => Ok(self.values.piece("")),
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
                Some(v) => {
                    let p = self.piece(op, v)?;
                    self.values.track_prefixes(p);
                    Ok(Some(KvOp::Get(p)))
                }
                None => Ok(None),
            },
            "put" | "write" => {
                let p = self.piece(op, op.arg())?;
                Ok(Some(KvOp::Put(self.values.append(Concats::EMPTY, p))))
            }
            "append" => Ok(Some(KvOp::Append(self.piece(op, op.arg())?))),
            _ => Err(op.unknown_f("kv")),
        }
    }

    fn init(&mut self) -> u32 {
        Concats::EMPTY
    }

    fn step(&mut self, s: &u32, op: &KvOp) -> Option<u32> {
        match *op {
            KvOp::Get(v) => self.values.equals(*s, v).then_some(*s),
            KvOp::Put(n) => Some(n),
            KvOp::Append(p) => Some(self.values.append(*s, p)),
        }
    }

    fn state_json(&self, s: &u32) -> Value {
        Value::String(self.values.text(*s))
    }

    fn is_pure(&self, op: &KvOp) -> bool {
        matches!(op, KvOp::Get(_))
    }

    fn explain(&self, s: &u32, op: &KvOp) -> String {
        match *op {
            KvOp::Get(v) => format!(
                "the value is {:?}, but the get returned {:?}",
                clip(&self.values.text(*s), 200),
                clip(self.values.piece_text(v), 200)
            ),
            _ => "a put or append is always possible".into(),
        }
    }

    fn has_dead(&self) -> bool {
        true
    }

    /// Appends only extend the value: a get whose result does not start with
    /// the current value can never succeed without a put.
    fn dead(&self, s: &u32, op: &KvOp) -> bool {
        match *op {
            KvOp::Get(v) => !self.values.may_prefix(*s, v),
            _ => false,
        }
    }

    fn resets(&self, op: &KvOp) -> bool {
        matches!(op, KvOp::Put(_))
    }

    fn revives(&self, reset: &KvOp, op: &KvOp) -> bool {
        match (*reset, *op) {
            (KvOp::Put(n), KvOp::Get(v)) => self.values.may_prefix(n, v),
            _ => true,
        }
    }

    fn heap_bytes(&self) -> usize {
        self.values.heap_bytes()
    }

    /// An indeterminate put of S is seen only by a get that starts with S
    /// (appends after it only extend S, until the next put); an
    /// indeterminate append of p only by a get that contains p. One that no
    /// get returning after its invocation could show is left out (see
    /// [`super::reduce`]). The string comparisons are capped; past the cap
    /// ops are kept, which is always sound.
    fn droppable(&self, ops: &[Timed<'_, KvOp>]) -> Vec<bool> {
        const MAX_WORK: usize = 50_000_000;
        let gets: Vec<(&str, usize)> = ops
            .iter()
            .filter_map(|t| match *t.op {
                KvOp::Get(v) => Some((self.values.piece_text(v), t.latest())),
                _ => None,
            })
            .collect();
        let mut work = 0usize;
        ops.iter()
            .map(|t| {
                if t.ret.is_some() || work > MAX_WORK {
                    return false;
                }
                let later = gets.iter().filter(|g| g.1 >= t.call).map(|g| g.0);
                match *t.op {
                    KvOp::Put(n) => {
                        let s = self.values.text(n);
                        !later.into_iter().any(|g| {
                            work += s.len().min(g.len()) + 1;
                            g.starts_with(s.as_str())
                        })
                    }
                    KvOp::Append(p) => {
                        let p = self.values.piece_text(p);
                        !later.into_iter().any(|g| {
                            work += g.len() + 1;
                            g.contains(p)
                        })
                    }
                    KvOp::Get(_) => false,
                }
            })
            .collect()
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
