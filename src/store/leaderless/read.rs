//! The coordinator's read path: ask every target, join the replies, answer
//! after R of them. Read repair sends the joined state to the repliers that
//! were missing some of it: before answering (`sync`, and the stale ones
//! among the first R must confirm), or after (`async`, late replies too).

use super::targets::recruit;
use super::types::{Msg, NodeId, ReadRepair};
use super::{Core, Origin, Timer};
use crate::store::conflict::{read_value, KeyState};
use crate::store::ops::Outcome;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Debug)]
pub(super) struct ReadReq {
    origin: Origin,
    key: String,
    r: usize,
    asked: BTreeSet<NodeId>,
    /// Replier -> the digest it holds as far as we know (None: nothing).
    replies: BTreeMap<NodeId, Option<u64>>,
    merged: Option<KeyState>,
    /// `sync`: repair started; the answer is the state as it was then (what
    /// the stale repliers are being repaired to), whatever arrives later.
    sync_started: bool,
    answer_with: Option<KeyState>,
    awaiting: BTreeSet<NodeId>,
    answered: bool,
    timer: Timer,
}

impl Core {
    pub(super) fn start_read(&mut self, origin: Origin, key: String, r: usize) {
        let me = self.cfg.id.clone();
        let ts = match self.targets_for(&key, r, "R") {
            Ok(ts) => ts,
            Err(refusal) => return self.respond(origin, refusal),
        };
        let id = self.fresh_id();
        let mut rd = ReadReq {
            origin,
            key: key.clone(),
            r,
            asked: ts.iter().map(|t| t.node.clone()).collect(),
            replies: BTreeMap::new(),
            merged: None,
            sync_started: false,
            answer_with: None,
            awaiting: BTreeSet::new(),
            answered: false,
            timer: Timer::new(self.now.mono_ns),
        };
        for t in &ts {
            if t.node == me {
                let local = self.store.get(&key).cloned();
                note_reply(&mut rd, &me, local);
            } else {
                self.send(&t.node, Msg::Get { id, key: key.clone() });
            }
        }
        self.reads.insert(id, rd);
        self.check_read(id);
    }

    pub(super) fn on_get_reply(&mut self, from: &str, id: u64, state: Option<KeyState>) {
        let Some(rd) = self.reads.get_mut(&id) else {
            return;
        };
        if rd.asked.contains(from) && !rd.replies.contains_key(from) {
            note_reply(rd, from, state);
            self.check_read(id);
        }
    }

    pub(super) fn on_repair_ack(&mut self, from: &str, id: u64) {
        if let Some(rd) = self.reads.get_mut(&id) {
            if rd.awaiting.remove(from) {
                self.check_read(id);
            }
        }
    }

    fn check_read(&mut self, id: u64) {
        let mode = self.cfg.read_repair;
        let Some(rd) = self.reads.get_mut(&id) else {
            return;
        };
        if !rd.answered && rd.replies.len() >= rd.r {
            if mode == ReadRepair::Sync && !rd.sync_started {
                rd.sync_started = true;
                rd.answer_with = rd.merged.clone();
                self.repair_stale(id, true);
            }
            let rd = self.reads.get_mut(&id).expect("present");
            if rd.awaiting.is_empty() {
                rd.answered = true;
                let state = if mode == ReadRepair::Sync {
                    rd.answer_with.clone()
                } else {
                    rd.merged.clone()
                };
                let value = read_value(state.as_ref(), self.cfg.conflict);
                let origin = rd.origin.clone();
                self.respond(origin, Outcome::Ok { value });
            }
        }
        let Some(rd) = self.reads.get(&id) else {
            return;
        };
        if rd.answered && mode != ReadRepair::Off {
            self.repair_stale(id, false);
        }
        let rd = self.reads.get(&id).expect("present");
        if rd.answered && rd.awaiting.is_empty() && rd.replies.len() == rd.asked.len() {
            self.reads.remove(&id);
        }
    }

    /// Sends the joined state to every replier known to miss part of it.
    fn repair_stale(&mut self, id: u64, ack: bool) {
        let me = self.cfg.id.clone();
        let Some(rd) = self.reads.get_mut(&id) else {
            return;
        };
        let Some(merged) = rd.merged.clone() else {
            return;
        };
        let digest = merged.digest();
        let stale: Vec<NodeId> = rd
            .replies
            .iter()
            .filter(|(_, d)| **d != Some(digest))
            .map(|(n, _)| n.clone())
            .collect();
        let key = rd.key.clone();
        for node in stale {
            let rd = self.reads.get_mut(&id).expect("present");
            rd.replies.insert(node.clone(), Some(digest));
            if node == me {
                self.absorb(&key, &merged, None);
            } else {
                if ack {
                    rd.awaiting.insert(node.clone());
                }
                let msg = Msg::Repair {
                    id,
                    key: key.clone(),
                    state: merged.clone(),
                    ack,
                };
                self.send(&node, msg);
            }
            let bytes = merged.wire_bytes();
            self.event("read-repair", Some(&key), json!({"node": node, "bytes": bytes}));
        }
    }

    pub(super) fn tick_reads(&mut self, now: u64) {
        let ids: Vec<u64> = self.reads.keys().copied().collect();
        for id in ids {
            let cfg = &self.cfg;
            let Some(due) = self.reads.get_mut(&id).map(|r| r.timer.due(now, cfg)) else {
                continue;
            };
            if due.recruit {
                self.recruit_for_read(id);
            }
            if due.resend {
                self.resend_read(id);
            }
            if let Some(rd) = due.expired.then(|| self.reads.remove(&id)).flatten() {
                if !rd.answered {
                    let reason = if rd.awaiting.is_empty() {
                        format!(
                            "read quorum not reached: {} of R={} replies",
                            rd.replies.len(),
                            rd.r
                        )
                    } else {
                        let waiting: Vec<&NodeId> = rd.awaiting.iter().collect();
                        format!("read repair not confirmed in time by {waiting:?}")
                    };
                    self.respond(rd.origin, Outcome::Fail { reason });
                }
            }
        }
    }

    /// Asks again every target that has not replied (while unanswered).
    fn resend_read(&mut self, id: u64) {
        let Some(rd) = self.reads.get(&id).filter(|r| !r.answered) else {
            return;
        };
        let silent: Vec<NodeId> = rd
            .asked
            .iter()
            .filter(|n| !rd.replies.contains_key(*n))
            .cloned()
            .collect();
        let key = rd.key.clone();
        for node in silent {
            self.send(&node, Msg::Get { id, key: key.clone() });
        }
    }

    fn recruit_for_read(&mut self, id: u64) {
        let me = self.cfg.id.clone();
        let Some(rd) = self.reads.get_mut(&id) else {
            return;
        };
        let silent: Vec<NodeId> = rd
            .asked
            .iter()
            .filter(|n| !rd.replies.contains_key(*n) || rd.awaiting.contains(*n))
            .cloned()
            .collect();
        for node in &silent {
            self.mark_down(node);
        }
        self.resend_read(id);
        if !self.cfg.sloppy_quorum {
            return;
        }
        for _ in silent {
            let Some(rd) = self.reads.get_mut(&id) else {
                return;
            };
            if rd.answered {
                return;
            }
            let taken: Vec<&NodeId> = rd.asked.iter().chain([&me]).collect();
            let Some(f) = recruit(self.store.ring(), &self.health, &rd.key, self.cfg.n, &taken) else {
                return;
            };
            rd.asked.insert(f.clone());
            let key = rd.key.clone();
            self.send(&f, Msg::Get { id, key });
        }
    }
}

fn note_reply(rd: &mut ReadReq, from: &str, state: Option<KeyState>) {
    rd.replies
        .insert(from.to_string(), state.as_ref().map(KeyState::digest));
    if let Some(s) = &state {
        KeyState::join_into(&mut rd.merged, s);
    }
}
