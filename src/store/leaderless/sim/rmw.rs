//! The set workload as Jepsen's Riak tests ran it: clients keep a set in one
//! key by read-modify-write (read, union the siblings, add, write back with
//! the context), or by CRDT adds. Last-write-wins loses acknowledged adds;
//! siblings and the OR-set lose none, under partitions, crashes and skew.

use super::*;
use crate::store::conflict::ConflictMode;
use proptest::prelude::*;
use proptest::test_runner::{Config as PtConfig, RngSeed};

const KEY: &str = "s";

#[derive(Clone, Debug)]
enum Stage {
    Idle,
    Reading { req: u64, elem: i64, since: u64 },
    Writing { req: u64, elem: i64, since: u64 },
}

struct Client {
    node: String,
    stage: Stage,
}

#[derive(Default)]
struct Tally {
    next: i64,
    acked: BTreeSet<i64>,
}

/// Every element in a read value (the union of the siblings, or the set).
fn elements(v: &Value) -> BTreeSet<i64> {
    let lists: Vec<&Value> = match v.get("values") {
        Some(Value::Array(sibs)) => sibs.iter().collect(),
        _ => vec![v],
    };
    lists
        .into_iter()
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(Value::as_i64)
        .collect()
}

fn step_client(s: &mut Sim, c: &mut Client, t: &mut Tally, mode: ConflictMode) {
    let key = json!(KEY);
    let give_up = |since: u64, now: u64| now > since + 1500 * MS;
    c.stage = match std::mem::replace(&mut c.stage, Stage::Idle) {
        Stage::Idle => {
            t.next += 1;
            let elem = t.next;
            let since = s.now;
            if mode == ConflictMode::Crdt {
                let op = ClientOp::Append {
                    key,
                    value: json!(elem),
                };
                let req = s.request(&c.node, op, RequestOpts::default());
                Stage::Writing { req, elem, since }
            } else {
                let req = s.request(&c.node, ClientOp::Read { key }, RequestOpts::default());
                Stage::Reading { req, elem, since }
            }
        }
        Stage::Reading { req, elem, since } => match s.outcome(req).cloned() {
            Some(Outcome::Ok { value }) => {
                let mut set = elements(&value);
                set.insert(elem);
                let context = serde_json::from_value(value["context"].clone()).ok();
                let op = ClientOp::Write {
                    key,
                    value: json!(set),
                };
                let opts = RequestOpts {
                    context,
                    ..RequestOpts::default()
                };
                let req = s.request(&c.node, op, opts);
                Stage::Writing {
                    req,
                    elem,
                    since: s.now,
                }
            }
            Some(_) => Stage::Idle,
            None if give_up(since, s.now) => Stage::Idle,
            None => Stage::Reading { req, elem, since },
        },
        Stage::Writing { req, elem, since } => match s.outcome(req) {
            Some(Outcome::Ok { .. }) => {
                t.acked.insert(elem);
                Stage::Idle
            }
            Some(_) => Stage::Idle,
            None if give_up(since, s.now) => Stage::Idle,
            None => Stage::Writing { req, elem, since },
        },
    };
}

#[derive(Clone, Debug)]
enum Fault {
    Halves(u8),
    Isolate(usize),
    Heal,
    Crash(usize),
    Skew(usize, i64),
    Quiet,
}

/// Runs 5 clients (one per node) for `faults.len()` periods of 150 ms, one
/// fault at the start of each; then heals, restarts, lets anti-entropy
/// settle and reads the set from every replica. Returns (acked, lost, converged).
fn run_set(mode: ConflictMode, seed: u64, faults: &[Fault]) -> (usize, usize, bool) {
    let mut s = Sim::new(5, seed, |c| {
        c.conflict = mode;
        c.anti_entropy_ms = 100;
    });
    let mut clients: Vec<Client> = ids(5)
        .into_iter()
        .map(|node| Client {
            node,
            stage: Stage::Idle,
        })
        .collect();
    let mut t = Tally::default();
    for f in faults {
        match f {
            Fault::Halves(mask) => {
                let ids = ids(5);
                let side = |bit: u8| -> Vec<&str> {
                    (0..5)
                        .filter(|i| (mask >> i) & 1 == bit)
                        .map(|i| ids[i].as_str())
                        .collect()
                };
                s.partition(&[&side(1), &side(0)]);
            }
            Fault::Isolate(i) => s.isolate(&format!("n{}", i + 1)),
            Fault::Heal => s.heal(),
            Fault::Crash(i) => {
                let id = format!("n{}", i + 1);
                s.crash(&id);
                s.restart(&id);
            }
            Fault::Skew(i, ms) => {
                s.skew.insert(format!("n{}", i + 1), ms * MS as i64);
            }
            Fault::Quiet => {}
        }
        for _ in 0..150 {
            for c in clients.iter_mut() {
                step_client(&mut s, c, &mut t, mode);
            }
            s.run(1);
        }
    }
    s.heal();
    s.run(3000);
    let pl = s.preference_list(KEY);
    let converged = s.converged(KEY);
    let held = elements(&s.local(&pl[0], KEY));
    let lost = t.acked.difference(&held).count();
    (t.acked.len(), lost, converged)
}

#[test]
fn lww_loses_acknowledged_adds_and_siblings_and_crdt_lose_none() {
    let faults = [
        Fault::Quiet,
        Fault::Halves(0b00011),
        Fault::Skew(3, -2000),
        Fault::Quiet,
        Fault::Heal,
        Fault::Isolate(0),
        Fault::Heal,
        Fault::Quiet,
    ];
    let (acked, lost, converged) = run_set(ConflictMode::Lww, 40, &faults);
    assert!(acked > 20 && converged, "acked {acked}");
    assert!(lost > 0, "lww: {lost} of {acked} acknowledged adds lost");
    for mode in [ConflictMode::Siblings, ConflictMode::Crdt] {
        let (acked, lost, converged) = run_set(mode, 40, &faults);
        assert!(acked > 20, "{mode:?}: only {acked} acked");
        assert_eq!(lost, 0, "{mode:?}: {lost} of {acked} acknowledged adds lost");
        assert!(converged, "{mode:?}");
    }
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        2 => (1u8..31).prop_map(Fault::Halves),
        1 => (0..5usize).prop_map(Fault::Isolate),
        2 => Just(Fault::Heal),
        1 => (0..5usize).prop_map(Fault::Crash),
        1 => (0..5usize, -3000i64..3000).prop_map(|(i, ms)| Fault::Skew(i, ms)),
        1 => Just(Fault::Quiet),
    ]
}

proptest! {
    #![proptest_config(PtConfig { cases: 12, rng_seed: RngSeed::Fixed(0x1ea5), ..PtConfig::default() })]

    /// Siblings and CRDTs under random partitions, crashes and skew: every
    /// acknowledged add survives and every replica converges after the heal.
    #[test]
    fn siblings_and_crdts_lose_nothing_under_random_faults(seed in any::<u64>(), faults in proptest::collection::vec(fault(), 1..8), crdt in any::<bool>()) {
        let mode = if crdt { ConflictMode::Crdt } else { ConflictMode::Siblings };
        let (acked, lost, converged) = run_set(mode, seed, &faults);
        prop_assert_eq!(lost, 0, "{:?}: {} of {} acked adds lost", mode, lost, acked);
        prop_assert!(converged, "{:?} did not converge", mode);
    }
}
