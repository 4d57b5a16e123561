//! etcd, real servers: a 3-member cluster on 127.0.0.1 started by the harness, driven through
//! the JSON-gateway client adapter. Skips (with a message) only when `etcd` is not installed;
//! CI's `.ci/setup` installs it.

use crate::support::external::etcd_present;
use faultline::client::Client;
use faultline::history::{Op, OpType, Process};
use faultline::system::etcd::{EtcdClientConfig, EtcdCluster, EtcdWorkload};
use faultline::system::external::{ExternalError, TargetDef};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn def_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("targets/etcd.toml")
}

fn op(f: &str, value: Value) -> Op {
    Op::new(OpType::Invoke, Process::Client(0), f, value).with_key(json!("k"))
}

const T: Duration = Duration::from_secs(3);

#[test]
fn register_set_cas_and_mutex_against_a_real_cluster() {
    let _serial = serial!();
    if !etcd_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let def = TargetDef::load(&def_path()).unwrap();
    let cluster = EtcdCluster::start_local(def, &def_path(), dir.path()).unwrap();
    let reg = EtcdClientConfig::default();
    let mut a = cluster.client("n1", reg.clone()).unwrap();
    let mut b = cluster
        .client(
            "n2",
            EtcdClientConfig {
                serializable: true,
                ..reg.clone()
            },
        )
        .unwrap();

    assert_eq!(a.invoke(&op("read", Value::Null), T).value, Value::Null);
    assert_eq!(a.invoke(&op("write", json!(3)), T).ty, OpType::Ok);
    // A serializable read is served from n2's own state, which may lag n1's commit by a moment
    // (that is the point of serializable reads): it must catch up, not be current at once.
    let mut r = b.invoke(&op("read", Value::Null), T);
    let until = Instant::now() + Duration::from_secs(5);
    while r.value != json!(3) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
        r = b.invoke(&op("read", Value::Null), T);
    }
    assert_eq!(
        (r.ty, r.value.clone(), r.node.as_deref()),
        (OpType::Ok, json!(3), Some("n2"))
    );
    assert_eq!(a.invoke(&op("cas", json!([3, 4])), T).ty, OpType::Ok);
    let bad = a.invoke(&op("cas", json!([3, 5])), T);
    assert_eq!(bad.ty, OpType::Fail, "{bad:?}");
    assert_eq!(a.invoke(&op("read", Value::Null), T).value, json!(4));

    let set = EtcdClientConfig {
        workload: EtcdWorkload::Set,
        ..reg.clone()
    };
    let mut s = cluster.client("n3", set).unwrap();
    for e in [5, 1, 12] {
        assert_eq!(s.invoke(&op("add", json!(e)), T).ty, OpType::Ok);
    }
    assert_eq!(s.invoke(&op("read", Value::Null), T).value, json!([1, 5, 12]));

    let mutex = EtcdClientConfig {
        workload: EtcdWorkload::Mutex,
        lease_ttl_s: 5,
        ..reg
    };
    let mut m1 = cluster.client("n1", mutex.clone()).unwrap();
    let mut m2 = cluster.client("n2", mutex).unwrap();
    let op = |f: &str, v: Value| op(f, v).with_key(json!("lock"));
    assert_eq!(m1.invoke(&op("acquire", Value::Null), T).ty, OpType::Ok);
    assert_eq!(m2.invoke(&op("acquire", Value::Null), T).ty, OpType::Fail);
    assert_eq!(m2.invoke(&op("release", Value::Null), T).ty, OpType::Fail);
    assert_eq!(m1.invoke(&op("release", Value::Null), T).ty, OpType::Ok);
    assert_eq!(m2.invoke(&op("acquire", Value::Null), T).ty, OpType::Ok);

    eprintln!("register, set, cas, mutex: ok");
    // Kill the leader: the others elect a new one and keep serving; the old one rejoins.
    let op = |f: &str, v: Value| Op::new(OpType::Invoke, Process::Client(0), f, v).with_key(json!("k"));
    let leader = cluster.leader(T).expect("a leader");
    cluster.kill(&leader).unwrap();
    assert!(!cluster.is_running(&leader));
    let other = cluster.nodes().into_iter().find(|n| *n != leader).unwrap();
    let mut c = cluster.client(&other, EtcdClientConfig::default()).unwrap();
    let start = Instant::now();
    loop {
        let w = c.invoke(&op("write", json!(9)), T);
        if w.ty == OpType::Ok {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "no write after leader kill: {w:?}"
        );
    }
    cluster.start(&leader).unwrap();
    cluster.wait_healthy(&leader, Duration::from_secs(15)).unwrap();
    let mut back = cluster.client(&leader, EtcdClientConfig::default()).unwrap();
    assert_eq!(back.invoke(&op("read", Value::Null), T).value, json!(9));

    eprintln!("leader kill and rejoin: ok");
    // A paused member times out: a write through it is `info` (it may still happen), a read `fail`.
    cluster.pause("n3").unwrap();
    let mut p = cluster.client("n3", EtcdClientConfig::default()).unwrap();
    let w = p.invoke(&op("write", json!(10)), Duration::from_millis(300));
    assert_eq!(w.ty, OpType::Info, "{w:?}");
    assert_eq!(
        p.invoke(&op("read", Value::Null), Duration::from_millis(300)).ty,
        OpType::Fail
    );
    cluster.resume("n3").unwrap();
    cluster.wait_healthy("n3", Duration::from_secs(10)).unwrap();
    cluster.teardown();
    assert!(!cluster.is_running("n1"));
}

#[test]
fn misconfiguration_fails_fast_with_a_clear_message() {
    let _serial = serial!();
    let dir = tempfile::tempdir().unwrap();
    // Binary not installed.
    let mut def = TargetDef::load(&def_path()).unwrap();
    def.binaries = vec!["etcd-not-installed-here".into()];
    let c = EtcdCluster::local(def, &def_path(), dir.path()).unwrap();
    let e = c.start_all().unwrap_err();
    assert!(matches!(e, ExternalError::NotInstalled { .. }));
    assert!(e.to_string().contains("apt-get install etcd-server"), "{e}");
    if !etcd_present() {
        return;
    }
    // Port in use.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut def = TargetDef::load(&def_path()).unwrap();
    def.port_base = busy.local_addr().unwrap().port();
    def.nodes = 1;
    let c = EtcdCluster::local(def, &def_path(), dir.path()).unwrap();
    let e = c.start_all().unwrap_err();
    assert!(matches!(e, ExternalError::PortInUse { .. }), "{e}");
    // Never healthy (a member that exits at once): bounded wait, log tail, nothing left running.
    // Free ports are picked afresh each try: a port another test grabbed in between is retried.
    let mut tries = 0;
    let (c, t, e) = loop {
        let mut def = TargetDef::load(&def_path()).unwrap();
        def.nodes = 1;
        def.health_timeout_ms = 3000;
        def.start.push("--no-such-flag".into());
        let c = EtcdCluster::local(def, &def_path(), dir.path()).unwrap();
        let t = Instant::now();
        let e = c.start_all().unwrap_err();
        tries += 1;
        if !matches!(e, ExternalError::PortInUse { .. }) || tries == 5 {
            break (c, t, e);
        }
    };
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "waited {:?} for a dead member",
        t.elapsed()
    );
    assert!(matches!(e, ExternalError::NeverHealthy { .. }), "{e}");
    assert!(e.to_string().contains("exited"), "{e}");
    assert!(!c.is_running("n1"));
}
