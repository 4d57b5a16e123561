//! How the single-leader core plugs into the seam
//! ([`crate::store::seam::Protocol`]): recovery from what the disk holds, the
//! admin status, and the hooks the driver's durability rules ask for.

use super::{Action, Config, Core, Entry, Input, Message, NodeId, Reads, Record, Role, Snapshot};
use crate::store::seam::{NoOpts, Now, Protocol, ProtocolStatus, Stored};
use serde_json::Value;

/// What a node recovered from its disk.
#[derive(Clone, Debug, Default)]
pub struct Recovered {
    pub term: u64,
    pub vote: Option<NodeId>,
    pub snapshot: Option<Snapshot>,
    pub entries: Vec<Entry>,
}

impl Recovered {
    /// Replays the WAL's records over its snapshot. Entries the snapshot
    /// covers are skipped; a later entry replaces every entry at or after its
    /// index (the log stays sorted by index).
    pub fn from_stored(disk: Stored<Record, Snapshot>) -> Recovered {
        let mut rec = Recovered {
            snapshot: disk.snapshot,
            ..Recovered::default()
        };
        let base = rec.snapshot.as_ref().map_or(0, |s| s.index);
        let cut = |entries: &mut Vec<Entry>, from: u64| {
            let keep = entries.partition_point(|x| x.index < from);
            entries.truncate(keep);
        };
        for r in disk.log {
            match r {
                Record::Hard { term, vote } => {
                    rec.term = term;
                    rec.vote = vote;
                }
                Record::Entries(es) => {
                    for e in es.into_iter().filter(|e| e.index > base) {
                        cut(&mut rec.entries, e.index);
                        rec.entries.push(e);
                    }
                }
                Record::Truncate { from } => cut(&mut rec.entries, from),
            }
        }
        rec
    }
}

impl Protocol for Core {
    type Config = Config;
    type Msg = Message;
    type Record = Record;
    type Snapshot = Snapshot;
    type ClientOpts = NoOpts;

    /// The first election's jitter is `entropy` below the election timeout.
    fn recover(cfg: Config, disk: Stored<Record, Snapshot>, now: Now, entropy: u64) -> (Core, String) {
        let rec = Recovered::from_stored(disk);
        let summary = format!(
            "term {} snapshot index {} and {} log entries",
            rec.term,
            rec.snapshot.as_ref().map_or(0, |s| s.index),
            rec.entries.len()
        );
        let jitter_ns = entropy % cfg.election_timeout_ns.max(1);
        (Core::new(cfg, rec, now.mono_ns, jitter_ns), summary)
    }

    fn step(&mut self, now: Now, input: Input) -> Vec<Action> {
        self.now = self.now.max(now.mono_ns);
        match input {
            Input::Peer { from, msg } => self.on_message(from, msg),
            Input::Client { req, op, .. } => self.on_client(req, op),
            Input::Tick { jitter_ns } => {
                self.jitter = jitter_ns;
                self.on_tick();
            }
            Input::Flush => {
                if self.role == Role::Leader {
                    self.flush();
                }
            }
            Input::Persisted { upto } => {
                self.durable = self.durable.max(upto);
                self.maybe_commit();
            }
        }
        std::mem::take(&mut self.out)
    }

    fn status(&self, now: Now) -> ProtocolStatus {
        let mut detail = serde_json::Map::new();
        detail.insert("commit_index".into(), Value::from(self.commit));
        detail.insert("applied_index".into(), Value::from(self.applied));
        detail.insert("last_log_index".into(), Value::from(self.log.last_index()));
        if self.role == Role::Leader && self.cfg.reads == Reads::Lease {
            // Negative once expired; on this node's own core clock.
            let ms = (self.lease_until as f64 - now.mono_ns as f64) / 1e6;
            detail.insert("lease_expires_in_ms".into(), Value::from(ms));
        }
        ProtocolStatus {
            role: self.role,
            term: self.term,
            leader: self.leader.clone(),
            detail,
        }
    }

    fn may_send_before_sync(msg: &Message) -> bool {
        matches!(msg, Message::Append { .. } | Message::InstallSnapshot { .. })
    }

    /// The log's last index: `Persisted` up to it lets the leader count its
    /// own copy of every entry up to there.
    fn persist_mark(&self) -> u64 {
        self.log.last_index()
    }

    /// A leader's appends went out already and its followers write in
    /// parallel with its sync; anyone else only waits for its own.
    fn sync_in_background(&self) -> bool {
        self.role == Role::Leader
    }
}
