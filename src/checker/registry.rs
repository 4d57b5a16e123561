//! Checkers by id, for the command line (`--checker a,b`), test plans and test.toml.

use super::{Checker, Noop};
use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum RegistryError {
    #[error("unknown checker `{name}` (known: {known})")]
    Unknown { name: String, known: String },
}

/// Every checker this build has. The names (`split_brain`, ...) are the ones results.json
/// and the command line use.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum CheckerId {
    Linearizable,
    Set,
    Stale,
    #[value(name = "split_brain", alias = "split-brain")]
    #[serde(alias = "split-brain")]
    SplitBrain,
    Session,
    Counter,
    Bank,
    Perf,
    Elle,
    Convergence,
    Noop,
}

impl CheckerId {
    /// Every checker, in the order `--checker all` runs them.
    pub const ALL: &'static [CheckerId] = &[
        CheckerId::Linearizable,
        CheckerId::Set,
        CheckerId::Stale,
        CheckerId::SplitBrain,
        CheckerId::Session,
        CheckerId::Counter,
        CheckerId::Bank,
        CheckerId::Perf,
        CheckerId::Elle,
        CheckerId::Convergence,
        CheckerId::Noop,
    ];

    pub fn name(self) -> &'static str {
        match self {
            CheckerId::Linearizable => "linearizable",
            CheckerId::Set => "set",
            CheckerId::Stale => "stale",
            CheckerId::SplitBrain => "split_brain",
            CheckerId::Session => "session",
            CheckerId::Counter => "counter",
            CheckerId::Bank => "bank",
            CheckerId::Perf => "perf",
            CheckerId::Elle => "elle",
            CheckerId::Convergence => "convergence",
            CheckerId::Noop => "noop",
        }
    }

    /// The checker itself.
    pub fn build(self) -> Box<dyn Checker> {
        match self {
            CheckerId::Linearizable => Box::new(super::linearizable::Linearizable),
            CheckerId::Set => Box::new(super::set::SetChecker),
            CheckerId::Stale => Box::new(super::stale::Stale),
            CheckerId::SplitBrain => Box::new(super::split_brain::SplitBrain),
            CheckerId::Session => Box::new(super::session::Session),
            CheckerId::Counter => Box::new(super::counter::Counter),
            CheckerId::Bank => Box::new(super::bank::Bank),
            CheckerId::Perf => Box::new(super::perf::Perf),
            CheckerId::Elle => Box::new(super::elle::Elle),
            CheckerId::Convergence => Box::new(super::convergence::Convergence),
            CheckerId::Noop => Box::new(Noop),
        }
    }
}

impl std::fmt::Display for CheckerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for CheckerId {
    type Err = RegistryError;
    fn from_str(s: &str) -> Result<CheckerId, RegistryError> {
        let s = s.trim();
        CheckerId::ALL
            .iter()
            .copied()
            .find(|c| c.name() == s || (s == "split-brain" && *c == CheckerId::SplitBrain))
            .ok_or_else(|| RegistryError::Unknown {
                name: s.to_string(),
                known: NAMES.join(", "),
            })
    }
}

/// Every checker name this build knows, in the order of [`CheckerId::ALL`].
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
    "convergence",
    "noop",
];

/// Builds one checker by name.
pub fn build(name: &str) -> Result<Box<dyn Checker>, RegistryError> {
    Ok(name.parse::<CheckerId>()?.build())
}

/// Builds the checkers `ids` name, in order.
pub fn build_all(ids: &[CheckerId]) -> Vec<Box<dyn Checker>> {
    ids.iter().map(|c| c.build()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    #[test]
    fn ids_names_and_built_checkers_agree() {
        assert_eq!(CheckerId::ALL.len(), NAMES.len());
        for (id, name) in CheckerId::ALL.iter().zip(NAMES) {
            assert_eq!(id.name(), *name);
            assert_eq!(id.build().name(), *name);
            assert_eq!(name.parse::<CheckerId>().unwrap(), *id);
            assert_eq!(
                CheckerId::from_str(name, false).unwrap(),
                *id,
                "clap name of {name}"
            );
            let json = serde_json::to_string(id).unwrap();
            assert_eq!(json, format!("\"{name}\""));
        }
        assert_eq!("split-brain".parse::<CheckerId>().unwrap(), CheckerId::SplitBrain);
        assert!(build("nope").is_err());
    }
}
