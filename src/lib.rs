//! faultline: a Jepsen-style consistency verification harness.
//!
//! Layout (one concept per module; see ARCHITECTURE.md): [`history`] is the contract
//! between every part; [`model`] and [`checker`] judge histories; [`store`] is
//! the built-in reference replicated store; [`system`] (the systems under test),
//! [`net`] (where nodes live and how partitions are enforced), [`client`],
//! [`workload`], [`nemesis`] and [`runner`] run tests; [`report`] writes what
//! people and CI read; [`cli`] is the command line; [`fuzz`] feeds hostile
//! files to the real binary; [`util`] is shared by all.
//! Modules only import from lower layers; `layering.rs` checks it.

pub mod checker;
pub mod cli;
pub mod client;
pub mod fuzz;
pub mod history;
pub mod model;
pub mod modelcheck;
pub mod nemesis;
pub mod net;
pub mod report;
pub mod rundir;
pub mod runner;
pub mod sim;
pub mod store;
pub mod system;
pub mod testkit;
pub mod util;
pub mod workload;

#[cfg(test)]
mod layering;

/// The exit codes of ARCHITECTURE.md.
pub mod exit {
    /// Every checker said valid.
    pub const VALID: i32 = 0;
    /// At least one anomaly was found.
    pub const INVALID: i32 = 1;
    /// Some checker could not decide (budget ran out).
    pub const UNKNOWN: i32 = 2;
    /// The harness itself could not run: bad input, bad config, nodes would not start.
    pub const HARNESS: i32 = 3;
}
