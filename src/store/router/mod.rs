//! The router of a sharded store (`faultline router`): clients speak the
//! built-in store's client protocol to it ([`crate::store::ops`], framed by
//! [`crate::store::frame`]); it forwards each request to the replica group that
//! owns its key(s) by the routing table ([`crate::store::shard`]), stamped with
//! the table's epoch, and relays the group's answer under the client's id.
//!
//! A request whose keys belong to more than one group (a transaction or a
//! transfer across shards) is refused with a `fail` answer: it is not executed
//! anywhere. Blocking I/O, one thread per client connection; each connection
//! forwards through its own connections to the groups ([`forward`]).
//!
//! Invariant: the router answers `fail` only when the request certainly ran
//! nowhere; once a group may have executed it (a timeout, a lost connection,
//! the group's own `unknown`) the answer is `unknown`.

pub mod forward;

use crate::store::frame::{self, FrameError};
use crate::store::ops::{key_str, ClientOp, Outcome, Request, Response};
use crate::store::shard::{GroupId, PartitionerKind, RoutingTable, ShardError};
use forward::Forwarder;
use std::io::{BufReader, BufWriter, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum RouterError {
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Shard(#[from] ShardError),
    #[error("group {0} has no nodes")]
    EmptyGroup(GroupId),
}

/// What a router runs with.
#[derive(Clone, Debug)]
pub struct RouterConfig {
    /// The client address it binds.
    pub listen: SocketAddr,
    /// Per group, its nodes' ids and client addresses.
    pub groups: Vec<Vec<(String, SocketAddr)>>,
    pub partitioner: PartitionerKind,
    /// How long one request may take in a group before it is answered `unknown`.
    pub forward_timeout: Duration,
}

/// The keys an op touches, as the store names them.
pub fn keys_of(op: &ClientOp) -> Vec<String> {
    match op {
        ClientOp::Read { key }
        | ClientOp::Write { key, .. }
        | ClientOp::Cas { key, .. }
        | ClientOp::Append { key, .. } => vec![key_str(key)],
        ClientOp::Txn { ops } => ops.iter().map(|(_, k, _)| key_str(k)).collect(),
        ClientOp::Transfer { from, to, .. } => vec![key_str(from), key_str(to)],
    }
}

/// The one group owning every key of `op`, or the refusal (`Err`) to answer with.
pub fn route(table: &RoutingTable, op: &ClientOp) -> Result<GroupId, String> {
    let keys = keys_of(op);
    let mut owners: Vec<GroupId> = keys.iter().map(|k| table.owner(k)).collect();
    owners.sort_unstable();
    owners.dedup();
    match owners.as_slice() {
        [g] => Ok(*g),
        [] => Err("an operation without keys cannot be routed".into()),
        many => Err(format!(
            "cross-shard operation refused: its keys belong to groups {many:?} (epoch {})",
            table.epoch()
        )),
    }
}

/// Binds and serves until the process ends.
pub fn serve(cfg: RouterConfig) -> Result<(), RouterError> {
    if let Some(g) = cfg.groups.iter().position(|g| g.is_empty()) {
        return Err(RouterError::EmptyGroup(g));
    }
    let table = Arc::new(RoutingTable::new(cfg.partitioner, cfg.groups.len())?);
    let listener = TcpListener::bind(cfg.listen).map_err(|source| RouterError::Listen {
        addr: cfg.listen,
        source,
    })?;
    println!(
        "router listening on {} for {} groups ({:?}, epoch {})",
        cfg.listen,
        cfg.groups.len(),
        cfg.partitioner,
        table.epoch()
    );
    let cfg = Arc::new(cfg);
    for conn in listener.incoming() {
        let Ok(conn) = conn else { continue };
        let (cfg, table) = (cfg.clone(), table.clone());
        std::thread::spawn(move || {
            let _ = connection(conn, &cfg, &table);
        });
    }
    Ok(())
}

/// One client connection: requests in order, each answered before the next is read.
fn connection(conn: TcpStream, cfg: &RouterConfig, table: &RoutingTable) -> Result<(), FrameError> {
    let _ = conn.set_nodelay(true);
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut writer = BufWriter::new(conn);
    let mut fwd = Forwarder::new(cfg.groups.clone(), cfg.forward_timeout);
    loop {
        let body = frame::read_frame(&mut reader)?;
        let resp = match frame::decode::<Request>(&body) {
            Ok(req) => answer(&mut fwd, table, req),
            Err(e) => Response {
                id: 0,
                node: "router".into(),
                outcome: Outcome::Error {
                    reason: format!("malformed request: {e}"),
                },
            },
        };
        frame::write_frame(&mut writer, &resp)?;
        writer.flush()?;
    }
}

fn answer(fwd: &mut Forwarder, table: &RoutingTable, req: Request) -> Response {
    match route(table, &req.op) {
        Ok(group) => {
            let (node, outcome) = fwd.forward(group, &req.op, table.epoch());
            Response {
                id: req.id,
                node,
                outcome,
            }
        }
        Err(reason) => Response {
            id: req.id,
            node: "router".into(),
            outcome: Outcome::Fail { reason },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn requests_route_to_the_owner_and_cross_shard_ones_are_refused() {
        let t = RoutingTable::new(PartitionerKind::Range, 3).unwrap();
        let read = ClientOp::Read { key: json!("apple") };
        assert_eq!(route(&t, &read), Ok(0));
        let same = ClientOp::Txn {
            ops: vec![
                ("append".into(), json!("k1"), json!(1)),
                ("r".into(), json!("k2"), json!(null)),
            ],
        };
        assert_eq!(route(&t, &same), Ok(1), "k1 and k2 share the `iri`..`rir` range");
        let across = ClientOp::Transfer {
            from: json!("apple"),
            to: json!("zebra"),
            amount: 1,
        };
        let e = route(&t, &across).unwrap_err();
        assert!(e.contains("cross-shard") && e.contains("[0, 2]"), "{e}");
        assert!(route(&t, &ClientOp::Txn { ops: vec![] }).is_err());
        // Non-string keys route by their JSON text, as the store names them.
        assert_eq!(keys_of(&ClientOp::Read { key: json!(7) }), ["7"]);
    }
}
