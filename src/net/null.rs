//! The null back end: nodes on 127.0.0.1 ports, no fault injection at all.
//! Partitions are only recorded (so tests can assert what the nemesis asked for).

use super::{Grudge, Layout, NetBackend, NetError, NodeNet};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Mutex;

#[derive(Default)]
pub struct NullNet {
    /// Every grudge asked for, in order (`heal` records an empty one).
    pub log: Mutex<Vec<Grudge>>,
}

/// Picks a free 127.0.0.1 port (see [`crate::util::ports`] for why not port 0).
pub fn free_port() -> Result<SocketAddr, NetError> {
    crate::util::ports::free_addr().map_err(|source| NetError::Io {
        context: "allocating a 127.0.0.1 port".into(),
        source,
    })
}

/// Direct 127.0.0.1 layout: every port fresh, peers dialled directly.
///
/// All ports of the layout are reserved together, so no two are the same: drawn
/// one at a time and released, a node's peer port could equal another's admin
/// port (about 1 run in 160 for 5 nodes), and that node would not start.
pub fn loopback_layout(layout: &Layout) -> Result<Vec<NodeNet>, NetError> {
    let mut out = Vec::new();
    let ports =
        crate::util::ports::free_ports(layout.nodes.len() * layout.ports.len()).map_err(|source| {
            NetError::Io {
                context: "allocating 127.0.0.1 ports".into(),
                source,
            }
        })?;
    let mut ports = ports.into_iter();
    for id in &layout.nodes {
        let mut listen = BTreeMap::new();
        for (p, port) in layout.ports.iter().zip(ports.by_ref()) {
            listen.insert(p.clone(), SocketAddr::from(([127, 0, 0, 1], port)));
        }
        out.push(NodeNet {
            id: id.clone(),
            dial: listen.clone(),
            listen,
            peers: BTreeMap::new(),
            exec_prefix: Vec::new(),
        });
    }
    let peers: BTreeMap<String, SocketAddr> = out
        .iter()
        .map(|n| (n.id.clone(), n.listen[&layout.peer]))
        .collect();
    for n in &mut out {
        n.peers = peers.clone();
    }
    Ok(out)
}

impl NetBackend for NullNet {
    fn kind(&self) -> &'static str {
        "null"
    }
    fn setup(&mut self, layout: &Layout) -> Result<Vec<NodeNet>, NetError> {
        loopback_layout(layout)
    }
    fn enter_client(&self) -> Result<(), NetError> {
        Ok(())
    }
    fn partition(&self, g: &Grudge) -> Result<(), NetError> {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).push(g.clone());
        Ok(())
    }
    fn heal(&self) -> Result<(), NetError> {
        self.partition(&Grudge::default())
    }
    fn set_latency(&self, _ms: u64) -> Result<(), NetError> {
        Ok(())
    }
    fn set_packets(&self, _p: &super::Packets) -> Result<(), NetError> {
        Ok(())
    }
    fn teardown(&mut self) -> Result<(), NetError> {
        Ok(())
    }
}
