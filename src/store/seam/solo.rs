//! The reference [`Protocol`]: one node and no peers, a key-value store that
//! logs each write and answers every request only once everything it has
//! seen is durable. Small enough to check by eye; tests use it to exercise
//! the driver, the WAL and recovery apart from any replication protocol.
//!
//! Invariant: an `ok` answer is given only after every write applied before
//! it is durable, so recovery ([`Solo::recover`]) never loses an
//! acknowledged write nor shows a read's value vanishing.

use super::{
    Action, ActionOf, CoreConfig, Input, NoOpts, NodeId, Now, Protocol, ProtocolStatus, Role, StoredOf,
};
use super::{Timers, Write};
use crate::store::ops::{ClientOp, KvState, Outcome};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::VecDeque;

#[derive(Clone, Debug)]
pub struct SoloConfig {
    pub id: NodeId,
    /// Compact the log into a snapshot every this many writes (0 = never).
    pub snapshot_every: u64,
}

impl CoreConfig for SoloConfig {
    fn id(&self) -> &str {
        &self.id
    }
    fn timers(&self) -> Timers {
        Timers {
            tick_ns: 10_000_000,
            jitter_below_ns: 0,
        }
    }
}

/// Solo has no peers: no message exists.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum SoloMsg {}

pub struct Solo {
    cfg: SoloConfig,
    kv: KvState,
    /// Durable writes emitted since start (the persist mark).
    emitted: u64,
    durable: u64,
    since_snapshot: u64,
    /// Answers waiting for the writes before them: (mark, request, outcome).
    waiting: VecDeque<(u64, u64, Outcome)>,
    out: Vec<ActionOf<Solo>>,
}

impl Solo {
    pub fn kv(&self) -> &KvState {
        &self.kv
    }

    fn persist(&mut self, w: Write<ClientOp, KvState>) {
        self.emitted += 1;
        self.out.push(Action::Persist(w));
    }

    fn on_client(&mut self, req: u64, op: ClientOp) {
        let outcome = self.kv.apply(&op);
        if matches!(outcome, Outcome::Ok { .. }) && !op.is_read() {
            self.persist(Write::Append(op));
            self.since_snapshot += 1;
            let every = self.cfg.snapshot_every;
            if every > 0 && self.since_snapshot >= every {
                self.since_snapshot = 0;
                let snapshot = self.kv.clone();
                self.persist(Write::Snapshot {
                    snapshot,
                    log: Vec::new(),
                });
            }
        }
        self.waiting.push_back((self.emitted, req, outcome));
    }

    fn answer_durable(&mut self) {
        while self.waiting.front().is_some_and(|w| w.0 <= self.durable) {
            if let Some((_, req, outcome)) = self.waiting.pop_front() {
                self.out.push(Action::Reply { req, outcome });
            }
        }
    }
}

impl Protocol for Solo {
    type Config = SoloConfig;
    type Msg = SoloMsg;
    type Record = ClientOp;
    type Snapshot = KvState;
    type ClientOpts = NoOpts;

    fn recover(cfg: SoloConfig, disk: StoredOf<Solo>, _now: Now, _entropy: u64) -> (Solo, String) {
        let mut kv = disk.snapshot.unwrap_or_default();
        let n = disk.log.len();
        for op in &disk.log {
            kv.apply(op);
        }
        let summary = format!("{} keys ({n} logged writes)", kv.data.len());
        let solo = Solo {
            cfg,
            kv,
            emitted: 0,
            durable: 0,
            since_snapshot: n as u64,
            waiting: VecDeque::new(),
            out: Vec::new(),
        };
        (solo, summary)
    }

    fn step(&mut self, _now: Now, input: Input<SoloMsg>) -> Vec<ActionOf<Solo>> {
        match input {
            Input::Client { req, op, .. } => self.on_client(req, op),
            Input::Persisted { upto } => self.durable = self.durable.max(upto),
            Input::Peer { msg, .. } => match msg {},
            Input::Tick { .. } | Input::Flush => {}
        }
        self.answer_durable();
        std::mem::take(&mut self.out)
    }

    fn status(&self, _now: Now) -> ProtocolStatus {
        let mut detail = serde_json::Map::new();
        detail.insert("keys".into(), Value::from(self.kv.data.len()));
        ProtocolStatus {
            role: Role::Leader,
            term: 0,
            leader: Some(self.cfg.id.clone()),
            detail,
        }
    }

    fn may_send_before_sync(msg: &SoloMsg) -> bool {
        match *msg {}
    }

    fn persist_mark(&self) -> u64 {
        self.emitted
    }

    fn sync_in_background(&self) -> bool {
        false
    }
}
