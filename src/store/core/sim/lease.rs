//! Read leases in the simulator: a lease read is answered without a round, a
//! cut-off leader stops answering before anyone else can lead, and a clock
//! drifting far beyond `max_drift` breaks that (why the bound exists).

use super::*;

fn lease_sim(n: usize, seed: u64, election_ms: u64) -> Sim {
    let mut s = Sim::new(n, seed, |c| {
        c.reads = Reads::Lease;
        c.election_timeout_ns = election_ms * MS;
    });
    s.run(1500);
    s
}

fn read_op(k: &str) -> ClientOp {
    ClientOp::Read { key: json!(k) }
}

#[test]
fn a_read_during_a_valid_lease_is_served_without_a_round() {
    for reads in [Reads::Lease, Reads::Linearizable] {
        let mut s = Sim::new(3, 9, |c| c.reads = reads);
        s.run(1500);
        let l = s.leader();
        let w = s.write(&l, "k", 1);
        s.run(50);
        assert!(s.is_ok(w));
        let host = s.host();
        let d = s.nodes.get_mut(&l).expect("leader");
        let lease = d.status(host).expect("a status").lease_expires_in_ms;
        d.step(
            host,
            Input::Client {
                req: 999,
                op: read_op("k"),
                opts: Default::default(),
            },
        );
        let ready = d.ready(host);
        let replied = ready.replies.contains(&(999, Outcome::Ok { value: json!(1) }));
        let sends = ready.send.len() + d.take_released().len();
        if reads == Reads::Lease {
            assert!(lease.is_some_and(|ms| ms > 0.0), "lease held: {lease:?}");
            assert!(replied, "answered at once: {ready:?}");
            assert_eq!(sends, 0, "no leadership round: {ready:?}");
        } else {
            assert_eq!(lease, None);
            assert!(!replied, "linearizable waits for a round: {ready:?}");
            assert_eq!(sends, 2, "one confirmation message per follower: {ready:?}");
        }
    }
}

#[test]
fn without_a_lease_the_leader_falls_back_to_a_majority_round() {
    let mut s = lease_sim(3, 4, 400);
    let l = s.leader();
    let w = s.write(&l, "k", 1);
    s.run(50);
    assert!(s.is_ok(w));
    // The followers still hear the leader (no election) but their acks are lost.
    for f in s.followers_of(&l) {
        cut_one_way(&mut s, &f, &l);
    }
    let lease_ms = s.cfgs[&l].lease_ns() / MS;
    s.run(lease_ms + 20);
    assert_eq!(s.core(&l).role, Role::Leader, "still within check-quorum");
    let r = s.read(&l, "k");
    assert!(s.outcome(r).is_none(), "lease expired: no local answer");
    s.heal();
    s.run(30);
    assert_eq!(s.outcome(r), Some(&Outcome::Ok { value: json!(1) }));
    let r = s.read(&l, "k");
    assert!(s.is_ok(r), "the round's acknowledgements renewed the lease");
}

/// What a cut-off leader did with lease reads while the rest elected a leader.
struct Failover {
    /// Lease reads the old leader answered after the cut.
    served: usize,
    /// ... of which while a newer leader already existed.
    while_other_leader: usize,
    /// ... of which returned the old value after the new leader acknowledged a new one.
    stale_values: usize,
    /// Real (simulated) time from the cut to the last lease read answered.
    last_served_ns: u64,
    /// The longest lease the drift bound allows the old leader (of its own
    /// clock): `election_timeout * (1 - max_drift)`.
    bound_ns: u64,
}

/// Isolates the leader (its clock at `rate` times real time), then every
/// millisecond reads from it, and writes `k = 2` through the first new leader.
fn failover(n: usize, seed: u64, rate: f64) -> Failover {
    let mut s = lease_sim(n, seed, 150);
    let old = s.leader();
    let w = s.write(&old, "k", 1);
    s.run(50);
    assert!(s.is_ok(w), "seed {seed}");
    s.set_clock_rate(&old, rate);
    s.run(100);
    s.isolate(&old);
    let mut f = Failover {
        served: 0,
        while_other_leader: 0,
        stale_values: 0,
        last_served_ns: 0,
        bound_ns: {
            let c = &s.cfgs[&old];
            (c.election_timeout_ns as f64 * (1.0 - c.max_drift)) as u64
        },
    };
    let cut_at = s.now;
    let mut new_write: Option<u64> = None;
    for _ in 0..1500 {
        let other = s.leaders().into_iter().find(|n| *n != old);
        if let (Some(nl), None) = (&other, new_write) {
            new_write = Some(s.write(nl, "k", 2));
        }
        let written = new_write.is_some_and(|w| s.is_ok(w));
        let r = s.read(&old, "k");
        if let Some(Outcome::Ok { value }) = s.outcome(r) {
            f.served += 1;
            f.last_served_ns = s.now - cut_at;
            f.while_other_leader += usize::from(other.is_some());
            f.stale_values += usize::from(written && *value == json!(1));
        }
        s.run(1);
    }
    assert!(
        new_write.is_some_and(|w| s.is_ok(w)),
        "seed {seed}: a new leader took the write"
    );
    f
}

#[test]
fn a_cut_off_leader_stops_lease_reads_before_a_new_leader_can_be_elected() {
    // Clock rates within the 10% drift bound, both ways.
    for rate in [1.0, 0.95, 1.05] {
        for (n, seed) in [(3, 1u64), (3, 2), (3, 3), (5, 4), (5, 5), (5, 6)] {
            let f = failover(n, seed, rate);
            assert!(
                f.served > 0,
                "rate {rate} seed {seed}: the lease outlived the cut"
            );
            // The last acknowledged round went out before the cut, so the lease
            // ends within the drift bound of it (of the old leader's clock),
            // before check-quorum would depose the leader.
            let bound = (f.bound_ns as f64 / rate) as u64;
            assert!(
                f.last_served_ns <= bound,
                "rate {rate} seed {seed}: lease read {} ms after the cut (bound {} ms)",
                f.last_served_ns / MS,
                bound / MS
            );
            assert_eq!(
                f.while_other_leader, 0,
                "rate {rate} seed {seed}: lease read answered while another node led"
            );
        }
    }
}

#[test]
fn a_clock_drifting_beyond_max_drift_gives_stale_lease_reads() {
    // The old leader's clock runs at a quarter speed (75% drift, bound 10%): its
    // lease outlives the followers' election timeout and it serves the old value
    // after the new leader acknowledged a new one. This is why the bound exists.
    let mut stale = 0;
    for (n, seed) in [(3, 1u64), (5, 4)] {
        stale += failover(n, seed, 0.25).stale_values;
    }
    assert!(stale > 0, "no stale read despite the skew");
}

#[test]
fn a_restarted_follower_refuses_votes_for_an_election_timeout() {
    let mut c = Core::new(
        {
            let mut c = Config::new("n2", &["n1", "n2", "n3"]);
            c.reads = Reads::Lease;
            c
        },
        Recovered::default(),
        1000 * MS,
        0,
    );
    let vote = |term| Input::Peer {
        from: "n3".into(),
        msg: Message::Vote {
            term,
            last_index: 0,
            last_term: 0,
        },
    };
    let granted = |acts: &[Action]| {
        acts.iter().any(|a| {
            matches!(
                a,
                Action::Send {
                    msg: Message::VoteReply { granted: true, .. },
                    ..
                }
            )
        })
    };
    let et = c.config().election_timeout_ns;
    assert!(!granted(&c.step(Now::at(1000 * MS + et - 1), vote(1))));
    assert!(granted(&c.step(Now::at(1000 * MS + et), vote(2))));
}
