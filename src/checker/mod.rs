//! Checkers judge histories. Each returns a [`Verdict`] value; none panics on
//! bad input (a panic is caught by [`compose`] and reported as `unknown`).

pub mod bank;
pub mod compose;
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

pub use compose::{compose, run_one, Composed};
pub use options::CheckOptions;
pub use verdict::{Anomaly, Validity, Verdict};

use crate::history::History;

/// A history checker. Implementations are cheap to construct; all state lives
/// inside `check`.
pub trait Checker: Send + Sync {
    /// Stable name used on the command line and in results (`linearizable`, `set`, ...).
    fn name(&self) -> &str;
    /// Judges `history`. Must respect `opts` budgets by answering `unknown`.
    fn check(&self, history: &History, opts: &CheckOptions) -> Verdict;
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
