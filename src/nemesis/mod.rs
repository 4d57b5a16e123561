//! Faults: the schedule (what to do when, from the seed) and how each step is
//! applied to a system and its network. The network back ends that enforce
//! partitions outside the system under test are [`crate::net`].

pub mod exec;
pub mod schedule;

pub use exec::Nemesis;
pub use schedule::{parse_kinds, plan, Action, Kind, Kinds, Step};
