//! The built-in store as real `faultline node` processes: cluster, faults, leases, clock drift, the leaderless topology, the sharded store behind its router (groups added live), `bench store`.
//!
//! One test binary per area; each file under `tests/store/` is one module (formerly its own
//! binary). Every test enters `serial!()` first: see `tests/support/serial.rs`.

#[macro_use]
mod support;

mod store {
    mod bench;
    mod cluster;
    mod drift;
    mod faults;
    mod leaderless;
    mod leaderless_repair;
    mod lease;
    mod multileader;
    mod shard;
    mod shard_add;
}
