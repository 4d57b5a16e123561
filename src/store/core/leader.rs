//! The leader's half of the core: replication, commit rules per mode,
//! linearizable reads, read leases, quorum checks.
//!
//! Lease invariant: `lease_until` is at most `lease_ns` after the send time of
//! a round a majority acknowledged; each of those followers refuses votes for an
//! election timeout after receiving it, so (clock drift below `max_drift`) no
//! new leader exists before `lease_until`.

use super::{
    Action, Command, Core, Durable, Entry, Message, PendingRead, Progress, Reads, Record, Replication, Role,
    Snapshot,
};
use crate::store::ops::Outcome;
use serde_json::Value;

impl Core {
    pub(super) fn become_leader(&mut self) {
        self.role = Role::Leader;
        self.leader = Some(self.cfg.id.clone());
        self.leader_since = self.now;
        self.last_heartbeat = self.now;
        // Rounds start at 1: a follower's `read_ack` of 0 means "acknowledged nothing".
        self.read_seq = 1;
        self.lease_until = 0;
        self.round_sent.clear();
        self.sync_follower = None;
        let next = self.log.last_index() + 1;
        for p in self.others() {
            self.peers.insert(
                p,
                Progress {
                    next,
                    matched: 0,
                    last_heard: self.now,
                    read_ack: 0,
                    snapshot_at: None,
                },
            );
        }
        self.event("leader", self.term, None);
        self.noop_index = self.append_local(Command::Noop);
        self.flush();
    }

    /// Appends a leader entry to the log (and asks the driver to persist it).
    pub(super) fn append_local(&mut self, cmd: Command) -> u64 {
        let e = Entry {
            term: self.term,
            index: self.log.last_index() + 1,
            cmd,
        };
        let index = e.index;
        match self.out.last_mut() {
            Some(Action::Persist(Durable::Append(Record::Entries(v)))) => v.push(e.clone()),
            _ => self
                .out
                .push(Action::Persist(Durable::Append(Record::Entries(vec![e.clone()])))),
        }
        self.log.push(e);
        index
    }

    /// End of an input batch: commit what the mode allows, ship new entries and
    /// start a leadership round if reads wait for one.
    pub(super) fn flush(&mut self) {
        if self.read_round_needed {
            self.read_seq += 1;
            let seq = self.read_seq;
            for r in self.reads.iter_mut().filter(|r| r.seq == 0) {
                r.seq = seq;
            }
            self.read_round_needed = false;
            self.maybe_commit();
            self.broadcast(true);
        } else {
            self.maybe_commit();
            self.broadcast(false);
        }
    }

    /// Sends appends to every follower that has something new (or all, if `all`).
    fn broadcast(&mut self, all: bool) {
        let last = self.log.last_index();
        for p in self.others() {
            let behind = self.peers.get(&p).is_some_and(|pr| pr.next <= last);
            if all || behind {
                self.send_append(&p);
            }
        }
        if all {
            self.last_heartbeat = self.now;
        }
    }

    fn send_append(&mut self, to: &str) {
        let Some(pr) = self.peers.get(to) else { return };
        let (term, commit, read_seq) = (self.term, self.commit, self.read_seq);
        if self.cfg.reads == Reads::Lease {
            self.round_sent.entry(read_seq).or_insert(self.now);
        }
        if pr.next <= self.log.snap_index {
            let recently = pr
                .snapshot_at
                .is_some_and(|t| self.now < t + self.cfg.election_timeout_ns);
            if recently {
                return;
            }
            let index = self.applied;
            let Some(sterm) = self.log.term_at(index) else {
                return;
            };
            let snapshot = Snapshot {
                index,
                term: sterm,
                data: self.kv.clone(),
            };
            if let Some(pr) = self.peers.get_mut(to) {
                pr.snapshot_at = Some(self.now);
                pr.next = index + 1;
            }
            self.send(
                to,
                Message::InstallSnapshot {
                    term,
                    snapshot,
                    read_seq,
                },
            );
            return;
        }
        let prev_index = pr.next - 1;
        let Some(prev_term) = self.log.term_at(prev_index) else {
            return;
        };
        let entries = self.log.slice(pr.next, self.cfg.max_batch);
        if let Some(pr) = self.peers.get_mut(to) {
            pr.next += entries.len() as u64;
        }
        self.send(
            to,
            Message::Append {
                term,
                prev_index,
                prev_term,
                entries,
                commit,
                read_seq,
            },
        );
    }

    pub(super) fn on_append_reply(
        &mut self,
        from: String,
        term: u64,
        success: bool,
        index: u64,
        read_seq: u64,
    ) {
        if self.role != Role::Leader || term != self.term {
            return;
        }
        let last = self.log.last_index();
        let Some(pr) = self.peers.get_mut(&from) else {
            return;
        };
        pr.last_heard = self.now;
        pr.read_ack = pr.read_ack.max(read_seq);
        if success {
            pr.matched = pr.matched.max(index.min(last));
            pr.next = pr.next.max(pr.matched + 1);
            pr.snapshot_at = None;
            self.maybe_commit();
        } else if index == 0 {
            pr.next = 0; // the follower's applied state diverged: snapshot
            pr.snapshot_at = None;
            self.send_append(&from);
        } else {
            if index <= pr.matched {
                // The follower lost entries it once had (a wiped disk, `--fsync never`).
                pr.matched = index - 1;
            }
            let retry = index.clamp(pr.matched + 1, last + 1);
            if retry < pr.next {
                pr.next = retry;
                self.send_append(&from);
            }
        }
        self.update_lease();
        self.serve_reads();
    }

    /// Peers heard from within an election timeout, plus the leader itself.
    fn live_count(&self) -> usize {
        let horizon = self.now.saturating_sub(self.cfg.election_timeout_ns);
        1 + self.peers.values().filter(|p| p.last_heard >= horizon).count()
    }

    pub(super) fn leader_tick(&mut self) {
        let timed_out = self.now >= self.leader_since + self.cfg.election_timeout_ns;
        let quorum_alive = self.live_count() >= self.cfg.majority();
        if self.cfg.fencing && timed_out && !quorum_alive {
            // Check-quorum: a leader cut off from a majority stops acting as one.
            self.become_follower(self.term, None);
            return;
        }
        if self.cfg.replication == Replication::SemiSync {
            self.choose_sync_follower();
        }
        if self.now >= self.last_heartbeat + self.cfg.heartbeat_ns {
            if self.cfg.reads == Reads::Lease {
                // A fresh round per heartbeat: its acknowledgement renews the lease.
                self.read_seq += 1;
            }
            self.broadcast(true);
        }
        self.maybe_commit();
    }

    /// Keeps a live, not-too-far-behind synchronous follower, replacing one that fails or lags.
    fn choose_sync_follower(&mut self) {
        let horizon = self.now.saturating_sub(self.cfg.election_timeout_ns);
        let last = self.log.last_index();
        let ok = |p: &Progress| {
            p.last_heard >= horizon && last - p.matched.min(last) <= self.cfg.semi_sync_max_lag
        };
        if let Some(cur) = &self.sync_follower {
            if self.peers.get(cur).is_some_and(ok) {
                return;
            }
        }
        self.sync_follower = self
            .peers
            .iter()
            .filter(|(_, p)| ok(p))
            .max_by_key(|(_, p)| p.matched)
            .map(|(id, _)| id.clone());
    }

    /// Advances the commit index as the replication mode allows, then applies.
    pub(super) fn maybe_commit(&mut self) {
        if self.role != Role::Leader {
            return;
        }
        // The leader counts itself only up to what its own disk holds.
        let own = self.durable.min(self.log.last_index());
        let mut candidate = match self.cfg.replication {
            Replication::Quorum => {
                let mut m: Vec<u64> = self.peers.values().map(|p| p.matched).collect();
                m.push(own);
                m.sort_unstable_by(|a, b| b.cmp(a));
                m[self.cfg.majority() - 1]
            }
            Replication::Sync => self.peers.values().map(|p| p.matched).fold(own, u64::min),
            Replication::SemiSync => match &self.sync_follower {
                Some(f) => self.peers.get(f).map_or(self.commit, |p| p.matched.min(own)),
                None if self.peers.is_empty() => own,
                None => self.commit,
            },
            Replication::Async => own,
        };
        if !self.cfg.fencing && self.live_count() < self.cfg.majority() {
            // Unfenced and cut off: keep acknowledging from the local log (split brain).
            candidate = own;
        }
        if candidate > self.commit && self.log.term_at(candidate) == Some(self.term) {
            self.commit = candidate;
            self.apply();
        }
    }

    pub(super) fn linearizable_read(&mut self, req: u64, key: Value) {
        let index = self.commit.max(self.noop_index);
        self.reads.push(PendingRead {
            req,
            key,
            seq: 0,
            index,
        });
        if self.peers.is_empty() {
            if let Some(r) = self.reads.last_mut() {
                r.seq = u64::MAX;
            }
        } else {
            self.read_round_needed = true;
        }
        self.serve_reads();
    }

    /// The newest leadership round a majority (the leader included) acknowledged.
    fn confirmed_round(&self) -> u64 {
        let mut acks: Vec<u64> = self.peers.values().map(|p| p.read_ack).collect();
        acks.push(u64::MAX);
        acks.sort_unstable_by(|a, b| b.cmp(a));
        acks[self.cfg.majority() - 1]
    }

    /// Extends the read lease to `lease_ns` after the send time of the newest
    /// round a majority acknowledged (never shortens it).
    fn update_lease(&mut self) {
        if self.cfg.reads != Reads::Lease {
            return;
        }
        let confirmed = self.confirmed_round();
        if confirmed == 0 || confirmed == u64::MAX {
            return;
        }
        if let Some(&sent) = self.round_sent.get(&confirmed) {
            self.lease_until = self.lease_until.max(sent + self.cfg.lease_ns());
        }
        // Older rounds can no longer start a later lease.
        self.round_sent = self.round_sent.split_off(&confirmed);
    }

    /// A lease read may be answered from local state now: this node leads, holds
    /// an unexpired lease, and has committed its term's no-op (so its state
    /// includes every write any earlier leader acknowledged).
    pub(super) fn lease_valid(&self) -> bool {
        self.role == Role::Leader
            && self.commit >= self.noop_index
            && (self.peers.is_empty() || self.now < self.lease_until)
    }

    /// Answers reads whose leadership round a majority confirmed and whose index is applied.
    pub(super) fn serve_reads(&mut self) {
        if self.reads.is_empty() {
            return;
        }
        let confirmed = self.confirmed_round();
        let applied = self.applied;
        let (ready, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.reads)
            .into_iter()
            .partition(|r| r.seq != 0 && (r.seq <= confirmed || self.peers.is_empty()) && r.index <= applied);
        self.reads = waiting;
        for r in ready {
            let value = self.kv.get(&r.key);
            self.reply(r.req, Outcome::Ok { value });
        }
    }
}
