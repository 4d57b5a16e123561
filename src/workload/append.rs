//! `append`: list-append transactions (Elle's workload). Value is a list of
//! micro-ops `["append", k, v]` and `["r", k, null]`; reads are filled with the
//! list on ok. Appended values are unique per key; keys rotate like the
//! register's so lists stay short.

use super::Workload;
use crate::history::{Op, OpType, Process};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

/// Keys in play at once, and appends per key before it retires.
const ACTIVE: u64 = 5;
const APPENDS_PER_KEY: u64 = 30;

#[derive(Default)]
pub struct Append {
    /// Per-slot (key number, appends so far).
    slots: Vec<(u64, u64)>,
    next_key: u64,
}

impl Workload for Append {
    fn name(&self) -> &str {
        "append"
    }
    fn next_op(&mut self, rng: &mut ChaCha8Rng, process: u64) -> Op {
        if self.slots.is_empty() {
            self.slots = (0..ACTIVE).map(|k| (k, 0)).collect();
            self.next_key = ACTIVE;
        }
        let n = rng.gen_range(1..=4);
        let mut mops = Vec::new();
        for _ in 0..n {
            let s = rng.gen_range(0..self.slots.len());
            let (k, count) = self.slots[s];
            if rng.gen_bool(0.5) {
                mops.push(json!(["r", k, Value::Null]));
            } else {
                mops.push(json!(["append", k, count + 1]));
                self.slots[s].1 += 1;
                if count + 1 >= APPENDS_PER_KEY {
                    self.slots[s] = (self.next_key, 0);
                    self.next_key += 1;
                }
            }
        }
        Op::new(
            OpType::Invoke,
            Process::Client(process),
            "txn",
            Value::Array(mops),
        )
    }
}
