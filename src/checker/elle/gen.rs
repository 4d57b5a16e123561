//! Seeded generators of transactional histories from a serial execution, for
//! the benchmark and the property tests (the serial execution is the oracle:
//! such a history must never be flagged).
//!
//! Strict mode: transactions run on `concurrency` processes; transaction i is
//! invoked at step i and completes at step i + concurrency, and its serial
//! position i lies inside that interval, so the history is strictly
//! serializable. Non-strict mode places the same transactions at shuffled
//! positions with one process each: serializable, but real-time order may
//! disagree with the serial order (so only `-realtime` cycles may appear).

use super::Model;
use crate::history::{History, Op, OpType, Process};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use std::collections::HashMap;

/// What to generate.
#[derive(Clone, Debug)]
pub struct GenConfig {
    pub txns: usize,
    /// Keys in use at once; a key is retired after `max_writes_per_key` writes.
    pub keys: usize,
    pub ops_per_txn: usize,
    pub max_writes_per_key: usize,
    pub concurrency: usize,
    pub model: Model,
    /// Share of micro-ops that are reads.
    pub read_rate: f64,
    pub fail_rate: f64,
    pub info_rate: f64,
    pub strict: bool,
    /// The last this many txns only append (their reads become appends), so
    /// the last appends of their keys are never read.
    pub unread_tail: usize,
    pub seed: u64,
}

impl Default for GenConfig {
    fn default() -> Self {
        GenConfig {
            txns: 1000,
            keys: 10,
            ops_per_txn: 4,
            max_writes_per_key: 32,
            concurrency: 10,
            model: Model::ListAppend,
            read_rate: 0.5,
            fail_rate: 0.0,
            info_rate: 0.0,
            strict: true,
            unread_tail: 0,
            seed: 0,
        }
    }
}

struct Gen {
    ty: OpType,
    invoke: Value,
    complete: Value,
}

/// Generates a history per `cfg`. Deterministic in `cfg.seed`.
pub fn generate(cfg: &GenConfig) -> History {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let txns = serial_txns(cfg, &mut rng);
    let mut h = History::new(interleave(cfg, txns, &mut rng));
    h.reindex();
    h
}

/// The serial execution's database state: the keys in use and what each holds.
struct Serial {
    active: Vec<u64>,
    next_key: u64,
    writes: HashMap<u64, u64>,
    lists: HashMap<u64, Vec<u64>>,
    regs: HashMap<u64, u64>,
}

impl Serial {
    /// What a read of `k` returns in the serial order.
    fn read(&self, model: Model, k: u64) -> Value {
        match model {
            Model::ListAppend => self
                .lists
                .get(&k)
                .filter(|l| !l.is_empty())
                .map(|l| json!(l))
                .unwrap_or(Value::Null),
            Model::RwRegister => self.regs.get(&k).map(|v| json!(v)).unwrap_or(Value::Null),
        }
    }

    /// Writes the next value of the key in `slot` (retiring a key written
    /// `max_writes_per_key` times); applies it when the txn takes effect.
    fn write(&mut self, cfg: &GenConfig, slot: usize, apply: bool) -> (u64, u64) {
        if self.writes.get(&self.active[slot]).copied().unwrap_or(0) >= cfg.max_writes_per_key as u64 {
            self.active[slot] = self.next_key;
            self.next_key += 1;
        }
        let k = self.active[slot];
        let n = self.writes.entry(k).or_insert(0);
        *n += 1;
        let v = *n;
        if apply {
            match cfg.model {
                Model::ListAppend => self.lists.entry(k).or_default().push(v),
                Model::RwRegister => {
                    self.regs.insert(k, v);
                }
            }
        }
        (k, v)
    }
}

/// The transactions in serial order, each with its outcome and what it read and wrote.
fn serial_txns(cfg: &GenConfig, rng: &mut ChaCha8Rng) -> Vec<Gen> {
    let keys = cfg.keys.max(1);
    let mut db = Serial {
        active: (0..keys as u64).collect(),
        next_key: keys as u64,
        writes: HashMap::new(),
        lists: HashMap::new(),
        regs: HashMap::new(),
    };
    let wf = match cfg.model {
        Model::ListAppend => "append",
        Model::RwRegister => "w",
    };
    let mut txns: Vec<Gen> = Vec::with_capacity(cfg.txns);
    for i in 0..cfg.txns {
        let tail = i + cfg.unread_tail >= cfg.txns;
        let roll: f64 = rng.gen();
        let ty = if roll < cfg.fail_rate {
            OpType::Fail
        } else if roll < cfg.fail_rate + cfg.info_rate {
            OpType::Info
        } else {
            OpType::Ok
        };
        let apply = ty == OpType::Ok || (ty == OpType::Info && rng.gen_bool(0.5));
        let mut inv = Vec::with_capacity(cfg.ops_per_txn);
        let mut done = Vec::with_capacity(cfg.ops_per_txn);
        for _ in 0..cfg.ops_per_txn {
            let slot = rng.gen_range(0..keys);
            if rng.gen_bool(cfg.read_rate.clamp(0.0, 1.0)) && !tail {
                let k = db.active[slot];
                inv.push(json!(["r", k, null]));
                let v = db.read(cfg.model, k);
                done.push(if ty == OpType::Ok {
                    json!(["r", k, v])
                } else {
                    json!(["r", k, null])
                });
            } else {
                let (k, v) = db.write(cfg, slot, apply);
                inv.push(json!([wf, k, v]));
                done.push(json!([wf, k, v]));
            }
        }
        let complete = if ty == OpType::Ok {
            Value::Array(done)
        } else {
            Value::Array(inv.clone())
        };
        txns.push(Gen {
            ty,
            invoke: Value::Array(inv),
            complete,
        });
    }
    txns
}

/// The history: `txns` invoked in serial order (strict) or shuffled, each completing
/// `concurrency` steps after its invocation.
fn interleave(cfg: &GenConfig, mut txns: Vec<Gen>, rng: &mut ChaCha8Rng) -> Vec<Op> {
    let mut order: Vec<usize> = (0..txns.len()).collect();
    if !cfg.strict {
        use rand::seq::SliceRandom;
        order.shuffle(rng);
    }
    let c = cfg.concurrency.max(1);
    let mut procs: Vec<u64> = (0..c as u64).collect();
    let mut next_proc = c as u64;
    let mut ops: Vec<Op> = Vec::with_capacity(txns.len() * 2);
    let mut in_flight: std::collections::VecDeque<(usize, u64)> = Default::default();
    let mut fresh = 0u64;
    let finish = |ops: &mut Vec<Op>, t: &mut Gen, p: u64| {
        let time = ops.len() as u64 * 1000;
        ops.push(Op::new(t.ty, Process::Client(p), "txn", std::mem::take(&mut t.complete)).with_time(time));
    };
    for (step, &ti) in order.iter().enumerate() {
        if in_flight.len() == c {
            let (done, p) = in_flight.pop_front().expect("non-empty");
            finish(&mut ops, &mut txns[done], p);
        }
        let slot = step % c;
        let p = if cfg.strict {
            procs[slot]
        } else {
            fresh += 1;
            fresh
        };
        if txns[ti].ty == OpType::Info {
            procs[slot] = next_proc;
            next_proc += 1;
        }
        let time = ops.len() as u64 * 1000;
        ops.push(
            Op::new(
                OpType::Invoke,
                Process::Client(p),
                "txn",
                std::mem::take(&mut txns[ti].invoke),
            )
            .with_time(time),
        );
        in_flight.push_back((ti, p));
    }
    while let Some((done, p)) = in_flight.pop_front() {
        finish(&mut ops, &mut txns[done], p);
    }
    ops
}
