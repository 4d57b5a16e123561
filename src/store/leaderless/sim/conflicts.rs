//! Conflict resolution end to end: LWW's tie-break and its silent loss of a
//! later write from a node whose clock is behind, siblings for concurrent
//! writes and their merge, CRDT counters and sets across a partition.

use super::*;
use crate::store::conflict::ConflictMode;

fn lww(c: &mut Config) {
    c.conflict = ConflictMode::Lww;
}

#[test]
fn lww_breaks_a_clock_tie_by_node_id_everywhere() {
    let mut s = Sim::new(3, 10, lww);
    // Same instant, same clocks: the write stamped by the greater node id wins.
    let a = s.write("n1", "k", json!("from-n1"));
    let b = s.write("n3", "k", json!("from-n3"));
    s.run(50);
    assert!(s.is_ok(a) && s.is_ok(b));
    for n in ["n1", "n2", "n3"] {
        assert_eq!(s.local(n, "k")["values"], json!(["from-n3"]), "{n}");
    }
}

#[test]
fn lww_silently_drops_an_acknowledged_write_from_a_node_whose_clock_is_behind() {
    let mut s = Sim::new(3, 11, lww);
    s.skew.insert("n1".into(), -10_000 * MS as i64);
    let first = s.write("n2", "k", json!("first"));
    s.run(50);
    let second = s.write("n1", "k", json!("second"));
    s.run(50);
    assert!(s.is_ok(first) && s.is_ok(second), "both acknowledged");
    let r = s.read("n3", "k");
    s.run(50);
    assert_eq!(s.value(r)["values"], json!(["first"]), "the later write is lost");
    // Without the skew the later write wins.
    s.skew.clear();
    let third = s.write("n1", "k", json!("third"));
    s.run(50);
    assert!(s.is_ok(third));
    let r = s.read("n3", "k");
    s.run(50);
    assert_eq!(s.value(r)["values"], json!(["third"]));
}

#[test]
fn siblings_keep_concurrent_writes_until_a_write_with_their_context() {
    let mut s = Sim::new(3, 12, |_| {});
    let a = s.write("n1", "k", json!("a"));
    let b = s.write("n2", "k", json!("b"));
    s.run(50);
    assert!(s.is_ok(a) && s.is_ok(b));
    let r = s.read("n3", "k");
    s.run(50);
    let v = s.value(r);
    assert_eq!(v["values"], json!(["a", "b"]), "{v}");
    let ctx: CausalContext = serde_json::from_value(v["context"].clone()).unwrap();
    // A blind write adds a third sibling; a write with the context replaces both.
    let blind = s.write("n3", "k", json!("c"));
    s.run(50);
    assert!(s.is_ok(blind));
    let op = ClientOp::Write {
        key: json!("k"),
        value: json!("ab"),
    };
    let merged = s.request(
        "n1",
        op,
        RequestOpts {
            context: Some(ctx),
            ..RequestOpts::default()
        },
    );
    s.run(50);
    assert!(s.is_ok(merged));
    let r = s.read("n2", "k");
    s.run(50);
    assert_eq!(
        s.value(r)["values"],
        json!(["ab", "c"]),
        "c was not in the context"
    );
}

#[test]
fn siblings_from_both_sides_of_a_partition_meet_after_the_heal() {
    let mut s = Sim::new(3, 13, |c| {
        c.w = 1;
        c.r = 1;
        c.anti_entropy_ms = 50;
    });
    s.partition(&[&["n1"], &["n2", "n3"]]);
    let a = s.write("n1", "k", json!(1));
    let b = s.write("n2", "k", json!(2));
    s.run(50);
    assert!(s.is_ok(a) && s.is_ok(b));
    s.heal();
    s.run(500);
    assert!(s.converged("k"));
    assert_eq!(s.local("n3", "k")["values"], json!([1, 2]));
}

use crate::store::conflict::CausalContext;

fn incr(s: &mut Sim, node: &str, d: i64) -> u64 {
    let op = ClientOp::Txn {
        ops: vec![("incr".into(), json!("c"), json!(d))],
    };
    s.request(node, op, RequestOpts::default())
}

#[test]
fn crdt_counters_and_sets_merge_every_update_from_both_sides() {
    let mut s = Sim::new(3, 14, |c| {
        c.conflict = ConflictMode::Crdt;
        c.w = 1;
        c.r = 1;
        c.anti_entropy_ms = 50;
    });
    s.partition(&[&["n1"], &["n2", "n3"]]);
    let mut acked = 0;
    let mut reqs = vec![];
    for i in 0..10 {
        let node = if i % 2 == 0 { "n1" } else { "n2" };
        reqs.push((incr(&mut s, node, i + 1), i + 1));
        let add = ClientOp::Append {
            key: json!("set"),
            value: json!(i),
        };
        s.request(node, add, RequestOpts::default());
        s.run(10);
    }
    for (r, d) in reqs {
        if s.is_ok(r) {
            acked += d;
        }
    }
    assert_eq!(acked, 55, "W=1 accepts on both sides");
    s.heal();
    s.run(500);
    let r = s.read("n3", "c");
    let set = s.read("n1", "set");
    s.run(50);
    assert_eq!(s.value(r), json!(55));
    assert_eq!(s.value(set), json!([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    // A register write to the counter key is refused, not merged.
    let bad = s.write("n1", "c", json!(1));
    assert!(matches!(s.await_reply(bad, 50), Outcome::Fail { reason } if reason.contains("counter")));
}
