//! Workloads: seeded generators of client operations, plus the checkers and
//! parameters each needs. Op shapes are the contract with the checkers (see
//! each submodule). Generators are pure: all randomness comes from the rng the
//! runner passes in, seeded from `--seed`.

pub mod append;
pub mod bank;
pub mod causal;
pub mod collections;
pub mod pace;
pub mod register;

use crate::checker::registry::CheckerId;
use crate::history::Op;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum WorkloadError {
    #[error("unknown workload `{name}` (known: {known})")]
    Unknown { name: String, known: String },
}

/// The workloads, as `--workload` and plan files name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum WorkloadKind {
    Register,
    Set,
    Append,
    Bank,
    Counter,
    Session,
    Causal,
}

impl WorkloadKind {
    pub const ALL: &'static [WorkloadKind] = &[
        WorkloadKind::Register,
        WorkloadKind::Set,
        WorkloadKind::Append,
        WorkloadKind::Bank,
        WorkloadKind::Counter,
        WorkloadKind::Session,
        WorkloadKind::Causal,
    ];

    pub fn name(self) -> &'static str {
        match self {
            WorkloadKind::Register => "register",
            WorkloadKind::Set => "set",
            WorkloadKind::Append => "append",
            WorkloadKind::Bank => "bank",
            WorkloadKind::Counter => "counter",
            WorkloadKind::Session => "session",
            WorkloadKind::Causal => "causal",
        }
    }

    /// The checkers this workload's histories need (a plan's `checkers` replaces them).
    pub fn checkers(self) -> &'static [CheckerId] {
        use CheckerId::*;
        match self {
            WorkloadKind::Register => &[Linearizable, Stale, SplitBrain, Perf],
            WorkloadKind::Set => &[Set, Perf],
            WorkloadKind::Append => &[Elle, Perf],
            WorkloadKind::Bank => &[Bank, Perf],
            WorkloadKind::Counter => &[Counter, Perf],
            WorkloadKind::Session => &[Session, Stale, Perf],
            WorkloadKind::Causal => &[Session, Perf],
        }
    }

    /// A fresh generator.
    pub fn build(self) -> Box<dyn Workload> {
        match self {
            WorkloadKind::Register => Box::new(register::Register::new(false)),
            WorkloadKind::Session => Box::new(register::Register::new(true)),
            WorkloadKind::Set => Box::new(collections::Set::default()),
            WorkloadKind::Counter => Box::new(collections::Counter),
            WorkloadKind::Append => Box::new(append::Append::default()),
            WorkloadKind::Bank => Box::new(bank::Bank::new(5, 100)),
            WorkloadKind::Causal => Box::new(causal::Causal::default()),
        }
    }
}

impl std::fmt::Display for WorkloadKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for WorkloadKind {
    type Err = WorkloadError;
    fn from_str(s: &str) -> Result<WorkloadKind, WorkloadError> {
        WorkloadKind::ALL
            .iter()
            .copied()
            .find(|w| w.name() == s.trim())
            .ok_or_else(|| WorkloadError::Unknown {
                name: s.to_string(),
                known: names().join(", "),
            })
    }
}

/// Every workload name.
pub fn names() -> Vec<&'static str> {
    WorkloadKind::ALL.iter().map(|w| w.name()).collect()
}

/// What a client must speak: the workload's name and its parameters (e.g.
/// bank's `{"total":..,"accounts":[..]}`), so keyless ops like set's final
/// `read` map onto the right storage.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WorkloadInfo {
    pub name: String,
    pub params: serde_json::Value,
}

/// A seeded op generator.
pub trait Workload: Send {
    fn name(&self) -> &str;
    /// Parameters checkers and clients need (`CheckOptions.params`).
    fn params(&self) -> Value {
        Value::Null
    }
    /// Model for model-based checkers (`cas-register`), if any.
    fn model(&self) -> Option<String> {
        None
    }
    /// The next invocation for client `process` (time and index are the recorder's).
    fn next_op(&mut self, rng: &mut ChaCha8Rng, process: u64) -> Op;
    /// Reads issued once after the cluster healed (empty when none).
    fn final_ops(&self) -> Vec<Op> {
        Vec::new()
    }
    fn info(&self) -> WorkloadInfo {
        WorkloadInfo {
            name: self.name().to_string(),
            params: self.params(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn w_name(kind: WorkloadKind) -> String {
        kind.build().name().to_string()
    }

    #[test]
    fn every_workload_builds_is_deterministic_and_has_checkers() {
        for &kind in WorkloadKind::ALL {
            let name = kind.name();
            assert_eq!(name.parse::<WorkloadKind>().unwrap(), kind);
            let ops = |seed| {
                let mut w = kind.build();
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                (0..200).map(|i| w.next_op(&mut rng, i % 4)).collect::<Vec<Op>>()
            };
            assert_eq!(ops(7), ops(7), "{name}");
            if name != "set" {
                assert!(ops(7) != ops(8), "{name}: the seed changes nothing");
            }
            assert!(ops(7).iter().all(|o| o.is_invoke()));
            assert!(!kind.checkers().is_empty());
            assert_eq!(w_name(kind), name);
        }
        assert!("nope".parse::<WorkloadKind>().is_err());
    }
}
