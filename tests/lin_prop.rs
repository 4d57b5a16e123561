//! The WGL checker against an independent brute-force oracle on thousands of
//! small random concurrent histories (register, cas-register, kv; with info
//! and fail ops). The oracle tries every order that respects real time, with
//! each info op either placed somewhere after its invocation or left out.

use faultline::checker::linearizable::check;
use faultline::checker::{CheckOptions, Validity};
use faultline::history::{History, Op, OpType, Process};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{json, Value};

/// One op for the oracle: f, input, result (None = info), call and return positions.
#[derive(Clone, Debug)]
struct O {
    f: String,
    input: Value,
    result: Option<Value>,
    call: usize,
    ret: usize,
}

/// The oracle's own sequential semantics, on plain JSON values.
fn apply(model: &str, s: &Value, o: &O) -> Option<Value> {
    match (model, o.f.as_str()) {
        (_, "read") => match &o.result {
            Some(r) => (r == s).then(|| s.clone()),
            None => Some(s.clone()),
        },
        (_, "write") => Some(o.input.clone()),
        (_, "cas") => (s == &o.input[0]).then(|| o.input[1].clone()),
        ("kv", "get") => match &o.result {
            Some(r) => (r == s).then(|| s.clone()),
            None => Some(s.clone()),
        },
        ("kv", "put") => Some(o.input.clone()),
        ("kv", "append") => Some(json!(format!(
            "{}{}",
            s.as_str().unwrap(),
            o.input.as_str().unwrap()
        ))),
        _ => panic!("oracle: unknown op {}", o.f),
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

fn oracle(model: &str, h: &History) -> bool {
    // Pair by process (histories here are well formed).
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
    let init = if model == "kv" { json!("") } else { Value::Null };
    oracle_rec(model, &ops, &mut vec![false; ops.len()], &init)
}

/// A random history: processes invoke and complete in random interleavings;
/// results are mostly those of a real register (so many histories are valid)
/// and sometimes random (so many are not).
fn gen_history(model: &'static str) -> impl Strategy<Value = History> {
    (
        2usize..=4,
        prop::collection::vec((0u8..8, 0u8..3, 0u8..3, 0u8..6), 4..12),
    )
        .prop_map(move |(procs, steps)| {
            let mut ops = Vec::new();
            let mut inflight: Vec<Option<(String, Value)>> = vec![None; procs];
            let mut pid: Vec<u64> = (0..procs as u64).collect();
            let mut next = procs as u64;
            let mut reg = if model == "kv" { json!("") } else { Value::Null };
            let val = |x: u8| -> Value {
                if model == "kv" {
                    json!(["a", "b", "c"][x as usize % 3])
                } else {
                    json!(x % 3)
                }
            };
            for (who, kind, v, noise) in steps {
                let c = who as usize % procs;
                match inflight[c].take() {
                    None => {
                        let (f, input) = match (model, kind % 3) {
                            ("kv", 0) => ("get", Value::Null),
                            ("kv", 1) => ("put", val(v)),
                            ("kv", _) => ("append", val(v)),
                            (_, 0) => ("read", Value::Null),
                            ("cas-register", 2) => ("cas", json!([v % 3, (v + 1) % 3])),
                            _ => ("write", val(v)),
                        };
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
                        let (ty, out) = if noise == 0 {
                            // info: maybe took effect
                            if v % 2 == 0 {
                                if let Some(n) = apply(model, &reg, &o) {
                                    reg = n;
                                }
                            }
                            (OpType::Info, input.clone())
                        } else if matches!(f.as_str(), "read" | "get") {
                            let r = if noise % 2 == 1 { val(v) } else { reg.clone() };
                            (OpType::Ok, r)
                        } else {
                            match apply(model, &reg, &o) {
                                Some(n) if noise != 2 => {
                                    reg = n;
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

fn agree(model: &'static str, cases: u32, seed: u8) {
    let cfg = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[seed; 32]);
    let mut runner = TestRunner::new_with_rng(cfg, rng);
    let (mut valid, mut invalid) = (0, 0);
    let ran = std::cell::Cell::new(0u32);
    runner
        .run(&gen_history(model), |h| {
            ran.set(ran.get() + 1);
            let opts = CheckOptions {
                model: Some(model.to_string()),
                ..CheckOptions::default()
            };
            let got = check(&h, &opts).unwrap().valid;
            let want = if oracle(model, &h) {
                Validity::Valid
            } else {
                Validity::Invalid
            };
            prop_assert_eq!(got, want, "history {:?}", h.ops);
            Ok(())
        })
        .unwrap();
    assert_eq!(ran.get(), cases);
    // The generator must produce both kinds, or agreement proves little.
    let mut r2 = TestRunner::new_with_rng(
        Config {
            cases: 200,
            failure_persistence: None,
            ..Config::default()
        },
        TestRng::from_seed(RngAlgorithm::ChaCha, &[seed; 32]),
    );
    for _ in 0..200 {
        let h = gen_history(model).new_tree(&mut r2).unwrap().current();
        if oracle(model, &h) {
            valid += 1
        } else {
            invalid += 1
        }
    }
    assert!(
        valid > 20 && invalid > 20,
        "{model}: {valid} valid, {invalid} invalid"
    );
}

#[test]
fn register_agrees_with_oracle() {
    agree("register", 2000, 1);
}

#[test]
fn cas_register_agrees_with_oracle() {
    agree("cas-register", 2000, 2);
}

#[test]
fn kv_agrees_with_oracle() {
    agree("kv", 2000, 3);
}
