//! `bank`: transfers between accounts; the total is invariant.
//!
//! `transfer` value `{"from":a,"to":b,"amount":n}`; `read` value (on ok) is
//! `{"0":bal,...}` over all accounts. Initially the first account holds the
//! whole total. Params: `{"total":T,"accounts":[..],"negative_allowed":false}`.

use super::Workload;
use crate::history::{Op, OpType, Process};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

pub struct Bank {
    accounts: u64,
    total: i64,
}

impl Bank {
    pub fn new(accounts: u64, total: i64) -> Bank {
        Bank { accounts, total }
    }
}

impl Workload for Bank {
    fn name(&self) -> &str {
        "bank"
    }
    fn params(&self) -> Value {
        json!({"total": self.total, "accounts": (0..self.accounts).collect::<Vec<_>>(),
               "negative_allowed": false})
    }
    fn next_op(&mut self, rng: &mut ChaCha8Rng, process: u64) -> Op {
        let p = Process::Client(process);
        if rng.gen_range(0..3) == 0 {
            return Op::new(OpType::Invoke, p, "read", Value::Null);
        }
        let from = rng.gen_range(0..self.accounts);
        let mut to = rng.gen_range(0..self.accounts - 1);
        if to >= from {
            to += 1;
        }
        let amount = rng.gen_range(1..=5);
        Op::new(
            OpType::Invoke,
            p,
            "transfer",
            json!({"from": from, "to": to, "amount": amount}),
        )
    }
    fn final_ops(&self) -> Vec<Op> {
        vec![Op::new(OpType::Invoke, Process::Client(0), "read", Value::Null)]
    }
}
