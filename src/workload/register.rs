//! `register` and `session`: reads, writes and compare-and-sets on a few keys
//! (Jepsen's independent keys: each key gets a bounded number of ops, then a
//! fresh key takes its place, keeping per-key histories small for the
//! linearizability search).
//!
//! Shapes: `read` (value null → the value), `write` (value unique int per key),
//! `cas` (value `[old, new]`, new unique per key). Keys are strings `k0`, `k1`, ...
//! `session` is per client: a write followed by a read of the same key.

use super::Workload;
use crate::history::{Op, OpType, Process};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Keys in play at once.
pub const ACTIVE_KEYS: u64 = 3;
/// Ops per key before it retires.
pub const OPS_PER_KEY: u64 = 200;

pub struct Register {
    session: bool,
    /// active key number → ops so far.
    keys: BTreeMap<u64, u64>,
    /// key number → last value handed out (kept after the key retires).
    last: BTreeMap<u64, i64>,
    next_key: u64,
    /// session: process → key it just wrote.
    pending_read: BTreeMap<u64, u64>,
}

impl Register {
    pub fn new(session: bool) -> Register {
        let keys = (0..ACTIVE_KEYS).map(|k| (k, 0)).collect();
        Register {
            session,
            keys,
            last: BTreeMap::new(),
            next_key: ACTIVE_KEYS,
            pending_read: BTreeMap::new(),
        }
    }

    fn pick_key(&mut self, rng: &mut ChaCha8Rng) -> u64 {
        let active: Vec<u64> = self.keys.keys().copied().collect();
        let k = active[rng.gen_range(0..active.len())];
        let e = self.keys.get_mut(&k).expect("active key");
        *e += 1;
        if *e >= OPS_PER_KEY {
            self.keys.remove(&k);
            self.keys.insert(self.next_key, 0);
            self.next_key += 1;
        }
        k
    }

    fn fresh_value(&mut self, k: u64) -> i64 {
        let e = self.last.entry(k).or_insert(0);
        *e += 1;
        *e
    }
}

fn key(k: u64) -> Value {
    json!(format!("k{k}"))
}

impl Workload for Register {
    fn name(&self) -> &str {
        if self.session {
            "session"
        } else {
            "register"
        }
    }
    fn model(&self) -> Option<String> {
        Some("cas-register".into())
    }
    fn next_op(&mut self, rng: &mut ChaCha8Rng, process: u64) -> Op {
        let p = Process::Client(process);
        if self.session {
            if let Some(k) = self.pending_read.remove(&process) {
                return Op::new(OpType::Invoke, p, "read", Value::Null).with_key(key(k));
            }
        }
        let k = self.pick_key(rng);
        let roll = rng.gen_range(0..10);
        if self.session || roll < 3 {
            if self.session && roll < 4 {
                return Op::new(OpType::Invoke, p, "read", Value::Null).with_key(key(k));
            }
            let v = self.fresh_value(k);
            if self.session {
                self.pending_read.insert(process, k);
            }
            Op::new(OpType::Invoke, p, "write", json!(v)).with_key(key(k))
        } else if roll < 5 {
            let last = self.last.get(&k).copied().unwrap_or(0);
            let old = if last == 0 { 0 } else { rng.gen_range(1..=last) };
            let new = self.fresh_value(k);
            let old = if old == 0 { Value::Null } else { json!(old) };
            Op::new(OpType::Invoke, p, "cas", json!([old, new])).with_key(key(k))
        } else {
            Op::new(OpType::Invoke, p, "read", Value::Null).with_key(key(k))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use std::collections::BTreeSet;

    #[test]
    fn written_values_are_unique_per_key_and_keys_rotate() {
        let mut w = Register::new(false);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut seen = BTreeSet::new();
        let mut keys = BTreeSet::new();
        for i in 0..5000 {
            let op = w.next_op(&mut rng, i % 8);
            keys.insert(op.key_string().unwrap());
            let v = match op.f.as_str() {
                "write" => op.value.clone(),
                "cas" => op.value[1].clone(),
                _ => continue,
            };
            assert!(seen.insert((op.key_string(), v.to_string())), "{op:?}");
        }
        assert!(keys.len() > 10, "keys rotate: {}", keys.len());
    }

    #[test]
    fn session_reads_follow_own_writes() {
        let mut w = Register::new(true);
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let mut last_write: BTreeMap<u64, Value> = BTreeMap::new();
        for i in 0..400 {
            let p = i % 3;
            let op = w.next_op(&mut rng, p);
            if op.f == "write" {
                last_write.insert(p, op.key.clone().unwrap());
            } else if let Some(k) = last_write.remove(&p) {
                assert_eq!(op.f, "read");
                assert_eq!(op.key, Some(k));
            }
        }
    }
}
