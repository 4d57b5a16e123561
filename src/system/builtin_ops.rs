//! How clients of the built-in store speak a workload: history ops to store ops
//! ([`OpMap::translate`]) and store answers back to completions
//! ([`OpMap::answer`]). One mapping for the real client (`system::builtin`)
//! and the simulator's clients, so both record the same histories.
//!
//! Workload mapping: register/session ops map 1:1 (key as given); set `add`
//! appends to key `set` and its `read` reads it; counter `incr` is a txn
//! `incr` on key `counter`; bank accounts are keys `acct-<n>`, bank `read` is
//! a txn of reads; `txn` passes through.

use crate::client::Completion;
use crate::history::Op;
use crate::store::ops::{ClientOp, Outcome};
use crate::workload::WorkloadInfo;
use serde_json::{json, Map, Value};

/// A workload's op mapping.
#[derive(Clone, Debug)]
pub struct OpMap {
    workload: WorkloadInfo,
}

/// What to do with a store answer.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    /// The op is over.
    Done(Completion),
    /// Not the leader: ask this node instead (a client does so at most once).
    Redirect(String),
}

/// The store key of bank account `v` (`acct-<v>`).
pub fn acct(v: &Value) -> Value {
    json!(format!(
        "acct-{}",
        v.as_str().map(String::from).unwrap_or_else(|| v.to_string())
    ))
}

fn mop(v: &Value) -> (String, Value, Value) {
    (
        v[0].as_str().unwrap_or("").to_string(),
        v[1].clone(),
        v[2].clone(),
    )
}

impl OpMap {
    pub fn new(workload: WorkloadInfo) -> OpMap {
        OpMap { workload }
    }

    pub fn workload(&self) -> &WorkloadInfo {
        &self.workload
    }

    /// The store op for a history op, or why it cannot be expressed.
    pub fn translate(&self, op: &Op) -> Result<ClientOp, String> {
        let key = op.key.clone().unwrap_or(Value::Null);
        let v = &op.value;
        Ok(match (self.workload.name.as_str(), op.f.as_str()) {
            ("set", "add") => ClientOp::Append {
                key: json!("set"),
                value: v.clone(),
            },
            ("set", "read") => ClientOp::Read { key: json!("set") },
            ("counter", "incr") => ClientOp::Txn {
                ops: vec![("incr".into(), json!("counter"), v.clone())],
            },
            ("counter", "read") => ClientOp::Read {
                key: json!("counter"),
            },
            ("bank", "transfer") => ClientOp::Transfer {
                from: acct(&v["from"]),
                to: acct(&v["to"]),
                amount: v["amount"].as_i64().unwrap_or(0),
            },
            ("bank", "read") => ClientOp::Txn {
                ops: self
                    .accounts()
                    .iter()
                    .map(|a| ("r".into(), acct(a), Value::Null))
                    .collect(),
            },
            (_, "txn") => ClientOp::Txn {
                ops: v
                    .as_array()
                    .map(|a| a.iter().map(mop).collect())
                    .unwrap_or_default(),
            },
            (_, "read") => ClientOp::Read { key },
            (_, "write") => ClientOp::Write {
                key,
                value: v.clone(),
            },
            (_, "cas") => ClientOp::Cas {
                key,
                old: v[0].clone(),
                new: v[1].clone(),
            },
            (w, f) => return Err(format!("builtin target: workload {w} has no op {f}")),
        })
    }

    fn accounts(&self) -> Vec<Value> {
        self.workload.params["accounts"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The completion value for an ok answer.
    pub fn ok_value(&self, op: &Op, value: Value) -> Value {
        match (self.workload.name.as_str(), op.f.as_str()) {
            ("set", "read") => {
                if value.is_null() {
                    json!([])
                } else {
                    value
                }
            }
            ("counter", "read") => json!(value.as_i64().unwrap_or(0)),
            ("bank", "read") => {
                let mut m = Map::new();
                let reads = value.as_array().cloned().unwrap_or_default();
                for (a, r) in self.accounts().iter().zip(reads) {
                    let k = a.as_str().map(String::from).unwrap_or_else(|| a.to_string());
                    m.insert(k, json!(r[2].as_i64().unwrap_or(0)));
                }
                Value::Object(m)
            }
            (_, "txn") => {
                // Reads of never-written keys are empty lists.
                let a = value.as_array().cloned().unwrap_or_default();
                Value::Array(
                    a.into_iter()
                        .map(|m| {
                            if m[0] == "r" && m[2].is_null() {
                                json!(["r", m[1], []])
                            } else {
                                m
                            }
                        })
                        .collect(),
                )
            }
            (_, "read") => value,
            _ => op.value.clone(),
        }
    }

    /// What a client does with `outcome`, the answer of `node` to `op`: complete the op,
    /// or (a `NotLeader` naming another node `known` says exists) send it again there.
    pub fn answer(&self, op: &Op, node: &str, outcome: Outcome, known: impl Fn(&str) -> bool) -> Answer {
        let done = |c: Completion| Answer::Done(c.on(node));
        match outcome {
            Outcome::Ok { value } => done(Completion::ok(self.ok_value(op, value))),
            Outcome::Fail { reason } | Outcome::Error { reason } => {
                done(Completion::fail(op.value.clone(), reason))
            }
            Outcome::Unknown { reason } => done(Completion::info(op.value.clone(), reason)),
            Outcome::NotLeader { leader } => match leader {
                Some(l) if known(&l) && l != node => Answer::Redirect(l),
                _ => done(Completion::fail(op.value.clone(), "not leader")),
            },
        }
    }
}
