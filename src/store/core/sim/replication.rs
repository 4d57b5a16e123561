//! Replication modes in the simulator: each mode's acknowledgement rule, async failover
//! losing a write, read modes, snapshot catch-up and crash recovery.

use super::*;

fn mode_sim(mode: Replication) -> (Sim, String, Vec<String>) {
    let mut s = Sim::new(3, 11, |c| c.replication = mode);
    s.run(1000);
    let l = s.leader();
    let f = s.followers_of(&l);
    (s, l, f)
}

#[test]
fn quorum_acks_with_a_majority_only() {
    let (mut s, l, f) = mode_sim(Replication::Quorum);
    cut_one_way(&mut s, &l, &f[0]);
    cut_one_way(&mut s, &l, &f[1]);
    let w = s.write(&l, "k", 1);
    s.run(60);
    assert!(s.outcome(w).is_none(), "no follower has it: no ack");
    s.cut.remove(&(l.clone(), f[0].clone()));
    s.run(60);
    assert!(s.is_ok(w), "leader + one follower is a majority of 3");
}

#[test]
fn sync_waits_for_every_follower() {
    let (mut s, l, f) = mode_sim(Replication::Sync);
    cut_one_way(&mut s, &l, &f[1]);
    let w = s.write(&l, "k", 1);
    s.run(100);
    assert!(s.outcome(w).is_none(), "one follower missing: no ack");
    s.cut.clear();
    s.run(100);
    assert!(s.is_ok(w));
}

#[test]
fn semi_sync_replaces_a_failed_sync_follower() {
    let (mut s, l, _) = mode_sim(Replication::SemiSync);
    let sf = s.core(&l).sync_follower.clone().expect("a sync follower");
    let other = s.followers_of(&l).into_iter().find(|n| *n != sf).unwrap();
    // The non-sync follower is unreachable: the sync follower's ack suffices.
    s.isolate(&other);
    let w1 = s.write(&l, "k", 1);
    s.run(30);
    assert!(s.is_ok(w1));
    s.heal();
    s.run(100);
    // The sync follower fails: no ack until the leader designates the other one.
    s.isolate(&sf);
    let w2 = s.write(&l, "k", 2);
    s.run(20);
    assert!(s.outcome(w2).is_none());
    s.run(400);
    assert!(s.is_ok(w2), "replacement sync follower acknowledged");
    assert_eq!(s.core(&l).sync_follower.as_deref(), Some(other.as_str()));
}

#[test]
fn async_acks_alone_and_failover_loses_the_write() {
    let (mut s, l, f) = mode_sim(Replication::Async);
    cut_one_way(&mut s, &l, &f[0]);
    cut_one_way(&mut s, &l, &f[1]);
    let w = s.write(&l, "k", 1);
    s.run(1);
    assert!(s.is_ok(w), "async: ok as soon as the leader's log has it");
    assert!(s.events("ack").iter().any(|(n, _, _)| *n == l));
    s.crash(&l);
    s.heal();
    s.run(1000);
    let nl = s.leader();
    assert_ne!(nl, l);
    let w2 = s.write(&nl, "k", 2);
    s.run(50);
    assert!(s.is_ok(w2));
    s.restart(&l);
    s.run(1000);
    assert_eq!(s.value(&l, "k"), json!(2));
    assert!(s.cores().all(|(_, c)| c.kv.get(&json!("k")) == json!(2)));
    assert!(
        s.events("discard").iter().any(|(n, _, _)| *n == l),
        "the returning leader logs the acknowledged write it discards"
    );
}

/// Async mode: a follower applied writes the old leader acknowledged alone; the
/// new leader (elected without it) never had them. After the heal that follower
/// must discard its diverged suffix, take the new leader's state, and the
/// cluster must serve reads and writes within bounded time.
#[test]
fn async_diverged_follower_rejoins_and_cluster_stays_live() {
    for (seed, every) in [(3u64, 0u64), (3, 4), (7, 4), (9, 10)] {
        let mut s = Sim::new(5, seed, |c| {
            c.replication = Replication::Async;
            c.snapshot_every = every;
        });
        s.run(1000);
        let l = s.leader();
        let f = s.followers_of(&l);
        let (buddy, rest) = (f[0].clone(), f[1..].to_vec());
        for i in 0..3 {
            s.write(&l, "base", i);
            s.run(10);
        }
        s.run(100);
        // Only `buddy` hears the next writes: it applies them (async commit = leader's log).
        for r in &rest {
            cut_one_way(&mut s, &l, r);
        }
        for i in 0..8 {
            let w = s.write(&l, &format!("lost{i}"), i);
            s.run(5);
            assert!(s.is_ok(w), "seed {seed}: async ack");
        }
        s.run(50);
        assert_eq!(s.value(&buddy, "lost7"), json!(7), "seed {seed}: buddy applied");
        // {l, buddy} vs the majority: a new leader without the acked writes.
        for a in [&l, &buddy] {
            for r in &rest {
                s.cut.insert((a.to_string(), r.clone()));
                s.cut.insert((r.clone(), a.to_string()));
            }
        }
        s.cut.remove(&(l.clone(), buddy.clone()));
        s.run(1000);
        let nl = s.leader();
        assert!(rest.contains(&nl), "seed {seed}: majority side leads");
        for i in 0..12 {
            s.write(&nl, "new", i);
            s.run(5);
        }
        s.heal();
        s.run(1000);
        let nl = s.leader();
        let w = s.write(&nl, "after", 1);
        let r = s.read(&nl, "after");
        s.run(200);
        assert!(s.is_ok(w), "seed {seed}: write after heal");
        assert_eq!(
            s.outcome(r),
            Some(&Outcome::Ok { value: json!(1) }),
            "seed {seed}: read after heal"
        );
        s.run(500);
        for (id, c) in s.cores() {
            assert_eq!(c.kv, s.core(&nl).kv, "seed {seed}: {id} converged");
            assert_eq!(c.kv.get(&json!("lost7")), Value::Null, "seed {seed}: {id}");
        }
        // A discard event is a lost-write claim: never for an entry the leader kept.
        for (n, term, index) in s.events("discard") {
            let kept = s.core(&nl).log.term_at(index.unwrap_or(0));
            assert_ne!(
                kept,
                Some(term),
                "seed {seed}: {n} falsely reports {index:?} discarded"
            );
        }
    }
}

/// Async mode: an old leader applied (and committed, locally) more entries than
/// the new leader's log holds. After it takes the new leader's snapshot and later
/// becomes leader itself, its stale commit index must not block its own no-op:
/// it must commit, answer reads and accept writes.
#[test]
fn async_old_leader_with_a_stale_commit_index_is_live_when_reelected() {
    let mut reelected = 0;
    for seed in 0..12u64 {
        let mut s = Sim::new(5, seed, |c| c.replication = Replication::Async);
        s.run(1000);
        let l = s.leader();
        let rest = s.followers_of(&l);
        s.isolate(&l);
        for i in 0..10 {
            s.write(&l, &format!("lost{i}"), i);
            s.run(2);
        }
        s.run(1000);
        let nl = s.leader();
        assert_ne!(nl, l, "seed {seed}");
        let w = s.write(&nl, "new", 1);
        s.run(20);
        assert!(s.is_ok(w), "seed {seed}");
        s.heal();
        s.run(2000);
        assert_eq!(
            s.value(&l, "lost9"),
            Value::Null,
            "seed {seed}: old leader caught up"
        );
        // Only the old leader and one follower of the new one stay: the old leader can win.
        for r in rest.iter().filter(|r| **r != nl).take(1) {
            s.crash(r);
        }
        s.crash(&nl);
        s.run(1500);
        let leader = s.leader();
        reelected += usize::from(leader == l);
        let w = s.write(&leader, "after", 2);
        let r = s.read(&leader, "after");
        s.run(300);
        assert!(s.is_ok(w), "seed {seed}: write by {leader} (old leader {l})");
        assert_eq!(
            s.outcome(r),
            Some(&Outcome::Ok { value: json!(2) }),
            "seed {seed}: read by {leader}"
        );
    }
    assert!(
        reelected > 0,
        "no seed re-elected the old leader: the test proves nothing"
    );
}

#[test]
fn no_fencing_gives_two_acknowledging_leaders() {
    for fencing in [true, false] {
        let mut s = Sim::new(3, 5, |c| c.fencing = fencing);
        s.run(1000);
        let old = s.leader();
        s.isolate(&old);
        s.run(1000);
        let new = s.leaders().into_iter().find(|n| *n != old).expect("new leader");
        let a = s.write(&old, "k", 1);
        let b = s.write(&new, "k", 2);
        s.run(400);
        assert!(s.is_ok(b));
        assert_eq!(s.is_ok(a), !fencing, "fencing {fencing}: old leader acks?");
        s.heal();
        s.run(1000);
        assert_eq!(s.leaders().len(), 1, "healed: one leader");
        assert!(s.cores().all(|(_, c)| c.kv.get(&json!("k")) == json!(2)));
    }
}

#[test]
fn read_modes_linearizable_leader_follower() {
    for reads in [Reads::Linearizable, Reads::Leader, Reads::Follower] {
        let mut s = Sim::new(3, 9, |c| {
            c.reads = reads;
            c.election_timeout_ns = 400 * MS; // keep the old leader in office while we read
        });
        s.run(2000);
        let l = s.leader();
        let f = s.followers_of(&l);
        let w = s.write(&l, "k", 1);
        s.run(50);
        assert!(s.is_ok(w));
        // A follower cut off from the leader keeps an old value.
        s.isolate(&f[1]);
        let w = s.write(&l, "k", 2);
        s.run(50);
        assert!(s.is_ok(w));
        let r = s.read(&f[1], "k");
        let expect_follower = if reads == Reads::Follower {
            Some(Outcome::Ok { value: json!(1) }) // stale
        } else {
            Some(Outcome::NotLeader {
                leader: Some(l.clone()),
            })
        };
        assert_eq!(s.outcome(r).cloned(), expect_follower, "{reads:?}");
        s.heal();
        s.run(200);
        // The leader is cut off; a new leader takes a write; the old one reads.
        s.isolate(&l);
        let r0 = s.read(&l, "k");
        s.run(30);
        match reads {
            Reads::Linearizable => assert!(s.outcome(r0).is_none(), "no majority round: no answer"),
            _ => assert!(s.is_ok(r0)),
        }
        let r1 = s.read(&f[0], "k");
        s.run(10);
        if reads == Reads::Follower {
            assert_eq!(s.outcome(r1), Some(&Outcome::Ok { value: json!(2) }));
        }
    }
}

#[test]
fn linearizable_reads_see_the_latest_write() {
    let mut s = Sim::new(5, 13, |_| {});
    s.run(1000);
    for i in 0..20 {
        let l = s.leader();
        let w = s.write(&l, "k", i);
        s.run(15);
        assert!(s.is_ok(w));
        let r = s.read(&l, "k");
        s.run(15);
        assert_eq!(s.outcome(r), Some(&Outcome::Ok { value: json!(i) }));
    }
}

#[test]
fn lagging_follower_catches_up_from_a_snapshot() {
    let mut s = Sim::new(3, 21, |c| c.snapshot_every = 10);
    s.run(1000);
    let l = s.leader();
    let lag = s.followers_of(&l)[0].clone();
    s.crash(&lag);
    for i in 0..55 {
        s.write(&l, &format!("k{}", i % 7), i);
        s.run(3);
    }
    s.run(50);
    assert!(s.core(&l).log.snap_index >= 50, "leader compacted");
    s.restart(&lag);
    s.run(500);
    assert!(s.core(&lag).log.snap_index >= 50, "installed a snapshot");
    assert_eq!(s.core(&lag).kv, s.core(&l).kv);
    // And a brand-new node (empty disk) too.
    s.crash(&lag);
    s.disks.insert(lag.clone(), MemDisk::default());
    s.restart(&lag);
    let w = s.write(&l, "late", 1);
    s.run(500);
    assert!(s.is_ok(w));
    assert_eq!(s.core(&lag).kv, s.core(&l).kv);
}

#[test]
fn crash_restart_recovers_from_disk_and_keeps_acked_writes() {
    let mut s = Sim::new(3, 31, |_| {});
    s.run(1000);
    let mut acked = Vec::new();
    for round in 0..3 {
        let l = s.leader();
        for i in 0..5 {
            let v = round * 10 + i;
            let w = s.write(&l, &format!("k{v}"), v);
            s.run(10);
            if s.is_ok(w) {
                acked.push(v);
            }
        }
        s.crash(&l);
        s.run(800);
        s.restart(&l);
        s.run(300);
    }
    assert_eq!(acked.len(), 15);
    let l = s.leader();
    for v in acked {
        assert_eq!(s.value(&l, &format!("k{v}")), json!(v));
    }
}

/// A follower acknowledges an append only once it is synced: a leader that
/// counted an unsynced acknowledgement could answer `ok` for a write that a
/// crash of that follower (and of the leader) then loses for good.
#[test]
fn an_acknowledgement_waits_for_the_followers_sync() {
    let mut s = Sim::new(3, 41, |_| {});
    s.sync_ms = 20;
    s.run(1000);
    let l = s.leader();
    let (f1, f2) = {
        let f = s.followers_of(&l);
        (f[0].clone(), f[1].clone())
    };
    // f2 never sees the write: f1 is the only copy besides the leader's.
    s.isolate(&f2);
    let w = s.write(&l, "k", 1);
    // The leader's own sync (started first) completes; f1's is still running.
    s.run(20);
    assert!(s.disks[&f1].has_unsynced(), "f1 still syncing the write");
    assert!(!s.is_ok(w), "acknowledged before the follower's copy was durable");
    s.crash(&f1);
    s.crash(&l);
    s.restart(&f1);
    s.heal();
    s.run(1000);
    let nl = s.leader();
    assert_ne!(nl, l);
    // Whatever was acknowledged survived; the write itself never was.
    assert!(!s.is_ok(w));
    assert_eq!(
        s.value(&nl, "k"),
        Value::Null,
        "the crash lost f1's unsynced copy"
    );
    // Without crashes the same write is acknowledged once both copies are synced.
    let w = s.write(&nl, "k", 2);
    s.run(60);
    assert!(s.is_ok(w));
}
