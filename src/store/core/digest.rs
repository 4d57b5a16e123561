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

/// How the model checker keys a core ([`Core::hash_view`]): node ids renamed
/// by `rank` (symmetry reduction) and every time reduced to whether it is at
/// or after `now`, the driver's clock.
///
/// Exact for a driver whose clock moves only in jumps longer than twice the
/// election timeout (the model checker's): every timer compares a time `t`
/// (or `t` plus less than two election timeouts) with the clock, and a `t`
/// set before the last jump has expired for good, so only "set at the
/// current clock or not" decides what the core does next. The core's own
/// `now` is left out: its next step replaces it with the clock, which never
/// runs backwards. Id-free fields hash as in [`Hash for Core`](Core).
pub struct View<'a> {
    pub now: u64,
    pub rank: &'a dyn Fn(&str) -> u8,
}

impl Core {
    /// Hashes what decides this core's future under `v` (see [`View`]).
    /// State a role never reads is left out: the votes won unless
    /// campaigning (`start_election` resets them), the leader's bookkeeping
    /// unless leading (`become_leader` resets it, stepping down clears it),
    /// the election deadline while leading (stepping down resets it), and the
    /// last contact unless following a known leader (only that case reads it,
    /// and a new leader is always learnt together with a contact).
    pub fn hash_view<H: Hasher>(&self, h: &mut H, v: &View) {
        let live = |t: u64| t >= v.now;
        let id = |n: &Option<String>| n.as_deref().map(v.rank);
        (self.term, id(&self.vote), self.role, id(&self.leader)).hash(h);
        (self.log.snap_index, self.log.snap_term, &self.log.entries).hash(h);
        (&self.kv, self.commit, self.applied, self.durable, self.jitter).hash(h);
        live(self.no_vote_until).hash(h);
        match self.role {
            Role::Leader => self.hash_leader(h, v),
            Role::Candidate => {
                let mut votes: Vec<u8> = self.votes.iter().map(|n| (v.rank)(n)).collect();
                votes.sort_unstable();
                (votes, live(self.election_deadline)).hash(h);
            }
            Role::Follower | Role::Peer => {
                let contact = self.leader.is_some().then(|| live(self.last_leader_contact));
                (contact, live(self.election_deadline)).hash(h);
            }
        }
    }

    fn hash_leader<H: Hasher>(&self, h: &mut H, v: &View) {
        let live = |t: u64| t >= v.now;
        let mut peers: Vec<_> = self
            .peers
            .iter()
            .map(|(n, p)| {
                let times = (live(p.last_heard), p.snapshot_at.map(live));
                ((v.rank)(n), p.next, p.matched, p.read_ack, times)
            })
            .collect();
        peers.sort_unstable();
        (peers, &self.pending, &self.reads).hash(h);
        let sync = self.sync_follower.as_deref().map(v.rank);
        (self.read_seq, self.read_round_needed, self.noop_index, sync).hash(h);
        (
            live(self.leader_since),
            live(self.last_heartbeat),
            live(self.lease_until),
        )
            .hash(h);
        let rounds: Vec<(u64, bool)> = self.round_sent.iter().map(|(s, t)| (*s, live(*t))).collect();
        rounds.hash(h);
    }
}
