//! `set`: a grow-only set. `add v` inserts; a read (`read` or `read-all`)
//! returns every element. State: the sorted interned element ids.

use super::{Interner, Model, ModelError, OpView};
use serde_json::Value;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SetOp {
    Add(u32),
    /// Sorted, deduplicated element ids.
    Read(Vec<u32>),
}

#[derive(Default, Debug)]
pub struct Set {
    values: Interner,
}

impl Model for Set {
    type State = Vec<u32>;
    type Op = SetOp;

    fn name(&self) -> &'static str {
        "set"
    }

    fn prepare(&mut self, op: &OpView<'_>) -> Result<Option<SetOp>, ModelError> {
        match op.f {
            "add" => Ok(Some(SetOp::Add(self.values.intern(op.arg())))),
            "read" | "read-all" => match op.result() {
                None => Ok(None),
                Some(Value::Array(items)) => {
                    let mut ids: Vec<u32> = items.iter().map(|v| self.values.intern(v)).collect();
                    ids.sort_unstable();
                    ids.dedup();
                    Ok(Some(SetOp::Read(ids)))
                }
                Some(other) => Err(op.bad("a list of elements", other)),
            },
            _ => Err(op.unknown_f("set")),
        }
    }

    fn init(&mut self) -> Vec<u32> {
        Vec::new()
    }

    fn step(&mut self, s: &Vec<u32>, op: &SetOp) -> Option<Vec<u32>> {
        match op {
            SetOp::Add(v) => match s.binary_search(v) {
                Ok(_) => Some(s.clone()),
                Err(at) => {
                    let mut n = s.clone();
                    n.insert(at, *v);
                    Some(n)
                }
            },
            SetOp::Read(r) => (r == s).then(|| s.clone()),
        }
    }

    fn state_json(&self, s: &Vec<u32>) -> Value {
        Value::Array(s.iter().map(|&i| self.values.value(i).clone()).collect())
    }

    fn is_pure(&self, op: &SetOp) -> bool {
        matches!(op, SetOp::Read(_))
    }

    fn explain(&self, s: &Vec<u32>, op: &SetOp) -> String {
        match op {
            SetOp::Read(r) => format!(
                "the set is {}, but the read returned {}",
                self.state_json(s),
                self.state_json(r)
            ),
            SetOp::Add(_) => "an add is always possible".into(),
        }
    }

    fn state_heap_bytes(&self, s: &Vec<u32>) -> usize {
        s.capacity() * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Outcome;
    use serde_json::json;

    #[test]
    fn add_and_read() {
        let mut m = Set::default();
        let (one, two, null, r) = (json!(1), json!(2), json!(null), json!([2, 1]));
        let mk = |f, input, outcome| OpView {
            index: 0,
            key: None,
            f,
            input,
            outcome,
        };
        let a1 = m.prepare(&mk("add", &one, Outcome::Ok(&one))).unwrap().unwrap();
        let a2 = m.prepare(&mk("add", &two, Outcome::Info)).unwrap().unwrap();
        let rd = m.prepare(&mk("read", &null, Outcome::Ok(&r))).unwrap().unwrap();
        let s0 = m.init();
        let s1 = m.step(&s0, &a1).unwrap();
        assert_eq!(m.step(&s1, &rd), None);
        let s2 = m.step(&s1, &a2).unwrap();
        assert!(m.step(&s2, &rd).is_some());
        assert_eq!(m.step(&s2, &a1), Some(s2.clone()));
    }
}
