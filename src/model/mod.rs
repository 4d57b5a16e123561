//! Sequential specifications for the linearizability checker.
//!
//! Each model compiles a completed operation once into a compact `Op`
//! (interned values, no JSON) and steps a small `State` that is
//! `Clone + Eq + Hash`, because the checker memoises (linearized set, state)
//! pairs and clones states on every step. A model instance belongs to one
//! partition (one key), so it may keep interning tables and mutate them while
//! stepping (`&mut self`).

mod concat;
mod infer;
mod keyed;
mod kv;
mod mutex;
mod queue;
mod reduce;
mod register;
mod set;
mod strings;
mod value;

pub use concat::Concats;
pub use infer::{infer, ModelKind};
pub use keyed::Keyed;
pub use kv::Kv;
pub use mutex::Mutex;
pub use queue::FifoQueue;
pub use reduce::{drop_unobserved, Timed};
pub use register::{CasRegister, Register};
pub use set::Set;
pub use strings::Strings;
pub use value::Interner;

use crate::util::text::{clip, preview, QUOTE_CHARS};
use serde_json::Value;
use std::fmt::Debug;
use std::hash::Hash;
use thiserror::Error;

/// A malformed operation for the chosen model (names the op and the field).
#[derive(Debug, Error, Clone, PartialEq)]
pub enum ModelError {
    #[error("op {index}: model `{model}` does not know f `{f}`")]
    UnknownF {
        index: u64,
        model: &'static str,
        f: String,
    },
    #[error("op {index}: f `{f}` needs {expected} as value, got {got}")]
    BadValue {
        index: u64,
        f: String,
        expected: &'static str,
        got: String,
    },
    #[error("unknown model `{0}` (known: register, cas-register, kv, set, fifo-queue, mutex)")]
    UnknownModel(String),
    #[error("cannot infer a model from the f names {0:?}; pass --model")]
    CannotInfer(Vec<String>),
}

impl ModelError {
    /// The history index of the op to blame, when one is.
    pub fn index(&self) -> Option<u64> {
        match self {
            ModelError::UnknownF { index, .. } | ModelError::BadValue { index, .. } => Some(*index),
            ModelError::UnknownModel(_) | ModelError::CannotInfer(_) => None,
        }
    }
}

/// How an operation ended, as far as the model cares. `fail` ops never reach a
/// model: they constrain nothing.
#[derive(Clone, Copy, Debug)]
pub enum Outcome<'a> {
    /// Took effect; the completion's value (a read's result, say).
    Ok(&'a Value),
    /// May or may not have taken effect; no result is known.
    Info,
}

/// One completed operation as a model sees it.
#[derive(Clone, Copy, Debug)]
pub struct OpView<'a> {
    /// History index of the invocation (for error messages).
    pub index: u64,
    /// The op's key as a grouping string, if any.
    pub key: Option<&'a str>,
    pub f: &'a str,
    /// The invocation's value (a write's argument, a cas pair, ...).
    pub input: &'a Value,
    pub outcome: Outcome<'a>,
}

impl OpView<'_> {
    /// The value that carries the op's result: the completion's on `ok`.
    pub fn result(&self) -> Option<&Value> {
        match self.outcome {
            Outcome::Ok(v) => Some(v),
            Outcome::Info => None,
        }
    }

    /// The argument: the invocation's value, or the completion's when the
    /// invocation left it null (some importers only fill the completion).
    pub fn arg(&self) -> &Value {
        match (self.input, self.outcome) {
            (Value::Null, Outcome::Ok(v)) => v,
            (v, _) => v,
        }
    }

    pub(crate) fn bad(&self, expected: &'static str, got: &Value) -> ModelError {
        ModelError::BadValue {
            index: self.index,
            f: clip(self.f, QUOTE_CHARS),
            expected,
            got: preview(got, QUOTE_CHARS),
        }
    }

    pub(crate) fn unknown_f(&self, model: &'static str) -> ModelError {
        ModelError::UnknownF {
            index: self.index,
            model,
            f: clip(self.f, QUOTE_CHARS),
        }
    }
}

/// A sequential specification.
pub trait Model: Default + Send {
    type State: Clone + Eq + Hash + Debug + Send;
    type Op: Clone + Debug + Send;

    /// The model's name (`cas-register`, ...).
    fn name(&self) -> &'static str;
    /// Compiles one op; `Ok(None)` when it constrains nothing (e.g. an `info` read).
    fn prepare(&mut self, op: &OpView<'_>) -> Result<Option<Self::Op>, ModelError>;
    /// The initial state. Called after every op of the partition was prepared.
    fn init(&mut self) -> Self::State;
    /// The state after `op`, or `None` when `op`'s result is impossible in `s`.
    fn step(&mut self, s: &Self::State, op: &Self::Op) -> Option<Self::State>;
    /// The state for people (witnesses).
    fn state_json(&self, s: &Self::State) -> Value;
    /// Why `op` cannot take effect in `s`, in words.
    fn explain(&self, s: &Self::State, op: &Self::Op) -> String {
        format!("in state {} the op {:?} is impossible", self.state_json(s), op)
    }
    /// True when `op` never changes any state (it either fails or leaves the
    /// state as it is: a read). The search places such ops greedily.
    fn is_pure(&self, _op: &Self::Op) -> bool {
        false
    }
    /// True when the model answers [`Model::dead`] (lets the search skip
    /// the check for models that never do).
    fn has_dead(&self) -> bool {
        false
    }
    /// True when `op` fails in `s` and in every state reachable from `s` by
    /// ops that are not resets ([`Model::resets`]). Must be exact in that
    /// direction (never true for an op that could still succeed); false is
    /// always safe. The search uses it to abandon a state early: an `ok` op
    /// that is dead there can never be placed.
    fn dead(&self, _s: &Self::State, _op: &Self::Op) -> bool {
        false
    }
    /// True when `op` can move the state out of the monotone order that
    /// [`Model::dead`] relies on (a kv `put`). Must be true whenever in doubt.
    fn resets(&self, _op: &Self::Op) -> bool {
        true
    }
    /// Whether the reset `reset` could lead to a state where `op`, dead
    /// before, succeeds. True is always safe.
    fn revives(&self, _reset: &Self::Op, _op: &Self::Op) -> bool {
        true
    }
    /// Ops to compile after every other op of the partition (a set's reads,
    /// so they can be resolved against every added element). Default: none.
    fn prepare_late(&self, _op: &OpView<'_>) -> bool {
        false
    }
    /// Which of a partition's compiled ops the search may leave out without
    /// changing the verdict: indeterminate ops whose effect no other op can
    /// see (see [`reduce`]'s proof). Only indeterminate ops (`ret == None`)
    /// may be marked. The default keeps everything, which is always sound.
    fn droppable(&self, ops: &[Timed<'_, Self::Op>]) -> Vec<bool> {
        vec![false; ops.len()]
    }
    /// Heap bytes a state holds beyond `size_of::<State>()` (memory budget).
    fn state_heap_bytes(&self, _s: &Self::State) -> usize {
        0
    }
    /// Heap bytes of the model's own tables, which may grow while stepping
    /// (a kv model's value table grows with the states it reaches); the
    /// memory budget counts them next to the checker's cache.
    fn heap_bytes(&self) -> usize {
        0
    }
}
