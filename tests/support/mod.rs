//! Helpers shared by the integration tests. Each area's binary (`tests/<area>.rs`) declares
//! `#[macro_use] mod support;`; nothing here is a test binary of its own.
//!
//! - `serial`: the gate every test enters first (`serial!()`), so tests that were separate
//!   binaries never run beside each other (`serial_alone!()`: beside no other test at all);
//! - `runner`: `faultline test` through the binary, run directories, histories;
//! - `store`: real `faultline node` clusters on loopback, killed on drop;
//! - `report`: report.html rendered in Chromium;
//! - `lin`: a brute-force linearizability oracle and random histories;
//! - `elle`: Elle fixtures and history builders;
//! - `external`: whether installed systems (etcd) are present;
//! - `sshhosts`: namespace "hosts" running sshd, for `--hosts` runs.
#![allow(dead_code)]

/// Enters the gate of the calling test's module (see [`serial`]); hold the value to the end
/// of the test: `let _serial = serial!();`.
macro_rules! serial {
    () => {
        $crate::support::serial::enter(module_path!())
    };
}

/// The gate of a test that must run with no other test of its binary beside it: one that
/// SIGKILLs a harness and then looks at what it left (every run's start removes the
/// leftovers of dead harnesses, so another module's run would clean them up first).
#[allow(unused_macros)]
macro_rules! serial_alone {
    () => {
        $crate::support::serial::enter(concat!(module_path!(), ":", line!()))
    };
}

pub mod elle;
pub mod external;
pub mod lin;
pub mod report;
pub mod runner;
pub mod serial;
pub mod sshhosts;
pub mod store;
