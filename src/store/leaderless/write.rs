//! The coordinator's write path: originate the delta, send it to every
//! target in parallel, answer after W durable acknowledgements; past the
//! replica deadline mark silent targets down (and, with a sloppy quorum,
//! recruit fallbacks for them); past the request deadline answer `Unknown`.

use super::targets::{recruit, Target};
use super::types::{Msg, NodeId, RequestOpts};
use super::{Core, ForwardReq, Origin, Timer};
use crate::store::conflict::{originate, ConflictMode, KeyState, Update};
use crate::store::ops::{ClientOp, Outcome};
use serde_json::{json, Value};
use std::collections::BTreeMap;

#[derive(Clone, Debug)]
struct Slot {
    hint: Option<NodeId>,
    acked: bool,
    /// False for a coordinator that holds the key outside its targets.
    counts: bool,
}

#[derive(Clone, Debug)]
pub(super) struct WriteReq {
    origin: Origin,
    key: String,
    delta: KeyState,
    w: usize,
    slots: BTreeMap<NodeId, Slot>,
    /// Our own copy counts once this many records are durable.
    own_seq: Option<u64>,
    timer: Timer,
    replied: bool,
    /// The op's `f` and value, for the `ack` event.
    f: &'static str,
    value: Value,
}

impl WriteReq {
    fn acks(&self) -> usize {
        self.slots.values().filter(|s| s.acked && s.counts).count()
    }
}

impl Core {
    /// `op`/`opts` are the client's, kept to forward the write unchanged.
    pub(super) fn start_write(
        &mut self,
        origin: Origin,
        op: &ClientOp,
        opts: &RequestOpts,
        key: String,
        update: Update,
        w: usize,
    ) {
        let me = self.cfg.id.clone();
        let ts = match self.targets_for(&key, w, "W") {
            Ok(ts) => ts,
            Err(refusal) => return self.respond(origin, refusal),
        };
        // Minting modes need a coordinator that holds the key.
        let holder_needed = self.cfg.conflict != ConflictMode::Lww;
        let me_target = ts.iter().any(|t| t.node == me);
        if holder_needed && !me_target {
            if let Origin::Client(req) = origin {
                let to = ts
                    .iter()
                    .find(|t| self.health.is_up(&t.node))
                    .map(|t| t.node.clone())
                    .unwrap_or_else(|| ts[0].node.clone());
                return self.forward(req, to, op, opts);
            }
        }
        let delta = match originate(
            self.cfg.conflict,
            self.store.get(&key),
            &me,
            self.now.wall_ns,
            update,
        ) {
            Ok(d) => d,
            Err(e) => {
                return self.respond(
                    origin,
                    Outcome::Fail {
                        reason: e.to_string(),
                    },
                )
            }
        };
        let slots = self.write_slots(&key, ts, holder_needed && !me_target);
        let own_seq = match slots.get(&me) {
            Some(s) => {
                let hint = s.hint.clone();
                let seq = self.absorb(&key, &delta, hint.as_deref());
                Some(seq.unwrap_or(self.persist_issued))
            }
            None => None,
        };
        let id = self.fresh_id();
        self.send_puts(id, &key, &delta, &slots);
        let (f, _, value) = op.describe();
        let req = WriteReq {
            origin,
            key,
            delta,
            w,
            slots,
            own_seq,
            timer: Timer::new(self.now.mono_ns),
            replied: false,
            f,
            value,
        };
        self.writes.insert(id, req);
        self.on_persisted();
    }

    /// The write's slots: one per target (counting towards W), plus this node's own
    /// when `outside` (a forwarded write reached a node outside the targets because
    /// views differ: it keeps its copy as a hint for the first home node, not counted).
    fn write_slots(&self, key: &str, ts: Vec<Target>, outside: bool) -> BTreeMap<NodeId, Slot> {
        let mut slots: BTreeMap<NodeId, Slot> = ts
            .into_iter()
            .map(|t| {
                let slot = Slot {
                    hint: t.hint,
                    acked: false,
                    counts: true,
                };
                (t.node, slot)
            })
            .collect();
        if outside {
            let home = self.store.ring().preference_list(key, 1).pop();
            let slot = Slot {
                hint: home,
                acked: false,
                counts: false,
            };
            slots.insert(self.cfg.id.clone(), slot);
        }
        slots
    }

    /// Sends the write's delta to every slot but this node's own.
    fn send_puts(&mut self, id: u64, key: &str, delta: &KeyState, slots: &BTreeMap<NodeId, Slot>) {
        for (node, s) in slots {
            if *node != self.cfg.id {
                let msg = Msg::Put {
                    id,
                    key: key.to_string(),
                    state: delta.clone(),
                    hint: s.hint.clone(),
                };
                self.send(node, msg);
            }
        }
    }

    fn forward(&mut self, req: u64, to: NodeId, op: &ClientOp, opts: &RequestOpts) {
        let id = self.fresh_id();
        self.forwards.insert(
            id,
            ForwardReq {
                req,
                to: to.clone(),
                started: self.now.mono_ns,
            },
        );
        let msg = Msg::Forward {
            id,
            op: op.clone(),
            opts: opts.clone(),
        };
        self.send(&to, msg);
    }

    /// Counts our own copies that became durable, then answers what it can.
    pub(super) fn on_persisted(&mut self) {
        let me = self.cfg.id.clone();
        let durable = self.persisted;
        let ids: Vec<u64> = self
            .writes
            .iter()
            .filter(|(_, w)| w.own_seq.is_some_and(|s| s <= durable))
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            if let Some(slot) = self.writes.get_mut(&id).and_then(|w| w.slots.get_mut(&me)) {
                slot.acked = true;
            }
            self.check_write(id);
        }
    }

    pub(super) fn on_put_ack(&mut self, from: &str, id: u64) {
        if let Some(slot) = self.writes.get_mut(&id).and_then(|w| w.slots.get_mut(from)) {
            slot.acked = true;
            self.check_write(id);
        }
    }

    fn check_write(&mut self, id: u64) {
        let Some(wr) = self.writes.get_mut(&id) else {
            return;
        };
        if !wr.replied && wr.acks() >= wr.w {
            wr.replied = true;
            let (origin, key, f, value) = (wr.origin.clone(), wr.key.clone(), wr.f, wr.value.clone());
            self.respond(origin, Outcome::Ok { value: Value::Null });
            // Not `ack`: that kind is a single leader's (the split-brain
            // checker reads it as leadership evidence).
            self.out.push(super::Action::Event(super::Event {
                kind: "quorum-ack",
                term: 0,
                index: None,
                f: Some(f.to_string()),
                key: Some(json!(key)),
                value,
            }));
        }
        if let Some(wr) = self.writes.get(&id) {
            if wr.replied && wr.slots.values().all(|s| s.acked) {
                self.writes.remove(&id);
            }
        }
    }

    pub(super) fn tick_writes(&mut self, now: u64) {
        let ids: Vec<u64> = self.writes.keys().copied().collect();
        for id in ids {
            let cfg = &self.cfg;
            let Some(due) = self.writes.get_mut(&id).map(|w| w.timer.due(now, cfg)) else {
                continue;
            };
            if due.recruit {
                self.recruit_for_write(id);
            }
            if due.resend {
                self.resend_write(id);
            }
            if let Some(wr) = due.expired.then(|| self.writes.remove(&id)).flatten() {
                if !wr.replied {
                    let reason = format!(
                        "{} of W={} acknowledgements within the deadline; the write may be stored on some replicas",
                        wr.acks(),
                        wr.w
                    );
                    self.respond(wr.origin, Outcome::Unknown { reason });
                }
            }
        }
    }

    /// Sends the delta again to every target that has not acknowledged it,
    /// while the write is unanswered (once W acknowledged, the replicas that
    /// missed it are left to hints, read repair and anti-entropy).
    fn resend_write(&mut self, id: u64) {
        let me = self.cfg.id.clone();
        let Some(wr) = self.writes.get(&id).filter(|w| !w.replied) else {
            return;
        };
        let msgs: Vec<(NodeId, Msg)> = wr
            .slots
            .iter()
            .filter(|(n, s)| !s.acked && **n != me)
            .map(|(n, s)| {
                let msg = Msg::Put {
                    id,
                    key: wr.key.clone(),
                    state: wr.delta.clone(),
                    hint: s.hint.clone(),
                };
                (n.clone(), msg)
            })
            .collect();
        for (to, msg) in msgs {
            self.send(&to, msg);
        }
    }

    /// Marks silent targets down; a sloppy quorum sends their copy to fallbacks.
    fn recruit_for_write(&mut self, id: u64) {
        let me = self.cfg.id.clone();
        let Some(wr) = self.writes.get_mut(&id) else {
            return;
        };
        let mut silent: Vec<(NodeId, Option<NodeId>, bool)> = wr
            .slots
            .iter()
            .filter(|(n, s)| !s.acked && **n != me)
            .map(|(n, s)| (n.clone(), s.hint.clone(), s.counts))
            .collect();
        // Homes in ring order take fallbacks in ring order, as `targets` does.
        let ring = self.store.ring();
        let walk: Vec<&NodeId> = ring.walk(ring.arc_of(&wr.key)).collect();
        silent.sort_by_key(|(n, hint, _)| walk.iter().position(|x| *x == hint.as_ref().unwrap_or(n)));
        for (node, _, _) in &silent {
            self.mark_down(node);
        }
        self.resend_write(id);
        if !self.cfg.sloppy_quorum {
            return;
        }
        for (node, hint, counts) in silent.into_iter().filter(|s| s.2) {
            let Some(wr) = self.writes.get_mut(&id) else {
                return;
            };
            let taken: Vec<&NodeId> = wr.slots.keys().chain([&me]).collect();
            let Some(f) = recruit(self.store.ring(), &self.health, &wr.key, self.cfg.n, &taken) else {
                return;
            };
            let home = hint.unwrap_or(node);
            wr.slots.insert(
                f.clone(),
                Slot {
                    hint: Some(home.clone()),
                    acked: false,
                    counts,
                },
            );
            let msg = Msg::Put {
                id,
                key: wr.key.clone(),
                state: wr.delta.clone(),
                hint: Some(home),
            };
            self.send(&f, msg);
        }
    }
}
