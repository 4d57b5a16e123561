//! The leaderless store in the simulator: its core's configuration as
//! `faultline node --topology leaderless` builds it from the test's
//! `[target]` settings, and its client mapping, the one
//! [`crate::system::leaderless::LeaderlessClient`] uses (Riak-style: a
//! `register` write or a non-`crdt` `set` add / `counter` increment reads
//! with context, merges the siblings and writes back; `replica-read` reads
//! one node's own copy for the convergence phase).

use super::ops::{Next, SimOps};
use super::SimProtocol;
use crate::client::Completion;
use crate::history::Op;
use crate::store::conflict::ConflictMode;
use crate::store::leaderless::{Config, Core, RequestOpts};
use crate::store::ops::{ClientOp, Outcome};
use crate::system::leaderless::client::{add_elem, found, greatest, replica_value, union, union_or_set};
use crate::system::leaderless::store_key;
use crate::system::BuiltinModes;
use crate::workload::WorkloadInfo;
use serde_json::{json, Value};

impl SimProtocol for Core {
    fn config(id: &str, nodes: &[String], m: &BuiltinModes) -> Config {
        let refs: Vec<&str> = nodes.iter().map(String::as_str).collect();
        let l = &m.leaderless;
        let mut c = Config::new(id, &refs);
        c.n = l.n;
        c.w = l.w;
        c.r = l.r;
        c.conflict = l.conflict;
        c.read_repair = l.read_repair;
        c.anti_entropy_ms = l.anti_entropy_ms;
        c.sloppy_quorum = l.sloppy_quorum;
        c
    }

    fn ops(info: &WorkloadInfo, m: &BuiltinModes) -> Box<dyn SimOps<RequestOpts>> {
        Box::new(LeaderlessOps {
            workload: info.name.clone(),
            conflict: m.leaderless.conflict,
        })
    }

    /// A read answered with more than one sibling: concurrent writes were kept apart.
    fn reply_coverage(outcome: &Outcome) -> Option<&'static str> {
        match outcome {
            Outcome::Ok { value } => value
                .get("values")
                .and_then(Value::as_array)
                .is_some_and(|v| v.len() > 1)
                .then_some("siblings-read"),
            _ => None,
        }
    }
}

/// How the leaderless client merges a read before its write.
#[derive(Clone, Copy)]
enum Rmw {
    /// `set` add: the union of the siblings, plus the element.
    SetAdd,
    /// `counter` incr: the greatest sibling, plus the amount.
    Incr,
    /// `register` write with context: the value itself.
    Overwrite,
}

struct LeaderlessOps {
    workload: String,
    conflict: ConflictMode,
}

/// What a first request's answer makes of the op.
enum Shape {
    /// One request; its ok value.
    One(fn(&Op, Value) -> Value),
    /// A quorum read whose siblings give the op's ok value.
    Read(fn(&[Value]) -> Value),
    /// A read, then the merged write.
    Rmw(Rmw),
}

fn echo(op: &Op, _: Value) -> Value {
    op.value.clone()
}

fn counter_value(values: &[Value]) -> Value {
    json!(greatest(values).as_i64().unwrap_or(0))
}

impl LeaderlessOps {
    fn crdt(&self) -> bool {
        self.conflict == ConflictMode::Crdt
    }

    /// The first request of `inv` and what its answer makes of the op.
    fn plan(&self, inv: &Op) -> Result<(ClientOp, RequestOpts, Shape), String> {
        let key = inv.key.clone().unwrap_or(Value::Null);
        let v = inv.value.clone();
        let none = RequestOpts::default();
        let read = |key: Value| ClientOp::Read { key };
        Ok(match (self.workload.as_str(), inv.f.as_str()) {
            ("set", "add") if self.crdt() => (
                ClientOp::Append {
                    key: json!("set"),
                    value: v,
                },
                none,
                Shape::One(echo),
            ),
            ("set", "add") => (read(json!("set")), none, Shape::Rmw(Rmw::SetAdd)),
            ("set", "read") => (read(json!("set")), none, Shape::Read(union_or_set)),
            ("counter", "incr") if self.crdt() => (
                ClientOp::Txn {
                    ops: vec![("incr".into(), json!("counter"), v)],
                },
                none,
                Shape::One(echo),
            ),
            ("counter", "incr") => (read(json!("counter")), none, Shape::Rmw(Rmw::Incr)),
            ("counter", "read") => (read(json!("counter")), none, Shape::Read(counter_value)),
            (w, "replica-read") => {
                let local = RequestOpts { local: true, ..none };
                let shape: fn(&Op, Value) -> Value = if w == "set" {
                    |_, v| replica_value(true, v)
                } else {
                    |_, v| replica_value(false, v)
                };
                (read(json!(store_key(w, &key))), local, Shape::One(shape))
            }
            (_, "read") => (read(key), none, Shape::Read(greatest)),
            (_, "write") if self.conflict == ConflictMode::Lww => {
                (ClientOp::Write { key, value: v }, none, Shape::One(echo))
            }
            (_, "write") => (read(key), none, Shape::Rmw(Rmw::Overwrite)),
            (_, "cas") => (
                ClientOp::Cas {
                    key,
                    old: v[0].clone(),
                    new: v[1].clone(),
                },
                none,
                Shape::One(echo),
            ),
            (w, f) => return Err(format!("the leaderless store: workload {w} has no op {f}")),
        })
    }
}

/// An answer that is not ok, as the leaderless client completes it: a
/// read's failure is `fail` (nothing was written), a write's `Unknown` is `info`.
fn not_ok(inv: &Op, node: &str, outcome: Outcome, read: bool) -> Completion {
    let v = inv.value.clone();
    match outcome {
        Outcome::Ok { .. } => Completion::ok(v).on(node),
        Outcome::Unknown { reason } if !read => Completion::info(v, reason).on(node),
        Outcome::Fail { reason } | Outcome::Error { reason } | Outcome::Unknown { reason } => {
            Completion::fail(v, reason).on(node)
        }
        Outcome::NotLeader { .. } if read => Completion::fail(v, "not leader"),
        Outcome::NotLeader { .. } => Completion::fail(v, "not leader").on(node),
    }
}

impl SimOps<RequestOpts> for LeaderlessOps {
    fn first(&self, inv: &Op) -> Result<(ClientOp, RequestOpts), String> {
        self.plan(inv).map(|(op, opts, _)| (op, opts))
    }

    fn answer(
        &self,
        inv: &Op,
        stage: u32,
        node: &str,
        outcome: Outcome,
        _: &dyn Fn(&str) -> bool,
    ) -> Next<RequestOpts> {
        let Ok((first, _, shape)) = self.plan(inv) else {
            return Next::Done(Completion::fail(inv.value.clone(), "no mapping"));
        };
        let value = match outcome {
            Outcome::Ok { value } => value,
            other => {
                let read = stage == 0 && !matches!(shape, Shape::One(_));
                return Next::Done(not_ok(inv, node, other, read));
            }
        };
        if stage > 0 {
            // The write of a read-modify-write.
            return Next::Done(Completion::ok(inv.value.clone()).on(node));
        }
        let found = match shape {
            Shape::One(ok) => return Next::Done(Completion::ok(ok(inv, value)).on(node)),
            Shape::Read(f) => return Next::Done(Completion::ok(f(&found(value).values)).on(node)),
            Shape::Rmw(r) => (r, found(value)),
        };
        let (rmw, found) = found;
        let next = match rmw {
            Rmw::SetAdd => add_elem(union(&found.values), &inv.value),
            Rmw::Incr => {
                json!(greatest(&found.values).as_i64().unwrap_or(0) + inv.value.as_i64().unwrap_or(0))
            }
            Rmw::Overwrite => inv.value.clone(),
        };
        let key = match first {
            ClientOp::Read { key } => key,
            _ => Value::Null,
        };
        let opts = RequestOpts {
            context: found.context,
            ..RequestOpts::default()
        };
        Next::Then(ClientOp::Write { key, value: next }, opts)
    }

    fn harmless(&self, inv: &Op, stage: u32) -> bool {
        stage == 0 && matches!(self.plan(inv), Ok((_, _, Shape::Read(_) | Shape::Rmw(_))))
    }

    fn moves_on_refusal(&self) -> bool {
        true
    }
}
