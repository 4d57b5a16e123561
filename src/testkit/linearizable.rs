//! Seeded generator of keyed cas-register histories that are linearizable by
//! construction (each op takes effect at its completion, which lies inside its
//! interval), for benchmarks and tests.

use crate::history::{History, Op, OpType, Process};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

/// Shape of a generated history.
#[derive(Clone, Copy, Debug)]
pub struct GenSpec {
    /// Total history lines (invocations plus completions), roughly.
    pub ops: usize,
    pub keys: usize,
    pub clients: usize,
    /// Fraction of ops that end `info` (half of those took effect).
    pub info_rate: f64,
    pub seed: u64,
}

/// Generates the history. Invariants: ops are reindexed, times increase, a
/// process that got `info` is replaced by a fresh process number.
pub fn generate(spec: &GenSpec) -> History {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let keys = spec.keys.max(1);
    let clients = spec.clients.max(1);
    let mut store: Vec<Value> = vec![Value::Null; keys];
    let mut procs: Vec<u64> = (0..clients as u64).collect();
    let mut next_proc = clients as u64;
    let mut in_flight: Vec<Option<Op>> = vec![None; clients];
    let mut ops = Vec::with_capacity(spec.ops + clients);
    let mut t = 0u64;
    while ops.len() < spec.ops {
        let c = rng.gen_range(0..clients);
        t += rng.gen_range(1..1000);
        match in_flight[c].take() {
            None => {
                let k = rng.gen_range(0..keys);
                let (f, v) = match rng.gen_range(0..3) {
                    0 => ("read", Value::Null),
                    1 => ("write", json!(rng.gen_range(0..5))),
                    _ => ("cas", json!([rng.gen_range(0..5), rng.gen_range(0..5)])),
                };
                let op = Op::new(OpType::Invoke, Process::Client(procs[c]), f, v)
                    .with_key(json!(k))
                    .with_time(t);
                ops.push(op.clone());
                in_flight[c] = Some(op);
            }
            Some(inv) => {
                let k = inv.key.as_ref().and_then(Value::as_u64).unwrap_or(0) as usize;
                let mut done = inv.clone().with_time(t);
                if rng.gen_bool(spec.info_rate) {
                    done.ty = OpType::Info;
                    if rng.gen_bool(0.5) && inv.f != "read" {
                        apply(&mut store[k], &inv);
                    }
                    procs[c] = next_proc;
                    next_proc += 1;
                } else {
                    let took = apply(&mut store[k], &inv);
                    done.ty = if took { OpType::Ok } else { OpType::Fail };
                    if inv.f == "read" {
                        done.value = store[k].clone();
                    }
                }
                ops.push(done);
            }
        }
    }
    let mut h = History::new(ops);
    h.reindex();
    h
}

/// Applies `op` to the register; false for a cas whose compare failed.
fn apply(reg: &mut Value, op: &Op) -> bool {
    match op.f.as_str() {
        "write" => {
            *reg = op.value.clone();
            true
        }
        "cas" => {
            if reg == &op.value[0] {
                *reg = op.value[1].clone();
                true
            } else {
                false
            }
        }
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::{CheckOptions, Validity};

    #[test]
    fn generated_history_is_linearizable() {
        let h = generate(&GenSpec {
            ops: 4000,
            keys: 10,
            clients: 5,
            info_rate: 0.05,
            seed: 7,
        });
        assert!(h.ops.iter().any(|o| o.ty == OpType::Info));
        let v = crate::checker::linearizable::check(&h, &CheckOptions::default()).unwrap();
        assert_eq!(v.valid, Validity::Valid, "{}", v.summary);
    }
}
