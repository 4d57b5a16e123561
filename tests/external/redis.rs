//! Redis + Sentinel, real servers on 127.0.0.1: the client follows the primary through
//! Sentinel, a paused primary is failed over, and writes it acknowledges after it resumes (and
//! before Sentinel demotes it) are lost: the set workload's lost writes. Also: libfaketime skews
//! a node's clock. Skips (with a message) only when Redis is not installed.

use faultline::client::Client;
use faultline::history::{Op, OpType, Process};
use faultline::system::external::ExternalError;
use faultline::system::external::{check_binary, wait_until, Retry, TargetDef};
use faultline::system::redis::{RedisCluster, RedisWorkload};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn def_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("targets/redis-sentinel.toml")
}

fn present() -> bool {
    let ok = check_binary("redis-server", "").is_ok() && check_binary("redis-sentinel", "").is_ok();
    if !ok {
        let msg = "redis is not installed: apt-get install redis-server redis-sentinel";
        // CI installs it (.ci/setup): missing there is a failure, not a skip.
        assert!(std::env::var_os("CI").is_none(), "{msg}");
        eprintln!("{msg} (skipped outside CI)");
    }
    ok
}

fn add(p: u64, e: u64) -> Op {
    Op::new(OpType::Invoke, Process::Client(p), "add", json!(e))
}

#[test]
fn sentinel_failover_loses_acknowledged_writes() {
    let _serial = serial!();
    if !present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let def = TargetDef::load(&def_path()).unwrap();
    let cluster = Arc::new(RedisCluster::start_local(def, &def_path(), dir.path()).unwrap());
    assert_eq!(cluster.leader(Duration::from_secs(2)).as_deref(), Some("n1"));

    let stop = Arc::new(AtomicBool::new(false));
    let next = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..4)
        .map(|p| {
            let (cluster, stop, next) = (cluster.clone(), stop.clone(), next.clone());
            std::thread::spawn(move || {
                let mut c = cluster.client(RedisWorkload::Set, None);
                let mut acked = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let e = next.fetch_add(1, Ordering::Relaxed);
                    let r = c.invoke(&add(p, e), Duration::from_secs(10));
                    match r.ty {
                        OpType::Ok => acked.push((e, r.node.clone())),
                        _ => std::thread::sleep(Duration::from_millis(20)),
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
                acked
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    cluster.pause("n1").unwrap();
    let new_primary = wait_until(
        Duration::from_secs(20),
        Duration::from_millis(100),
        || match cluster.leader(Duration::from_secs(1)) {
            Some(l) if l != "n1" => Ok(l),
            other => Err(Retry::again(format!("primary still {other:?}"))),
        },
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    cluster.resume("n1").unwrap();
    // Sentinel demotes the old primary (bounded); until then it accepts and acknowledges writes.
    wait_until(
        Duration::from_secs(30),
        Duration::from_millis(200),
        || match cluster.role("n1", Duration::from_secs(1)) {
            Ok(r) if r == "slave" => Ok(()),
            other => Err(Retry::again(format!("n1 role {other:?}"))),
        },
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    let acked: Vec<(u64, Option<String>)> = workers.into_iter().flat_map(|w| w.join().unwrap()).collect();

    let mut reader = cluster.client(RedisWorkload::Set, None);
    let read = reader.invoke(
        &Op::new(OpType::Invoke, Process::Client(99), "read", Value::Null),
        Duration::from_secs(5),
    );
    assert_eq!(read.ty, OpType::Ok, "{read:?}");
    assert_eq!(read.node.as_deref(), Some(new_primary.as_str()));
    let present: BTreeSet<u64> = read
        .value
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_u64)
        .collect();
    let lost: Vec<&(u64, Option<String>)> = acked.iter().filter(|(e, _)| !present.contains(e)).collect();
    eprintln!(
        "acknowledged {}, lost {}: {:?}",
        acked.len(),
        lost.len(),
        &lost[..lost.len().min(10)]
    );
    assert!(!lost.is_empty(), "expected acknowledged writes lost on failover");
    // Every lost write was acknowledged by the old primary.
    assert!(lost.iter().all(|(_, n)| n.as_deref() == Some("n1")), "{lost:?}");
    cluster.teardown();
    assert!(!cluster.is_running("n1"));
}

/// The hazard of redis-rs issue #1252 against a real server: a write that times out on a paused
/// (SIGSTOP) primary is `info` and names the primary; once it resumes, the server runs that
/// write and answers it on the dropped connection, and the client's next ops get their own
/// replies (a read answered by the late `+OK` would fail as "GET answered Okay").
#[test]
fn a_write_timing_out_on_a_paused_primary_is_info_and_never_answers_the_next_op() {
    let _serial = serial!();
    if !present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut def = TargetDef::load(&def_path()).unwrap();
    def.nodes = 1;
    def.clock_faults = false;
    let cluster = RedisCluster::start_local(def, &def_path(), dir.path()).unwrap();
    let op = |f: &str, v: Value| Op::new(OpType::Invoke, Process::Client(0), f, v);
    let long = Duration::from_secs(5);
    let mut c = cluster.client(RedisWorkload::Register, None);
    let w = c.invoke(&op("write", json!(1)), long);
    assert_eq!((w.ty, w.node.as_deref()), (OpType::Ok, Some("n1")), "{w:?}");

    cluster.pause("n1").unwrap();
    let t = Instant::now();
    let w = c.invoke(&op("write", json!(2)), Duration::from_millis(300));
    let took = t.elapsed();
    cluster.resume("n1").unwrap();
    assert_eq!((w.ty, w.node.as_deref()), (OpType::Info, Some("n1")), "{w:?}");
    assert!(
        took < Duration::from_secs(2),
        "the op outlived its timeout: {took:?}"
    );
    std::thread::sleep(Duration::from_millis(300)); // the late reply is sent by now

    let r = c.invoke(&op("read", Value::Null), long);
    assert_eq!(r.ty, OpType::Ok, "{r:?}");
    // The info write may or may not have happened; either way the read saw a written value.
    assert!(r.value == json!(1) || r.value == json!(2), "{r:?}");
    let w = c.invoke(&op("write", json!(3)), long);
    assert_eq!(w.ty, OpType::Ok, "{w:?}");
    let r = c.invoke(&op("read", Value::Null), long);
    assert_eq!((r.ty, &r.value), (OpType::Ok, &json!(3)), "{r:?}");
    cluster.teardown();
}

fn faketime_present() -> bool {
    let ok = Path::new(faultline::system::faketime::FAKETIME_LIB).is_file();
    if !ok {
        let msg = "libfaketime is not installed: apt-get install faketime";
        assert!(std::env::var_os("CI").is_none(), "{msg}");
        eprintln!("{msg} (skipped outside CI)");
    }
    ok
}

/// Clock faults: libfaketime, preloaded before libc, skews a jemalloc-linked (Debian) server's
/// clock by the offset written to the node's clock file.
#[test]
fn clock_faults_skew_the_server_clock() {
    let _serial = serial!();
    if !present() || !faketime_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut def = TargetDef::load(&def_path()).unwrap();
    assert!(def.clock_faults, "the shipped definition enables clock faults");
    def.nodes = 1;
    let cluster = RedisCluster::start_local(def, &def_path(), dir.path()).unwrap_or_else(|e| panic!("{e}"));
    for offset_ms in [5000i64, -5000] {
        cluster.set_clock_offset("n1", offset_ms).unwrap();
        wait_until(Duration::from_secs(5), Duration::from_millis(200), || {
            let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_micros() as i64;
            let t = cluster.server_time_us("n1", Duration::from_secs(1))?;
            let skew = t - now;
            if (skew - offset_ms * 1000).abs() < 1_000_000 {
                Ok(())
            } else {
                Err(Retry::again(format!("skew {skew} us, want {offset_ms} ms")))
            }
        })
        .unwrap();
    }
    // libfaketime's per-process shm files: there while the nodes run, gone once they are killed.
    let ours = faketime_pids_of(dir.path());
    assert!(!ours.is_empty(), "a node under libfaketime has its shm files");
    cluster.teardown();
    let shm = faultline::system::faketime::SHM_DIR;
    for pid in ours {
        for f in [format!("faketime_shm_{pid}"), format!("sem.faketime_sem_{pid}")] {
            assert!(
                !Path::new(shm).join(&f).exists(),
                "{f} left behind after teardown"
            );
        }
    }
}

/// Pids owning libfaketime shm files whose process has a file under `dir` open (its log:
/// Redis rewrites its own environment and title, so neither identifies it).
fn faketime_pids_of(dir: &Path) -> Vec<u32> {
    let shm = faultline::system::faketime::SHM_DIR;
    let needle = dir.display().to_string();
    std::fs::read_dir(shm)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| {
                    let name = e.file_name().into_string().ok()?;
                    let pid: u32 = name.strip_prefix("faketime_shm_")?.parse().ok()?;
                    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
                    let open_here = fds.flatten().any(|fd| {
                        std::fs::read_link(fd.path())
                            .is_ok_and(|t| t.display().to_string().starts_with(&needle))
                    });
                    open_here.then_some(pid)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The probe still guards: a server that hangs under the preload is refused within seconds,
/// with the reason and the way out, and nothing is left running.
#[test]
fn a_server_hanging_under_libfaketime_is_refused_with_the_reason() {
    let _serial = serial!();
    if !present() || !faketime_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let hang = dir.path().join("hanging-redis-server");
    // An odd duration marks this test's `sleep` among the machine's processes.
    std::fs::write(&hang, "#!/bin/sh\nsleep 31.517\n").unwrap();
    std::fs::set_permissions(&hang, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut def = TargetDef::load(&def_path()).unwrap();
    def.nodes = 1;
    def.start[0] = hang.display().to_string();
    let cluster = RedisCluster::local(def, &def_path(), dir.path()).unwrap();
    let t = Instant::now();
    let e = cluster.start_all().unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert!(matches!(e, ExternalError::Node { .. }), "{e}");
    assert!(e.to_string().contains("clock_faults = false"), "{e}");
    assert!(!cluster.is_running("n1"));
    // The probe's own children (here the script's `sleep`) are gone too.
    let ps = std::process::Command::new("pgrep")
        .args(["-f", "sleep 31.517"])
        .output()
        .unwrap();
    assert!(
        ps.stdout.is_empty(),
        "left running: {}",
        String::from_utf8_lossy(&ps.stdout)
    );
}
