//! One recorded operation, exactly as DESIGN.md's history format describes it.
//!
//! Invariant: an `Op` is a plain value; nothing here validates pairing (see
//! [`crate::history::pairing`]). Unknown JSON fields are kept in `extra` so a
//! history survives a read/write round trip unchanged.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use std::fmt;

/// The four op types of Jepsen: an invocation and its three possible outcomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpType {
    /// The client started the operation.
    Invoke,
    /// The operation took effect.
    Ok,
    /// The operation certainly did not take effect.
    Fail,
    /// Unknown: it may or may not take effect, at any time after its invocation.
    Info,
}

impl OpType {
    /// Parses `invoke`, `ok`, `fail`, `info` (also with a leading `:` as in EDN).
    pub fn parse(s: &str) -> Option<OpType> {
        match s.trim_start_matches(':') {
            "invoke" => Some(OpType::Invoke),
            "ok" => Some(OpType::Ok),
            "fail" => Some(OpType::Fail),
            "info" => Some(OpType::Info),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OpType::Invoke => "invoke",
            OpType::Ok => "ok",
            OpType::Fail => "fail",
            OpType::Info => "info",
        }
    }

    /// True for `ok`, `fail` and `info`.
    pub fn is_completion(self) -> bool {
        self != OpType::Invoke
    }
}

impl fmt::Display for OpType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who performed an operation: a client process number, or the nemesis.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Process {
    Client(u64),
    Nemesis,
}

impl Process {
    pub fn is_nemesis(self) -> bool {
        matches!(self, Process::Nemesis)
    }
    pub fn client(self) -> Option<u64> {
        match self {
            Process::Client(p) => Some(p),
            Process::Nemesis => None,
        }
    }
}

impl fmt::Display for Process {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Process::Client(p) => write!(f, "{p}"),
            Process::Nemesis => f.write_str("nemesis"),
        }
    }
}

impl Serialize for Process {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Process::Client(p) => s.serialize_u64(*p),
            Process::Nemesis => s.serialize_str("nemesis"),
        }
    }
}

impl<'de> Deserialize<'de> for Process {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Number(n) => n.as_u64().map(Process::Client).ok_or_else(|| {
                serde::de::Error::custom(format!("process {n} is not a non-negative integer"))
            }),
            Value::String(s) if s == "nemesis" || s == ":nemesis" => Ok(Process::Nemesis),
            other => Err(serde::de::Error::custom(format!(
                "process must be an integer or \"nemesis\", got {other}"
            ))),
        }
    }
}

/// One line of a history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Op {
    /// Position in the history, 0-based, dense.
    #[serde(default)]
    pub index: u64,
    /// Nanoseconds since the test started (harness monotonic clock).
    #[serde(default)]
    pub time: u64,
    #[serde(rename = "type")]
    pub ty: OpType,
    pub process: Process,
    /// The function: `read`, `write`, `cas`, `add`, `append`, `txn`, ...
    pub f: String,
    /// Present for keyed workloads; a string or an integer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Value>,
    #[serde(default)]
    pub value: Value,
    /// The node that served the operation, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// Why an op failed or is indeterminate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Any other fields: kept and ignored.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Op {
    /// A fresh op with no key, node, error or extra fields.
    pub fn new(ty: OpType, process: Process, f: impl Into<String>, value: Value) -> Op {
        Op {
            index: 0,
            time: 0,
            ty,
            process,
            f: f.into(),
            key: None,
            value,
            node: None,
            error: None,
            extra: Map::new(),
        }
    }

    pub fn with_key(mut self, key: Value) -> Op {
        self.key = Some(key);
        self
    }

    pub fn with_time(mut self, time: u64) -> Op {
        self.time = time;
        self
    }

    pub fn is_invoke(&self) -> bool {
        self.ty == OpType::Invoke
    }

    /// The key as a string suitable for grouping (`"k1"` and `1` stay distinct: `k1` vs `1`
    /// would only collide if one is the JSON string "1" and the other the number 1).
    pub fn key_string(&self) -> Option<String> {
        self.key.as_ref().map(|k| match k {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    }
}
