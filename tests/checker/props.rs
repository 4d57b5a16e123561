//! Property tests with pinned seeds: histories generated from correct
//! (linearizable) executions are never flagged; injected anomalies are always
//! found and named; flagged counts agree with brute-force oracles.

use faultline::checker::{registry, CheckOptions, Validity, Verdict};
use faultline::history::{pair, History, Op, OpType, Process};
use faultline::testkit::synth::{bank_history, counter_history, register_history, set_history, Shape};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use serde_json::{json, Value};

fn cfg(cases: u32, seed: u64) -> Config {
    Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        ..Config::default()
    }
}

fn check(name: &str, h: &History, opts: &CheckOptions) -> Verdict {
    registry::build(name).unwrap().check(h, opts)
}

fn shape(seed: u64, ops: usize) -> Shape {
    Shape {
        seed,
        processes: 4,
        ops,
        info_rate: 0.1,
        max_latency: 1_000,
    }
}

/// (invoke position, completion position) of every ok client op with f `f`.
fn ok_ops(h: &History, f: &str) -> Vec<(usize, usize)> {
    let p = pair(h).unwrap();
    (0..h.len())
        .filter(|&i| h.ops[i].ty == OpType::Invoke && h.ops[i].f == f && !h.ops[i].process.is_nemesis())
        .filter_map(|i| {
            p.partner(i)
                .filter(|&j| h.ops[j].ty == OpType::Ok)
                .map(|j| (i, j))
        })
        .collect()
}

fn kinds(v: &Verdict) -> Vec<&str> {
    v.anomalies.iter().map(|a| a.kind.as_str()).collect()
}

/// Brute-force set-full: (lost, lost_after_seen, unstable) counts, straight from the definitions.
fn set_oracle(h: &History) -> (usize, usize, usize) {
    let reads: Vec<(u64, u64, Vec<i64>)> = ok_ops(h, "read")
        .into_iter()
        .map(|(i, j)| {
            (
                h.ops[i].time,
                h.ops[j].time,
                h.ops[j]
                    .value
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_i64().unwrap())
                    .collect(),
            )
        })
        .collect();
    let acked: std::collections::HashMap<i64, u64> = ok_ops(h, "add")
        .into_iter()
        .map(|(i, j)| (h.ops[i].value.as_i64().unwrap(), h.ops[j].time))
        .collect();
    let mut adds: Vec<i64> = h
        .ops
        .iter()
        .filter(|o| o.f == "add" && o.is_invoke())
        .map(|o| o.value.as_i64().unwrap())
        .collect();
    adds.sort();
    let (mut lost, mut las, mut unstable) = (0, 0, 0);
    for e in adds {
        let seen: Vec<&(u64, u64, Vec<i64>)> = reads.iter().filter(|r| r.2.contains(&e)).collect();
        let first_seen_end = seen.iter().min_by_key(|r| r.0).map(|r| r.1);
        let known = match (acked.get(&e), first_seen_end) {
            (Some(&a), Some(s)) => a.min(s),
            (Some(&a), None) => a,
            (None, Some(s)) => s,
            (None, None) => continue,
        };
        let absent_after: Vec<_> = reads
            .iter()
            .filter(|r| r.0 > known && !r.2.contains(&e))
            .collect();
        let Some(last_absent) = absent_after.iter().map(|r| r.0).max() else {
            continue;
        };
        let last_present = seen.iter().map(|r| r.0).max();
        match last_present {
            Some(p) if p > last_absent => unstable += 1,
            Some(_) => las += 1,
            None => lost += 1,
        }
    }
    (lost, las, unstable)
}

proptest! {
    #![proptest_config(cfg(256, 0x5e7))]
    #[test]
    fn set_correct_never_flagged_and_deletions_match_oracle(seed in any::<u64>(), drops in proptest::collection::vec((any::<usize>(), any::<usize>()), 0..6)) {
        let _serial = serial!();
        let mut h = set_history(&shape(seed, 120), 0.2);
        let v = check("set", &h, &CheckOptions::default());
        prop_assert_eq!(v.valid, Validity::Valid, "{:?}", v);
        // Drop random elements from random reads; compare with the oracle.
        let reads: Vec<usize> = ok_ops(&h, "read").into_iter().map(|r| r.1).collect();
        for (r, e) in drops {
            let arr = h.ops[reads[r % reads.len()]].value.as_array_mut().unwrap();
            if !arr.is_empty() {
                arr.remove(e % arr.len());
            }
        }
        let v = check("set", &h, &CheckOptions::default());
        let (lost, las, unstable) = set_oracle(&h);
        prop_assert_eq!((v.details["lost"].as_u64().unwrap() as usize, v.details["lost_after_seen"].as_u64().unwrap() as usize, v.details["unstable"].as_u64().unwrap() as usize), (lost, las, unstable));
        prop_assert_eq!(v.valid == Validity::Invalid, lost + las + unstable > 0);
    }

    #[test]
    fn set_injected_kinds_are_named(seed in any::<u64>(), pick in any::<usize>()) {
        let _serial = serial!();
        let h0 = set_history(&shape(seed, 120), 0.2);
        let reads: Vec<usize> = ok_ops(&h0, "read").into_iter().map(|r| r.1).collect();
        let n = reads.len();
        let acked: Vec<(i64, u64)> = ok_ops(&h0, "add").into_iter().map(|(i, j)| (h0.ops[i].value.as_i64().unwrap(), h0.ops[j].time)).collect();
        prop_assume!(!acked.is_empty());
        let (e, _) = acked[pick % acked.len()];
        let strip = |h: &mut History, rs: &[usize]| for &r in rs {
            h.ops[r].value.as_array_mut().unwrap().retain(|x| x.as_i64() != Some(e));
        };
        // lost: gone from every read.
        let mut h = h0.clone();
        strip(&mut h, &reads);
        prop_assert!(kinds(&check("set", &h, &CheckOptions::default())).contains(&"lost"));
        // lost after seen: gone from the two final reads only, if an earlier read saw it.
        if reads[..n - 2].iter().any(|&r| h0.ops[r].value.as_array().unwrap().contains(&json!(e))) {
            let mut h = h0.clone();
            strip(&mut h, &reads[n - 2..]);
            prop_assert!(kinds(&check("set", &h, &CheckOptions::default())).contains(&"lost-after-seen"));
        }
        // unstable: gone from the first final read only (it began after everything was acknowledged).
        let mut h = h0.clone();
        strip(&mut h, &reads[n - 2..n - 1]);
        prop_assert!(kinds(&check("set", &h, &CheckOptions::default())).contains(&"unstable"));
        // unexpected: an element nobody added.
        let mut h = h0.clone();
        h.ops[reads[pick % n]].value.as_array_mut().unwrap().push(json!(1_000_000_007));
        prop_assert!(kinds(&check("set", &h, &CheckOptions::default())).contains(&"unexpected"));
    }
}

/// Brute-force stale oracle: reads for which a write invoked after the read value's
/// write was acknowledged was itself acknowledged before the read began.
fn stale_oracle(h: &History) -> usize {
    let p = pair(h).unwrap();
    let mut writes: Vec<(Value, Value, u64, u64)> = Vec::new(); // key, value, start, end (MAX if not ok)
    for (i, o) in h.ops.iter().enumerate() {
        if !o.is_invoke() || !(o.f == "write" || o.f == "cas") {
            continue;
        }
        let done = p.partner(i).map(|j| &h.ops[j]);
        if done.is_some_and(|d| d.ty == OpType::Fail) {
            continue;
        }
        let end = done.filter(|d| d.ty == OpType::Ok).map_or(u64::MAX, |d| d.time);
        let v = if o.f == "cas" {
            o.value[1].clone()
        } else {
            o.value.clone()
        };
        writes.push((o.key.clone().unwrap(), v, o.time, end));
    }
    ok_ops(h, "read")
        .into_iter()
        .filter(|&(i, j)| {
            let (k, v, start) = (h.ops[i].key.clone().unwrap(), &h.ops[j].value, h.ops[i].time);
            let src_end = match writes.iter().find(|w| w.0 == k && &w.1 == v) {
                Some(w) => w.3,
                None if v.is_null() => 0,
                None => return false,
            };
            src_end != u64::MAX
                && writes
                    .iter()
                    .any(|w| w.0 == k && w.2 > src_end && w.3 < start && (src_end > 0 || w.2 >= src_end))
        })
        .count()
}

proptest! {
    #![proptest_config(cfg(256, 0x57a1e))]
    #[test]
    fn register_correct_never_flagged_and_stale_matches_oracle(seed in any::<u64>(), edits in proptest::collection::vec((any::<usize>(), any::<usize>()), 0..5)) {
        let _serial = serial!();
        let mut h = register_history(&shape(seed, 150), 2);
        for name in ["stale", "session"] {
            let v = check(name, &h, &CheckOptions::default());
            prop_assert_eq!(v.valid, Validity::Valid, "{}: {:?}", name, v);
        }
        // Replace some read values with other values of the same key (or the initial null).
        let reads: Vec<usize> = ok_ops(&h, "read").into_iter().map(|r| r.1).collect();
        prop_assume!(!reads.is_empty());
        for (r, w) in edits {
            let r = reads[r % reads.len()];
            let key = h.ops[r].key.clone();
            let cands: Vec<Value> = h.ops.iter().filter(|o| o.f == "write" && o.key == key).map(|o| o.value.clone()).chain([Value::Null]).collect();
            h.ops[r].value = cands[w % cands.len()].clone();
        }
        let v = check("stale", &h, &CheckOptions::default());
        prop_assert_eq!(v.details["stale"].as_u64().unwrap() as usize, stale_oracle(&h));
    }

    #[test]
    fn stale_and_read_your_writes_injections_are_named(seed in any::<u64>(), pick in any::<usize>()) {
        let _serial = serial!();
        let h0 = register_history(&shape(seed, 150), 2);
        let p = pair(&h0).unwrap();
        // Stale: a read that began after some write to its key was acknowledged now returns the initial value.
        let writes = ok_ops(&h0, "write");
        let cands: Vec<usize> = ok_ops(&h0, "read").into_iter()
            .filter(|&(i, _)| writes.iter().any(|&(wi, wj)| h0.ops[wi].key == h0.ops[i].key && h0.ops[wj].time < h0.ops[i].time))
            .map(|r| r.1).collect();
        prop_assume!(!cands.is_empty());
        let mut h = h0.clone();
        h.ops[cands[pick % cands.len()]].value = Value::Null;
        prop_assert!(kinds(&check("stale", &h, &CheckOptions::default())).contains(&"stale-read"));
        // Read-your-writes: a process's op right after its own ok write to a key is a read of that key.
        let ryw: Vec<usize> = writes.iter().filter_map(|&(_, wj)| {
            let proc_ = h0.ops[wj].process;
            let next = (wj + 1..h0.len()).find(|&k| h0.ops[k].process == proc_)?;
            let done = p.partner(next)?;
            (h0.ops[next].f == "read" && h0.ops[next].key == h0.ops[wj].key && h0.ops[done].ty == OpType::Ok).then_some(done)
        }).collect();
        if !ryw.is_empty() {
            let mut h = h0.clone();
            h.ops[ryw[pick % ryw.len()]].value = Value::Null;
            prop_assert!(kinds(&check("session", &h, &CheckOptions::default())).contains(&"read-your-writes"));
        }
    }

    #[test]
    fn session_tail_injections_are_named(seed in any::<u64>(), kind in 0usize..4) {
        let _serial = serial!();
        let mut h = register_history(&shape(seed, 100), 2);
        let t0 = h.ops.last().map_or(0, |o| o.time) + 10;
        let p0 = h.ops.iter().filter_map(|o| o.process.client()).max().unwrap_or(0) + 1;
        let mut t = t0;
        let mut add = |p: u64, f: &str, k: &str, inv: Value, res: Value| {
            h.ops.push(Op::new(OpType::Invoke, Process::Client(p0 + p), f, inv).with_key(json!(k)).with_time(t));
            h.ops.push(Op::new(OpType::Ok, Process::Client(p0 + p), f, res).with_key(json!(k)).with_time(t + 1));
            t += 2;
        };
        let expected = match kind {
            0 => { add(0, "write", "tx", json!("a"), json!("a")); add(1, "write", "tx", json!("b"), json!("b"));
                   add(2, "read", "tx", Value::Null, json!("b")); add(2, "read", "tx", Value::Null, json!("a")); "monotonic-reads" }
            1 => { add(0, "write", "tx", json!("a"), json!("a")); add(0, "write", "ty", json!("b"), json!("b"));
                   add(1, "read", "ty", Value::Null, json!("b")); add(1, "read", "tx", Value::Null, Value::Null); "monotonic-writes" }
            2 => { add(0, "write", "tx", json!("a"), json!("a")); add(1, "read", "tx", Value::Null, json!("a"));
                   add(1, "write", "ty", json!("b"), json!("b")); add(2, "read", "ty", Value::Null, json!("b"));
                   add(2, "read", "tx", Value::Null, Value::Null); "writes-follow-reads" }
            // A chain: p1 read tx and wrote tz, p3 read tz and wrote ty; p2 sees ty without tx.
            _ => { add(0, "write", "tx", json!("a"), json!("a")); add(1, "read", "tx", Value::Null, json!("a"));
                   add(1, "write", "tz", json!("c"), json!("c")); add(3, "read", "tz", Value::Null, json!("c"));
                   add(3, "write", "ty", json!("b"), json!("b")); add(2, "read", "ty", Value::Null, json!("b"));
                   add(2, "read", "tx", Value::Null, Value::Null); "consistent-prefix" }
        };
        h.reindex();
        let v = check("session", &h, &CheckOptions::default());
        prop_assert_eq!(kinds(&v), vec![expected]);
    }
}

/// Brute-force counter bounds for each ok read: out-of-bounds count.
fn counter_oracle(h: &History) -> usize {
    let p = pair(h).unwrap();
    let incrs: Vec<(u64, Option<u64>, i64)> = (0..h.len())
        .filter(|&i| h.ops[i].is_invoke() && h.ops[i].f == "incr")
        .filter_map(|i| {
            let d = p.partner(i).map(|j| &h.ops[j]);
            match d.map(|d| d.ty) {
                Some(OpType::Fail) => None,
                Some(OpType::Ok) => {
                    Some((h.ops[i].time, d.map(|d| d.time), h.ops[i].value.as_i64().unwrap()))
                }
                _ => Some((h.ops[i].time, None, h.ops[i].value.as_i64().unwrap())),
            }
        })
        .collect();
    ok_ops(h, "read")
        .into_iter()
        .filter(|&(i, j)| {
            let (s, e, x) = (h.ops[i].time, h.ops[j].time, h.ops[j].value.as_i64().unwrap());
            let lo: i64 = incrs
                .iter()
                .filter(|c| c.1.is_some_and(|t| t < s))
                .map(|c| c.2)
                .sum();
            let hi: i64 = incrs.iter().filter(|c| c.0 <= e).map(|c| c.2).sum();
            x < lo || x > hi
        })
        .count()
}

proptest! {
    #![proptest_config(cfg(256, 0xc0))]
    #[test]
    fn counter_matches_oracle(seed in any::<u64>(), edits in proptest::collection::vec((any::<usize>(), -4i64..5), 0..5)) {
        let _serial = serial!();
        let mut h = counter_history(&shape(seed, 150));
        prop_assert_eq!(check("counter", &h, &CheckOptions::default()).valid, Validity::Valid);
        let reads: Vec<usize> = ok_ops(&h, "read").into_iter().map(|r| r.1).collect();
        prop_assume!(!reads.is_empty());
        for (r, d) in edits {
            let r = reads[r % reads.len()];
            h.ops[r].value = json!(h.ops[r].value.as_i64().unwrap() + d);
        }
        let v = check("counter", &h, &CheckOptions::default());
        prop_assert_eq!(v.details["out_of_bounds"].as_u64().unwrap() as usize, counter_oracle(&h));
        // Far outside any bound is always named.
        h.ops[reads[0]].value = json!(-1);
        prop_assert!(kinds(&check("counter", &h, &CheckOptions::default())).contains(&"counter-read-too-low"));
        h.ops[reads[0]].value = json!(1_000_000);
        prop_assert!(kinds(&check("counter", &h, &CheckOptions::default())).contains(&"counter-read-too-high"));
    }

    #[test]
    fn bank_correct_never_flagged_and_injections_named(seed in any::<u64>(), pick in any::<usize>(), kind in 0usize..3) {
        let _serial = serial!();
        let opts = CheckOptions { params: json!({"total": 100, "accounts": ["0", "1", "2", "3"]}), ..Default::default() };
        let mut h = bank_history(&shape(seed, 150), 4, 100);
        prop_assert_eq!(check("bank", &h, &opts).valid, Validity::Valid);
        let reads: Vec<usize> = ok_ops(&h, "read").into_iter().map(|r| r.1).collect();
        prop_assume!(!reads.is_empty());
        let m = h.ops[reads[pick % reads.len()]].value.as_object_mut().unwrap();
        let expected = match kind {
            0 => { *m.get_mut("1").unwrap() = json!(m["1"].as_i64().unwrap() + 1); "wrong-total" }
            1 => { let a = m["0"].as_i64().unwrap(); m.insert("0".into(), json!(-1)); m.insert("2".into(), json!(m["2"].as_i64().unwrap() + a + 1)); "negative-balance" }
            _ => { let a = m.remove("3").unwrap().as_i64().unwrap(); m.insert("0".into(), json!(m["0"].as_i64().unwrap() + a)); "missing-account" }
        };
        let v = check("bank", &h, &opts);
        prop_assert_eq!(kinds(&v), vec![expected]);
    }
}
