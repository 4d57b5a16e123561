//! One recorded operation, exactly as the history format of ARCHITECTURE.md describes it.
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
        d.deserialize_any(ProcessVisitor)
    }
}

/// Visits the process field without building a `Value` (histories have millions).
struct ProcessVisitor;

impl<'de> serde::de::Visitor<'de> for ProcessVisitor {
    type Value = Process;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a non-negative integer or \"nemesis\"")
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Process, E> {
        Ok(Process::Client(v))
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Process, E> {
        u64::try_from(v)
            .map(Process::Client)
            .map_err(|_| E::custom(format!("process {v} is not a non-negative integer")))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Process, E> {
        Err(E::custom(format!("process {v} is not a non-negative integer")))
    }
    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Process, E> {
        match s {
            "nemesis" | ":nemesis" => Ok(Process::Nemesis),
            _ => Err(E::custom(format!(
                "process must be an integer or \"nemesis\", got \"{s}\""
            ))),
        }
    }
}

/// One line of a history. Deserialization is hand-written (see below): serde's
/// `flatten` would buffer every field and make reading large histories slow.
#[derive(Clone, Debug, PartialEq, Serialize)]
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

impl<'de> Deserialize<'de> for Op {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(OpVisitor)
    }
}

struct OpVisitor;

/// An op's field name, allocated only for extra fields.
enum Field {
    Index,
    Time,
    Type,
    Process,
    F,
    Key,
    Value,
    Node,
    Error,
    Other(String),
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_identifier(FieldVisitor)
    }
}

struct FieldVisitor;

impl serde::de::Visitor<'_> for FieldVisitor {
    type Value = Field;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a field name")
    }
    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Field, E> {
        Ok(match s {
            "index" => Field::Index,
            "time" => Field::Time,
            "type" => Field::Type,
            "process" => Field::Process,
            "f" => Field::F,
            "key" => Field::Key,
            "value" => Field::Value,
            "node" => Field::Node,
            "error" => Field::Error,
            other => Field::Other(other.to_string()),
        })
    }
}

impl<'de> serde::de::Visitor<'de> for OpVisitor {
    type Value = Op;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an op object")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Op, A::Error> {
        use serde::de::Error;
        let (mut index, mut time) = (0, 0);
        let (mut ty, mut process, mut f) = (None, None, None);
        let (mut key, mut value, mut node, mut error) = (None, Value::Null, None, None);
        let mut extra = Map::new();
        while let Some(k) = m.next_key::<Field>()? {
            match k {
                Field::Index => index = m.next_value()?,
                Field::Time => time = m.next_value()?,
                Field::Type => ty = Some(m.next_value::<OpType>()?),
                Field::Process => process = Some(m.next_value::<Process>()?),
                Field::F => f = Some(m.next_value::<String>()?),
                Field::Key => key = m.next_value::<Option<Value>>()?,
                Field::Value => value = m.next_value()?,
                Field::Node => node = m.next_value()?,
                Field::Error => error = m.next_value()?,
                Field::Other(name) => {
                    extra.insert(name, m.next_value()?);
                }
            }
        }
        Ok(Op {
            index,
            time,
            ty: ty.ok_or_else(|| A::Error::missing_field("type"))?,
            process: process.ok_or_else(|| A::Error::missing_field("process"))?,
            f: f.ok_or_else(|| A::Error::missing_field("f"))?,
            key,
            value,
            node,
            error,
            extra,
        })
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn de(v: Value) -> Result<Op, String> {
        serde_json::from_value::<Op>(v.clone())
            .map_err(|e| e.to_string())
            .and_then(|op| {
                // The text path must agree with the Value path.
                let t = serde_json::from_str::<Op>(&v.to_string()).map_err(|e| e.to_string())?;
                assert_eq!(t, op);
                Ok(op)
            })
    }

    #[test]
    fn deserializes_known_and_extra_fields() {
        let op = de(json!({"type":"ok","process":"nemesis","f":"x","key":null,"z":[1],"time":5})).unwrap();
        assert_eq!(op.ty, OpType::Ok);
        assert!(op.process.is_nemesis());
        assert_eq!(op.key, None);
        assert_eq!(op.time, 5);
        assert_eq!(op.value, Value::Null);
        assert_eq!(op.extra.get("z"), Some(&json!([1])));
        let back: Value = serde_json::to_value(&op).unwrap();
        assert_eq!(de(back).unwrap(), op);
    }

    #[test]
    fn rejects_bad_fields() {
        for (v, want) in [
            (json!({"process":1,"f":"r"}), "missing field `type`"),
            (json!({"type":"ok","f":"r"}), "missing field `process`"),
            (json!({"type":"ok","process":1}), "missing field `f`"),
            (json!({"type":"ok","process":-1,"f":"r"}), "non-negative"),
            (json!({"type":"ok","process":"x","f":"r"}), "nemesis"),
            (json!({"type":"ok","process":1.5,"f":"r"}), "non-negative"),
            (json!({"type":"done","process":1,"f":"r"}), "unknown variant"),
            (
                json!({"type":"ok","process":1,"f":"r","time":-3}),
                "invalid value",
            ),
        ] {
            let e = de(v.clone()).unwrap_err();
            assert!(e.contains(want), "{v}: {e}");
        }
    }
}
