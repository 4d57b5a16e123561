//! Checkers judge histories. Each returns a [`Verdict`] value; none panics on
//! bad input (a panic is caught by [`compose`] and reported as `unknown`).

pub mod bank;
mod budget;
pub mod compose;
pub mod convergence;
pub mod counter;
pub mod elle;
pub mod failover;
pub mod linearizable;
mod options;
pub mod perf;
pub mod register;
pub mod registry;
pub mod session;
pub mod set;
pub mod span;
pub mod split_brain;
pub mod stale;
pub mod synth;
mod verdict;

pub use budget::{available_memory, memory_ran_out, time_ran_out, Budget};
pub use compose::{compose, run_one, Composed};
pub use options::CheckOptions;
pub use verdict::{Anomaly, Validity, Verdict};

use crate::history::History;
use thiserror::Error;

/// Input a checker cannot judge at all (an unknown model, a `cas` whose
/// value is not a pair): the history or the options are wrong, not the
/// system. `index` is the history index of the op to blame, when one is, so
/// the command line can name its file line; it exits 3 on these.
#[derive(Debug, Error, Clone, PartialEq)]
#[error("{message}")]
pub struct InputError {
    pub index: Option<u64>,
    pub message: String,
}

/// A history checker. Implementations are cheap to construct; all state lives
/// inside `check`.
pub trait Checker: Send + Sync {
    /// Stable name used on the command line and in results (`linearizable`, `set`, ...).
    fn name(&self) -> &str;
    /// Judges `history`. Must respect `opts` budgets by answering `unknown`.
    fn check(&self, history: &History, opts: &CheckOptions) -> Verdict;
    /// Refuses input `check` could only answer `unknown` on for the wrong
    /// reason (bad input, not a budget). Cheap: no search. The default
    /// accepts everything.
    fn validate(&self, _history: &History, _opts: &CheckOptions) -> Result<(), InputError> {
        Ok(())
    }
}

/// The no-op checker: always valid. Useful in tests and as a placeholder in compositions.
pub struct Noop;

impl Checker for Noop {
    fn name(&self) -> &str {
        "noop"
    }
    fn check(&self, h: &History, _: &CheckOptions) -> Verdict {
        Verdict::valid("noop", format!("{} ops, nothing checked", h.len()))
    }
}
