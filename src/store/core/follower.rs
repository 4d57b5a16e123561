//! The follower's half of the core: log matching on appends, conflict
//! truncation (with `discard` events), snapshot installation.

use super::{Action, Command, Core, Durable, Entry, Message, NodeId, Record, Role, Snapshot};

impl Core {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn on_append(
        &mut self,
        from: NodeId,
        term: u64,
        prev_index: u64,
        prev_term: u64,
        entries: Vec<Entry>,
        commit: u64,
        read_seq: u64,
    ) {
        if term < self.term {
            // Round 0: `read_seq` numbers the rounds of the append's (older) term, and the
            // same leader, re-elected, numbers its new term's rounds from 1 again.
            self.reply_append(&from, false, self.log.last_index() + 1, 0);
            return;
        }
        if self.role == Role::Leader {
            return; // same term, two leaders: impossible with majority votes
        }
        if self.role == Role::Candidate || self.leader.as_deref() != Some(from.as_str()) {
            self.become_follower(term, Some(from.clone()));
        }
        self.last_leader_contact = self.now;
        self.reset_election_deadline();

        let (mut prev_index, mut prev_term, mut entries) = (prev_index, prev_term, entries);
        if prev_index < self.log.snap_index {
            // Entries the snapshot already covers are committed, hence identical.
            entries.retain(|e| e.index > self.log.snap_index);
            prev_index = self.log.snap_index;
            prev_term = self.log.snap_term;
            if entries.first().is_some_and(|e| e.index != prev_index + 1) {
                let hint = self.log.last_index() + 1;
                self.reply_append(&from, false, hint, read_seq);
                return;
            }
        }
        if prev_index > self.log.last_index() {
            let hint = self.log.last_index() + 1;
            self.reply_append(&from, false, hint, read_seq);
            return;
        }
        if self.log.term_at(prev_index) != Some(prev_term) {
            let hint = if prev_index <= self.applied {
                0 // our applied state diverged (unsafe modes): only a snapshot helps
            } else {
                self.log.term_start(prev_index, self.applied)
            };
            self.reply_append(&from, false, hint, read_seq);
            return;
        }
        let last_new = prev_index + entries.len() as u64;
        let mut fresh = Vec::new();
        for e in entries {
            match self.log.term_at(e.index) {
                Some(t) if t == e.term => continue,
                Some(_) => {
                    if e.index <= self.applied {
                        self.reply_append(&from, false, 0, read_seq);
                        return;
                    }
                    self.discard_from(e.index);
                    fresh.push(e.clone());
                    self.log.push(e);
                }
                None => {
                    fresh.push(e.clone());
                    self.log.push(e);
                }
            }
        }
        if !fresh.is_empty() {
            self.out
                .push(Action::Persist(Durable::Append(Record::Entries(fresh))));
        }
        if commit > self.commit {
            self.commit = commit.min(last_new).max(self.commit);
            self.apply();
        }
        self.reply_append(&from, true, last_new, read_seq);
    }

    /// Drops the log from `index` on, logging a `discard` event per client entry.
    pub(super) fn discard_from(&mut self, index: u64) {
        self.durable = self.durable.min(index.saturating_sub(1));
        // A commit index from a deposed leader (unsafe modes) may cover what we
        // drop; the replacement entries are committed only when this leader says so.
        self.commit = self.commit.min(index.saturating_sub(1)).max(self.applied);
        let gone = self.log.truncate_from(index);
        if gone.is_empty() {
            return;
        }
        for e in &gone {
            if matches!(e.cmd, Command::Client(_)) {
                self.event("discard", e.term, Some(e));
            }
        }
        self.out
            .push(Action::Persist(Durable::Append(Record::Truncate { from: index })));
    }

    /// Invariant: the reply carries this node's term, so `read_seq` must be a round of that
    /// term (or 0, no round): the leader counts it toward its reads whatever `success` says.
    pub(super) fn reply_append(&mut self, to: &str, success: bool, index: u64, read_seq: u64) {
        let term = self.term;
        self.send(
            to,
            Message::AppendReply {
                term,
                success,
                index,
                read_seq,
            },
        );
    }

    pub(super) fn on_snapshot(&mut self, from: NodeId, term: u64, snap: Snapshot, read_seq: u64) {
        if term < self.term {
            self.reply_append(&from, false, self.log.last_index() + 1, 0); // as in on_append
            return;
        }
        if self.role != Role::Follower || self.leader.as_deref() != Some(from.as_str()) {
            self.become_follower(term, Some(from.clone()));
        }
        self.last_leader_contact = self.now;
        self.reset_election_deadline();
        let index = snap.index;
        if index <= self.applied && self.log.term_at(index) == Some(snap.term) {
            self.reply_append(&from, true, index, read_seq);
            return;
        }
        if self.log.term_at(index) != Some(snap.term) {
            self.discard_from(self.log.snap_index.max(index) + 1);
            self.log.entries.clear();
        }
        self.log.compact(index, snap.term);
        if self.log.snap_index != index {
            // Our log was shorter than the snapshot or diverged below it.
            self.log.snap_index = index;
            self.log.snap_term = snap.term;
            self.log.entries.clear();
        }
        self.kv = snap.data.clone();
        self.applied = index;
        // A commit index learnt from a deposed leader may cover entries this one
        // never committed: forget it, the leader's next append restates its own.
        self.commit = index;
        self.persist_snapshot(snap);
        self.apply();
        self.reply_append(&from, true, index, read_seq);
    }
}
