//! Sloppy quorums and hinted handoff, and durability across crashes.

use super::*;

/// A key whose preference list is `[a, b, c]` and the other two nodes `[d, e]`.
fn layout(s: &Sim, key: &str) -> (Vec<String>, Vec<String>) {
    let pl = s.preference_list(key);
    let rest = s.nodes.keys().filter(|n| !pl.contains(n)).cloned().collect();
    (pl, rest)
}

#[test]
fn a_sloppy_quorum_accepts_writes_in_a_partition_and_hands_them_off_after() {
    let key = "k";
    for sloppy in [false, true] {
        let mut s = Sim::new(5, 30, |c| c.sloppy_quorum = sloppy);
        let (pl, rest) = layout(&s, key);
        let (a, b, c) = (pl[0].as_str(), pl[1].as_str(), pl[2].as_str());
        s.partition(&[&[a, rest[0].as_str(), rest[1].as_str()], &[b, c]]);
        let w = s.write(a, key, json!(1));
        let outcome = s.await_reply(w, 1000);
        if !sloppy {
            assert!(matches!(outcome, Outcome::Unknown { .. }), "strict: {outcome:?}");
            continue;
        }
        assert!(matches!(outcome, Outcome::Ok { .. }), "sloppy: {outcome:?}");
        let hints: BTreeSet<(String, String)> = s
            .events_of("hint-stored")
            .into_iter()
            .map(|(n, e)| (n, e.value["home"].as_str().unwrap().to_string()))
            .collect();
        assert_eq!(hints.len(), 2, "{hints:?}");
        assert!(hints
            .iter()
            .all(|(n, home)| rest.contains(n) && (home == b || home == c)));
        // Later writes go straight to the fallbacks (b and c are known down).
        let w2 = s.write(a, key, json!(2));
        assert!(matches!(s.await_reply(w2, 100), Outcome::Ok { .. }));
        assert!(s.nodes[b].store().get(key).is_none());
        let pending: usize = s
            .nodes
            .get_mut(&rest[0])
            .unwrap()
            .status()
            .hints_pending
            .values()
            .sum();
        assert_eq!(pending, 1);
        s.heal();
        s.run(300);
        // Both blind writes are kept (siblings), and both reached b and c.
        assert_eq!(s.local(b, key)["values"], json!([1, 2]), "handed off to b");
        assert_eq!(s.local(c, key)["values"], json!([1, 2]), "handed off to c");
        assert_eq!(s.events_of("hint-delivered").len(), 2);
        for n in &rest {
            assert!(s.nodes.get_mut(n).unwrap().status().hints_pending.is_empty());
        }
    }
}

#[test]
fn sloppy_reads_miss_writes_acknowledged_on_the_other_side() {
    let key = "k";
    let mut s = Sim::new(5, 31, |c| c.sloppy_quorum = true);
    let (pl, rest) = layout(&s, key);
    let first = s.write(&pl[0], key, json!("old"));
    s.run(30);
    assert!(s.is_ok(first));
    // b and c (two homes) with e; a (a home) with d.
    s.partition(&[
        &[pl[1].as_str(), pl[2].as_str(), rest[1].as_str()],
        &[pl[0].as_str(), rest[0].as_str()],
    ]);
    let w = s.write(&pl[1], key, json!("new"));
    assert!(matches!(s.await_reply(w, 500), Outcome::Ok { .. }));
    let r = s.read(&pl[0], key);
    let outcome = s.await_reply(r, 1000);
    let Outcome::Ok { value } = outcome else {
        panic!("sloppy reads find R nodes: {outcome:?}");
    };
    assert_eq!(
        value["values"],
        json!(["old"]),
        "a stale read of an acknowledged write"
    );
}

#[test]
fn an_acknowledged_write_survives_a_replica_crash_and_dots_stay_fresh() {
    let mut s = Sim::new(3, 32, |c| c.w = 3);
    let w = s.write("n2", "k", json!("a"));
    s.run(30);
    assert!(s.is_ok(w));
    for n in ["n1", "n2", "n3"] {
        s.crash(n);
        s.restart(n);
    }
    s.run(100);
    assert_eq!(s.local("n1", "k")["values"], json!(["a"]));
    // n2 mints its next dot above the one it used before the crash: a blind
    // write is a sibling, not a silent overwrite of (n2, 1).
    let w = s.write("n2", "k", json!("b"));
    s.run(30);
    assert!(s.is_ok(w));
    let r = s.read("n3", "k");
    s.run(30);
    assert_eq!(s.value(r)["values"], json!(["a", "b"]));
}

#[test]
fn a_hint_survives_the_fallback_crashing_before_the_heal() {
    let key = "k";
    let mut s = Sim::new(5, 33, |c| c.sloppy_quorum = true);
    let (pl, rest) = layout(&s, key);
    s.isolate(&pl[2]);
    let w = s.write(&pl[0], key, json!(7));
    assert!(matches!(s.await_reply(w, 500), Outcome::Ok { .. }));
    // Acknowledged by a and b; past the replica deadline a fallback takes c's copy.
    s.run(100);
    let holder = s.events_of("hint-stored")[0].0.clone();
    assert!(rest.contains(&holder));
    s.crash(&holder);
    s.restart(&holder);
    s.heal();
    s.run(400);
    assert_eq!(s.local(&pl[2], key)["values"], json!([7]));
}

/// A peer link drops what it queued while reconnecting: the coordinator
/// re-sends to the targets that have not answered, so a write whose first
/// put was lost still reaches W instead of ending `Unknown`; with re-sending
/// off the same loss leaves the write's outcome unknown.
#[test]
fn a_put_lost_while_a_link_reconnects_is_sent_again() {
    let key = "k";
    for resend in [true, false] {
        let mut s = Sim::new(3, 31, |c| {
            c.w = 3;
            c.resend_interval_ns = if resend { 100 * MS } else { 0 };
        });
        let pl = s.preference_list(key);
        let (a, c) = (pl[0].clone(), pl[2].clone());
        // The link a -> c loses everything for 80 ms, then works again.
        s.cut.insert((a.clone(), c.clone()));
        let w = s.write(&a, key, json!(7));
        s.run(80);
        s.heal();
        let outcome = s.await_reply(w, 1000);
        if resend {
            assert!(matches!(outcome, Outcome::Ok { .. }), "{outcome:?}");
            assert_eq!(s.local(&c, key)["values"], json!([7]));
        } else {
            assert!(matches!(outcome, Outcome::Unknown { .. }), "{outcome:?}");
        }
    }
}

/// The same for reads: a `Get` lost on a reconnecting link is asked again,
/// so R=3 is reached instead of the read failing.
#[test]
fn a_get_lost_while_a_link_reconnects_is_sent_again() {
    let key = "k";
    let mut s = Sim::new(3, 32, |c| c.r = 3);
    let pl = s.preference_list(key);
    let w = s.write(&pl[0], key, json!(5));
    assert!(matches!(s.await_reply(w, 500), Outcome::Ok { .. }));
    s.run(50);
    s.cut.insert((pl[0].clone(), pl[1].clone()));
    let r = s.read(&pl[0], key);
    s.run(80);
    s.heal();
    let outcome = s.await_reply(r, 1000);
    assert!(matches!(outcome, Outcome::Ok { .. }), "{outcome:?}");
    assert_eq!(s.value(r)["values"], json!([5]));
}

/// A `Forward` from `from` for a write of `v` to `key`, as a peer input.
fn forward(from: &str, id: u64, key: &str, v: Value) -> Input {
    let op = ClientOp::Write {
        key: json!(key),
        value: v,
    };
    let opts = RequestOpts::default();
    let msg = Msg::Forward { id, op, opts };
    Input::Peer {
        from: from.to_string(),
        msg,
    }
}

#[test]
fn a_duplicate_of_a_refused_forward_is_not_carried_out_later() {
    let key = "k";
    let mut s = Sim::new(5, 33, |_| {});
    let (pl, rest) = layout(&s, key);
    let (a, d) = (pl[0].clone(), rest[0].clone());
    // `a` loses its fellow replicas: a write there times out and marks them down.
    s.partition(&[
        &[a.as_str(), d.as_str()],
        &[pl[1].as_str(), pl[2].as_str(), rest[1].as_str()],
    ]);
    let w = s.write(&a, key, json!(1));
    s.await_reply(w, 600);
    // The forward is refused: 1 of the 3 replicas is reachable in a's view.
    let now = s.clock(&a);
    let acts = s
        .nodes
        .get_mut(&a)
        .expect("node")
        .step(now, forward(&d, 77, key, json!(2)));
    let refused = acts.iter().any(|act| {
        matches!(act, Action::Send { to, msg: Msg::ForwardReply { id: 77, outcome: Outcome::Fail { reason } } }
            if *to == d && reason.contains("unavailable"))
    });
    assert!(refused, "{acts:?}");
    // After the heal a's probes find the replicas again; then the duplicate arrives.
    s.heal();
    s.run(100);
    s.input(&a, forward(&d, 77, key, json!(2)));
    s.run(100);
    for n in s.nodes.keys() {
        let values = s.local(n, key)["values"].clone();
        assert!(!holds(&values, 2), "{n} holds the refused write: {values}");
    }
    // A fresh forward (another id) is carried out, so the duplicate was dropped for being one.
    s.input(&a, forward(&d, 78, key, json!(3)));
    s.run(100);
    assert!(holds(&s.local(&a, key)["values"], 3));
}

fn holds(values: &Value, v: i64) -> bool {
    values.as_array().is_some_and(|vs| vs.contains(&json!(v)))
}
