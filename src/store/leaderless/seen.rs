//! The forwarded writes this node has already taken on, so that a duplicate
//! of a `Forward` (the network may deliver a message twice) is dropped instead
//! of carried out again. Without it a forward refused here (a definite `fail`
//! to the client) could be coordinated when its duplicate arrives after the
//! view of the replicas changed, and a forward carried out twice would mint a
//! second, newer update of an old value over writes acknowledged since.
//!
//! Memory is bounded: an entry is kept for `window` (several forward
//! lifetimes, far beyond any delay between two copies of one message) and at
//! most [`CAP`] entries are kept, the oldest forgotten first.

use super::types::NodeId;
use std::collections::{BTreeSet, VecDeque};

/// The most forwards remembered at once.
pub const CAP: usize = 4096;

#[derive(Clone, Debug, Default)]
pub struct Seen {
    ids: BTreeSet<(NodeId, u64)>,
    /// The same entries, oldest first, with when each was first seen.
    order: VecDeque<(u64, NodeId, u64)>,
}

impl Seen {
    /// Notes forward `id` from `from` seen at `now`; false if it was seen already.
    pub fn first_time(&mut self, from: &str, id: u64, now: u64) -> bool {
        if !self.ids.insert((from.to_string(), id)) {
            return false;
        }
        self.order.push_back((now, from.to_string(), id));
        while self.order.len() > CAP {
            self.pop_oldest();
        }
        true
    }

    /// Forgets the entries seen more than `window` before `now`.
    pub fn expire(&mut self, now: u64, window: u64) {
        while self
            .order
            .front()
            .is_some_and(|(at, _, _)| now >= at.saturating_add(window))
        {
            self.pop_oldest();
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    fn pop_oldest(&mut self) {
        if let Some((_, from, id)) = self.order.pop_front() {
            self.ids.remove(&(from, id));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_duplicate_is_refused_until_its_entry_expires() {
        let mut s = Seen::default();
        assert!(s.first_time("n2", 7, 0));
        assert!(!s.first_time("n2", 7, 5), "duplicate");
        assert!(s.first_time("n3", 7, 5), "same id from another sender");
        s.expire(99, 100);
        assert!(!s.first_time("n2", 7, 99), "still inside the window");
        s.expire(100, 100);
        assert_eq!(s.len(), 1, "n2's entry expired, n3's not yet");
        assert!(s.first_time("n2", 7, 100));
    }

    #[test]
    fn memory_is_capped_by_forgetting_the_oldest() {
        let mut s = Seen::default();
        for id in 0..(CAP as u64 + 10) {
            assert!(s.first_time("n2", id, id));
        }
        assert_eq!(s.len(), CAP);
        assert!(s.first_time("n2", 0, 0), "the oldest was forgotten");
        assert!(!s.first_time("n2", CAP as u64 + 9, 0), "the newest is kept");
    }
}
