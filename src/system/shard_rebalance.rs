//! Rebalancing a sharded store while clients run (`--nemesis rebalance`): one
//! key range moves from the group(s) owning it to another group, or a group
//! is added (its nodes started, then the partitioner grown: see
//! `super::sharded`). Both are a [`Handover`] carried out by [`switch`].
//!
//! The protocol, run by the harness (the store's cores know nothing of it):
//! 1. the next epoch's table is pushed to every group node (admin
//!    `set-routing`): from then on each node refuses requests stamped with an
//!    older epoch and requests for keys its group no longer owns (the fence);
//! 2. the data changing owner is copied: a `scan` transaction (through the
//!    client protocol, stamped with the new epoch) at each giving group's
//!    leader, then one transaction of writes at each receiving group's leader;
//! 3. the router gets the new table (its connections pick it up when a group
//!    refuses them as fenced, or when their cached copy is a TTL old).
//!
//! If the copy fails, the move is rolled back: a table with the old ownership
//! and a still newer epoch goes out the same way. With `--no-shard-fencing`
//! step 1 is skipped: the old owner keeps serving router connections whose
//! cached table is stale, and what they write after the copy is lost.

use crate::store::admin::AdminClient;
use crate::store::frame;
use crate::store::ops::{ClientOp, Outcome, Response};
use crate::store::router::forward::Forwarder;
use crate::store::shard::{GroupId, Handover, KeyRange, RoutingTable, TableSpec, SCAN};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Per call to a node or the router.
const CALL_TIMEOUT: Duration = Duration::from_millis(1000);
/// Attempts of each copy step (a scan and the writes are idempotent).
const COPY_TRIES: usize = 3;

/// One group node as the mover reaches it.
#[derive(Clone, Debug)]
pub struct Member {
    pub id: String,
    pub group: GroupId,
    pub client: SocketAddr,
    pub admin: SocketAddr,
}

/// The first characters of the keys a workload uses: where its ranges to move are.
fn prefixes(workload: &str) -> Vec<String> {
    let one = |s: &str| vec![s.to_string()];
    match workload {
        "set" => one("s"),
        "counter" => one("c"),
        "register" | "session" => one("k"),
        "append" => (0..10).map(|d| d.to_string()).collect(),
        _ => (b'0'..=b'9')
            .chain(b'a'..=b'z')
            .map(|c| (c as char).to_string())
            .collect(),
    }
}

/// The range to move for `workload` and the group to move it to, drawn from
/// `seed`: the keys starting with one of the workload's first characters, to a
/// group other than the one owning that prefix (so a one-key workload's key
/// always moves). `None` with fewer than two groups.
pub fn draw(table: &RoutingTable, workload: &str, seed: u64) -> Option<(KeyRange, GroupId)> {
    let k = table.groups();
    if k < 2 {
        return None;
    }
    let ps = prefixes(workload);
    let p = &ps[(seed % ps.len() as u64) as usize];
    let mut hi = p.clone().into_bytes();
    *hi.last_mut()? += 1;
    let hi = String::from_utf8(hi).ok()?;
    let probe = if workload == "set" { "set" } else { p.as_str() };
    let step = 1 + ((seed >> 16) % (k as u64 - 1)) as usize;
    let to = (table.owner(probe) + step) % k;
    Some((KeyRange::new(p, Some(&hi)).ok()?, to))
}

/// Whether a rebalance drawn from `seed` adds a group, with `groups` in the table
/// and `all` groups placed: while reserved groups are left, one draw in two
/// (a bit of the seed the range draw does not use), and always when a single
/// group leaves no range to move.
pub fn adds_now(seed: u64, groups: usize, all: usize) -> bool {
    groups < all && (groups < 2 || (seed >> 40) & 1 == 0)
}

/// Pushes `table` to the nodes; returns those told and the errors per node.
pub fn fence(members: &[Member], spec: &TableSpec) -> (Vec<String>, Map<String, Value>) {
    let (mut told, mut errors) = (Vec::new(), Map::new());
    for m in members {
        match AdminClient::connect(m.admin, CALL_TIMEOUT)
            .and_then(|mut c| c.set_routing(m.group, spec.clone()))
        {
            Ok(()) => told.push(m.id.clone()),
            Err(e) => {
                errors.insert(m.id.clone(), json!(e.to_string()));
            }
        }
    }
    (told, errors)
}

/// Tells the router its new table; returns the epoch it now routes by.
pub fn tell_router(router: SocketAddr, spec: &TableSpec) -> Result<u64, String> {
    let mut s = TcpStream::connect_timeout(&router, CALL_TIMEOUT).map_err(|e| e.to_string())?;
    let _ = s.set_read_timeout(Some(CALL_TIMEOUT));
    let _ = s.set_write_timeout(Some(CALL_TIMEOUT));
    frame::write_frame(&mut s, &json!({ "routing": spec })).map_err(|e| e.to_string())?;
    let body = frame::read_frame(&mut std::io::BufReader::new(&s)).map_err(|e| e.to_string())?;
    match frame::decode::<Response>(&body)
        .map_err(|e| e.to_string())?
        .outcome
    {
        Outcome::Ok { value } => value.as_u64().ok_or_else(|| format!("router answered {value}")),
        other => Err(format!("router answered {other:?}")),
    }
}

/// Sends `op` to `group` (stamped `epoch`) until it is `ok`, up to [`COPY_TRIES`] times.
fn call(fwd: &mut Forwarder, group: GroupId, op: &ClientOp, epoch: u64) -> Result<Value, String> {
    let mut last = String::new();
    for _ in 0..COPY_TRIES {
        match fwd.forward(group, op, epoch).1 {
            Outcome::Ok { value } => return Ok(value),
            other => last = format!("group {group}: {other:?}"),
        }
    }
    Err(last)
}

/// Copies the keys changing owner from their givers to their receivers; returns how many.
pub fn copy(members: &[Member], ho: &Handover) -> Result<usize, String> {
    let groups = (0..ho.after.groups())
        .map(|g| {
            members
                .iter()
                .filter(|m| m.group == g)
                .map(|m| (m.id.clone(), m.client))
                .collect()
        })
        .collect();
    let mut fwd = Forwarder::new(groups, Duration::from_secs(2));
    let epoch = ho.after.epoch();
    let scan = ClientOp::Txn {
        ops: vec![(SCAN.into(), json!(ho.scope.lo), json!(ho.scope.hi))],
    };
    let mut writes: BTreeMap<GroupId, Vec<(String, Value, Value)>> = BTreeMap::new();
    for g in ho.givers() {
        let v = call(&mut fwd, g, &scan, epoch)?;
        let Some(found) = v[0][2].as_object() else {
            return Err(format!("group {g}: a scan answered {v}"));
        };
        for (k, val) in found.iter().filter(|(k, _)| ho.gives(g, k)) {
            let w = ("w".to_string(), json!(k), val.clone());
            writes.entry(ho.receiver(k)).or_default().push(w);
        }
    }
    let mut n = 0;
    for (to, ops) in writes {
        n += ops.len();
        call(&mut fwd, to, &ClientOp::Txn { ops }, epoch)?;
    }
    Ok(n)
}

/// What the fence-copy-switch protocol needs of the cluster.
pub struct Switch<'a> {
    /// The nodes of every running group (a group being added included).
    pub members: &'a [Member],
    /// The groups the store started with (a [`TableSpec`]'s base).
    pub base: usize,
    pub fencing: bool,
    pub router: SocketAddr,
}

/// Carries out `ho`: fences every node with the table after (unless fencing is
/// off), copies, and tells the router; if the copy fails, the ownership before
/// goes out with a still newer epoch instead. Returns the table now in force
/// and what happened, for the history.
pub fn switch(s: &Switch, ho: &Handover) -> (TableSpec, Value) {
    let after = ho.after.spec(s.base);
    let (mut fenced, mut errors) = (Vec::new(), Map::new());
    if s.fencing {
        (fenced, errors) = fence(s.members, &after);
    }
    let copied = copy(s.members, ho);
    let (spec, moved) = match &copied {
        Ok(_) => (after, true),
        Err(_) => {
            let mut back = ho.before.spec(s.base);
            back.epoch = ho.after.epoch() + 1;
            if s.fencing {
                fence(s.members, &back);
            }
            (back, false)
        }
    };
    let mut v = json!({
        "epoch": spec.epoch, "moved": moved, "fencing": s.fencing, "fenced": fenced,
        "table": spec,
    });
    match tell_router(s.router, &spec) {
        Ok(epoch) => v["router_epoch"] = json!(epoch),
        Err(e) => v["router_error"] = json!(e),
    }
    match copied {
        Ok(n) => v["keys"] = json!(n),
        Err(e) => v["copy_error"] = json!(e),
    }
    if !errors.is_empty() {
        v["errors"] = Value::Object(errors);
    }
    (spec, v)
}

/// Tries to push `spec` to `member` until it answers or `for_how_long` passes
/// (a node just restarted or resumed must learn the fence before it serves).
pub fn refence_later(member: Member, spec: TableSpec, for_how_long: Duration) {
    std::thread::spawn(move || {
        let end = Instant::now() + for_how_long;
        while Instant::now() < end {
            if fence(std::slice::from_ref(&member), &spec).1.is_empty() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::shard::PartitionerKind;

    #[test]
    fn a_drawn_move_always_moves_the_workloads_keys_to_another_group() {
        for kind in [
            PartitionerKind::Hash,
            PartitionerKind::Consistent,
            PartitionerKind::Range,
        ] {
            let mut t = RoutingTable::new(kind, 3).unwrap();
            for seed in 0..40u64 {
                let seed = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
                let (r, to) = draw(&t, "set", seed).unwrap();
                assert!(r.contains("set") && t.owner("set") != to, "{kind:?} {r:?} {to}");
                t = t.move_range(r, to).unwrap();
                assert_eq!(t.owner("set"), to);
                let (r, to) = draw(&t, "append", seed).unwrap();
                assert!(r.contains(&r.lo) && !r.contains(&r.hi.clone().unwrap()));
                assert!(to < 3);
            }
        }
        assert!(draw(&RoutingTable::new(PartitionerKind::Hash, 1).unwrap(), "set", 1).is_none());
        let (r, _) = draw(
            &RoutingTable::new(PartitionerKind::Hash, 2).unwrap(),
            "register",
            5,
        )
        .unwrap();
        assert!(r.contains("k17") && !r.contains("set"));
    }

    #[test]
    fn adds_are_drawn_only_while_reserved_groups_are_left() {
        let seeds: Vec<u64> = (0..200u64)
            .map(|s| s.wrapping_mul(0x9e37_79b9_7f4a_7c15))
            .collect();
        let adds = seeds.iter().filter(|&&s| adds_now(s, 2, 3)).count();
        assert!((60..140).contains(&adds), "about one in two: {adds}");
        assert!(seeds.iter().all(|&s| !adds_now(s, 3, 3)), "none reserved");
        assert!(seeds.iter().all(|&s| adds_now(s, 1, 2)), "one group must grow");
        assert!(seeds.iter().all(|&s| !adds_now(s, 2, 2)));
    }
}
