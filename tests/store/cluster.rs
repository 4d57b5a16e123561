//! Real clusters of `faultline node` processes: failover keeps acknowledged
//! writes (quorum), restarted and brand-new followers catch up.

use crate::support::store as store_support;

use faultline::store::core::Role;
use serde_json::json;
use std::time::{Duration, Instant};
use store_support::Cluster;

fn leader_kill_keeps_acked_writes(n: usize) {
    let mut c = Cluster::start(n, &["--replication", "quorum", "--fsync", "batch"]);
    let mut acked = Vec::new();
    for i in 0..20 {
        if c.put(&format!("k{i}"), i) {
            acked.push(i);
        }
    }
    assert_eq!(acked.len(), 20);
    let old = c.wait_leader();
    c.kill(old);
    for i in 20..30 {
        if c.put(&format!("k{i}"), i) {
            acked.push(i);
        }
    }
    let new = c.wait_leader();
    assert_ne!(new, old);
    for i in acked {
        assert_eq!(
            c.get(&format!("k{i}")),
            json!(i),
            "acked write k{i} lost ({n} nodes)"
        );
    }
    let text = c.log_text(new);
    assert!(text.contains(r#""event":"leader""#) && text.contains(r#""event":"ack""#));
}

#[test]
fn three_nodes_quorum_survives_leader_sigkill() {
    let _serial = serial!();
    leader_kill_keeps_acked_writes(3);
}

#[test]
fn five_nodes_quorum_survives_leader_sigkill() {
    let _serial = serial!();
    leader_kill_keeps_acked_writes(5);
}

fn wait_caught_up(c: &Cluster, i: usize, min_applied: u64) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let s = c.status(i);
        if s.as_ref()
            .is_some_and(|s| s.applied_index >= min_applied && s.role == Role::Follower)
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "node {i} never caught up to {min_applied}: {s:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn killed_follower_restarts_and_catches_up() {
    let _serial = serial!();
    let mut c = Cluster::start(3, &[]);
    let l = c.wait_leader();
    let f = (l + 1) % 3;
    assert!(c.put("before", 1));
    c.kill(f);
    for i in 0..30 {
        assert!(c.put(&format!("k{i}"), i));
    }
    let target = c.status(c.wait_leader()).unwrap().commit_index;
    c.spawn(f);
    wait_caught_up(&c, f, target);
    let text = c.log_text(f);
    assert!(text.matches(r#""event":"start""#).count() == 2, "restart logged");
}

#[test]
fn brand_new_follower_joins_via_snapshot_while_writes_continue() {
    let _serial = serial!();
    let mut c = Cluster::new(3, &["--snapshot-every", "20"]);
    c.spawn(0);
    c.spawn(1);
    for i in 0..60 {
        assert!(c.put(&format!("k{}", i % 10), i));
    }
    let l = c.wait_leader();
    assert!(
        c.data_dir(l).join("snapshot.json").exists(),
        "leader compacted its log"
    );
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let client = c.client.clone();
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for port in &client[..2] {
                    let r =
                        faultline::store::StoreClient::connect(store_support::addr(*port), store_support::T)
                            .ok()
                            .and_then(|mut s| {
                                s.request(
                                    &faultline::store::Request {
                                        id: 0,
                                        op: faultline::store::ClientOp::Write {
                                            key: json!("live"),
                                            value: json!(n),
                                        },
                                    },
                                    Duration::from_secs(2),
                                )
                                .ok()
                            });
                    if matches!(r.map(|r| r.outcome), Some(faultline::store::Outcome::Ok { .. })) {
                        n += 1;
                    }
                }
            }
            n
        })
    };
    std::thread::sleep(Duration::from_millis(200));
    c.spawn(2);
    std::thread::sleep(Duration::from_millis(500));
    let target = c.status(l).unwrap().commit_index;
    wait_caught_up(&c, 2, target);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let written = writer.join().unwrap();
    assert!(written > 0, "writes continued during the join");
    assert!(
        c.data_dir(2).join("snapshot.json").exists(),
        "the new node holds a snapshot"
    );
    // The newcomer can now stand in for a dead node: kill one of the old pair.
    let l = c.wait_leader();
    let other_old = if l == 0 { 1 } else { 0 };
    c.kill(other_old);
    assert!(c.put("after", 1));
    assert_eq!(c.get("k9"), json!(59));
}

#[test]
fn kv_cli_txn_and_transfer_through_a_cluster() {
    let _serial = serial!();
    use faultline::store::ops::{ClientOp, Outcome};
    let c = Cluster::start(3, &[]);
    c.wait_leader();
    let cluster: Vec<String> = c
        .ids
        .iter()
        .zip(&c.client)
        .map(|(id, p)| format!("{id}=127.0.0.1:{p}"))
        .collect();
    let kv = |args: &[&str]| {
        let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("faultline"))
            .args(["kv", "--cluster", &cluster.join(",")])
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
        )
    };
    assert_eq!(kv(&["put", "x", "5"]).0, Some(0));
    assert!(kv(&["get", "x"]).1.contains(r#""ok":5"#));
    assert_eq!(
        kv(&["cas", "x", "4", "6"]).0,
        Some(1),
        "compare mismatch is a definite fail"
    );
    assert_eq!(kv(&["cas", "x", "5", "6"]).0, Some(0));
    assert_eq!(kv(&["append", "l", "a"]).0, Some(0));
    assert!(kv(&["get", "l"]).1.contains(r#""ok":["a"]"#));
    assert_eq!(kv(&["frobnicate", "x"]).0, Some(3));

    let txn: ClientOp = serde_json::from_value(
        json!({"f": "txn", "ops": [["append", "t", 1], ["r", "t", null], ["incr", "n", 3]]}),
    )
    .unwrap();
    assert_eq!(
        c.on_leader(txn),
        Some(Outcome::Ok {
            value: json!([["append", "t", 1], ["r", "t", [1]], ["incr", "n", 3]])
        })
    );
    let tr = |amount: i64| ClientOp::Transfer {
        from: json!("n"),
        to: json!("m"),
        amount,
    };
    assert!(
        matches!(c.on_leader(tr(5)), Some(Outcome::Fail { .. })),
        "overdraft refused"
    );
    assert_eq!(
        c.on_leader(tr(2)),
        Some(Outcome::Ok {
            value: serde_json::Value::Null
        })
    );
    assert_eq!((c.get("n"), c.get("m")), (json!(1), json!(2)));

    let mut admin =
        faultline::store::AdminClient::connect(store_support::addr(c.admin[0]), store_support::T).unwrap();
    admin.set_clock_offset(-5000).unwrap();
    let st = admin.status().unwrap();
    assert_eq!((st.id.as_str(), st.clock_offset_ms), ("n1", -5000));
    assert!(st.applied_index <= st.commit_index && st.commit_index <= st.last_log_index && st.term >= 1);
    assert!(c.log_text(0).contains("clock offset set to -5000 ms"));
}
