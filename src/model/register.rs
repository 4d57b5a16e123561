//! Registers: `register` (read/write) and `cas-register` (read/write/cas).
//! The register starts as `null`. A read's result is the completion's value;
//! an `info` read observed nothing and is dropped. A `cas` that reached the
//! model succeeded (a failed compare is a `fail` op, which constrains nothing).

use super::{drop_unobserved, Interner, Model, ModelError, OpView, Timed};
use crate::util::text::preview;
use serde_json::Value;

/// Characters of a value an explanation quotes.
const SHOWN: usize = 200;

/// A compiled register op over interned values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegOp {
    Read(u32),
    Write(u32),
    Cas(u32, u32),
}

/// Shared by both register models; `cas` decides whether `cas` is allowed.
#[derive(Default, Debug)]
struct Core {
    values: Interner,
}

impl Core {
    fn prepare(
        &mut self,
        op: &OpView<'_>,
        cas: bool,
        name: &'static str,
    ) -> Result<Option<RegOp>, ModelError> {
        match op.f {
            "read" | "r" => Ok(op.result().map(|v| RegOp::Read(self.values.intern(v)))),
            "write" | "w" => Ok(Some(RegOp::Write(self.values.intern(op.arg())))),
            "cas" | "compare-and-set" if cas => match op.input {
                Value::Array(a) if a.len() == 2 => Ok(Some(RegOp::Cas(
                    self.values.intern(&a[0]),
                    self.values.intern(&a[1]),
                ))),
                other => Err(op.bad("a pair [expected, new]", other)),
            },
            _ => Err(op.unknown_f(name)),
        }
    }

    fn step(s: u32, op: &RegOp) -> Option<u32> {
        match *op {
            RegOp::Read(v) => (v == s).then_some(s),
            RegOp::Write(v) => Some(v),
            RegOp::Cas(old, new) => (old == s).then_some(new),
        }
    }

    /// An indeterminate write or cas whose new value no read returned and
    /// no cas expected after the op's invocation can be left out: the op
    /// after it in any linearization would have to be a blind write (see
    /// [`super::reduce`]). Equal values share their observers, so a write
    /// of a value some read returned stays whichever write that read saw;
    /// null (the initial value) is a value like any other.
    fn droppable(ops: &[Timed<'_, RegOp>]) -> Vec<bool> {
        drop_unobserved(
            ops,
            |op| match *op {
                RegOp::Write(v) | RegOp::Cas(_, v) => Some(v),
                RegOp::Read(_) => None,
            },
            |op, see| match *op {
                RegOp::Read(v) | RegOp::Cas(v, _) => see(v),
                RegOp::Write(_) => {}
            },
        )
    }

    fn explain(&self, s: u32, op: &RegOp) -> String {
        let held = preview(self.values.value(s), SHOWN);
        match *op {
            RegOp::Read(v) => format!(
                "the register holds {held}, but the read returned {}",
                preview(self.values.value(v), SHOWN)
            ),
            RegOp::Cas(old, _) => format!(
                "the register holds {held}, but the cas succeeded comparing against {}",
                preview(self.values.value(old), SHOWN)
            ),
            RegOp::Write(_) => "a write is always possible".into(),
        }
    }
}

macro_rules! register_model {
    ($ty:ident, $name:literal, $cas:literal, $doc:literal) => {
        #[doc = $doc]
        #[derive(Default, Debug)]
        pub struct $ty(Core);

        impl Model for $ty {
            type State = u32;
            type Op = RegOp;
            fn name(&self) -> &'static str {
                $name
            }
            fn prepare(&mut self, op: &OpView<'_>) -> Result<Option<RegOp>, ModelError> {
                self.0.prepare(op, $cas, $name)
            }
            fn init(&mut self) -> u32 {
                0
            }
            fn step(&mut self, s: &u32, op: &RegOp) -> Option<u32> {
                Core::step(*s, op)
            }
            fn state_json(&self, s: &u32) -> Value {
                self.0.values.value(*s).clone()
            }
            fn is_pure(&self, op: &RegOp) -> bool {
                matches!(op, RegOp::Read(_))
            }
            fn explain(&self, s: &u32, op: &RegOp) -> String {
                self.0.explain(*s, op)
            }
            fn droppable(&self, ops: &[Timed<'_, RegOp>]) -> Vec<bool> {
                Core::droppable(ops)
            }
        }
    };
}

register_model!(
    Register,
    "register",
    false,
    "A read/write register starting at null."
);
register_model!(
    CasRegister,
    "cas-register",
    true,
    "A read/write/compare-and-set register starting at null."
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Outcome;
    use serde_json::json;

    fn view<'a>(f: &'a str, input: &'a Value, outcome: Outcome<'a>) -> OpView<'a> {
        OpView {
            index: 0,
            key: None,
            f,
            input,
            outcome,
        }
    }

    #[test]
    fn cas_register_steps() {
        let mut m = CasRegister::default();
        let (one, pair, null) = (json!(1), json!([1, 2]), json!(null));
        let w = m
            .prepare(&view("write", &one, Outcome::Ok(&one)))
            .unwrap()
            .unwrap();
        let c = m
            .prepare(&view("cas", &pair, Outcome::Ok(&pair)))
            .unwrap()
            .unwrap();
        let r = m
            .prepare(&view("read", &null, Outcome::Ok(&one)))
            .unwrap()
            .unwrap();
        let info_read = m.prepare(&view("read", &null, Outcome::Info)).unwrap();
        assert!(info_read.is_none());
        let s0 = m.init();
        assert_eq!(m.step(&s0, &r), None);
        assert_eq!(m.step(&s0, &c), None);
        let s1 = m.step(&s0, &w).unwrap();
        assert_eq!(m.step(&s1, &r), Some(s1));
        let s2 = m.step(&s1, &c).unwrap();
        assert_eq!(m.state_json(&s2), json!(2));
        assert!(m.explain(&s2, &r).contains("holds 2"));
    }

    #[test]
    fn plain_register_rejects_cas_and_bad_values() {
        let mut m = Register::default();
        let pair = json!([1, 2]);
        assert!(m.prepare(&view("cas", &pair, Outcome::Info)).is_err());
        let mut c = CasRegister::default();
        let bad = json!(3);
        assert!(matches!(
            c.prepare(&view("cas", &bad, Outcome::Info)),
            Err(ModelError::BadValue { .. })
        ));
    }
}
