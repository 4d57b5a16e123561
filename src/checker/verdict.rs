//! Verdicts are values: a checker never panics on a bad history, it says
//! `false` with witnesses, or `unknown` with the reason.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use std::fmt;

/// `valid: true | false | "unknown"`, as Jepsen writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Validity {
    Valid,
    Invalid,
    Unknown,
}

impl Validity {
    /// Composition rule: any invalid makes the whole invalid, else any unknown
    /// makes it unknown, else valid. The empty composition is valid.
    pub fn combine(self, other: Validity) -> Validity {
        use Validity::*;
        match (self, other) {
            (Invalid, _) | (_, Invalid) => Invalid,
            (Unknown, _) | (_, Unknown) => Unknown,
            _ => Valid,
        }
    }

    /// The exit codes of ARCHITECTURE.md: 0 valid, 1 anomalies found, 2 unknown.
    pub fn exit_code(self) -> i32 {
        match self {
            Validity::Valid => 0,
            Validity::Invalid => 1,
            Validity::Unknown => 2,
        }
    }
}

impl fmt::Display for Validity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Validity::Valid => "valid",
            Validity::Invalid => "INVALID",
            Validity::Unknown => "unknown",
        })
    }
}

impl Serialize for Validity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Validity::Valid => s.serialize_bool(true),
            Validity::Invalid => s.serialize_bool(false),
            Validity::Unknown => s.serialize_str("unknown"),
        }
    }
}

impl<'de> Deserialize<'de> for Validity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Bool(true) => Ok(Validity::Valid),
            Value::Bool(false) => Ok(Validity::Invalid),
            Value::String(s) if s == "unknown" => Ok(Validity::Unknown),
            other => Err(serde::de::Error::custom(format!(
                "valid must be true, false or \"unknown\", got {other}"
            ))),
        }
    }
}

/// One named anomaly with the ops that prove it. `ops` are history indices
/// (the `index` field), so a report can highlight them on the timeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Anomaly {
    /// A stable kind name, e.g. `lost-write`, `stale-read`, `G1c`, `nonlinearizable`.
    pub kind: String,
    /// One or a few sentences a person can follow.
    pub explanation: String,
    #[serde(default)]
    pub ops: Vec<u64>,
    /// Checker-specific structured data (model states, cycle edges, ...).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub data: Value,
}

/// What a checker concluded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub checker: String,
    pub valid: Validity,
    /// One line for the terminal summary.
    pub summary: String,
    #[serde(default)]
    pub anomalies: Vec<Anomaly>,
    /// Checker-specific details (counts, per-key results, series for plots).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub details: Value,
    #[serde(default)]
    pub elapsed_ms: f64,
}

impl Verdict {
    pub fn new(checker: &str, valid: Validity, summary: impl Into<String>) -> Verdict {
        Verdict {
            checker: checker.to_string(),
            valid,
            summary: summary.into(),
            anomalies: Vec::new(),
            details: Value::Null,
            elapsed_ms: 0.0,
        }
    }

    pub fn valid(checker: &str, summary: impl Into<String>) -> Verdict {
        Verdict::new(checker, Validity::Valid, summary)
    }

    pub fn unknown(checker: &str, reason: impl Into<String>) -> Verdict {
        Verdict::new(checker, Validity::Unknown, reason)
    }

    pub fn with_details(mut self, details: Value) -> Verdict {
        self.details = details;
        self
    }

    /// Adds an anomaly and marks the verdict invalid.
    pub fn push_anomaly(&mut self, a: Anomaly) {
        self.valid = Validity::Invalid;
        self.anomalies.push(a);
    }
}
