//! What the simulator needs of a core beyond the seam: its configuration as
//! `faultline node` builds it from a test's store modes, and how its clients
//! speak a workload. One impl per topology; the simulator is generic over it.

use super::ops::SimOps;
use crate::store::core::{Config, Core};
use crate::store::seam::{NoOpts, Protocol};
use crate::system::builtin_ops::OpMap;
use crate::system::BuiltinModes;
use crate::workload::WorkloadInfo;

/// The snapshot interval `faultline node` uses unless told (`--snapshot-every`).
pub const SNAPSHOT_EVERY: u64 = 10_000;

/// A core the simulator can run.
pub trait SimProtocol: Protocol {
    /// Node `id`'s configuration in a cluster of `nodes` under `modes`: what the
    /// built-in target's argv makes `faultline node` build.
    fn config(id: &str, nodes: &[String], modes: &BuiltinModes) -> Self::Config;

    /// How its clients speak workload `info` under `modes` (its real client's mapping).
    fn ops(info: &WorkloadInfo, modes: &BuiltinModes) -> Box<dyn SimOps<Self::ClientOpts>>;

    /// The coverage counter (see [`super::coverage`]) a peer message arriving at a live
    /// node reaches, if any.
    fn message_coverage(_msg: &Self::Msg) -> Option<&'static str> {
        None
    }

    /// The coverage counter a client reply reaches, if any.
    fn reply_coverage(_outcome: &crate::store::ops::Outcome) -> Option<&'static str> {
        None
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

    fn ops(info: &WorkloadInfo, _modes: &BuiltinModes) -> Box<dyn SimOps<NoOpts>> {
        Box::new(OpMap::new(info.clone()))
    }

    fn message_coverage(msg: &crate::store::core::Message) -> Option<&'static str> {
        matches!(msg, crate::store::core::Message::InstallSnapshot { .. }).then_some("snapshot-install")
    }
}
