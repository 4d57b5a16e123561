//! Faults: the schedule (what to do when, from the seed) and the network
//! back ends that enforce partitions outside the system under test.

pub mod net;
