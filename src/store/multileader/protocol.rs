//! How the multi-leader core plugs into the seam
//! ([`crate::store::seam::Protocol`]): `faultline node --topology
//! multi-leader` runs it in the same node shell, WAL and admin endpoint.
//!
//! Durability: every received or originated change is one WAL append.
//! Shipments and acknowledgements wait for the sync (an acknowledged
//! position is never shipped again by a sender that was not restarted, and
//! a leader's own change carries a dot it minted: minted again after a crash
//! that lost it, one dot would name two updates). Forwarded requests and
//! their replies carry no state and leave at once.

use super::{Config, Core, Msg, Record};
use crate::store::leaderless::RequestOpts;
use crate::store::seam::{
    ActionOf, CoreConfig, InputOf, Now, Protocol, ProtocolStatus, Role, StoredOf, Timers,
};
use serde_json::{json, Map, Value};

/// How often a node's core is ticked (resends, forward deadlines, lag).
pub const TICK_NS: u64 = 5_000_000;

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
    /// Links resend what is not acknowledged, so a stream stuck behind a
    /// partition is dropped rather than delivered late in bulk.
    fn peer_send_timeout_ms(&self) -> Option<u32> {
        Some((self.request_timeout_ns / 1_000_000).clamp(1, u32::MAX as u64) as u32)
    }
}

impl Protocol for Core {
    type Config = Config;
    type Msg = Msg;
    type Record = Record;
    /// The records a compaction kept (replayed before the log after it).
    type Snapshot = Vec<Record>;
    type ClientOpts = RequestOpts;

    fn recover(cfg: Config, disk: StoredOf<Core>, at: Now, entropy: u64) -> (Core, String) {
        let records: Vec<Record> = disk.snapshot.into_iter().flatten().chain(disk.log).collect();
        let n = records.len();
        let core = Core::new(cfg, records, at, entropy);
        let summary = format!(
            "{n} records: {} keys, {} changes applied, {} waiting for dependencies",
            core.store.len(),
            core.log.len(),
            core.pending()
        );
        (core, summary)
    }

    fn step(&mut self, at: Now, input: InputOf<Core>) -> Vec<ActionOf<Core>> {
        Core::step(self, at, input)
    }

    fn status(&self, _now: Now) -> ProtocolStatus {
        let mut detail = Map::new();
        let links: Map<String, Value> = self
            .links
            .iter()
            .map(|(to, l)| {
                let behind = self.log.len() as u64 - l.acked;
                (
                    to.clone(),
                    json!({"dc": l.dc, "acked": l.acked, "behind": behind}),
                )
            })
            .collect();
        detail.insert("topology".into(), json!("multi-leader"));
        detail.insert("dc".into(), json!(self.dc));
        detail.insert("datacenters".into(), json!(self.layout.count()));
        detail.insert(
            "dc_topology".into(),
            serde_json::to_value(self.cfg.dc_topology).unwrap_or_default(),
        );
        detail.insert(
            "conflict".into(),
            serde_json::to_value(self.cfg.conflict).unwrap_or_default(),
        );
        detail.insert("keys".into(), json!(self.store.len()));
        detail.insert("applied".into(), json!(self.log.len()));
        detail.insert("pending".into(), json!(self.pending()));
        detail.insert("links".into(), Value::Object(links));
        ProtocolStatus {
            role: if self.leader { Role::Leader } else { Role::Follower },
            term: 0,
            leader: Some(self.layout.leader(self.dc).to_string()),
            detail,
        }
    }

    fn may_send_before_sync(msg: &Msg) -> bool {
        matches!(msg, Msg::Forward { .. } | Msg::ForwardReply { .. })
    }

    fn persist_mark(&self) -> u64 {
        self.persist_issued
    }

    fn sync_in_background(&self) -> bool {
        false
    }
}
