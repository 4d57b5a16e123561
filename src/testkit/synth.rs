//! Synthetic histories of *correct* executions, for benchmarks and property tests.
//!
//! Each process runs ops one after another; each op takes effect at a random
//! instant inside its interval (its linearization point), so the result is
//! linearizable by construction. An op may end `info` (then it took effect or
//! not, at random, and the process continues under a new number) or, for
//! `cas`, `fail` when its compare did not match. Everything is seeded.

use crate::history::{History, Op, OpType, Process};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Shape of a generated history.
#[derive(Clone, Debug)]
pub struct Shape {
    pub seed: u64,
    pub processes: usize,
    pub ops: usize,
    /// Chance an op ends `info`.
    pub info_rate: f64,
    /// Longest op duration (ns); gaps between a process's ops are up to this too.
    pub max_latency: u64,
}

impl Default for Shape {
    fn default() -> Self {
        Shape {
            seed: 0,
            processes: 5,
            ops: 200,
            info_rate: 0.05,
            max_latency: 1_000_000,
        }
    }
}

/// One op being generated: what it is, and when.
struct Planned {
    process: u64,
    start: u64,
    lin: u64,
    end: u64,
    info: bool,
    effect: bool,
    slot: usize,
}

/// Plans `shape.ops` op intervals over the processes; returns them in linearization order.
fn plan(shape: &Shape, rng: &mut ChaCha8Rng) -> Vec<Planned> {
    let mut clocks: Vec<(u64, u64)> = (0..shape.processes.max(1) as u64)
        .map(|p| (rng.gen_range(0..shape.max_latency), p))
        .collect();
    let mut next_process = clocks.len() as u64;
    let mut out = Vec::with_capacity(shape.ops);
    for slot in 0..shape.ops {
        let c = slot % clocks.len();
        let (t, p) = clocks[c];
        let dur = rng.gen_range(1..=shape.max_latency);
        let lin = t + rng.gen_range(0..=dur);
        let info = rng.gen_bool(shape.info_rate);
        let effect = !info || rng.gen_bool(0.5);
        out.push(Planned {
            process: p,
            start: t,
            lin,
            end: t + dur,
            info,
            effect,
            slot,
        });
        let gap = rng.gen_range(1..=shape.max_latency);
        clocks[c] = (t + dur + gap, if info { next_process } else { p });
        if info {
            next_process += 1;
        }
    }
    out.sort_by_key(|o| (o.lin, o.slot));
    out
}

/// Emits invoke/completion pairs sorted by time; `ops[i]` = (f, key, invoke value, completion type, completion value).
fn emit(planned: &[Planned], ops: Vec<(String, Option<Value>, Value, OpType, Value)>) -> History {
    let mut events: Vec<(u64, u8, usize, Op)> = Vec::with_capacity(planned.len() * 2);
    for (p, (f, key, inv, ty, done)) in planned.iter().zip(ops) {
        let mut a = Op::new(OpType::Invoke, Process::Client(p.process), f.clone(), inv).with_time(p.start);
        let mut b = Op::new(ty, Process::Client(p.process), f, done).with_time(p.end);
        if let Some(k) = key {
            a = a.with_key(k.clone());
            b = b.with_key(k);
        }
        events.push((p.start, 0, p.slot, a));
        events.push((p.end, 1, p.slot, b));
    }
    // Completions before invocations at equal times keep a process's ops in order.
    events.sort_by_key(|e| (e.0, 1 - e.1, e.2));
    let mut h = History::new(events.into_iter().map(|e| e.3).collect());
    h.reindex();
    h
}

fn done_type(p: &Planned) -> OpType {
    if p.info {
        OpType::Info
    } else {
        OpType::Ok
    }
}

/// A set workload: unique `add`s; a `read` (of the whole set) with chance `read_rate`,
/// which may be far below 1 for big histories since every read lists the whole set.
pub fn set_history(shape: &Shape, read_rate: f64) -> History {
    let mut rng = ChaCha8Rng::seed_from_u64(shape.seed);
    let planned = plan(shape, &mut rng);
    let mut set: Vec<i64> = Vec::new();
    let mut ops = Vec::with_capacity(planned.len());
    for (i, p) in planned.iter().enumerate() {
        if rng.gen_bool(read_rate) && !p.info {
            ops.push(("read".into(), None, Value::Null, OpType::Ok, json!(set)));
        } else {
            let e = i as i64;
            if p.effect {
                set.push(e);
            }
            ops.push(("add".into(), None, json!(e), done_type(p), json!(e)));
        }
    }
    let mut h = emit(&planned, ops);
    // Final reads by fresh processes once everything is done.
    let t = h.ops.last().map_or(0, |o| o.time) + 1;
    let base = h.ops.iter().filter_map(|o| o.process.client()).max().unwrap_or(0) + 1;
    for k in 0..2u64 {
        let p = Process::Client(base + k);
        h.ops
            .push(Op::new(OpType::Invoke, p, "read", Value::Null).with_time(t + 2 * k));
        h.ops
            .push(Op::new(OpType::Ok, p, "read", json!(set)).with_time(t + 2 * k + 1));
    }
    h.reindex();
    h
}

/// A keyed register workload over `keys` keys: `read`, `write` (values unique
/// per key) and `cas` (half of them with a matching compare, the rest `fail`).
pub fn register_history(shape: &Shape, keys: usize) -> History {
    let mut rng = ChaCha8Rng::seed_from_u64(shape.seed);
    let planned = plan(shape, &mut rng);
    let mut state: BTreeMap<usize, Value> = BTreeMap::new();
    let mut ops = Vec::with_capacity(planned.len());
    for (i, p) in planned.iter().enumerate() {
        let k = rng.gen_range(0..keys.max(1));
        let key = Some(json!(format!("k{k}")));
        let cur = state.get(&k).cloned().unwrap_or(Value::Null);
        match rng.gen_range(0..10) {
            0..=4 if !p.info => ops.push(("read".into(), key, Value::Null, OpType::Ok, cur)),
            5 => {
                let new = json!(i);
                let matches = rng.gen_bool(0.5);
                let old = if matches { cur } else { json!(-1) };
                let ty = if !matches && !p.info {
                    OpType::Fail
                } else {
                    done_type(p)
                };
                if matches && p.effect {
                    state.insert(k, new.clone());
                }
                let v = json!([old, new]);
                ops.push(("cas".into(), key, v.clone(), ty, v));
            }
            _ => {
                if p.effect {
                    state.insert(k, json!(i));
                }
                ops.push(("write".into(), key, json!(i), done_type(p), json!(i)));
            }
        }
    }
    emit(&planned, ops)
}

/// A counter workload: `incr` by 1..=5, `read`s of the running sum.
pub fn counter_history(shape: &Shape) -> History {
    let mut rng = ChaCha8Rng::seed_from_u64(shape.seed);
    let planned = plan(shape, &mut rng);
    let mut sum = 0i64;
    let mut ops = Vec::with_capacity(planned.len());
    for p in &planned {
        if rng.gen_bool(0.4) && !p.info {
            ops.push(("read".into(), None, Value::Null, OpType::Ok, json!(sum)));
        } else {
            let d = rng.gen_range(1..=5i64);
            if p.effect {
                sum += d;
            }
            ops.push(("incr".into(), None, json!(d), done_type(p), json!(d)));
        }
    }
    emit(&planned, ops)
}

/// A bank workload: `accounts` accounts of `total / accounts` each, random transfers
/// that never overdraw, and reads of every balance.
pub fn bank_history(shape: &Shape, accounts: usize, total: i64) -> History {
    let mut rng = ChaCha8Rng::seed_from_u64(shape.seed);
    let planned = plan(shape, &mut rng);
    let n = accounts.max(1);
    let mut bal = vec![total / n as i64; n];
    bal[0] += total - bal.iter().sum::<i64>();
    let mut ops = Vec::with_capacity(planned.len());
    for p in &planned {
        if rng.gen_bool(0.4) && !p.info {
            let m: serde_json::Map<String, Value> = bal
                .iter()
                .enumerate()
                .map(|(i, b)| (i.to_string(), json!(b)))
                .collect();
            ops.push(("read".into(), None, Value::Null, OpType::Ok, Value::Object(m)));
        } else {
            let (from, to) = (rng.gen_range(0..n), rng.gen_range(0..n));
            let amount = rng.gen_range(1..=5i64);
            let v = json!({"from": from, "to": to, "amount": amount});
            if bal[from] >= amount && p.effect {
                bal[from] -= amount;
                bal[to] += amount;
                ops.push(("transfer".into(), None, v.clone(), done_type(p), v));
            } else {
                let ty = if p.info { OpType::Info } else { OpType::Fail };
                ops.push(("transfer".into(), None, v.clone(), ty, v));
            }
        }
    }
    emit(&planned, ops)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::pair;

    #[test]
    fn generated_histories_pair_and_are_time_ordered() {
        let s = Shape {
            seed: 7,
            ..Default::default()
        };
        for h in [
            set_history(&s, 0.3),
            register_history(&s, 3),
            counter_history(&s),
            bank_history(&s, 4, 100),
        ] {
            pair(&h).expect("pairs");
            assert!(h.ops.windows(2).all(|w| w[0].time <= w[1].time));
        }
    }
}
