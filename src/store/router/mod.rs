//! The router of a sharded store (`faultline router`): clients speak the
//! built-in store's client protocol to it ([`crate::store::ops`], framed by
//! [`crate::store::frame`]); it forwards each request to the replica group that
//! owns its key(s) by the routing table ([`crate::store::shard`]), stamped with
//! the table's epoch, and relays the group's answer under the client's id.
//!
//! A request whose keys belong to more than one group (a transaction or a
//! transfer across shards) is refused with a `fail` answer naming the groups
//! (`--cross-shard reject`): it is not executed anywhere; `--cross-shard split`
//! (unsafe) cuts a transaction into per-group parts instead ([`split`]).
//! Routing tables: [`table`] (the harness replaces the shared one with a
//! `{"routing": TableSpec}` frame on the client port when it rebalances;
//! connections cache it). Blocking I/O, one thread per client connection; each connection
//! forwards through its own connections to the groups ([`forward`]).
//!
//! Invariant: the router answers `fail` only when the request certainly ran
//! nowhere; once a group may have executed it (a timeout, a lost connection,
//! the group's own `unknown`) the answer is `unknown`.

pub mod forward;
pub mod split;
pub mod table;

use crate::store::frame::{self, FrameError};
use crate::store::ops::{key_str, ClientOp, Outcome, Request, Response};
use crate::store::shard::{GroupId, PartitionerKind, RoutingTable, ShardError, TableSpec, FENCED};
use forward::Forwarder;
use serde::{Deserialize, Serialize};
use std::io::{BufReader, BufWriter, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;
use table::{Cached, Shared};

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
    #[error("the routing table has {table} groups but only {given} --group lists were given")]
    Groups { table: usize, given: usize },
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
    /// The table to start with (`None`: epoch 1 of `partitioner` over the groups);
    /// a restarted router gets the harness's current one.
    pub routing: Option<TableSpec>,
    pub cross_shard: CrossShard,
}

/// What the router does with a request whose keys span groups (`--cross-shard`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum CrossShard {
    /// Refuse it with a `fail` naming the groups.
    #[default]
    Reject,
    /// Unsafe: run a transaction as independent per-group parts (no atomicity).
    Split,
}

/// The frame that replaces the router's table (harness only).
#[derive(Deserialize)]
struct RoutingUpdate {
    routing: TableSpec,
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
    let table = match &cfg.routing {
        Some(spec) => spec.table()?,
        None => RoutingTable::new(cfg.partitioner, cfg.groups.len())?,
    };
    // More --group lists than the table's groups: groups reserved for adds, routed
    // to once a table that includes them is installed.
    if table.groups() > cfg.groups.len() {
        return Err(RouterError::Groups {
            table: table.groups(),
            given: cfg.groups.len(),
        });
    }
    let epoch = table.epoch();
    let table = Shared::new(table);
    let listener = TcpListener::bind(cfg.listen).map_err(|source| RouterError::Listen {
        addr: cfg.listen,
        source,
    })?;
    println!(
        "router listening on {} for {} groups ({:?}, epoch {})",
        cfg.listen,
        cfg.groups.len(),
        cfg.partitioner,
        epoch
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
fn connection(conn: TcpStream, cfg: &RouterConfig, shared: &Shared) -> Result<(), FrameError> {
    let _ = conn.set_nodelay(true);
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut writer = BufWriter::new(conn);
    let mut fwd = Forwarder::new(cfg.groups.clone(), cfg.forward_timeout);
    let mut cached = Cached::new(shared.clone());
    loop {
        let body = frame::read_frame(&mut reader)?;
        if let Ok(u) = frame::decode::<RoutingUpdate>(&body) {
            frame::write_frame(&mut writer, &install(shared, &u.routing, cfg.groups.len()))?;
            writer.flush()?;
            continue;
        }
        let resp = match frame::decode::<Request>(&body) {
            Ok(req) => answer(&mut fwd, &mut cached, cfg.cross_shard, req),
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

/// Replaces the shared table with a newer one; answers with the epoch in force. A
/// table with more groups than the router has addresses for is refused.
fn install(shared: &Shared, spec: &TableSpec, known: usize) -> Response {
    let outcome = match spec.table() {
        Ok(t) if t.groups() > known => Outcome::Error {
            reason: format!(
                "the table has {} groups; the router knows the nodes of {known}",
                t.groups()
            ),
        },
        Ok(t) => {
            let epoch = shared.install(t);
            println!("routing epoch {epoch}");
            Outcome::Ok {
                value: serde_json::json!(epoch),
            }
        }
        Err(e) => Outcome::Error {
            reason: e.to_string(),
        },
    };
    Response {
        id: 0,
        node: "router".into(),
        outcome,
    }
}

/// Whether a group refused the request by its fence (it ran nowhere).
fn fenced(o: &Outcome) -> bool {
    matches!(o, Outcome::Fail { reason } if reason.starts_with(FENCED))
}

/// Routes and forwards one request; a fenced refusal is retried (up to twice)
/// once the router knows a newer table.
fn answer(fwd: &mut Forwarder, cached: &mut Cached, cross: CrossShard, req: Request) -> Response {
    let mut attempt = 0;
    loop {
        let table = cached.table().clone();
        let (node, outcome) = match route(&table, &req.op) {
            Ok(group) => fwd.forward(group, &req.op, table.epoch()),
            Err(reason) => match (&req.op, cross) {
                (ClientOp::Txn { ops }, CrossShard::Split) if !ops.is_empty() => {
                    let out = split::run(&table, ops, |g, part| fwd.forward(g, part, table.epoch()).1);
                    ("router".to_string(), out)
                }
                _ => ("router".to_string(), Outcome::Fail { reason }),
            },
        };
        attempt += 1;
        if attempt < 3 && fenced(&outcome) && cached.refresh_after_fence() {
            continue;
        }
        return Response {
            id: req.id,
            node,
            outcome,
        };
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

    #[test]
    fn a_table_with_groups_the_router_cannot_reach_is_refused() {
        let t = RoutingTable::new(PartitionerKind::Hash, 1).unwrap();
        let shared = Shared::new(t.clone());
        let grown = t.add_group();
        // Started with one group's addresses: a two-group table is refused.
        let r = install(&shared, &grown.spec(1), 1);
        assert!(matches!(&r.outcome, Outcome::Error { reason } if reason.contains("knows the nodes of 1")));
        assert_eq!(shared.get().epoch(), 1);
        // With the reserved group's addresses (`--group` given for it) it is installed.
        let r = install(&shared, &grown.spec(1), 2);
        assert!(matches!(r.outcome, Outcome::Ok { .. }), "{:?}", r.outcome);
        assert_eq!((shared.get().epoch(), shared.get().groups()), (2, 2));
    }
}
