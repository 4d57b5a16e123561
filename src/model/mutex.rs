//! `mutex`: `acquire` succeeds only when free, `release` only when held: what
//! a lease-based leader election must obey (at most one holder at a time).
//! The holder's identity is not tracked: a process that got `info` is replaced
//! by a fresh one, so identities would not line up anyway.

use super::{Model, ModelError, OpView};
use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MutexOp {
    Acquire,
    Release,
}

#[derive(Default, Debug)]
pub struct Mutex;

impl Model for Mutex {
    /// `true` while held.
    type State = bool;
    type Op = MutexOp;

    fn name(&self) -> &'static str {
        "mutex"
    }

    fn prepare(&mut self, op: &OpView<'_>) -> Result<Option<MutexOp>, ModelError> {
        match op.f {
            "acquire" | "lock" => Ok(Some(MutexOp::Acquire)),
            "release" | "unlock" => Ok(Some(MutexOp::Release)),
            _ => Err(op.unknown_f("mutex")),
        }
    }

    fn init(&mut self) -> bool {
        false
    }

    fn step(&mut self, s: &bool, op: &MutexOp) -> Option<bool> {
        match op {
            MutexOp::Acquire => (!*s).then_some(true),
            MutexOp::Release => (*s).then_some(false),
        }
    }

    fn state_json(&self, s: &bool) -> Value {
        Value::String(if *s { "held" } else { "free" }.into())
    }

    fn explain(&self, s: &bool, op: &MutexOp) -> String {
        match op {
            MutexOp::Acquire if *s => "the lock is already held by someone else".into(),
            MutexOp::Release if !*s => "the lock is not held, so nobody can release it".into(),
            _ => "the op is possible".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder() {
        let mut m = Mutex;
        let s = m.init();
        assert_eq!(m.step(&s, &MutexOp::Release), None);
        let s = m.step(&s, &MutexOp::Acquire).unwrap();
        assert_eq!(m.step(&s, &MutexOp::Acquire), None);
        assert_eq!(m.step(&s, &MutexOp::Release), Some(false));
    }
}
