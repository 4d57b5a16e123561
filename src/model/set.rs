//! `set`: a grow-only set. `add v` inserts; a read (`read` or `read-all`)
//! returns every element.
//!
//! Elements get dense slots as adds are compiled, and reads are compiled
//! after every add of the partition ([`Model::prepare_late`]), so a state is
//! a bitset over the added elements: a step clones `adds / 8` bytes, never
//! the elements themselves, and a read of a million elements costs one
//! bitset however many of them no add wrote. A read holding an element that
//! no add wrote can never succeed; it keeps the count of such elements and
//! one of them, for the explanation.

use super::{drop_unobserved, Interner, Model, ModelError, OpView, Timed};
use crate::util::text::preview;
use fixedbitset::FixedBitSet;
use serde_json::Value;

/// Elements an explanation lists per kind of difference.
const SHOWN: usize = 5;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SetOp {
    /// The element's slot.
    Add(u32),
    Read(Box<ReadSet>),
}

/// What one read returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadSet {
    /// Slots of the added elements it holds.
    elems: FixedBitSet,
    /// Elements it holds that no add wrote (0 for a read that may succeed).
    foreign: usize,
    /// One of those, for the explanation.
    example: Option<Value>,
}

#[derive(Default, Debug)]
pub struct Set {
    /// Added elements; ids are slots (id 0, null, is a slot only if added).
    values: Interner,
    null_added: bool,
}

impl Set {
    fn slot_of(&self, v: &Value) -> Option<u32> {
        self.values.get(v).filter(|&id| id != 0 || self.null_added)
    }

    fn read(&self, items: &[Value]) -> ReadSet {
        let mut elems = FixedBitSet::with_capacity(self.values.len());
        let (mut foreign, mut example) = (0, None);
        for v in items {
            match self.slot_of(v) {
                Some(slot) => elems.insert(slot as usize),
                None => {
                    foreign += 1;
                    example.get_or_insert_with(|| v.clone());
                }
            }
        }
        ReadSet {
            elems,
            foreign,
            example,
        }
    }

    /// Up to [`SHOWN`] elements of `slots`, as text.
    fn some(&self, slots: impl Iterator<Item = usize>) -> String {
        let shown: Vec<String> = slots
            .take(SHOWN)
            .map(|i| preview(self.values.value(i as u32), 60))
            .collect();
        shown.join(", ")
    }
}

impl Model for Set {
    type State = FixedBitSet;
    type Op = SetOp;

    fn name(&self) -> &'static str {
        "set"
    }

    fn prepare(&mut self, op: &OpView<'_>) -> Result<Option<SetOp>, ModelError> {
        match op.f {
            "add" => {
                let v = op.arg();
                self.null_added |= v.is_null();
                Ok(Some(SetOp::Add(self.values.intern(v))))
            }
            "read" | "read-all" => match op.result() {
                None => Ok(None),
                Some(Value::Array(items)) => Ok(Some(SetOp::Read(Box::new(self.read(items))))),
                Some(other) => Err(op.bad("a list of elements", other)),
            },
            _ => Err(op.unknown_f("set")),
        }
    }

    fn prepare_late(&self, op: &OpView<'_>) -> bool {
        matches!(op.f, "read" | "read-all")
    }

    fn init(&mut self) -> FixedBitSet {
        FixedBitSet::with_capacity(self.values.len())
    }

    fn step(&mut self, s: &FixedBitSet, op: &SetOp) -> Option<FixedBitSet> {
        match op {
            SetOp::Add(v) => {
                let mut n = s.clone();
                n.insert(*v as usize);
                Some(n)
            }
            SetOp::Read(r) => (r.foreign == 0 && r.elems == *s).then(|| s.clone()),
        }
    }

    fn state_json(&self, s: &FixedBitSet) -> Value {
        Value::Array(s.ones().map(|i| self.values.value(i as u32).clone()).collect())
    }

    fn is_pure(&self, op: &SetOp) -> bool {
        matches!(op, SetOp::Read(_))
    }

    fn explain(&self, s: &FixedBitSet, op: &SetOp) -> String {
        let SetOp::Read(r) = op else {
            return "an add is always possible".into();
        };
        let mut parts = Vec::new();
        let lacks = s.difference(&r.elems).count();
        if lacks > 0 {
            let some = self.some(s.difference(&r.elems));
            parts.push(format!("it lacks {lacks} of them ({some})"));
        }
        let extra = r.elems.difference(s).count();
        if extra > 0 {
            let some = self.some(r.elems.difference(s));
            parts.push(format!(
                "it holds {extra} added element(s) not yet in the set ({some})"
            ));
        }
        if let Some(x) = &r.example {
            parts.push(format!(
                "it holds {} element(s) no add ever wrote (such as {})",
                r.foreign,
                preview(x, 60)
            ));
        }
        format!(
            "the set holds {} element(s), but the read returned {}: {}",
            s.count_ones(..),
            r.elems.count_ones(..) + r.foreign,
            parts.join("; ")
        )
    }

    /// An indeterminate add of `v` is seen only by reads that contain `v`
    /// (the set only grows); one no such read returning after its
    /// invocation could show is left out (see [`super::reduce`]). Equal
    /// elements share a slot, so every add of an element some read holds stays.
    fn droppable(&self, ops: &[Timed<'_, SetOp>]) -> Vec<bool> {
        drop_unobserved(
            ops,
            |op| match op {
                SetOp::Add(v) => Some(*v),
                SetOp::Read(_) => None,
            },
            |op, see| {
                if let SetOp::Read(r) = op {
                    r.elems.ones().for_each(|i| see(i as u32));
                }
            },
        )
    }

    fn state_heap_bytes(&self, s: &FixedBitSet) -> usize {
        std::mem::size_of_val(s.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Outcome;
    use serde_json::json;

    fn mk<'a>(f: &'a str, input: &'a Value, outcome: Outcome<'a>) -> OpView<'a> {
        OpView {
            index: 0,
            key: None,
            f,
            input,
            outcome,
        }
    }

    #[test]
    fn add_and_read() {
        let mut m = Set::default();
        let (one, two, null, r) = (json!(1), json!(2), json!(null), json!([2, 1]));
        let a1 = m.prepare(&mk("add", &one, Outcome::Ok(&one))).unwrap().unwrap();
        let a2 = m.prepare(&mk("add", &two, Outcome::Info)).unwrap().unwrap();
        let rd = m.prepare(&mk("read", &null, Outcome::Ok(&r))).unwrap().unwrap();
        let s0 = m.init();
        let s1 = m.step(&s0, &a1).unwrap();
        assert_eq!(m.step(&s1, &rd), None);
        assert!(m.explain(&s1, &rd).contains("not yet in the set (2)"));
        let s2 = m.step(&s1, &a2).unwrap();
        assert!(m.step(&s2, &rd).is_some());
        assert_eq!(m.step(&s2, &a1), Some(s2.clone()));
        assert_eq!(m.state_json(&s2), json!([1, 2]));
    }

    #[test]
    fn elements_no_add_wrote_make_a_read_impossible() {
        let mut m = Set::default();
        let (one, null) = (json!(1), json!(null));
        let big = json!((0..1000).collect::<Vec<_>>());
        let a1 = m.prepare(&mk("add", &one, Outcome::Ok(&one))).unwrap().unwrap();
        let rd = m.prepare(&mk("read", &null, Outcome::Ok(&big))).unwrap().unwrap();
        let nul = m
            .prepare(&mk("read", &null, Outcome::Ok(&json!([null]))))
            .unwrap()
            .unwrap();
        let s = m.init();
        let s = m.step(&s, &a1).unwrap();
        assert_eq!(m.step(&s, &rd), None);
        let why = m.explain(&s, &rd);
        assert!(
            why.contains("999 element(s) no add ever wrote (such as 0)"),
            "{why}"
        );
        // null was never added: a read of [null] cannot succeed either.
        let s0 = m.init();
        assert_eq!(m.step(&s0, &nul), None);
    }
}
