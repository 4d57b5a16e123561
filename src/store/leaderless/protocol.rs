//! How the leaderless core plugs into the seam
//! ([`crate::store::seam::Protocol`]), so `faultline node --topology
//! leaderless` runs it in the same node shell, WAL and admin endpoint as the
//! single-leader core.
//!
//! Durability: every `Persist` becomes one WAL append. Only messages that
//! carry no state (`get`, `forward`, pings and the Merkle hash exchange) and
//! a coordinator's last-write-wins `put` may leave before the batch that
//! precedes them is synced; a `put-ack`, a coordinator's `put` under
//! `siblings`/`crdt` (holding the dot it minted: minted again after a crash
//! that lost it, one dot would name two updates) and every state it ships
//! wait for the sync. A last-write-wins delta is stamped with the wall clock
//! and node id, not with a durable counter, so its replicas may write it in
//! parallel with the coordinator (as a Raft leader's appends leave before its
//! own disk write), and the coordinator still counts its own copy only once
//! it is durable. The admin status is the core's [`Status`] (ring ownership,
//! hints pending, Merkle roots), refreshed on a tick at most every
//! [`STATUS_REFRESH_NS`] because the Merkle roots are computed lazily (and
//! rehashing them on every 5 ms tick cost a node 6% of its CPU under load);
//! the peer-message count is always current.

use super::types::{Action as LAction, Input as LInput, Now as LNow};
use super::{Config, Core, Msg, Record, RequestOpts, Status};
use crate::store::conflict::KeyState;
use crate::store::seam::{
    Action, ActionOf, CoreConfig, Input, InputOf, Now, Protocol, ProtocolStatus, Role, StoredOf, Timers,
    Write,
};
use serde_json::Value;

/// How often a node's core is ticked: request deadlines, probes, handoff and
/// anti-entropy rounds are all measured in ticks of this size.
pub const TICK_NS: u64 = 5_000_000;

/// The admin status (but its message count) may be this old.
pub const STATUS_REFRESH_NS: u64 = 50_000_000;

impl CoreConfig for Config {
    fn id(&self) -> &str {
        &self.id
    }
    fn timers(&self) -> Timers {
        Timers {
            tick_ns: TICK_NS,
            jitter_below_ns: 0,
        }
    }
    /// A Dynamo-style store drops what it cannot deliver to an unreachable
    /// replica (hints, read repair and anti-entropy mend the gap); a TCP
    /// stream would otherwise deliver a partition's writes after the heal.
    fn peer_send_timeout_ms(&self) -> Option<u32> {
        Some((self.request_timeout_ns / 1_000_000).clamp(1, u32::MAX as u64) as u32)
    }
}

fn now(n: Now) -> LNow {
    LNow {
        mono_ns: n.mono_ns,
        wall_ns: n.wall_ns,
    }
}

impl Core {
    /// The admin status as of the last tick (or start).
    pub fn shown_status(&self) -> &Status {
        &self.shown
    }
}

impl Protocol for Core {
    type Config = Config;
    type Msg = Msg;
    type Record = Record;
    /// The records a compaction kept (replayed before the log after it).
    type Snapshot = Vec<Record>;
    type ClientOpts = RequestOpts;

    /// Replays the snapshot's records, then the log's: each is a join, so
    /// the order of duplicates cannot matter. `entropy` seeds request ids.
    fn recover(cfg: Config, disk: StoredOf<Core>, at: Now, entropy: u64) -> (Core, String) {
        let records: Vec<Record> = disk.snapshot.into_iter().flatten().chain(disk.log).collect();
        let n = records.len();
        let mut core = Core::new(cfg, records, now(at), entropy);
        core.shown = Core::status(&mut core);
        let summary = format!(
            "{n} records: {} keys, {} hints pending",
            core.shown.keys,
            core.shown.hints_pending.values().sum::<usize>()
        );
        (core, summary)
    }

    fn step(&mut self, at: Now, input: InputOf<Core>) -> Vec<ActionOf<Core>> {
        let tick = matches!(input, Input::Tick { .. });
        let input = match input {
            Input::Peer { from, msg } => LInput::Peer { from, msg },
            Input::Client { req, op, opts } => LInput::Client { req, op, opts },
            Input::Tick { .. } => LInput::Tick,
            Input::Flush => LInput::Flush,
            Input::Persisted { upto } => LInput::Persisted { upto },
        };
        let out = Core::step(self, now(at), input);
        if tick && self.now.mono_ns >= self.shown_at + STATUS_REFRESH_NS {
            self.shown = Core::status(self);
            self.shown_at = self.now.mono_ns;
        }
        out.into_iter()
            .map(|a| match a {
                LAction::Send { to, msg } => Action::Send { to, msg },
                LAction::Reply { req, outcome } => Action::Reply { req, outcome },
                LAction::Persist(r) => Action::Persist(Write::Append(r)),
                LAction::Event(e) => Action::Event(e),
            })
            .collect()
    }

    fn status(&self, _now: Now) -> ProtocolStatus {
        let mut detail = match serde_json::to_value(&self.shown) {
            Ok(Value::Object(m)) => m,
            _ => serde_json::Map::new(),
        };
        detail.insert("messages_sent".into(), Value::from(self.sent));
        let cfg = &self.cfg;
        detail.insert("topology".into(), Value::from("leaderless"));
        detail.insert("n".into(), Value::from(cfg.n));
        detail.insert("w".into(), Value::from(cfg.w));
        detail.insert("r".into(), Value::from(cfg.r));
        detail.insert(
            "conflict".into(),
            serde_json::to_value(cfg.conflict).unwrap_or_default(),
        );
        ProtocolStatus {
            role: Role::Peer,
            term: 0,
            leader: None,
            detail,
        }
    }

    fn may_send_before_sync(msg: &Msg) -> bool {
        matches!(
            msg,
            Msg::Get { .. }
                | Msg::Put {
                    state: KeyState::Lww(_),
                    ..
                }
                | Msg::Forward { .. }
                | Msg::Ping
                | Msg::Pong
                | Msg::AeLevel { .. }
                | Msg::AeLeaves { .. }
        )
    }

    /// The count of `Persist` actions emitted: `Persisted` up to it lets a
    /// coordinator count its own copy.
    fn persist_mark(&self) -> u64 {
        self.persist_issued
    }

    /// Always in the background: any node coordinates at any moment, so
    /// while it syncs there are client requests to start (their last-write-wins
    /// `put`s to send) and acknowledgements to count for its other writes.
    /// An inline sync held all of that behind an unrelated disk write: each
    /// hop of a write (request, replica sync, acknowledgement) waited out
    /// part of some node's sync besides its own, which tripled a write's
    /// latency under load while the CPU sat half idle. The two thread
    /// hand-offs this costs per batch (not per write) are cheaper.
    fn sync_in_background(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::driver::{Driver, HostTime};
    use crate::store::ops::{ClientOp, Outcome};
    use crate::store::seam::Stored;
    use serde_json::json;

    fn host(ms: u64) -> HostTime {
        HostTime {
            mono_ns: ms * 1_000_000,
            unix_ns: 1_700_000_000_000_000_000 + ms * 1_000_000,
        }
    }

    /// A one-node cluster (N=W=R=1) through the real driver: the write is
    /// answered only after its record is reported synced, and a restart
    /// from what was persisted still holds it.
    #[test]
    fn a_write_is_acknowledged_after_its_sync_and_survives_a_restart() {
        let cfg = Config::new("n1", &["n1"]);
        let (mut d, _) = Driver::<Core>::start(cfg.clone(), Stored::default(), host(0), 7);
        let _ = d.ready(host(0));
        let op = ClientOp::Write {
            key: json!("k"),
            value: json!(5),
        };
        d.step(
            host(1),
            Input::Client {
                req: 1,
                op,
                opts: RequestOpts::default(),
            },
        );
        let r = d.ready(host(1));
        assert!(r.replies.is_empty(), "answered before its sync: {:?}", r.replies);
        let batch = r.persist.expect("the write is persisted");
        d.synced(host(2), batch.id);
        let r = d.ready(host(2));
        assert_eq!(r.replies, vec![(1, Outcome::Ok { value: json!(null) })]);
        let mut disk = Stored::default();
        batch.writes.into_iter().for_each(|w| disk.apply(w));
        let (mut d2, summary) = Driver::<Core>::start(cfg, disk, host(10), 9);
        assert!(summary.contains("1 keys"), "{summary}");
        let read = ClientOp::Read { key: json!("k") };
        d2.step(
            host(11),
            Input::Client {
                req: 2,
                op: read,
                opts: RequestOpts::default(),
            },
        );
        let r = d2.ready(host(11));
        let Some((2, Outcome::Ok { value })) = r.replies.first().cloned() else {
            panic!("no read answer: {:?}", r.replies);
        };
        assert_eq!(value["values"], json!([5]));
    }

    /// A node keeps working while it syncs: a replica's acknowledgement
    /// waits for its batch, but a client write arriving meanwhile sends its
    /// last-write-wins puts at once, and no batch blocks the node inline.
    #[test]
    fn no_batch_syncs_inline_and_puts_leave_while_an_acknowledgement_waits() {
        use crate::store::conflict::{originate, ConflictMode, Update};
        let mut cfg = Config::new("n1", &["n1", "n2", "n3"]);
        cfg.conflict = ConflictMode::Lww;
        let (mut d, _) = Driver::<Core>::start(cfg, Stored::default(), host(0), 7);
        let _ = d.ready(host(0));
        let update = Update::Put {
            value: json!(1),
            context: Default::default(),
        };
        let state = originate(ConflictMode::Lww, None, "n2", 5, update).expect("a delta");
        let put = Msg::Put {
            id: 9,
            key: "a".into(),
            state,
            hint: None,
        };
        d.step(
            host(1),
            Input::Peer {
                from: "n2".into(),
                msg: put,
            },
        );
        let r1 = d.ready(host(1));
        assert!(
            r1.send.is_empty(),
            "the acknowledgement waits for the sync: {:?}",
            r1.send
        );
        let b1 = r1.persist.expect("the replica persists the put");
        assert!(!b1.inline, "a leaderless node never blocks in a sync");
        let op = ClientOp::Write {
            key: json!("b"),
            value: json!(2),
        };
        let opts = RequestOpts::default();
        d.step(host(2), Input::Client { req: 1, op, opts });
        let r2 = d.ready(host(2));
        let puts: Vec<&str> = r2
            .send
            .iter()
            .filter(|(_, m)| matches!(m, Msg::Put { .. }))
            .map(|(to, _)| to.as_str())
            .collect();
        assert_eq!(puts, ["n2", "n3"], "the new write's puts leave during the sync");
        assert!(!r2.persist.expect("the coordinator's own copy").inline);
        assert!(d.take_released().is_empty(), "nothing is synced yet");
        d.synced(host(3), b1.id);
        let released = d.take_released();
        assert!(
            matches!(released.as_slice(), [(to, Msg::PutAck { id: 9 })] if to == "n2"),
            "{released:?}"
        );
    }

    #[test]
    fn the_admin_status_shows_ring_ownership_hints_and_merkle_roots() {
        let cfg = Config::new("n1", &["n1", "n2", "n3"]);
        let (mut d, _) = Driver::<Core>::start(cfg, Stored::default(), host(0), 1);
        d.step(host(5), Input::Tick { jitter_ns: 0 });
        let s = d.status(host(5)).expect("status fits the admin schema");
        assert_eq!(s.role, Role::Peer);
        assert_eq!(s.leader, None);
        let own = s.detail["ownership"].as_object().expect("ownership");
        assert_eq!(own.len(), 3);
        let total: f64 = own.values().filter_map(Value::as_f64).sum();
        assert!((total - 1.0).abs() < 1e-6, "{total}");
        assert!(s.detail["hints_pending"].is_object());
        assert!(!s.detail["merkle_roots"].as_object().expect("roots").is_empty());
        assert_eq!(
            (s.detail["n"].as_u64(), s.detail["conflict"].as_str()),
            (Some(3), Some("siblings"))
        );
    }

    #[test]
    fn acknowledgements_and_states_wait_for_the_sync_but_lookups_do_not() {
        assert!(!Core::may_send_before_sync(&Msg::PutAck { id: 1 }));
        assert!(!Core::may_send_before_sync(&Msg::GetReply { id: 1, state: None }));
        assert!(Core::may_send_before_sync(&Msg::Get {
            id: 1,
            key: "k".into()
        }));
        assert!(Core::may_send_before_sync(&Msg::Ping));
    }

    /// A last-write-wins put carries no minted dot, so the replicas may
    /// write it while the coordinator does; a minted one waits.
    #[test]
    fn only_a_last_write_wins_put_leaves_before_the_coordinators_sync() {
        use crate::store::conflict::{originate, ConflictMode, Update};
        let put = |mode| {
            let update = Update::Put {
                value: json!(1),
                context: Default::default(),
            };
            Msg::Put {
                id: 1,
                key: "k".into(),
                state: originate(mode, None, "n1", 5, update).expect("a delta"),
                hint: None,
            }
        };
        assert!(Core::may_send_before_sync(&put(ConflictMode::Lww)));
        assert!(!Core::may_send_before_sync(&put(ConflictMode::Siblings)));
    }
}
