//! The client side of a target: perform one operation, report how it ended.
//!
//! Invariant: `invoke` never panics and always returns. A timeout or a lost
//! connection means the op may or may not have taken effect: `info`. Only a
//! definite refusal (e.g. a compare that did not match, a leader that said no
//! before doing anything) is `fail`.

use crate::history::{Op, OpType};
use serde_json::Value;
use std::time::Duration;

/// How an invoked op ended. The runner turns it into the completion op.
#[derive(Clone, Debug, PartialEq)]
pub struct Completion {
    /// `Ok`, `Fail` or `Info` (never `Invoke`).
    pub ty: OpType,
    /// The value as the op completed (a read's result, a txn with reads filled in).
    pub value: Value,
    /// The node that served the op, when known.
    pub node: Option<String>,
    pub error: Option<String>,
}

impl Completion {
    pub fn ok(value: Value) -> Completion {
        Completion {
            ty: OpType::Ok,
            value,
            node: None,
            error: None,
        }
    }
    pub fn fail(value: Value, error: impl Into<String>) -> Completion {
        Completion {
            ty: OpType::Fail,
            value,
            node: None,
            error: Some(error.into()),
        }
    }
    pub fn info(value: Value, error: impl Into<String>) -> Completion {
        Completion {
            ty: OpType::Info,
            value,
            node: None,
            error: Some(error.into()),
        }
    }
    pub fn on(mut self, node: impl Into<String>) -> Completion {
        self.node = Some(node.into());
        self
    }
}

/// One logical client process's connection to the system under test.
pub trait Client: Send {
    /// Performs `op` (an invocation), waiting at most `timeout`.
    fn invoke(&mut self, op: &Op, timeout: Duration) -> Completion;
}

/// The no-op client: every op is `info` ("not sent"). Useful in tests of the runner's plumbing.
pub struct NoopClient;

impl Client for NoopClient {
    fn invoke(&mut self, op: &Op, _timeout: Duration) -> Completion {
        Completion::info(op.value.clone(), "noop client sends nothing")
    }
}
