//! Checkers by name, for the command line (`--checker a,b`) and test plans.

use super::{Checker, Noop};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum RegistryError {
    #[error("unknown checker `{name}` (known: {known})")]
    Unknown { name: String, known: String },
}

/// Every checker name this build knows, in the order `--checker all` runs them.
pub const NAMES: &[&str] = &[
    "linearizable",
    "set",
    "stale",
    "split_brain",
    "session",
    "counter",
    "bank",
    "perf",
    "elle",
    "noop",
];

/// Builds one checker by name.
pub fn build(name: &str) -> Result<Box<dyn Checker>, RegistryError> {
    match name {
        "linearizable" => Ok(Box::new(super::linearizable::Linearizable)),
        "set" => Ok(Box::new(super::set::SetChecker)),
        "stale" => Ok(Box::new(super::stale::Stale)),
        "split_brain" => Ok(Box::new(super::split_brain::SplitBrain)),
        "session" => Ok(Box::new(super::session::Session)),
        "counter" => Ok(Box::new(super::counter::Counter)),
        "bank" => Ok(Box::new(super::bank::Bank)),
        "perf" => Ok(Box::new(super::perf::Perf)),
        "elle" => Ok(Box::new(super::elle::Elle)),
        "noop" => Ok(Box::new(Noop)),
        _ => Err(RegistryError::Unknown {
            name: name.to_string(),
            known: NAMES.join(", "),
        }),
    }
}

/// Builds a comma-separated list of checkers.
pub fn build_list(names: &str) -> Result<Vec<Box<dyn Checker>>, RegistryError> {
    names
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(build)
        .collect()
}
