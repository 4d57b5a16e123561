//! History → transactions: pairs invocations with completions and exposes each
//! transaction's micro-ops.
//!
//! Invariants: `ok` txns happened and their reads are filled in; `fail` txns
//! did not happen (their writes must never be observed); `info` and pending
//! txns may or may not have happened (their writes may be observed, their reads
//! are unknown). Ops whose `f` is not `txn` (or `:txn`) are ignored.

use super::ElleError;
use crate::history::{pair, History, OpType, Process};
use serde_json::Value;

/// What became of a transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Ok,
    Info,
    Fail,
}

/// One transaction. Positions are indices into `History::ops`.
#[derive(Clone, Debug)]
pub struct Txn {
    /// History index of the completion (of the invocation when pending).
    pub op: u64,
    pub status: Status,
    pub process: Process,
    pub invoke_pos: usize,
    /// Position of an `ok` completion; `None` for info/pending/fail.
    pub ok_pos: Option<usize>,
    /// Position of the op whose `value` holds the micro-ops.
    pub value_pos: usize,
}

/// Micro-op function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MopKind {
    Append,
    Write,
    Read,
}

/// One micro-op, borrowed from the history.
#[derive(Clone, Copy, Debug)]
pub struct Mop<'a> {
    pub kind: MopKind,
    pub key: &'a Value,
    pub value: &'a Value,
}

fn is_txn(f: &str) -> bool {
    f.trim_start_matches(':') == "txn"
}

/// Collects the transactions of `h`, in invocation order.
pub fn collect(h: &History) -> Result<Vec<Txn>, ElleError> {
    let pairing = pair(h).map_err(ElleError::Pairing)?;
    let mut txns = Vec::new();
    for (i, op) in h.ops.iter().enumerate() {
        if op.ty != OpType::Invoke || op.process.is_nemesis() || !is_txn(&op.f) {
            continue;
        }
        let done = pairing.partner(i);
        let (status, op_index, ok_pos, value_pos) = match done.map(|d| (d, &h.ops[d])) {
            Some((d, c)) if c.ty == OpType::Ok => (Status::Ok, c.index, Some(d), d),
            Some((d, c)) if c.ty == OpType::Fail => (Status::Fail, c.index, None, pick(h, i, d)),
            Some((d, c)) => (Status::Info, c.index, None, pick(h, i, d)),
            None => (Status::Info, op.index, None, i),
        };
        txns.push(Txn {
            op: op_index,
            status,
            process: op.process,
            invoke_pos: i,
            ok_pos,
            value_pos,
        });
    }
    Ok(txns)
}

/// For fail/info completions: the completion's value when it is a list, else the invocation's.
fn pick(h: &History, inv: usize, done: usize) -> usize {
    if h.ops[done].value.is_array() {
        done
    } else {
        inv
    }
}

/// Parses the micro-ops of the op at `pos`. Accepts `append`/`w`/`r`, with or
/// without a leading `:` (EDN imports).
pub fn mops<'a>(h: &'a History, pos: usize, out: &mut Vec<Mop<'a>>) -> Result<(), ElleError> {
    out.clear();
    let op = &h.ops[pos];
    let bad = |message: String| ElleError::BadTxn {
        index: op.index,
        message,
    };
    let list = match &op.value {
        Value::Array(a) => a,
        Value::Null => return Ok(()),
        other => return Err(bad(format!("value must be a list of micro-ops, got {other}"))),
    };
    for (j, m) in list.iter().enumerate() {
        let parts = match m {
            Value::Array(p) if p.len() == 3 => p,
            other => return Err(bad(format!("micro-op {j} must be [f, key, value], got {other}"))),
        };
        let kind = match parts[0].as_str().map(|s| s.trim_start_matches(':')) {
            Some("append") => MopKind::Append,
            Some("w") | Some("write") => MopKind::Write,
            Some("r") | Some("read") => MopKind::Read,
            _ => {
                return Err(bad(format!(
                    "micro-op {j}: unknown function {} (expected append, w or r)",
                    parts[0]
                )))
            }
        };
        if !(parts[1].is_string() || parts[1].is_number()) {
            return Err(bad(format!(
                "micro-op {j}: key must be an integer or a string, got {}",
                parts[1]
            )));
        }
        out.push(Mop {
            kind,
            key: &parts[1],
            value: &parts[2],
        });
    }
    Ok(())
}
