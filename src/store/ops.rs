//! The client-facing protocol of the built-in store: requests, outcomes and the
//! replicated state machine they act on.
//!
//! Invariant: [`KvState::apply`] is deterministic and all-or-nothing: a failed
//! op (compare mismatch, overdraft, wrong value type) leaves the state as it was.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// A txn micro-op, `["r", k, null]`, `["w", k, v]`, `["append", k, v]`, `["incr", k, delta]`.
pub type MicroOp = (String, Value, Value);

/// One client operation. Keys are JSON values; strings are used as they are,
/// other values by their JSON text (so `1` and `"1"` are different keys).
#[derive(Clone, Debug, PartialEq, Hash, Serialize, Deserialize)]
#[serde(tag = "f", rename_all = "kebab-case")]
pub enum ClientOp {
    Read { key: Value },
    Write { key: Value, value: Value },
    Cas { key: Value, old: Value, new: Value },
    Append { key: Value, value: Value },
    Txn { ops: Vec<MicroOp> },
    Transfer { from: Value, to: Value, amount: i64 },
}

impl ClientOp {
    /// True for ops that change nothing and may be served without a log entry.
    pub fn is_read(&self) -> bool {
        matches!(self, ClientOp::Read { .. })
    }

    /// The history-style `f`, key and value, for node event lines.
    pub fn describe(&self) -> (&'static str, Option<Value>, Value) {
        match self {
            ClientOp::Read { key } => ("read", Some(key.clone()), Value::Null),
            ClientOp::Write { key, value } => ("write", Some(key.clone()), value.clone()),
            ClientOp::Cas { key, old, new } => (
                "cas",
                Some(key.clone()),
                Value::Array(vec![old.clone(), new.clone()]),
            ),
            ClientOp::Append { key, value } => ("append", Some(key.clone()), value.clone()),
            ClientOp::Txn { ops } => ("txn", None, serde_json::to_value(ops).unwrap_or_default()),
            ClientOp::Transfer { from, to, amount } => (
                "transfer",
                None,
                serde_json::json!({"from": from, "to": to, "amount": amount}),
            ),
        }
    }
}

/// A client request frame: `id` is echoed in the response.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub id: u64,
    #[serde(flatten)]
    pub op: ClientOp,
}

/// How the store answered one request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Outcome {
    /// Took effect (a read's value, a txn with reads filled in; null for writes).
    Ok { value: Value },
    /// Certainly did not take effect: compare mismatch, overdraft, wrong type.
    Fail { reason: String },
    /// Not executed: this node does not lead; `leader` is its best guess.
    NotLeader { leader: Option<String> },
    /// May or may not take effect (the leader lost its term while waiting).
    Unknown { reason: String },
    /// Not executed: the request was malformed.
    Error { reason: String },
}

/// A response frame: the request's `id`, the serving node and the outcome.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub id: u64,
    pub node: String,
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// The canonical text of a key.
pub fn key_str(k: &Value) -> String {
    match k {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The replicated key-value state: what a snapshot holds.
#[derive(Clone, Debug, Default, PartialEq, Hash, Serialize, Deserialize)]
pub struct KvState {
    pub data: BTreeMap<String, Value>,
}

fn fail(reason: impl Into<String>) -> Outcome {
    Outcome::Fail {
        reason: reason.into(),
    }
}

fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Null => Some(0),
        v => v.as_i64(),
    }
}

impl KvState {
    pub fn get(&self, key: &Value) -> Value {
        self.data.get(&key_str(key)).cloned().unwrap_or(Value::Null)
    }

    fn set(&mut self, key: &Value, v: Value) {
        self.data.insert(key_str(key), v);
    }

    /// Applies one op; on anything but `Ok` the state is unchanged.
    pub fn apply(&mut self, op: &ClientOp) -> Outcome {
        match op {
            ClientOp::Read { key } => Outcome::Ok { value: self.get(key) },
            ClientOp::Write { key, value } => {
                self.set(key, value.clone());
                Outcome::Ok { value: Value::Null }
            }
            ClientOp::Cas { key, old, new } => {
                if &self.get(key) == old {
                    self.set(key, new.clone());
                    Outcome::Ok { value: Value::Null }
                } else {
                    fail("compare mismatch")
                }
            }
            ClientOp::Append { key, value } => match self.get(key) {
                Value::Null => {
                    self.set(key, Value::Array(vec![value.clone()]));
                    Outcome::Ok { value: Value::Null }
                }
                Value::Array(mut a) => {
                    a.push(value.clone());
                    self.set(key, Value::Array(a));
                    Outcome::Ok { value: Value::Null }
                }
                _ => fail("append to a value that is not a list"),
            },
            ClientOp::Transfer { from, to, amount } => {
                let (Some(a), Some(b)) = (as_int(&self.get(from)), as_int(&self.get(to))) else {
                    return fail("balance is not an integer");
                };
                if *amount < 0 || a < *amount {
                    return fail("insufficient funds");
                }
                if key_str(from) != key_str(to) {
                    self.set(from, Value::from(a - amount));
                    self.set(to, Value::from(b + amount));
                }
                Outcome::Ok { value: Value::Null }
            }
            ClientOp::Txn { ops } => self.apply_txn(ops),
        }
    }

    /// Runs the micro-ops on a scratch overlay and commits only if all succeed.
    fn apply_txn(&mut self, ops: &[MicroOp]) -> Outcome {
        let mut overlay: BTreeMap<String, Value> = BTreeMap::new();
        let mut out = Vec::with_capacity(ops.len());
        for (f, k, v) in ops {
            let ks = key_str(k);
            let cur = overlay.get(&ks).cloned().unwrap_or_else(|| self.get(k));
            match f.as_str() {
                "r" => out.push((f.clone(), k.clone(), cur)),
                // `["scan", lo, hi]`: every key lo <= key < hi (hi null: no end), as of
                // the txn's start; how a sharded store's rebalance copies a key range.
                "scan" => {
                    let hi = v.as_str();
                    let range = self
                        .data
                        .range(ks.clone()..)
                        .take_while(|(key, _)| hi.is_none_or(|h| key.as_str() < h))
                        .filter(|(_, val)| !val.is_null())
                        .map(|(key, val)| (key.clone(), val.clone()));
                    out.push((f.clone(), k.clone(), Value::Object(range.collect())));
                }
                "w" => {
                    overlay.insert(ks, v.clone());
                    out.push((f.clone(), k.clone(), v.clone()));
                }
                "append" => {
                    let next = match cur {
                        Value::Null => Value::Array(vec![v.clone()]),
                        Value::Array(mut a) => {
                            a.push(v.clone());
                            Value::Array(a)
                        }
                        _ => return fail(format!("txn append to non-list key {ks}")),
                    };
                    overlay.insert(ks, next);
                    out.push((f.clone(), k.clone(), v.clone()));
                }
                "incr" => {
                    let (Some(c), Some(d)) = (as_int(&cur), v.as_i64()) else {
                        return fail(format!("txn incr of non-integer key {ks}"));
                    };
                    overlay.insert(ks, Value::from(c + d));
                    out.push((f.clone(), k.clone(), v.clone()));
                }
                other => return fail(format!("unknown txn micro-op {other:?}")),
            }
        }
        self.data.extend(overlay);
        Outcome::Ok {
            value: serde_json::to_value(out).unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn op(v: Value) -> ClientOp {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn request_wire_format() {
        let r: Request = serde_json::from_str(r#"{"id":7,"f":"cas","key":"k","old":1,"new":2}"#).unwrap();
        assert_eq!(r.id, 7);
        assert!(matches!(r.op, ClientOp::Cas { .. }));
        let resp = Response {
            id: 7,
            node: "n1".into(),
            outcome: Outcome::NotLeader {
                leader: Some("n2".into()),
            },
        };
        let s = serde_json::to_string(&resp).unwrap();
        assert_eq!(s, r#"{"id":7,"node":"n1","status":"not-leader","leader":"n2"}"#);
    }

    #[test]
    fn cas_append_transfer_rules() {
        let mut s = KvState::default();
        assert_eq!(
            s.apply(&op(json!({"f":"read","key":"x"}))),
            Outcome::Ok { value: Value::Null }
        );
        assert!(matches!(
            s.apply(&op(json!({"f":"cas","key":"x","old":1,"new":2}))),
            Outcome::Fail { .. }
        ));
        s.apply(&op(json!({"f":"write","key":"x","value":1})));
        assert!(matches!(
            s.apply(&op(json!({"f":"cas","key":"x","old":1,"new":2}))),
            Outcome::Ok { .. }
        ));
        assert_eq!(s.get(&json!("x")), json!(2));
        assert!(matches!(
            s.apply(&op(json!({"f":"append","key":"x","value":3}))),
            Outcome::Fail { .. }
        ));
        s.apply(&op(json!({"f":"append","key":"l","value":3})));
        s.apply(&op(json!({"f":"append","key":"l","value":4})));
        assert_eq!(s.get(&json!("l")), json!([3, 4]));
        s.apply(&op(json!({"f":"write","key":"a","value":10})));
        assert!(matches!(
            s.apply(&op(json!({"f":"transfer","from":"a","to":"b","amount":11}))),
            Outcome::Fail { .. }
        ));
        assert!(matches!(
            s.apply(&op(json!({"f":"transfer","from":"a","to":"b","amount":4}))),
            Outcome::Ok { .. }
        ));
        assert_eq!((s.get(&json!("a")), s.get(&json!("b"))), (json!(6), json!(4)));
    }

    #[test]
    fn txn_is_atomic_and_fills_reads() {
        let mut s = KvState::default();
        let t = op(json!({"f":"txn","ops":[["append","x",1],["r","x",null],["incr","c",2],["r","c",null]]}));
        assert_eq!(
            s.apply(&t),
            Outcome::Ok {
                value: json!([
                    ["append", "x", 1],
                    ["r", "x", [1]],
                    ["incr", "c", 2],
                    ["r", "c", 2]
                ])
            }
        );
        let before = s.clone();
        let bad = op(json!({"f":"txn","ops":[["append","x",2],["incr","x",1]]}));
        assert!(matches!(s.apply(&bad), Outcome::Fail { .. }));
        assert_eq!(s, before, "a failed txn leaves no trace");
    }

    #[test]
    fn a_scan_reads_a_key_range_in_order() {
        let mut s = KvState::default();
        for (k, v) in [
            ("k1", json!(1)),
            ("k2", json!([2])),
            ("l", json!(3)),
            ("set", json!([4])),
        ] {
            s.apply(&op(json!({"f":"write","key":k,"value":v})));
        }
        let t = op(json!({"f":"txn","ops":[["scan","k",null],["scan","k","l"],["scan","x",null]]}));
        assert_eq!(
            s.apply(&t),
            Outcome::Ok {
                value: json!([
                    ["scan", "k", {"k1": 1, "k2": [2], "l": 3, "set": [4]}],
                    ["scan", "k", {"k1": 1, "k2": [2]}],
                    ["scan", "x", {}]
                ])
            }
        );
    }
}
