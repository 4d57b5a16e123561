//! A synthetic failing run: a concurrent register history under partitions
//! and kills, with a linearizability witness and an Elle cycle. Used by the
//! report tests, `faultline bench report` and the example screenshot; it is
//! not a real test result (its anomalies are made up, their shapes are real).

use crate::checker::{Anomaly, Validity, Verdict};
use crate::history::{History, Op, OpType, Process};
use crate::report::RunResults;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

/// Builds a history of about `lines` ops (invocations + completions + nemesis ops)
/// from `clients` concurrent clients, and results naming two anomalies.
pub fn failing_run(lines: usize, clients: u64, seed: u64) -> (History, RunResults) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let clients = clients.max(1);
    let mut ops: Vec<Op> = Vec::with_capacity(lines + 16);
    let mut procs: Vec<u64> = (0..clients).collect();
    let mut busy: Vec<Option<Op>> = vec![None; clients as usize];
    let mut next_proc = clients;
    let mut t: u64 = 1_000_000;
    let mut next_write = 0u64;
    let nem_every = (lines / 6).max(20);
    let mut faulted = false;
    while ops.len() < lines {
        t += rng.gen_range(5_000..120_000);
        if ops.len() % nem_every == nem_every / 2 {
            let (f, v) = match (faulted, ops.len() / nem_every % 2) {
                (false, 0) => (
                    "partition",
                    json!({"n1": ["n3", "n4", "n5"], "n2": ["n3", "n4", "n5"]}),
                ),
                (false, _) => ("kill", json!(["n1"])),
                (true, 0) => ("restart", json!(["n1"])),
                (true, _) => ("heal", Value::Null),
            };
            faulted = !faulted;
            ops.push(Op::new(OpType::Invoke, Process::Nemesis, f, v.clone()).with_time(t));
            t += 300_000;
            ops.push(Op::new(OpType::Info, Process::Nemesis, f, v).with_time(t));
            continue;
        }
        let c = rng.gen_range(0..clients as usize);
        let p = Process::Client(procs[c]);
        match busy[c].take() {
            None => {
                let key = json!(format!("k{}", rng.gen_range(0..4)));
                let (f, v) = match rng.gen_range(0..3) {
                    0 => ("read", Value::Null),
                    1 => {
                        next_write += 1;
                        ("write", json!(next_write))
                    }
                    _ => (
                        "cas",
                        json!([rng.gen_range(0..next_write + 1), next_write + 1000]),
                    ),
                };
                let op = Op::new(OpType::Invoke, p, f, v).with_key(key).with_time(t);
                busy[c] = Some(op.clone());
                ops.push(op);
            }
            Some(inv) => {
                let roll = rng.gen_range(0..100);
                let ty = if roll < 82 {
                    OpType::Ok
                } else if roll < 92 {
                    OpType::Fail
                } else {
                    OpType::Info
                };
                let mut v = inv.value.clone();
                if inv.f == "read" && ty == OpType::Ok {
                    v = json!(rng.gen_range(0..next_write + 1));
                }
                let mut op = Op::new(ty, p, inv.f.clone(), v).with_time(t);
                op.key = inv.key.clone();
                if ty == OpType::Info {
                    op.error = Some("timeout".into());
                    procs[c] = next_proc;
                    next_proc += 1;
                } else {
                    op.node = Some(format!("n{}", rng.gen_range(1..6)));
                }
                ops.push(op);
            }
        }
    }
    let mut h = History::new(ops);
    h.reindex();
    let results = results_for(&h);
    (h, results)
}

/// Completions of ok ops on `key`, in order, with their invocations: (invoke index, completion index).
fn ok_pairs(h: &History, key: &str) -> Vec<(u64, u64, &'static str)> {
    let mut open = std::collections::HashMap::new();
    let mut out = Vec::new();
    for o in &h.ops {
        if o.process.is_nemesis() || o.key_string().as_deref() != Some(key) {
            continue;
        }
        match o.ty {
            OpType::Invoke => {
                open.insert(o.process, o.index);
            }
            OpType::Ok => {
                if let Some(i) = open.remove(&o.process) {
                    let f = if o.f == "read" { "read" } else { "write" };
                    out.push((i, o.index, f));
                }
            }
            _ => {
                open.remove(&o.process);
            }
        }
    }
    out
}

fn results_for(h: &History) -> RunResults {
    let pairs = ok_pairs(h, "k1");
    // The failing op is a real read (past the middle) so the page's story matches the ops it links.
    let mid = (pairs.len() / 2..pairs.len())
        .find(|&i| pairs[i].2 == "read")
        .unwrap_or(pairs.len() / 2);
    let lo = mid.saturating_sub(6);
    let mut verdicts = Vec::new();
    let mut lin = Verdict::new("linearizable", Validity::Invalid, "key k1 is not linearizable");
    if let Some(&(bad_inv, bad_cmp, _)) = pairs.get(mid) {
        let got = h
            .ops
            .get(bad_cmp as usize)
            .map_or(Value::Null, |o| o.value.clone());
        let state = 40 + (mid - lo).saturating_sub(1);
        let prefix: Vec<Value> = pairs[lo..mid]
            .iter()
            .enumerate()
            .map(|(k, (_, c, _))| json!({"op": c, "state": 40 + k}))
            .collect();
        lin.push_anomaly(Anomaly {
            kind: "nonlinearizable".into(),
            explanation: format!(
                "On key k1, no order of the ops is consistent with real time: after the {} ops of the longest \
                 linearizable prefix the register holds {state}, but op {bad_cmp} read {got}.",
                mid - lo,
            ),
            ops: vec![bad_inv, bad_cmp],
            data: json!({"key": "k1", "prefix": prefix,
                         "failing_op": {"op": bad_cmp, "state": state,
                                        "result": got, "reason": "a read must return the register's value"}}),
        });
    }
    verdicts.push(lin);
    let mut elle = Verdict::new(
        "elle",
        Validity::Invalid,
        "G1c: a cycle of write-read and write-write dependencies",
    );
    let k2 = ok_pairs(h, "k2");
    if k2.len() >= 3 {
        let (a, b, c) = (k2[1].1, k2[k2.len() / 2].1, k2[k2.len() - 2].1);
        elle.push_anomaly(Anomaly {
            kind: "G1c".into(),
            explanation: format!(
                "T{b} read x=1 from T{a}'s append; T{c} overwrote y=4 after T{b}; T{a} read y=5 from T{c}: \
                 each txn observed the next, a circular information flow."
            ),
            ops: vec![a, b, c],
            data: json!({"cycle": {"txns": [{"op": a, "value": [["append","x",1],["r","y",[4,5]]]},
                                             {"op": b, "value": [["r","x",[1]],["append","y",4]]},
                                             {"op": c, "value": [["append","y",5]]}],
                                   "edges": [{"from": a, "to": b, "type": "wr", "key": "x", "value": 1},
                                             {"from": b, "to": c, "type": "ww", "key": "y", "value": 4},
                                             {"from": c, "to": a, "type": "wr", "key": "y", "value": 5}]}}),
        });
    }
    verdicts.push(elle);
    verdicts.push(Verdict::valid("perf", "latency and throughput plotted"));
    let valid = verdicts
        .iter()
        .fold(Validity::Valid, |acc, v| acc.combine(v.valid));
    RunResults {
        faultline_version: env!("CARGO_PKG_VERSION").into(),
        name: "builtin-register-partition".into(),
        valid,
        results: verdicts,
        test: json!({"target": "builtin", "workload": "register", "nemesis": ["partition", "kill"],
                     "store": {"replication": "async", "reads": "follower"}, "nodes": 5, "seed": 42}),
        seed: Some(42),
        ops: h.len(),
        duration_ms: h.ops.last().map(|o| o.time as f64 / 1e6).unwrap_or(0.0),
        started_at: 0,
        replay: Some("faultline test --replay store/builtin-register-partition/20260101T000000".into()),
        net: Some("proxy".into()),
        coverage: None,
        shards: None,
        warnings: vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_is_pairable_and_names_both_anomalies() {
        let (h, r) = failing_run(3000, 8, 7);
        assert!(h.len() >= 3000);
        crate::history::pair(&h).expect("example history pairs");
        assert_eq!(r.valid, Validity::Invalid);
        let kinds: Vec<&str> = r
            .results
            .iter()
            .flat_map(|v| v.anomalies.iter().map(|a| a.kind.as_str()))
            .collect();
        assert_eq!(kinds, vec!["nonlinearizable", "G1c"]);
        assert!(h.nemesis_ops().count() >= 4);
    }
}
