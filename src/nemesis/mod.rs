//! Faults: what `--nemesis` names ([`kinds`]), which nodes a fault hits
//! ([`aim`]), the schedule (what to do when, from the seed) and how each step
//! is applied to a system and its network ([`exec`]). The network back ends
//! that enforce partitions outside the system under test, and the partition
//! shapes, are [`crate::net`].

pub mod admit;
pub mod aim;
pub mod exec;
pub mod focus;
pub mod kinds;
pub mod schedule;

pub use aim::{Aim, Victims};
pub use exec::Nemesis;
pub use kinds::{parse_kinds, Fault, Kind, Kinds, ScheduleError, KIND_NAMES};
pub use schedule::{plan, plan_in, Action, Cluster, Step, DRIFT_PERMILLE};
