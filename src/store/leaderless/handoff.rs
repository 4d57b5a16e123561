//! Hinted handoff: a fallback that accepted a write for an unreachable home
//! node offers it back (the whole state it holds for the key) until the
//! home node confirms a state covering everything the fallback has.
//!
//! Invariant: a hint is cleared only when the acknowledged digest equals the
//! fallback's current digest of the key, so a hinted write that arrives
//! while a handoff is in flight is offered again, never dropped.

use super::types::{Msg, NodeId, Record};
use super::Core;
use crate::store::conflict::KeyState;
use serde_json::json;

/// Most hints offered per tick (a returning node is not flooded at once).
const MAX_PER_TICK: usize = 256;

impl Core {
    pub(super) fn tick_handoff(&mut self, now: u64) {
        let health = &self.health;
        let due = self
            .store
            .due_hints(now, self.cfg.handoff_interval_ns, MAX_PER_TICK, |h| {
                health.is_up(h)
            });
        for (home, key) in due {
            if let Some(state) = self.store.get(&key).cloned() {
                self.send(&home, Msg::Handoff { key, state });
            }
        }
    }

    /// At the home node: take the state in, durably, then confirm it.
    pub(super) fn on_handoff(&mut self, from: &str, key: String, state: KeyState) {
        let digest = state.digest();
        self.absorb(&key, &state, None);
        self.send(from, Msg::HandoffAck { key, digest });
    }

    /// At the fallback: clear the hint if the home node now has all we hold.
    pub(super) fn on_handoff_ack(&mut self, home: &NodeId, key: &str, digest: u64) {
        if !self.store.has_hint(home, key) || self.store.digest(key) != Some(digest) {
            return;
        }
        self.store.clear_hint(home, key);
        self.persist(Record::HintDone {
            home: home.clone(),
            key: key.to_string(),
        });
        let bytes = self.store.get(key).map(KeyState::wire_bytes).unwrap_or(0);
        self.event("hint-delivered", Some(key), json!({"home": home, "bytes": bytes}));
    }
}
