//! Network back ends: where nodes live on the network and how partitions are
//! enforced, outside the system under test.
//!
//! - [`netns`]: a network namespace per node plus one for clients, joined by a
//!   bridge in a hub namespace; partitions are nftables drop rules inside node
//!   namespaces. Needs root and `nft`.
//! - [`proxy`]: nodes on 127.0.0.1; every node-to-node link goes through a
//!   userspace TCP proxy owned by the harness. No privileges.
//! - [`null`]: 127.0.0.1 without any fault injection; records grudges (tests).
//! - [`remote`]: nodes on the hosts of an inventory ([`hosts`]), reached over SSH
//!   ([`ssh`]); partitions are nftables rules on each host.
//!
//! Safety invariant: test traffic stays on 127.0.0.0/8 or inside namespaces
//! this module creates; namespaces never get a default route.

pub mod grudge;
pub mod hosts;
pub mod netns;
pub mod null;
pub mod packet;
pub mod proxy;
pub mod remote;
pub mod shape;
pub mod ssh;

pub use crate::util::runtag::RunTag;
pub use grudge::Grudge;
pub use packet::Packets;
pub use shape::{Cut, Shape};

use std::collections::BTreeMap;
use std::net::SocketAddr;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum NetError {
    #[error("network back end `{backend}` is unavailable: {reason}")]
    Unavailable { backend: String, reason: String },
    #[error("`{command}` failed: {message}")]
    Command { command: String, message: String },
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
    #[error("network back end `{backend}` does not support {what}")]
    Unsupported { backend: String, what: String },
    #[error("unknown net back end `{0}` (known: netns, proxy, auto)")]
    UnknownKind(String),
}

/// Where one node lives on the network and how to place its process.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeNet {
    pub id: String,
    /// Port name → address the node binds.
    pub listen: BTreeMap<String, SocketAddr>,
    /// Port name → address clients and the harness dial (from the client placement).
    pub dial: BTreeMap<String, SocketAddr>,
    /// This node's view of every node's peer address (itself included); in proxy
    /// mode these are proxy ports, so the harness sits on every link.
    pub peers: BTreeMap<String, SocketAddr>,
    /// Argv prefix that places the node process (`ip netns exec NS`), or empty.
    pub exec_prefix: Vec<String>,
}

/// What the back end must lay out: node names and port names.
#[derive(Clone, Debug)]
pub struct Layout {
    pub nodes: Vec<String>,
    pub ports: Vec<String>,
    /// Which of `ports` is node-to-node.
    pub peer: String,
}

/// A network back end. One instance per run; `teardown` is idempotent and is
/// also what `faultline cleanup` relies on (via names carrying the [`RunTag`]).
pub trait NetBackend: Send + Sync {
    /// `netns`, `proxy` or `null`.
    fn kind(&self) -> &'static str;

    /// Creates the placement and returns each node's addresses, in `layout.nodes` order.
    fn setup(&mut self, layout: &Layout) -> Result<Vec<NodeNet>, NetError>;

    /// Places the calling thread where clients live (netns: `setns` into the
    /// client namespace). Call on a dedicated thread before opening sockets.
    fn enter_client(&self) -> Result<(), NetError>;

    /// Replaces any current partition with `grudge` (node → nodes it drops traffic from).
    fn partition(&self, grudge: &Grudge) -> Result<(), NetError>;

    /// Removes every partition and added latency.
    fn heal(&self) -> Result<(), NetError>;

    /// Adds `ms` of one-way latency to every node-to-node link (0 removes it).
    fn set_latency(&self, _ms: u64) -> Result<(), NetError> {
        Err(NetError::Unsupported {
            backend: self.kind().to_string(),
            what: "latency".into(),
        })
    }

    /// Applies packet faults to every node-to-node link (`Packets::default()` removes them).
    fn set_packets(&self, _p: &Packets) -> Result<(), NetError> {
        Err(NetError::Unsupported {
            backend: self.kind().to_string(),
            what: "packet faults (--nemesis delay, loss; use --net proxy)".into(),
        })
    }

    /// Removes everything this back end created. Idempotent.
    fn teardown(&mut self) -> Result<(), NetError>;
}

/// `--net` choices.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum NetKind {
    Netns,
    Proxy,
    /// netns when it works here (root, `nft`), else proxy.
    #[default]
    Auto,
}

impl std::str::FromStr for NetKind {
    type Err = NetError;
    fn from_str(s: &str) -> Result<Self, NetError> {
        match s {
            "netns" => Ok(NetKind::Netns),
            "proxy" => Ok(NetKind::Proxy),
            "auto" => Ok(NetKind::Auto),
            other => Err(NetError::UnknownKind(other.to_string())),
        }
    }
}

/// Builds the back end for `kind`; `auto` probes netns and falls back to proxy.
/// Returns the back end and, for `auto`, why the choice was made.
pub fn build(kind: NetKind, tag: &RunTag) -> Result<(Box<dyn NetBackend>, String), NetError> {
    match kind {
        NetKind::Netns => {
            netns::probe()?;
            Ok((
                Box::new(netns::Netns::new(tag.clone())),
                "netns (asked for)".into(),
            ))
        }
        NetKind::Proxy => Ok((Box::new(proxy::Proxy::new()), "proxy (asked for)".into())),
        NetKind::Auto => match netns::probe() {
            Ok(()) => Ok((
                Box::new(netns::Netns::new(tag.clone())),
                "netns (auto: root and nft available)".into(),
            )),
            Err(e) => Ok((
                Box::new(proxy::Proxy::new()),
                format!("proxy (auto: netns unavailable: {e})"),
            )),
        },
    }
}
