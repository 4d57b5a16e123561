//! A brute-force linearizability oracle and a random history generator, for
//! the property tests of the WGL checker (tests/lin/prop.rs) and of the sound
//! reductions it applies before searching (tests/lin/reduce.rs).
//!
//! The oracle tries every order that respects real time, each indeterminate
//! op either placed somewhere after its invocation or left out, on its own
//! sequential semantics over plain JSON values.

use faultline::checker::linearizable::check;
use faultline::checker::{CheckOptions, Validity};
use faultline::history::{History, Op, OpType, Process};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{json, Value};

/// One op for the oracle: f, input, result (None = indeterminate), call and return positions.
#[derive(Clone, Debug)]
pub struct O {
    pub f: String,
    pub input: Value,
    pub result: Option<Value>,
    pub call: usize,
    pub ret: usize,
}

/// The oracle's own sequential semantics: the state after `o`, or `None`
/// when `o`'s result is impossible in `s`.
pub fn apply(model: &str, s: &Value, o: &O) -> Option<Value> {
    match (model, o.f.as_str()) {
        ("kv", "get") | (_, "read") if model != "set" => match &o.result {
            Some(r) => (r == s).then(|| s.clone()),
            None => Some(s.clone()),
        },
        ("set", "add") => {
            let mut a = s.as_array().cloned().unwrap_or_default();
            if !a.contains(&o.input) {
                a.push(o.input.clone());
            }
            a.sort_by_key(|v| v.to_string());
            Some(Value::Array(a))
        }
        ("set", "read") => match &o.result {
            Some(r) => {
                let mut got = r.as_array().cloned().unwrap_or_default();
                got.sort_by_key(|v| v.to_string());
                got.dedup();
                (&got == s.as_array().unwrap()).then(|| s.clone())
            }
            None => Some(s.clone()),
        },
        ("fifo-queue", "enqueue") => {
            let mut a = s.as_array().cloned().unwrap_or_default();
            a.push(o.input.clone());
            Some(Value::Array(a))
        }
        ("fifo-queue", "dequeue") => {
            let a = s.as_array().cloned().unwrap_or_default();
            match &o.result {
                // Indeterminate: removes the head, if any.
                None => Some(Value::Array(
                    a.get(1..).map(<[Value]>::to_vec).unwrap_or_default(),
                )),
                Some(Value::Null) => a.is_empty().then(|| json!([])),
                Some(r) => (a.first() == Some(r)).then(|| Value::Array(a[1..].to_vec())),
            }
        }
        ("kv", "put") | (_, "write") => Some(o.input.clone()),
        (_, "cas") => (s == &o.input[0]).then(|| o.input[1].clone()),
        ("kv", "append") => Some(json!(format!(
            "{}{}",
            s.as_str().unwrap(),
            o.input.as_str().unwrap()
        ))),
        _ => panic!("oracle: unknown op {} for {model}", o.f),
    }
}

fn oracle_rec(model: &str, ops: &[O], done: &mut Vec<bool>, s: &Value) -> bool {
    if ops.iter().zip(done.iter()).all(|(o, d)| *d || o.result.is_none()) {
        return true;
    }
    // The earliest return among ops not yet placed: nothing invoked after it can go next.
    let min_ret = ops
        .iter()
        .zip(done.iter())
        .filter(|(o, d)| !**d && o.result.is_some())
        .map(|(o, _)| o.ret)
        .min()
        .unwrap_or(usize::MAX);
    for i in 0..ops.len() {
        if done[i] || ops[i].call > min_ret {
            continue;
        }
        if let Some(n) = apply(model, s, &ops[i]) {
            done[i] = true;
            let ok = oracle_rec(model, ops, done, &n);
            done[i] = false;
            if ok {
                return true;
            }
        }
    }
    false
}

/// Whether `h` (well formed, unkeyed) is linearizable for `model`.
pub fn oracle(model: &str, h: &History) -> bool {
    let mut open: std::collections::HashMap<u64, usize> = Default::default();
    let mut ops: Vec<O> = Vec::new();
    for (i, op) in h.ops.iter().enumerate() {
        let p = op.process.client().unwrap();
        match op.ty {
            OpType::Invoke => {
                open.insert(p, ops.len());
                ops.push(O {
                    f: op.f.clone(),
                    input: op.value.clone(),
                    result: None,
                    call: i,
                    ret: usize::MAX,
                });
            }
            ty => {
                let k = open.remove(&p).unwrap();
                ops[k].ret = i;
                match ty {
                    OpType::Ok => ops[k].result = Some(op.value.clone()),
                    OpType::Fail => ops[k].f = "dropped".into(),
                    _ => ops[k].ret = usize::MAX,
                }
            }
        }
    }
    ops.retain(|o| o.f != "dropped");
    // Info reads and gets observe nothing.
    ops.retain(|o| o.result.is_some() || !matches!(o.f.as_str(), "read" | "get"));
    oracle_rec(model, &ops, &mut vec![false; ops.len()], &initial(model))
}

pub fn initial(model: &str) -> Value {
    match model {
        "kv" => json!(""),
        "set" | "fifo-queue" => json!([]),
        _ => Value::Null,
    }
}

/// How the generator draws histories.
#[derive(Clone, Copy, Debug)]
pub struct Mix {
    /// Out of 8: how many completions are `info`.
    pub info_in_8: u8,
    /// Values come from `0..values` (small: many duplicates).
    pub values: u8,
    /// Some writes write null, the register's initial value.
    pub null_writes: bool,
}

pub const PLAIN: Mix = Mix {
    info_in_8: 1,
    values: 3,
    null_writes: false,
};

/// (f, input) of a new invocation.
fn invocation(model: &str, kind: u8, v: u8, mix: Mix) -> (&'static str, Value) {
    let val = |x: u8| -> Value {
        match model {
            "kv" => json!(["a", "b", "c", "ab"][x as usize % 4]),
            _ if mix.null_writes && x.is_multiple_of(mix.values) => Value::Null,
            _ => json!(x % mix.values),
        }
    };
    match (model, kind % 3) {
        ("kv", 0) => ("get", Value::Null),
        ("kv", 1) => ("put", val(v)),
        ("kv", _) => ("append", val(v)),
        ("set", 0) => ("read", Value::Null),
        ("set", _) => ("add", val(v)),
        ("fifo-queue", 0) => ("dequeue", Value::Null),
        ("fifo-queue", _) => ("enqueue", json!(v % mix.values + 1)),
        (_, 0) => ("read", Value::Null),
        ("cas-register", 2) => ("cas", json!([val(v), val(v + 1)])),
        _ => ("write", val(v)),
    }
}

/// The result a faulty object might return instead of the true one.
fn wrong(model: &str, v: u8, mix: Mix) -> Value {
    match model {
        "kv" => json!(["a", "b", "c", "ab"][v as usize % 4]),
        "set" => json!((0..v % mix.values).collect::<Vec<_>>()),
        "fifo-queue" => json!(v % (mix.values + 1)),
        _ => json!(v % mix.values),
    }
}

/// A random history: processes invoke and complete in random interleavings;
/// results are mostly those of a real object (so many histories are valid)
/// and sometimes wrong (so many are not).
pub fn gen_history(model: &'static str, mix: Mix) -> impl Strategy<Value = History> {
    (
        2usize..=4,
        prop::collection::vec((0u8..8, 0u8..3, 0u8..6, 0u8..8), 4..12),
    )
        .prop_map(move |(procs, steps)| {
            let mut ops = Vec::new();
            let mut inflight: Vec<Option<(String, Value)>> = vec![None; procs];
            let mut pid: Vec<u64> = (0..procs as u64).collect();
            let mut next = procs as u64;
            let mut obj = initial(model);
            for (who, kind, v, noise) in steps {
                let c = who as usize % procs;
                match inflight[c].take() {
                    None => {
                        let (f, input) = invocation(model, kind, v, mix);
                        ops.push(Op::new(OpType::Invoke, Process::Client(pid[c]), f, input.clone()));
                        inflight[c] = Some((f.to_string(), input));
                    }
                    Some((f, input)) => {
                        let o = O {
                            f: f.clone(),
                            input: input.clone(),
                            result: None,
                            call: 0,
                            ret: 0,
                        };
                        let observes = matches!(f.as_str(), "read" | "get" | "dequeue");
                        let (ty, out) = if noise < mix.info_in_8 {
                            // info: maybe took effect
                            if v % 2 == 0 {
                                if let Some(n) = apply(model, &obj, &o) {
                                    obj = n;
                                }
                            }
                            (OpType::Info, input.clone())
                        } else if observes {
                            let truth = match (model, f.as_str()) {
                                ("fifo-queue", _) => {
                                    let head = obj.as_array().and_then(|a| a.first().cloned());
                                    obj = apply(model, &obj, &o).unwrap_or(obj);
                                    head.unwrap_or(Value::Null)
                                }
                                _ => obj.clone(),
                            };
                            let r = if noise % 3 == 1 {
                                wrong(model, v, mix)
                            } else {
                                truth
                            };
                            (OpType::Ok, r)
                        } else {
                            match apply(model, &obj, &o) {
                                Some(n) if noise % 4 != 2 => {
                                    obj = n;
                                    (OpType::Ok, input.clone())
                                }
                                Some(_) => (OpType::Ok, input.clone()), // claims success, no effect
                                None => (OpType::Fail, input.clone()),
                            }
                        };
                        ops.push(Op::new(ty, Process::Client(pid[c]), f, out));
                        if ty == OpType::Info {
                            pid[c] = next;
                            next += 1;
                        }
                    }
                }
            }
            let mut h = History::new(ops);
            h.reindex();
            h
        })
}

/// What [`agree`] saw.
#[derive(Debug, Default)]
pub struct Seen {
    pub valid: usize,
    pub invalid: usize,
    /// Indeterminate ops the checker left out before searching, over all cases.
    pub left_out: u64,
}

/// Runs `cases` generated histories through the checker and the oracle and
/// asserts they agree on every one.
pub fn agree(model: &'static str, mix: Mix, cases: u32, seed: u8) -> Seen {
    let cfg = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[seed; 32]);
    let mut runner = TestRunner::new_with_rng(cfg, rng);
    let seen = std::cell::RefCell::new(Seen::default());
    let ran = std::cell::Cell::new(0u32);
    runner
        .run(&gen_history(model, mix), |h| {
            ran.set(ran.get() + 1);
            let opts = CheckOptions {
                model: Some(model.to_string()),
                ..CheckOptions::default()
            };
            let v = check(&h, &opts).unwrap();
            let want = if oracle(model, &h) {
                Validity::Valid
            } else {
                Validity::Invalid
            };
            prop_assert_eq!(v.valid, want, "history {:?}", h.ops);
            let mut s = seen.borrow_mut();
            s.left_out += v.details["unobserved_info_ops_left_out"].as_u64().unwrap_or(0);
            match want {
                Validity::Valid => s.valid += 1,
                _ => s.invalid += 1,
            }
            Ok(())
        })
        .unwrap();
    assert_eq!(ran.get(), cases);
    seen.into_inner()
}

/// Draws `n` histories of the generator (to look at the mix it produces).
pub fn sample(model: &'static str, mix: Mix, n: usize, seed: u8) -> Vec<History> {
    let mut r = TestRunner::new_with_rng(
        Config {
            failure_persistence: None,
            ..Config::default()
        },
        TestRng::from_seed(RngAlgorithm::ChaCha, &[seed; 32]),
    );
    (0..n)
        .map(|_| gen_history(model, mix).new_tree(&mut r).unwrap().current())
        .collect()
}
