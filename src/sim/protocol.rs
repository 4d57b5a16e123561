//! What the simulator needs of a core beyond the seam: its configuration as
//! `faultline node` builds it from a test's store modes, and the options its
//! clients send. One impl per topology; the simulator is generic over it.

use crate::store::core::{Config, Core};
use crate::store::seam::Protocol;
use crate::system::BuiltinModes;

/// The snapshot interval `faultline node` uses unless told (`--snapshot-every`).
pub const SNAPSHOT_EVERY: u64 = 10_000;

/// A core the simulator can run.
pub trait SimProtocol: Protocol {
    /// Node `id`'s configuration in a cluster of `nodes` under `modes`: what the
    /// built-in target's argv makes `faultline node` build.
    fn config(id: &str, nodes: &[String], modes: &BuiltinModes) -> Self::Config;

    /// The options every client request carries under `modes`.
    fn client_opts(_modes: &BuiltinModes) -> Self::ClientOpts {
        Self::ClientOpts::default()
    }
}

impl SimProtocol for Core {
    fn config(id: &str, nodes: &[String], m: &BuiltinModes) -> Config {
        let refs: Vec<&str> = nodes.iter().map(String::as_str).collect();
        let mut c = Config::new(id, &refs);
        c.replication = m.replication;
        c.reads = m.reads;
        c.fencing = m.fencing;
        c.heartbeat_ns = m.heartbeat_ms * 1_000_000;
        c.election_timeout_ns = m.election_timeout_ms * 1_000_000;
        c.snapshot_every = SNAPSHOT_EVERY;
        c
    }
}
