//! Pairing invocations with their completions.
//!
//! Invariants enforced: a client process has at most one invocation in flight;
//! every completion follows an invocation of the same process. An invocation
//! with no completion by the end of the history is pending, which every
//! checker treats as `info` (it may or may not have taken effect).
//! Nemesis ops are paired the same way when they come in invoke/info pairs,
//! but a lone nemesis `info` is allowed (faults are often logged as one line).

use super::{History, OpType, Process};
use crate::util::text::{clip, QUOTE_CHARS};
use std::collections::HashMap;
use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum PairingError {
    #[error("op {index} (process {process}, {ty}): a completion without an invocation in flight")]
    CompletionWithoutInvoke {
        index: u64,
        process: Process,
        ty: OpType,
    },
    #[error("op {index} (process {process}): a second invocation while op {previous} is still in flight")]
    DoubleInvoke {
        index: u64,
        process: Process,
        previous: u64,
    },
    #[error("op {index} (process {process}): completion's f `{got}` differs from its invocation's `{expected}` (op {invoke})")]
    MismatchedF {
        index: u64,
        process: Process,
        invoke: u64,
        expected: String,
        got: String,
    },
}

impl PairingError {
    /// The history index of the op to blame.
    pub fn index(&self) -> u64 {
        match self {
            PairingError::CompletionWithoutInvoke { index, .. }
            | PairingError::DoubleInvoke { index, .. }
            | PairingError::MismatchedF { index, .. } => *index,
        }
    }
}

/// For each op position, the position of its partner (`None` for a pending
/// invocation or a lone nemesis op).
#[derive(Clone, Debug, Default)]
pub struct Pairing {
    partner: Vec<Option<usize>>,
}

impl Pairing {
    /// The completion of the invocation at position `i`, or the invocation of the completion at `i`.
    pub fn partner(&self, i: usize) -> Option<usize> {
        self.partner.get(i).copied().flatten()
    }

    /// Positions of invocations whose completion never came.
    pub fn pending<'a>(&'a self, h: &'a History) -> impl Iterator<Item = usize> + 'a {
        h.ops
            .iter()
            .enumerate()
            .filter(move |(i, o)| o.ty == OpType::Invoke && self.partner(*i).is_none())
            .map(|(i, _)| i)
    }
}

/// Pairs every invocation with its completion, validating as it goes.
pub fn pair(h: &History) -> Result<Pairing, PairingError> {
    let mut partner = vec![None; h.ops.len()];
    let mut in_flight: HashMap<Process, usize> = HashMap::new();
    for (i, op) in h.ops.iter().enumerate() {
        match op.ty {
            OpType::Invoke => {
                if let Some(&prev) = in_flight.get(&op.process) {
                    return Err(PairingError::DoubleInvoke {
                        index: op.index,
                        process: op.process,
                        previous: h.ops[prev].index,
                    });
                }
                in_flight.insert(op.process, i);
            }
            ty => match in_flight.remove(&op.process) {
                Some(inv) => {
                    if h.ops[inv].f != op.f && !op.process.is_nemesis() {
                        return Err(PairingError::MismatchedF {
                            index: op.index,
                            process: op.process,
                            invoke: h.ops[inv].index,
                            expected: clip(&h.ops[inv].f, QUOTE_CHARS),
                            got: clip(&op.f, QUOTE_CHARS),
                        });
                    }
                    partner[inv] = Some(i);
                    partner[i] = Some(inv);
                }
                None if op.process.is_nemesis() => {}
                None => {
                    return Err(PairingError::CompletionWithoutInvoke {
                        index: op.index,
                        process: op.process,
                        ty,
                    })
                }
            },
        }
    }
    Ok(Pairing { partner })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Op;
    use serde_json::json;

    fn op(ty: OpType, p: u64, f: &str) -> Op {
        Op::new(ty, Process::Client(p), f, json!(null))
    }

    #[test]
    fn pairs_and_pending() {
        let mut h = History::new(vec![
            op(OpType::Invoke, 1, "read"),
            op(OpType::Invoke, 2, "write"),
            op(OpType::Ok, 1, "read"),
        ]);
        h.reindex();
        let p = pair(&h).unwrap();
        assert_eq!(p.partner(0), Some(2));
        assert_eq!(p.partner(2), Some(0));
        assert_eq!(p.pending(&h).collect::<Vec<_>>(), vec![1]);
    }

    #[test]
    fn rejects_completion_without_invoke() {
        let mut h = History::new(vec![op(OpType::Ok, 1, "read")]);
        h.reindex();
        assert!(matches!(
            pair(&h),
            Err(PairingError::CompletionWithoutInvoke { index: 0, .. })
        ));
    }

    #[test]
    fn rejects_double_invoke() {
        let mut h = History::new(vec![op(OpType::Invoke, 1, "read"), op(OpType::Invoke, 1, "read")]);
        h.reindex();
        assert!(matches!(
            pair(&h),
            Err(PairingError::DoubleInvoke {
                index: 1,
                previous: 0,
                ..
            })
        ));
    }
}
