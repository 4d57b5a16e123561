//! `set` and `counter`.
//!
//! set: `add` with a unique int value (no key); one final `read` whose ok
//! value is the list of all elements. counter: `incr` with a positive delta;
//! `read` → the integer.

use super::Workload;
use crate::history::{Op, OpType, Process};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

#[derive(Default)]
pub struct Set {
    next: u64,
}

impl Workload for Set {
    fn name(&self) -> &str {
        "set"
    }
    fn next_op(&mut self, _rng: &mut ChaCha8Rng, process: u64) -> Op {
        self.next += 1;
        Op::new(OpType::Invoke, Process::Client(process), "add", json!(self.next))
    }
    fn final_ops(&self) -> Vec<Op> {
        vec![Op::new(OpType::Invoke, Process::Client(0), "read", Value::Null)]
    }
}

#[derive(Default)]
pub struct Counter;

impl Workload for Counter {
    fn name(&self) -> &str {
        "counter"
    }
    fn next_op(&mut self, rng: &mut ChaCha8Rng, process: u64) -> Op {
        let p = Process::Client(process);
        if rng.gen_range(0..4) == 0 {
            Op::new(OpType::Invoke, p, "read", Value::Null)
        } else {
            Op::new(OpType::Invoke, p, "incr", json!(rng.gen_range(1..=5)))
        }
    }
    fn final_ops(&self) -> Vec<Op> {
        vec![Op::new(OpType::Invoke, Process::Client(0), "read", Value::Null)]
    }
}
