//! The sound reductions the linearizability checker applies before its
//! search (indeterminate ops whose effect no other op could see are left
//! out; see src/model/reduce.rs) against the brute-force oracle, on
//! histories built to stress them: half the completions `info`, two or
//! three values only (so writes share values), null writes and reads of
//! the initial null, cas chains. Each model must agree with the oracle on
//! every history, and the reduction must actually fire (it is not tested by
//! histories it leaves alone).

use crate::support::lin as lin_support;

use faultline::checker::linearizable::check;
use faultline::checker::{CheckOptions, Validity};
use faultline::history::{History, Op, OpType, Process};
use lin_support::{agree, Mix};
use serde_json::{json, Value};
use std::time::Duration;

const INFO_HEAVY: Mix = Mix {
    info_in_8: 4,
    values: 2,
    null_writes: true,
};

fn stress(model: &'static str, seed: u8) {
    for (i, mix) in [
        INFO_HEAVY,
        Mix {
            values: 3,
            null_writes: false,
            ..INFO_HEAVY
        },
    ]
    .into_iter()
    .enumerate()
    {
        let seen = agree(model, mix, 3000, seed + i as u8);
        assert!(seen.valid > 100 && seen.invalid > 100, "{model}: {seen:?}");
        assert!(
            seen.left_out > 300,
            "{model}: the reduction hardly fired: {seen:?}"
        );
    }
}

#[test]
fn register_reduction_agrees_with_oracle() {
    let _serial = serial!();
    stress("register", 11);
}

#[test]
fn cas_register_reduction_agrees_with_oracle() {
    let _serial = serial!();
    stress("cas-register", 21);
}

#[test]
fn kv_reduction_agrees_with_oracle() {
    let _serial = serial!();
    stress("kv", 31);
}

#[test]
fn set_reduction_agrees_with_oracle() {
    let _serial = serial!();
    stress("set", 41);
}

#[test]
fn fifo_queue_reduction_agrees_with_oracle() {
    let _serial = serial!();
    stress("fifo-queue", 51);
}

fn op(ty: OpType, p: u64, f: &str, v: Value) -> Op {
    Op::new(ty, Process::Client(p), f, v)
}

/// The reproduction: 40 concurrent writes that all end `info`, then
/// 40 reads. Every variant must be decided (it used to run past 300 s and
/// 9.5 GB; with a budget, it answered unknown).
fn forty_info_writes_then_reads(read: impl Fn(usize) -> Value) -> History {
    let mut ops = Vec::new();
    for p in 0..40 {
        ops.push(op(OpType::Invoke, p, "write", json!(p)));
    }
    for p in 0..40 {
        ops.push(op(OpType::Info, p, "write", json!(p)));
    }
    for i in 0..40 {
        let p = 100 + i as u64;
        ops.push(op(OpType::Invoke, p, "read", Value::Null));
        ops.push(op(OpType::Ok, p, "read", read(i)));
    }
    let mut h = History::new(ops);
    h.reindex();
    h
}

#[test]
fn indeterminate_writes_nobody_read_are_decided_at_once() {
    let _serial = serial!();
    for (read, want) in [
        (
            Box::new(|_| json!(99)) as Box<dyn Fn(usize) -> Value>,
            Validity::Invalid,
        ),
        (Box::new(|_| json!(7)), Validity::Valid),
        (Box::new(|i| json!([1, 2, 1][i % 3])), Validity::Invalid),
        (Box::new(|i| json!(if i < 20 { 3 } else { 5 })), Validity::Valid),
        (Box::new(|_| Value::Null), Validity::Valid),
    ] {
        let h = forty_info_writes_then_reads(read);
        // A budget far above what the reduced search needs: without the
        // reduction this answers unknown.
        let opts = CheckOptions {
            time_limit: Some(Duration::from_secs(20)),
            ..CheckOptions::default()
        };
        let v = check(&h, &opts).unwrap();
        assert_eq!(v.valid, want, "{}", v.summary);
    }
}
