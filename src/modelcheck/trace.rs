//! The clients' ops of the model (which value each writes, request ids, how
//! they read in a counterexample) and the [`Trace`] that records what a
//! replayed step did, as readable lines and as history ops
//! ([`super::witness`] turns a path into a history with it).

use crate::history::{Op, OpType, Process};
use crate::store::ops::{ClientOp, Outcome};
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub fn name(i: u8) -> String {
    format!("n{}", i + 1)
}

/// The value client `c` writes with its op `k` (unique, never null).
pub fn value_of(c: u8, k: u8) -> u64 {
    (c as u64 + 1) * 100 + k as u64 + 1
}

/// A request id: the client and its op number.
pub fn req_of(c: u8, k: u8) -> u64 {
    ((c as u64) << 8) | k as u64
}

pub fn op_of(c: u8, k: u8) -> ClientOp {
    if k.is_multiple_of(2) {
        ClientOp::Write {
            key: json!("x"),
            value: json!(value_of(c, k)),
        }
    } else {
        ClientOp::Read { key: json!("x") }
    }
}

pub fn op_text(op: &ClientOp) -> String {
    match op {
        ClientOp::Write { value, .. } => format!("write {value}"),
        ClientOp::Read { .. } => "read".to_string(),
        other => format!("{other:?}"),
    }
}

pub fn outcome_text(o: &Outcome) -> String {
    match o {
        Outcome::Ok { value } => format!("ok {value}"),
        Outcome::Fail { reason } => format!("fail ({reason})"),
        Outcome::NotLeader { .. } => "fail (not leader)".into(),
        Outcome::Unknown { reason } => format!("info ({reason})"),
        Outcome::Error { reason } => format!("fail ({reason})"),
    }
}

/// Fresh process numbers (after an `info`) start here.
pub(super) const FRESH: u64 = 10;

/// What the steps of a counterexample did, collected only when asked.
#[derive(Debug, Default)]
pub struct Trace {
    /// Readable lines, one per thing that happened.
    pub lines: Vec<String>,
    pub(super) ops: Vec<Op>,
    /// Client -> its process number now (itself until its first `info`).
    process: BTreeMap<u8, u64>,
    fresh: u64,
}

fn f_and_value(c: u8, k: u8) -> (&'static str, Value) {
    if k.is_multiple_of(2) {
        ("write", json!(value_of(c, k)))
    } else {
        ("read", Value::Null)
    }
}

impl Trace {
    fn process(&self, c: u8) -> u64 {
        self.process.get(&c).copied().unwrap_or(c as u64)
    }

    pub(super) fn invoked(&mut self, c: u8, k: u8) {
        let (f, value) = f_and_value(c, k);
        let op = Op::new(OpType::Invoke, Process::Client(self.process(c)), f, value);
        self.ops.push(op.with_key(json!("x")));
    }

    /// Client `c`'s op `k` got `outcome` from `node` (`None`: the node crashed).
    pub(super) fn answered(&mut self, c: u8, k: u8, node: u8, outcome: Option<&Outcome>) {
        let (f, value) = f_and_value(c, k);
        let (ty, value, error) = match outcome {
            Some(Outcome::Ok { value: read }) if f == "read" => (OpType::Ok, read.clone(), None),
            Some(Outcome::Ok { .. }) => (OpType::Ok, value, None),
            Some(Outcome::Unknown { reason }) => (OpType::Info, value, Some(reason.clone())),
            Some(other) => (OpType::Fail, value, Some(outcome_text(other))),
            None => (OpType::Info, value, Some("the node crashed".to_string())),
        };
        let mut op = Op::new(ty, Process::Client(self.process(c)), f, value).with_key(json!("x"));
        op.node = Some(name(node));
        op.error = error;
        self.ops.push(op);
        if ty == OpType::Info {
            self.process.insert(c, FRESH + self.fresh);
            self.fresh += 1;
        }
    }

    pub(super) fn nemesis(&mut self, f: &str, action: Value, hit: Value) {
        let invoke = Op::new(OpType::Invoke, Process::Nemesis, f, json!({ "action": action }));
        let info = Op::new(OpType::Info, Process::Nemesis, f, hit);
        self.ops.extend([invoke, info]);
    }
}
