//! The client of the leaderless store: any node coordinates, so a client
//! sticks to its node and moves to the next one when it cannot connect.
//!
//! Workload mapping (what a Riak client does):
//! - `register`: a write first reads the key (quorum R) and writes with the
//!   read's causal context, so it supersedes what it saw (under `lww` the
//!   write is blind: the wall clock decides). A read answering several
//!   siblings shows the greatest (register values grow per key).
//! - `set` (key `set`): under `crdt` an add is an OR-set add; otherwise an
//!   add is read-modify-write: read with context, union the siblings, add,
//!   write back with the context. Concurrent adds then conflict for real:
//!   `lww` drops one, `siblings` keeps both for the next reader to merge.
//! - `counter` (key `counter`): under `crdt` a PN-counter increment;
//!   otherwise read-modify-write of an integer (siblings: the greatest), so
//!   concurrent increments can be lost.
//! - `cas` and transactions are refused by the store (`fail`).
//!
//! A read-modify-write whose read fails wrote nothing: it completes `fail`.

use crate::client::{Client, Completion};
use crate::history::Op;
use crate::store::client::{ClientError, StoreClient};
use crate::store::conflict::{value_order, CausalContext, ConflictMode};
use crate::store::leaderless::RequestOpts;
use crate::store::ops::{ClientOp, Outcome, Response};
use crate::workload::WorkloadInfo;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

pub struct LeaderlessClient {
    /// Every node's client address, in node order.
    addrs: Vec<(String, SocketAddr)>,
    /// The node this client talks to now.
    at: usize,
    conn: Option<StoreClient>,
    workload: WorkloadInfo,
    conflict: ConflictMode,
}

/// What a quorum read found: the siblings and the context to write back.
pub(crate) struct Found {
    pub values: Vec<Value>,
    pub context: Option<CausalContext>,
}

impl LeaderlessClient {
    /// A client that starts at `node` (an index into `addrs`).
    pub fn new(
        addrs: Vec<(String, SocketAddr)>,
        node: &str,
        workload: &WorkloadInfo,
        conflict: ConflictMode,
    ) -> LeaderlessClient {
        let at = addrs.iter().position(|(id, _)| id == node).unwrap_or(0);
        LeaderlessClient {
            addrs,
            at,
            conn: None,
            workload: workload.clone(),
            conflict,
        }
    }

    /// One request to the current node. A node that cannot be reached is
    /// left for the next one (definitely not executed).
    fn call(&mut self, op: &ClientOp, opts: &RequestOpts, t: Duration) -> Result<Response, ClientError> {
        if self.conn.is_none() {
            let addr = self.addrs[self.at].1;
            match StoreClient::connect(addr, t) {
                Ok(c) => self.conn = Some(c),
                Err(e) => {
                    self.at = (self.at + 1) % self.addrs.len();
                    return Err(e);
                }
            }
        }
        let conn = self.conn.as_mut().expect("connected");
        let r = conn.request_with(op, opts, t);
        if r.is_err() {
            self.conn = None;
        }
        r
    }

    /// A quorum read of `key`, or the completion of an op that read nothing.
    fn read(&mut self, key: &Value, op: &Op, t: Duration) -> Result<(Found, String), Completion> {
        let read = ClientOp::Read { key: key.clone() };
        let resp = self
            .call(&read, &RequestOpts::default(), t)
            .map_err(|e| Completion::fail(op.value.clone(), e.to_string()))?;
        match resp.outcome {
            Outcome::Ok { value } => Ok((found(value), resp.node)),
            Outcome::Fail { reason } | Outcome::Error { reason } | Outcome::Unknown { reason } => {
                Err(Completion::fail(op.value.clone(), reason).on(resp.node))
            }
            Outcome::NotLeader { .. } => Err(Completion::fail(op.value.clone(), "not leader")),
        }
    }

    /// A write of `op`'s value `next` to `key` with `context`: the op's outcome.
    fn write(
        &mut self,
        key: &Value,
        next: Value,
        context: Option<CausalContext>,
        op: &Op,
        t: Duration,
    ) -> Completion {
        let w = ClientOp::Write {
            key: key.clone(),
            value: next,
        };
        let opts = RequestOpts {
            context,
            ..RequestOpts::default()
        };
        let resp = self.call(&w, &opts, t);
        complete(op, resp, |_| op.value.clone())
    }

    /// Read, merge the siblings with `merge`, change with `change`, write back.
    fn rmw(
        &mut self,
        key: &Value,
        op: &Op,
        timeout: Duration,
        merge: impl Fn(&[Value]) -> Value,
        change: impl Fn(Value) -> Value,
    ) -> Completion {
        let deadline = Instant::now() + timeout;
        let (found, _) = match self.read(key, op, timeout) {
            Ok(f) => f,
            Err(c) => return c,
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Completion::fail(op.value.clone(), "no time left to write after the read");
        }
        let next = change(merge(&found.values));
        self.write(key, next, found.context, op, left)
    }

    /// Adds and increments the store applies itself (`crdt`; `avoid`: the
    /// key's home leader applies them), rather than read-modify-write.
    fn crdt(&self) -> bool {
        matches!(self.conflict, ConflictMode::Crdt | ConflictMode::Avoid)
    }
}

/// The siblings and context of a read answer (`{"values", "context"}`, a
/// bare set or counter under `crdt`, `null` for an absent key).
pub(crate) fn found(v: Value) -> Found {
    match v {
        Value::Object(mut m) => Found {
            values: m
                .remove("values")
                .and_then(|v| v.as_array().cloned())
                .unwrap_or_default(),
            context: m.remove("context").and_then(|c| serde_json::from_value(c).ok()),
        },
        Value::Null => Found {
            values: vec![],
            context: None,
        },
        other => Found {
            values: vec![other],
            context: None,
        },
    }
}

/// The union of sibling sets, sorted.
pub(crate) fn union(values: &[Value]) -> Value {
    let mut all: Vec<Value> = values
        .iter()
        .flat_map(|v| v.as_array().cloned().unwrap_or_default())
        .collect();
    all.sort_by(value_order);
    all.dedup();
    Value::Array(all)
}

/// The greatest sibling (`null` when there is none).
pub(crate) fn greatest(values: &[Value]) -> Value {
    values.iter().cloned().max_by(value_order).unwrap_or(Value::Null)
}

/// An op's completion from the store's answer; `ok` makes the value of an ok answer.
fn complete(op: &Op, resp: Result<Response, ClientError>, ok: impl FnOnce(Value) -> Value) -> Completion {
    match resp {
        Ok(r) => match r.outcome {
            Outcome::Ok { value } => Completion::ok(ok(value)).on(r.node),
            Outcome::Fail { reason } | Outcome::Error { reason } => {
                Completion::fail(op.value.clone(), reason).on(r.node)
            }
            Outcome::Unknown { reason } => Completion::info(op.value.clone(), reason).on(r.node),
            Outcome::NotLeader { .. } => Completion::fail(op.value.clone(), "not leader").on(r.node),
        },
        Err(e) if e.is_definite() => Completion::fail(op.value.clone(), e.to_string()),
        Err(e) => Completion::info(op.value.clone(), e.to_string()),
    }
}

impl Client for LeaderlessClient {
    fn invoke(&mut self, op: &Op, timeout: Duration) -> Completion {
        let key = op.key.clone().unwrap_or(Value::Null);
        let v = op.value.clone();
        let none = RequestOpts::default();
        match (self.workload.name.as_str(), op.f.as_str()) {
            ("set", "add") if self.crdt() => {
                let add = ClientOp::Append {
                    key: json!("set"),
                    value: v,
                };
                let r = self.call(&add, &none, timeout);
                complete(op, r, |_| op.value.clone())
            }
            ("set", "add") => self.rmw(&json!("set"), op, timeout, union, |s| add_elem(s, &v)),
            ("set", "read") => match self.read(&json!("set"), op, timeout) {
                Ok((f, node)) => Completion::ok(union_or_set(&f.values)).on(node),
                Err(c) => c,
            },
            ("counter", "incr") if self.crdt() => {
                let incr = ClientOp::Txn {
                    ops: vec![("incr".into(), json!("counter"), v)],
                };
                let r = self.call(&incr, &none, timeout);
                complete(op, r, |_| op.value.clone())
            }
            ("counter", "incr") => {
                let d = v.as_i64().unwrap_or(0);
                self.rmw(&json!("counter"), op, timeout, greatest, |c| {
                    json!(c.as_i64().unwrap_or(0) + d)
                })
            }
            ("counter", "read") => match self.read(&json!("counter"), op, timeout) {
                Ok((f, node)) => Completion::ok(json!(greatest(&f.values).as_i64().unwrap_or(0))).on(node),
                Err(c) => c,
            },
            (w, "replica-read") => {
                let set = w == "set";
                let read = ClientOp::Read {
                    key: json!(super::store_key(w, &key)),
                };
                let local = RequestOpts {
                    local: true,
                    ..RequestOpts::default()
                };
                let r = self.call(&read, &local, timeout);
                complete(op, r, |v| replica_value(set, v))
            }
            (_, "read") => match self.read(&key, op, timeout) {
                Ok((f, node)) => Completion::ok(greatest(&f.values)).on(node),
                Err(c) => c,
            },
            (_, "write") if matches!(self.conflict, ConflictMode::Lww | ConflictMode::Avoid) => {
                self.write(&key, v, None, op, timeout)
            }
            (_, "write") => self.rmw(&key, op, timeout, greatest, |_| v.clone()),
            (_, "cas") => {
                let cas = ClientOp::Cas {
                    key,
                    old: v[0].clone(),
                    new: v[1].clone(),
                };
                let r = self.call(&cas, &none, timeout);
                complete(op, r, |_| op.value.clone())
            }
            (w, f) => Completion::fail(v, format!("the leaderless store: workload {w} has no op {f}")),
        }
    }
}

/// What one replica holds, comparable across replicas: a set's elements, or
/// the sorted siblings of a register or counter.
pub(crate) fn replica_value(set: bool, v: Value) -> Value {
    let f = found(v);
    if set {
        return union_or_set(&f.values);
    }
    let mut vals = f.values;
    vals.sort_by(value_order);
    Value::Array(vals)
}

/// A set value with `elem` added.
pub(crate) fn add_elem(set: Value, elem: &Value) -> Value {
    let mut a = set.as_array().cloned().unwrap_or_default();
    if !a.contains(elem) {
        a.push(elem.clone());
        a.sort_by(value_order);
    }
    Value::Array(a)
}

/// A set read: the union of register siblings, or an OR-set's elements.
pub(crate) fn union_or_set(values: &[Value]) -> Value {
    if values.iter().all(Value::is_array) {
        union(values)
    } else {
        Value::Array(values.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn siblings_merge_as_a_client_would() {
        let f = found(json!({"values": [[1, 3], [2, 3]], "context": {"vv": {"n1": 2}}}));
        assert_eq!(union(&f.values), json!([1, 2, 3]));
        assert_eq!(f.context.map(|c| c.max_counter("n1")), Some(2));
        assert_eq!(add_elem(json!([1, 3]), &json!(2)), json!([1, 2, 3]));
        assert_eq!(greatest(&[json!(4), json!(9), json!(2)]), json!(9));
        assert_eq!(greatest(&[]), Value::Null);
        // crdt: a bare OR-set read is one array of elements.
        let s = found(json!([1, 2]));
        assert_eq!(union_or_set(&s.values), json!([1, 2]));
        assert!(found(Value::Null).values.is_empty());
    }
}
