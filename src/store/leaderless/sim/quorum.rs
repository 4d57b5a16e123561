//! Placement, quorum arithmetic, durability before acknowledgement, stale
//! reads with small quorums, per-request overrides and forwarding.

use super::*;
use crate::store::conflict::ConflictMode;

#[test]
fn writes_land_on_exactly_the_preference_list() {
    for mode in [ConflictMode::Lww, ConflictMode::Siblings] {
        let mut s = Sim::new(5, 1, |c| c.conflict = mode);
        for i in 0..20 {
            let key = format!("k{i}");
            let coord = format!("n{}", i % 5 + 1);
            let req = s.write(&coord, &key, json!(i));
            s.run(30);
            assert!(s.is_ok(req), "{mode:?} {key}: {:?}", s.outcome(req));
            let holders: BTreeSet<String> = s
                .nodes
                .iter()
                .filter(|(_, c)| c.store().get(&key).is_some())
                .map(|(n, _)| n.clone())
                .collect();
            let pl: BTreeSet<String> = s.preference_list(&key).into_iter().collect();
            assert_eq!(pl.len(), 3);
            assert_eq!(holders, pl, "{mode:?} {key} via {coord}");
        }
    }
}

fn core3(w: usize) -> Core {
    let mut cfg = Config::new("n1", &["n1", "n2", "n3"]);
    cfg.w = w;
    Core::new(cfg, vec![], Now::default(), 0)
}

fn client_write() -> Input {
    Input::Client {
        req: 7,
        op: ClientOp::Write {
            key: json!("k"),
            value: json!(1),
        },
        opts: RequestOpts::default(),
    }
}

fn put_id(acts: &[Action]) -> u64 {
    acts.iter()
        .find_map(|a| match a {
            Action::Send {
                msg: Msg::Put { id, .. },
                ..
            } => Some(*id),
            _ => None,
        })
        .expect("a put")
}

fn replied(acts: &[Action]) -> bool {
    acts.iter().any(|a| matches!(a, Action::Reply { req: 7, .. }))
}

#[test]
fn the_coordinator_counts_its_copy_only_once_durable() {
    let mut c = core3(1);
    let acts = c.step(Now::default(), client_write());
    // Persist comes before the sends (the driver releases them after the sync).
    let first_send = acts
        .iter()
        .position(|a| matches!(a, Action::Send { .. }))
        .unwrap();
    assert!(matches!(acts[0], Action::Persist(_)) && first_send > 0);
    assert!(!replied(&acts), "W=1 but our copy is not durable yet");
    let acts = c.step(Now::default(), Input::Persisted { upto: 1 });
    assert!(replied(&acts));
}

#[test]
fn a_write_is_acknowledged_after_exactly_w_acks() {
    let mut c = core3(3);
    let acts = c.step(Now::default(), client_write());
    let id = put_id(&acts);
    assert!(!replied(&c.step(Now::default(), Input::Persisted { upto: 1 })));
    let ack = |from: &str| Input::Peer {
        from: from.into(),
        msg: Msg::PutAck { id },
    };
    assert!(!replied(&c.step(Now::default(), ack("n2"))));
    assert!(
        !replied(&c.step(Now::default(), ack("n2"))),
        "a duplicate ack counts once"
    );
    let acts = c.step(Now::default(), ack("n3"));
    assert!(acts.iter().any(|a| matches!(
        a,
        Action::Reply {
            req: 7,
            outcome: Outcome::Ok { .. }
        }
    )));
    assert!(acts
        .iter()
        .any(|a| matches!(a, Action::Event(e) if e.kind == "quorum-ack" && e.f.as_deref() == Some("write"))));
    // An ack to a request id of a previous incarnation matches nothing.
    let mut fresh = Core::new(Config::new("n1", &["n1", "n2", "n3"]), vec![], Now::default(), 99);
    fresh.step(Now::default(), client_write());
    assert!(!replied(&fresh.step(Now::default(), ack("n2"))));
}

#[test]
fn quorums_fail_when_too_few_replicas_answer() {
    let mut s = Sim::new(3, 2, |c| {
        c.w = 3;
        c.r = 3;
    });
    s.isolate("n3");
    let req = s.write("n1", "k", json!(1));
    match s.await_reply(req, 1000) {
        Outcome::Unknown { reason } => assert!(reason.contains("2 of W=3"), "{reason}"),
        o => panic!("expected unknown, got {o:?}"),
    }
    // n3 is now believed down: the next write is refused before anything is written.
    let req = s.write("n1", "k2", json!(2));
    assert!(matches!(s.outcome(req), Some(Outcome::Fail { reason }) if reason.contains("unavailable")));
    assert_eq!(s.nodes["n1"].store().get("k2"), None);
    let req = s.read("n1", "k");
    assert!(matches!(s.outcome(req), Some(Outcome::Fail { .. })));
    // A per-request W=2 goes through.
    let op = ClientOp::Write {
        key: json!("k3"),
        value: json!(3),
    };
    let opts = RequestOpts {
        w: Some(2),
        ..RequestOpts::default()
    };
    let req = s.request("n1", op, opts);
    assert!(matches!(s.await_reply(req, 100), Outcome::Ok { .. }));
    // After the heal, pings bring n3 back and W=3 works again.
    s.heal();
    s.run(100);
    let req = s.write("n1", "k4", json!(4));
    assert!(matches!(s.await_reply(req, 100), Outcome::Ok { .. }));
}

#[test]
fn w1_r1_reads_are_stale_under_a_partition_and_majorities_are_not() {
    let mut s = Sim::new(3, 3, |c| {
        c.w = 1;
        c.r = 1;
        c.read_repair = ReadRepair::Off;
    });
    let req = s.write("n1", "k", json!(1));
    s.run(20);
    assert!(s.is_ok(req));
    s.partition(&[&["n1"], &["n2", "n3"]]);
    let w = s.write("n1", "k", json!(2));
    s.run(20);
    assert!(s.is_ok(w), "W=1: n1's own copy suffices");
    let r = s.read("n2", "k");
    s.run(20);
    assert_eq!(
        s.value(r)["values"],
        json!([1]),
        "a stale read after an acknowledged write"
    );

    let mut s = Sim::new(3, 3, |_| {});
    let req = s.write("n1", "k", json!(1));
    s.run(20);
    assert!(s.is_ok(req));
    s.partition(&[&["n1"], &["n2", "n3"]]);
    let w = s.write("n1", "k", json!(2));
    assert!(
        !matches!(s.await_reply(w, 1000), Outcome::Ok { .. }),
        "W=2 cannot be met alone"
    );
    let r = s.read("n2", "k");
    s.run(20);
    assert_eq!(
        s.value(r)["values"],
        json!([1]),
        "the unacknowledged write may be missing"
    );
}

#[test]
fn a_node_outside_the_preference_list_forwards_minting_writes() {
    let mut s = Sim::new(5, 4, |_| {});
    let key = "fwd";
    let out = outsider(&s, key).unwrap();
    let req = s.write(&out, key, json!(1));
    s.run(30);
    assert!(s.is_ok(req), "{:?}", s.outcome(req));
    assert_eq!(s.nodes[&out].store().get(key), None, "the outsider holds nothing");
    let r = s.read(&out, key);
    s.run(30);
    assert_eq!(s.value(r)["values"], json!([1]), "reads are coordinated anywhere");
    // The writer's dot is a replica's.
    let ctx = &s.value(r)["context"]["vv"];
    let minted: Vec<&String> = ctx.as_object().unwrap().keys().collect();
    assert!(s.preference_list(key).contains(minted[0]), "{ctx}");
}
