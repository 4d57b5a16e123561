//! A compact, exact hash of a core's state and the few read accessors the
//! model checker ([`crate::modelcheck`]) needs: stateright keys every
//! explored state by a hash, so this decides which states count as the same.
//!
//! Invariant: every field that can change what the core does next is hashed
//! (times included: the checker moves time only in whole election timeouts,
//! so they take few values). Left out: the fixed `cfg` and `out`, which is
//! empty between steps.

use super::{Core, Role};
use std::hash::{Hash, Hasher};

impl Core {
    pub fn role(&self) -> Role {
        self.role
    }

    pub fn term(&self) -> u64 {
        self.term
    }
}

impl Hash for Core {
    fn hash<H: Hasher>(&self, h: &mut H) {
        (self.term, &self.vote, self.role, &self.leader).hash(h);
        (self.log.snap_index, self.log.snap_term, &self.log.entries).hash(h);
        (&self.kv, self.commit, self.applied, self.durable).hash(h);
        (&self.votes, &self.peers, &self.pending, &self.reads).hash(h);
        (
            self.read_seq,
            self.read_round_needed,
            self.noop_index,
            &self.sync_follower,
        )
            .hash(h);
        (
            self.now,
            self.jitter,
            self.election_deadline,
            self.last_leader_contact,
        )
            .hash(h);
        (self.leader_since, self.last_heartbeat, self.lease_until).hash(h);
        (&self.round_sent, self.no_vote_until).hash(h);
    }
}
