//! Soundness against a brute-force oracle: on small random rw-register
//! histories (not necessarily valid), whenever the checker names an anomaly,
//! no serial order of the transactions explains the reads (respecting process
//! order for `-process` kinds and real-time order for `-realtime` kinds).

use faultline::checker::elle::{check, ElleOptions};
use faultline::checker::Validity;
use faultline::history::{History, Op, OpType, Process};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, RngSeed};
use serde_json::{json, Value};

#[derive(Clone, Debug)]
struct T {
    process: u64,
    ty: OpType,
    /// (is_write, key, value choice)
    mops: Vec<(bool, u8, u8)>,
    /// Complete before the next invocation (else stays in flight a while).
    quick: bool,
}

/// Resolved micro-ops: (is_write, key, value or None for nil).
type Mops = Vec<(bool, u8, Option<u64>)>;

fn resolve(ts: &[T]) -> Vec<Mops> {
    let mut next = 1u64;
    let mut written: Vec<Vec<u64>> = vec![Vec::new(); 2];
    let mut out = Vec::new();
    for t in ts {
        let mut m = Vec::new();
        for &(w, k, _) in &t.mops {
            if w {
                written[k as usize].push(next);
                m.push((true, k, Some(next)));
                next += 1;
            } else {
                m.push((false, k, None));
            }
        }
        out.push(m);
    }
    // Reads pick any value written to the key anywhere, or nil.
    for (t, m) in ts.iter().zip(out.iter_mut()) {
        for (i, &(w, k, c)) in t.mops.iter().enumerate() {
            if !w {
                let vs = &written[k as usize];
                let pick = c as usize % (vs.len() + 1);
                m[i].2 = if pick == 0 { None } else { Some(vs[pick - 1]) };
            }
        }
    }
    out
}

fn mops_json(m: &Mops, fill: bool) -> Value {
    Value::Array(
        m.iter()
            .map(|&(w, k, v)| {
                if w {
                    json!(["w", k, v])
                } else if fill {
                    json!(["r", k, v])
                } else {
                    json!(["r", k, null])
                }
            })
            .collect(),
    )
}

/// Builds the history and returns, per txn, (invoke position, completion position).
fn build(ts: &[T], ms: &[Mops]) -> (History, Vec<(usize, Option<usize>)>) {
    let mut ops = Vec::new();
    let mut pos = vec![(0usize, None); ts.len()];
    let mut in_flight: Vec<usize> = Vec::new();
    let complete = |i: usize, ops: &mut Vec<Op>, pos: &mut Vec<(usize, Option<usize>)>| {
        pos[i].1 = Some(ops.len());
        let fill = ts[i].ty == OpType::Ok;
        ops.push(Op::new(
            ts[i].ty,
            Process::Client(ts[i].process),
            "txn",
            mops_json(&ms[i], fill),
        ));
    };
    for (i, t) in ts.iter().enumerate() {
        // A process has one op in flight; complete its previous one first.
        in_flight.retain(|&j| {
            if ts[j].process == t.process {
                complete(j, &mut ops, &mut pos);
                false
            } else {
                true
            }
        });
        pos[i].0 = ops.len();
        ops.push(Op::new(
            OpType::Invoke,
            Process::Client(t.process),
            "txn",
            mops_json(&ms[i], false),
        ));
        if t.quick {
            complete(i, &mut ops, &mut pos);
        } else {
            in_flight.push(i);
        }
    }
    for j in in_flight {
        complete(j, &mut ops, &mut pos);
    }
    let mut h = History::new(ops);
    h.reindex();
    (h, pos)
}

/// Is there a serial order of the ok txns plus any subset of the info txns that
/// explains every ok read? `before(a, b)`: a must precede b when both are in.
fn serializable(ts: &[T], ms: &[Mops], before: &dyn Fn(usize, usize) -> bool) -> bool {
    let ok: Vec<usize> = (0..ts.len()).filter(|&i| ts[i].ty == OpType::Ok).collect();
    let info: Vec<usize> = (0..ts.len()).filter(|&i| ts[i].ty == OpType::Info).collect();
    for mask in 0..(1u32 << info.len()) {
        let mut set = ok.clone();
        set.extend(
            info.iter()
                .enumerate()
                .filter(|(b, _)| mask >> b & 1 == 1)
                .map(|(_, &i)| i),
        );
        let mut used = vec![false; set.len()];
        let mut order = Vec::new();
        if search(ts, ms, &set, &mut used, &mut order, &mut [None, None], before) {
            return true;
        }
    }
    false
}

fn search(
    ts: &[T],
    ms: &[Mops],
    set: &[usize],
    used: &mut [bool],
    order: &mut Vec<usize>,
    state: &mut [Option<u64>; 2],
    before: &dyn Fn(usize, usize) -> bool,
) -> bool {
    if order.len() == set.len() {
        return true;
    }
    for s in 0..set.len() {
        if used[s] {
            continue;
        }
        let t = set[s];
        // Every unplaced txn that must come first blocks t.
        if (0..set.len()).any(|o| !used[o] && o != s && before(set[o], t)) {
            continue;
        }
        let saved = *state;
        let mut ok = true;
        for &(w, k, v) in &ms[t] {
            if w {
                state[k as usize] = v;
            } else if ts[t].ty == OpType::Ok && state[k as usize] != v {
                ok = false;
                break;
            }
        }
        if ok {
            used[s] = true;
            order.push(t);
            if search(ts, ms, set, used, order, state, before) {
                return true;
            }
            order.pop();
            used[s] = false;
        }
        *state = saved;
    }
    false
}

fn txn() -> impl Strategy<Value = T> {
    (
        0u64..3,
        prop_oneof![6 => Just(OpType::Ok), 1 => Just(OpType::Info), 1 => Just(OpType::Fail)],
        prop::collection::vec((prop::bool::ANY, 0u8..2, any::<u8>()), 1..4),
        prop::bool::ANY,
    )
        .prop_map(|(process, ty, mops, quick)| T {
            process,
            ty,
            mops,
            quick,
        })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 1000,
        rng_seed: RngSeed::Fixed(0xe11e_0ac1e),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_named_anomaly_is_real(ts in prop::collection::vec(txn(), 1..6)) {
        let ms = resolve(&ts);
        let (h, pos) = build(&ts, &ms);
        let v = check(&h, &ElleOptions::default()).unwrap();
        if v.valid != Validity::Invalid {
            return Ok(());
        }
        let none = |_: usize, _: usize| false;
        let process = |a: usize, b: usize| {
            a < b && ts[a].process == ts[b].process && ts[a].ty == OpType::Ok
        };
        let realtime = |a: usize, b: usize| {
            ts[a].ty == OpType::Ok && pos[a].1.is_some_and(|c| c < pos[b].0)
        };
        for a in &v.anomalies {
            let before: &dyn Fn(usize, usize) -> bool = if a.kind.ends_with("-realtime") {
                &realtime
            } else if a.kind.ends_with("-process") {
                &process
            } else {
                &none
            };
            prop_assert!(
                !serializable(&ts, &ms, before),
                "{} reported but a serial order exists: {}\n{:?}",
                a.kind, a.explanation, h.ops
            );
        }
    }
}
