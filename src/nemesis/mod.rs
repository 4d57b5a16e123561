//! Faults: the schedule (what to do when, from the seed), how each step is
//! applied to a target and network, and the network back ends that enforce
//! partitions outside the system under test.

pub mod exec;
pub mod schedule;

pub use exec::Nemesis;
pub use schedule::{parse_kinds, plan, Action, Kind, Kinds, Step};
