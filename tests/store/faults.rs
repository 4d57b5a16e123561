//! The store's unsafe modes lose what the seeds say they lose (with
//! deterministic schedules), and bad input never crashes a node.

use crate::support::store as store_support;

use faultline::store::ops::{ClientOp, Outcome};
use nix::sys::signal::Signal;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;
use store_support::{addr, Cluster};

fn write(k: &str, v: i64) -> ClientOp {
    ClientOp::Write {
        key: json!(k),
        value: json!(v),
    }
}

/// Followers frozen before the write, leader killed right after its ok, followers
/// resumed after their election timeout: they elect a leader of a newer term and
/// refuse the dead leader's late message, so in async mode the acked write is gone.
fn frozen_followers_then_leader_kill(mode: &str) -> (Cluster, usize, Result<Outcome, String>) {
    let mut c = Cluster::start(3, &["--replication", mode]);
    assert!(c.put("k", 1));
    let l = c.wait_leader();
    let fs: Vec<usize> = (0..3).filter(|i| *i != l).collect();
    std::thread::sleep(Duration::from_millis(100)); // followers have k=1 applied
    for f in &fs {
        c.signal(*f, Signal::SIGSTOP);
    }
    let mut client = faultline::store::StoreClient::connect(addr(c.client[l]), store_support::T).unwrap();
    let r = client
        .request(
            &faultline::store::Request {
                id: 0,
                op: write("k", 2),
            },
            Duration::from_millis(250),
        )
        .map(|r| r.outcome)
        .map_err(|e| e.to_string());
    c.kill(l);
    std::thread::sleep(Duration::from_millis(800));
    for f in &fs {
        c.signal(*f, Signal::SIGCONT);
    }
    (c, l, r)
}

#[test]
fn async_mode_loses_an_acknowledged_write_when_the_leader_dies() {
    let _serial = serial!();
    let (mut c, old, r) = frozen_followers_then_leader_kill("async");
    assert_eq!(
        r,
        Ok(Outcome::Ok { value: Value::Null }),
        "async acks from the leader's log alone"
    );
    assert_eq!(
        c.get("k"),
        json!(1),
        "the acknowledged k=2 is lost after failover"
    );
    // The old leader returns, and logs the acknowledged entry it discards.
    c.spawn(old);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !c.log_text(old).contains(r#""event":"discard""#) {
        assert!(
            std::time::Instant::now() < deadline,
            "no discard event:\n{}",
            c.log_text(old)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let text = c.log_text(old);
    assert!(text.contains(r#""event":"ack""#) && text.contains(r#""f":"write","key":"k","value":2"#));
}

#[test]
fn quorum_mode_never_acknowledges_that_write() {
    let _serial = serial!();
    let (c, _old, r) = frozen_followers_then_leader_kill("quorum");
    // A timeout or an explicit "unknown" (the leader stepped down): never ok.
    assert!(
        matches!(r, Err(_) | Ok(Outcome::Unknown { .. })),
        "no majority: no ok ({r:?})"
    );
    // Its outcome was unknown, so either value is right: a follower resumed may still take
    // the dead leader's append from its socket buffer before its election timer fires, and
    // the next leader then commits it. What quorum mode rules out is a lost acknowledgement.
    let k = c.get("k");
    assert!(k == json!(1) || k == json!(2), "{k}");
}

fn kill9_and_restart(fsync: &str) -> Value {
    let mut c = Cluster::start(1, &["--fsync", fsync]);
    assert!(c.put("k", 7));
    c.kill(0);
    c.spawn(0);
    c.get("k")
}

#[test]
fn fsync_never_loses_acknowledged_writes_on_kill9_but_batch_does_not() {
    let _serial = serial!();
    assert_eq!(kill9_and_restart("never"), Value::Null);
    assert_eq!(kill9_and_restart("batch"), json!(7));
    assert_eq!(kill9_and_restart("always"), json!(7));
}

#[test]
fn corrupt_wal_reports_file_and_offset_and_recovers_the_prefix() {
    let _serial = serial!();
    let mut c = Cluster::start(1, &[]);
    for i in 0..10 {
        assert!(c.put(&format!("k{i}"), i));
    }
    c.kill(0);
    let wal = c.data_dir(0).join("wal.log");
    // The file is padded with zeros (pre-allocated chunks): find where the
    // records end, i.e. where the next append would have gone.
    let data = std::fs::read(&wal).unwrap();
    let mut len = 0usize;
    while len + 8 <= data.len() && data[len..len + 8] != [0u8; 8] {
        len += 8 + u32::from_le_bytes(data[len..len + 4].try_into().unwrap()) as usize;
    }
    let f = std::fs::OpenOptions::new().write(true).open(&wal).unwrap();
    // A torn record, written in place.
    std::os::unix::fs::FileExt::write_all_at(&f, &[200, 0, 0, 0, 9, 9, 9, 9, b'{', b'"'], len as u64)
        .unwrap();
    drop(f);
    c.spawn(0);
    let text = c.log_text(0);
    let expect = format!("{}: corrupt record at offset {len}", wal.display());
    assert!(text.contains(&expect), "log lacks {expect:?}:\n{text}");
    for i in 0..10 {
        assert_eq!(c.get(&format!("k{i}")), json!(i));
    }
    assert!(c.put("after", 1), "node works after recovery");
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut v = (body.len() as u32).to_be_bytes().to_vec();
    v.extend_from_slice(body);
    v
}

fn read_reply(s: &mut TcpStream) -> Value {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).unwrap();
    let mut body = vec![0; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut body).unwrap();
    serde_json::from_slice(&body).unwrap()
}

#[test]
fn malformed_client_frames_get_error_replies_not_crashes() {
    let _serial = serial!();
    let c = Cluster::start(1, &[]);
    c.wait_leader();
    let mut s = TcpStream::connect(addr(c.client[0])).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(&frame(b"hello")).unwrap();
    let r = read_reply(&mut s);
    assert_eq!(r["status"], "error", "{r}");
    s.write_all(&frame(br#"{"id":9,"f":"launch","key":"k"}"#))
        .unwrap();
    let r = read_reply(&mut s);
    assert_eq!(
        (r["status"].as_str(), r["id"].as_u64()),
        (Some("error"), Some(9)),
        "{r}"
    );
    s.write_all(&frame(br#"{"id":10,"f":"write","key":"k","value":3}"#))
        .unwrap();
    assert_eq!(read_reply(&mut s)["status"], "ok");
    s.write_all(&0xFFFF_FFF0u32.to_be_bytes()).unwrap();
    let r = read_reply(&mut s);
    assert_eq!(r["status"], "error", "{r}");
    assert!(r["reason"].as_str().unwrap().contains("too large"));
    assert_eq!(c.get("k"), json!(3), "node still serves");
}

/// Requests pipelined on one connection (sent before any answer) are all answered, each
/// under its own id, a malformed one among them included, and in log order for the writes.
#[test]
fn pipelined_requests_on_one_connection_are_each_answered_by_id() {
    let _serial = serial!();
    let c = Cluster::start(3, &[]);
    c.wait_leader();
    let l = c.wait_leader();
    let mut s = TcpStream::connect(addr(c.client[l])).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut burst = Vec::new();
    for i in 1..=20u64 {
        let body = if i == 7 {
            br#"{"id":7,"f":"launch"}"#.to_vec()
        } else {
            format!(r#"{{"id":{i},"f":"append","key":"p","value":{i}}}"#).into_bytes()
        };
        burst.extend(frame(&body));
    }
    burst.extend(frame(br#"{"id":21,"f":"read","key":"p"}"#));
    s.write_all(&burst).unwrap();
    let mut answers = std::collections::BTreeMap::new();
    for _ in 0..21 {
        let r = read_reply(&mut s);
        let id = r["id"].as_u64().unwrap();
        assert!(answers.insert(id, r).is_none(), "one answer per id");
    }
    assert_eq!(
        answers.keys().copied().collect::<Vec<_>>(),
        (1..=21).collect::<Vec<_>>()
    );
    assert_eq!(answers[&7]["status"], "error", "{}", answers[&7]);
    for i in (1..=20).filter(|i| *i != 7) {
        assert_eq!(answers[&i]["status"], "ok", "{}", answers[&i]);
    }
    // The appends applied in the order they were sent.
    let want: Vec<u64> = (1..=20).filter(|i| *i != 7).collect();
    assert_eq!(c.get("p"), json!(want));
}

#[test]
fn node_that_cannot_bind_or_open_its_data_dir_exits_3() {
    let _serial = serial!();
    let c = Cluster::new(1, &[]);
    let busy = std::net::TcpListener::bind(addr(c.client[0])).unwrap();
    let out = c
        .command(0)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot bind the client address"), "{err}");
    drop(busy);
    let c = Cluster::new(1, &[]);
    std::fs::write(c.data_dir(0), b"a file, not a directory").unwrap();
    let out = c
        .command(0)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("data-dir"));
}
