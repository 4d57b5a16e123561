//! Linearizability checking (Wing-Gong-Lowe search). Placeholder until issue 2's
//! search lands: answers `unknown`, never a wrong verdict.

use super::{CheckOptions, Checker, Verdict};
use crate::history::History;

/// The linearizability checker; the model comes from [`CheckOptions::model`].
pub struct Linearizable;

impl Checker for Linearizable {
    fn name(&self) -> &str {
        "linearizable"
    }
    fn check(&self, _h: &History, _opts: &CheckOptions) -> Verdict {
        Verdict::unknown("linearizable", "not implemented yet")
    }
}
