//! Which protocol core a built-in store node runs (`--topology`).

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Topology {
    /// One leader orders every write (Raft-style; [`crate::store::core`]).
    #[default]
    SingleLeader,
    /// Dynamo-style: any node coordinates, N/W/R quorums, conflicts resolved
    /// per `--conflict` ([`crate::store::leaderless`]).
    Leaderless,
    /// One leader per datacenter (`--datacenters`), asynchronous replication
    /// between them per `--dc-topology` ([`crate::store::multileader`]).
    MultiLeader,
}
