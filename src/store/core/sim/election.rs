//! Elections in the simulator: one leader per term, a partitioned leader replaced and
//! stepping down with logs converging after, stale terms refused (fencing).

use super::*;

#[test]
fn elects_one_leader_per_term_across_seeds() {
    for seed in 0..20 {
        let mut s = Sim::new(5, seed, |_| {});
        s.run(1500);
        let l = s.leaders();
        assert_eq!(l.len(), 1, "seed {seed}: leaders {l:?}");
        let t = s.core(&l[0]).term;
        assert!(s
            .cores()
            .all(|(_, c)| c.term == t && c.leader.as_deref() == Some(l[0].as_str())));
        let mut by_term = BTreeMap::new();
        for (n, term, _) in s.events("leader") {
            assert!(
                by_term.insert(term, n).is_none(),
                "seed {seed}: two leaders in term {term}"
            );
        }
    }
}

#[test]
fn partitioned_leader_is_replaced_and_steps_down_then_logs_converge() {
    let mut s = Sim::new(5, 7, |_| {});
    s.run(1000);
    let old = s.leader();
    let w1 = s.write(&old, "x", 1);
    s.run(100);
    assert!(s.is_ok(w1));
    s.isolate(&old);
    let lost = s.write(&old, "x", 99); // cannot reach a majority
    s.run(1500);
    let new = s.leader();
    assert_ne!(new, old);
    assert_ne!(
        s.core(&old).role,
        Role::Leader,
        "check-quorum deposes the cut-off leader"
    );
    assert!(
        matches!(s.outcome(lost), Some(Outcome::Unknown { .. })),
        "{:?}",
        s.outcome(lost)
    );
    let w2 = s.write(&new, "x", 2);
    s.run(200);
    assert!(s.is_ok(w2));
    s.heal();
    s.run(1000);
    let leader = s.leader();
    let reference = s.core(&leader).log.entries.clone();
    for (id, c) in s.cores() {
        assert_eq!(c.log.entries, reference, "{id}: log matching");
        assert_eq!(s.value(id, "x"), json!(2), "{id}");
    }
    assert!(
        s.events("discard").iter().any(|(n, _, _)| *n == old),
        "old leader discards x=99"
    );
}

/// The rejection of an older term's append or snapshot confirms no read round: it
/// carries the follower's newer term, and a leader re-elected into that term numbers its
/// rounds from 1 again, so the old round's number would confirm reads it never confirmed
/// (simulator seed 5750: a cut-off re-elected leader served a stale linearizable read).
#[test]
fn a_rejected_older_term_acknowledges_no_read_round() {
    let mut c = Core::new(
        Config::new("n2", &["n1", "n2", "n3"]),
        Recovered {
            term: 5,
            ..Default::default()
        },
        0,
        0,
    );
    let append = Message::Append {
        term: 4,
        prev_index: 0,
        prev_term: 0,
        entries: vec![],
        commit: 0,
        read_seq: 170,
    };
    let snapshot = Message::InstallSnapshot {
        term: 4,
        snapshot: Snapshot {
            index: 0,
            term: 0,
            data: Default::default(),
        },
        read_seq: 170,
    };
    for msg in [append, snapshot] {
        let acts = c.step(
            Now::at(1),
            Input::Peer {
                from: "n1".into(),
                msg,
            },
        );
        let replies: Vec<&Message> = acts
            .iter()
            .filter_map(|a| match a {
                Action::Send { msg, .. } => Some(msg),
                _ => None,
            })
            .collect();
        assert!(
            matches!(
                replies[..],
                [Message::AppendReply {
                    term: 5,
                    success: false,
                    read_seq: 0,
                    ..
                }]
            ),
            "{replies:?}"
        );
    }
}

#[test]
fn stale_terms_are_refused_and_fence_the_old_leader() {
    let mut c = Core::new(
        Config::new("n2", &["n1", "n2", "n3"]),
        Recovered {
            term: 5,
            ..Default::default()
        },
        0,
        0,
    );
    let acts = c.step(
        Now::at(1),
        Input::Peer {
            from: "n1".into(),
            msg: Message::Append {
                term: 3,
                prev_index: 0,
                prev_term: 0,
                entries: vec![Entry {
                    term: 3,
                    index: 1,
                    cmd: Command::Noop,
                }],
                commit: 1,
                read_seq: 0,
            },
        },
    );
    assert_eq!(c.log.last_index(), 0, "stale append changes nothing");
    assert!(acts.iter().any(|a| matches!(
        a,
        Action::Send {
            msg: Message::AppendReply {
                term: 5,
                success: false,
                ..
            },
            ..
        }
    )));

    for fencing in [true, false] {
        let mut s = Sim::new(3, 3, |c| c.fencing = fencing);
        s.run(1000);
        let l = s.leader();
        let t = s.core(&l).term;
        s.input(
            &l,
            Input::Peer {
                from: s.followers_of(&l)[0].clone(),
                msg: Message::AppendReply {
                    term: t + 1,
                    success: false,
                    index: 1,
                    read_seq: 0,
                },
            },
        );
        assert_eq!(s.core(&l).role == Role::Leader, !fencing, "fencing {fencing}");
    }
}
