//! Workloads: seeded generators of client operations, plus the checkers and
//! parameters each needs. Op shapes are the contract with the checkers (see
//! each submodule). Generators are pure: all randomness comes from the rng the
//! runner passes in, seeded from `--seed`.

pub mod append;
pub mod bank;
pub mod collections;
pub mod pace;
pub mod register;

use crate::history::Op;
use crate::target::WorkloadInfo;
use rand_chacha::ChaCha8Rng;
use serde_json::Value;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum WorkloadError {
    #[error("unknown workload `{name}` (known: {known})")]
    Unknown { name: String, known: String },
}

/// Workload → checkers, as data. The runner runs the ones this build has
/// (`crate::checker::registry::NAMES`) and notes the others as missing.
pub const CHECKERS: &[(&str, &[&str])] = &[
    ("register", &["linearizable", "stale", "split_brain", "perf"]),
    ("set", &["set", "perf"]),
    ("append", &["elle", "perf"]),
    ("bank", &["bank", "perf"]),
    ("counter", &["counter", "perf"]),
    ("session", &["session", "stale", "perf"]),
];

/// Every workload name.
pub fn names() -> Vec<&'static str> {
    CHECKERS.iter().map(|(n, _)| *n).collect()
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

/// The checkers a workload wants, by name.
pub fn checkers_for(name: &str) -> Vec<&'static str> {
    CHECKERS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, c)| c.to_vec())
        .unwrap_or_default()
}

/// Builds a workload by name.
pub fn build(name: &str) -> Result<Box<dyn Workload>, WorkloadError> {
    Ok(match name {
        "register" => Box::new(register::Register::new(false)),
        "session" => Box::new(register::Register::new(true)),
        "set" => Box::new(collections::Set::default()),
        "counter" => Box::new(collections::Counter),
        "append" => Box::new(append::Append::default()),
        "bank" => Box::new(bank::Bank::new(5, 100)),
        _ => {
            return Err(WorkloadError::Unknown {
                name: name.to_string(),
                known: names().join(", "),
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn every_workload_builds_is_deterministic_and_has_checkers() {
        for name in names() {
            let ops = |seed| {
                let mut w = build(name).unwrap();
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                (0..200).map(|i| w.next_op(&mut rng, i % 4)).collect::<Vec<Op>>()
            };
            assert_eq!(ops(7), ops(7), "{name}");
            if name != "set" {
                assert!(ops(7) != ops(8), "{name}: the seed changes nothing");
            }
            assert!(ops(7).iter().all(|o| o.is_invoke()));
            assert!(!checkers_for(name).is_empty());
        }
        assert!(build("nope").is_err());
    }
}
