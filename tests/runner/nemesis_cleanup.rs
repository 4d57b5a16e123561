//! SIGKILL `faultline test` mid-run: `faultline cleanup` (and the next run's
//! start) removes every namespace, nft rule and node process it left.

use crate::support::runner as runner_common;
use runner_common::*;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn start_and_kill(store: &std::path::Path) -> u32 {
    let mut child = Command::new(bin())
        .args([
            "test",
            "--net",
            "netns",
            "--nodes",
            "3",
            "--time-limit",
            "60",
            "--nemesis",
            "partition",
            "--nemesis-interval",
            "0.5",
            "--seed",
            "5",
            "--store-dir",
        ])
        .arg(store)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(30);
    // Wait until nodes run and a partition is in place.
    loop {
        let (ns, procs) = leftovers(pid);
        let hist = std::fs::read_dir(store).ok().and_then(|_| {
            let p = std::fs::canonicalize(store.join("latest")).ok();
            p.or_else(|| glob_history(store))
        });
        let partitioned = hist
            .and_then(|d| std::fs::read_to_string(d.join("history.jsonl")).ok())
            .is_some_and(|h| h.contains("\"partition\""));
        if ns.len() >= 5 && procs.len() == 3 && partitioned {
            break;
        }
        assert!(Instant::now() < deadline, "run never got going: {ns:?} {procs:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let (ns, procs) = leftovers(pid);
    assert!(
        ns.len() >= 5 && procs.len() == 3,
        "a SIGKILLed harness leaves its cluster: {ns:?} {procs:?}"
    );
    pid
}

/// The run directory before `latest` exists (it is linked at the end).
fn glob_history(store: &std::path::Path) -> Option<std::path::PathBuf> {
    let test = std::fs::read_dir(store).ok()?.flatten().next()?.path();
    Some(std::fs::read_dir(test).ok()?.flatten().next()?.path())
}

/// One test, sequential: two killed runs must not race each other's cleanup.
#[test]
fn cleanup_and_the_next_run_remove_everything_a_killed_run_left() {
    let _serial = serial_alone!();
    let store = tempfile::tempdir().unwrap();
    let pid = start_and_kill(store.path());
    let out = Command::new(bin()).arg("cleanup").output().unwrap();
    assert_eq!(code(&out), 0);
    assert!(String::from_utf8_lossy(&out.stdout).contains("removed 3 node process"));
    assert_eq!(leftovers(pid), (vec![], vec![]));

    let store = tempfile::tempdir().unwrap();
    let pid = start_and_kill(store.path());
    let next = tempfile::tempdir().unwrap();
    let (out, _) = test_run(
        next.path(),
        &[
            "--target",
            "reference",
            "--net",
            "proxy",
            "--time-limit",
            "0.5",
            "--nemesis",
            "none",
        ],
    );
    assert!([0, 2].contains(&code(&out)), "{}", stderr(&out));
    assert!(stderr(&out).contains("removed leftovers"));
    assert_eq!(leftovers(pid), (vec![], vec![]));
}

/// Ctrl-C stops the client phase, heals, tears down and still checks.
#[test]
fn sigint_heals_checks_and_leaves_nothing() {
    let _serial = serial!();
    let store = tempfile::tempdir().unwrap();
    let child = Command::new(bin())
        .args([
            "test",
            "--net",
            "netns",
            "--nodes",
            "3",
            "--time-limit",
            "60",
            "--nemesis",
            "partition,pause",
            "--nemesis-interval",
            "0.5",
            "--seed",
            "9",
            "--store-dir",
        ])
        .arg(store.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(30);
    while leftovers(pid).1.len() < 3 {
        assert!(Instant::now() < deadline, "nodes never started");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(3));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let t = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(
        t.elapsed() < Duration::from_secs(20),
        "took {:?} to stop",
        t.elapsed()
    );
    assert!([0, 1, 2].contains(&code(&out)), "{}", stderr(&out));
    assert!(stderr(&out).contains("(interrupted)"), "{}", stderr(&out));
    assert_eq!(leftovers(pid), (vec![], vec![]));
    let dir = std::fs::canonicalize(store.path().join("latest")).unwrap();
    assert!(dir.join("results.json").exists());
    let h = history(&dir);
    let nem: Vec<&str> = h
        .iter()
        .filter(|o| o["process"] == "nemesis")
        .filter_map(|o| o["f"].as_str())
        .collect();
    assert!(!nem.is_empty());
    // Every fault started was undone before the end of the history.
    let (mut parts, mut pauses) = (0i32, 0i32);
    for (i, f) in nem.iter().enumerate() {
        if i % 2 == 1 {
            continue; // the completion of the same step
        }
        match *f {
            "partition" => parts = 1,
            "heal" => parts = 0,
            "pause" => pauses = 1,
            "resume" => pauses = 0,
            _ => {}
        }
    }
    assert_eq!((parts, pauses), (0, 0), "{nem:?}");
}

/// The processes in network namespace `ns`.
fn netns_pids(ns: &str) -> Vec<u32> {
    let out = Command::new("ip").args(["netns", "pids", ns]).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// Gone, or a zombie nobody has reaped yet (it runs nothing).
fn dead(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| s.rsplit(')').next().unwrap_or("").trim_start().starts_with('Z'))
        .unwrap_or(true)
}

/// An external system's servers outlive a SIGKILLed harness; `faultline cleanup` stops them.
/// Redis is the hard case: it rewrites its process title over its environment, marker
/// included, so only the namespace it runs in still ties it to the run.
#[test]
fn cleanup_stops_the_servers_of_a_killed_redis_run() {
    let _serial = serial_alone!();
    use faultline::system::external::check_binary;
    if check_binary("redis-server", "").is_err() || check_binary("redis-sentinel", "").is_err() {
        eprintln!("skipped: redis-server / redis-sentinel not installed");
        return;
    }
    let store = tempfile::tempdir().unwrap();
    let mut child = Command::new(bin())
        .args(["test", "--target", "redis", "--workload", "set", "--net", "netns"])
        .args(["--time-limit", "60", "--nemesis", "none", "--store-dir"])
        .arg(store.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(60);
    let servers = loop {
        let servers: Vec<u32> = leftovers(pid)
            .0
            .iter()
            .flat_map(|ns| netns_pids(ns))
            .filter(|p| {
                std::fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.starts_with("redis"))
            })
            .collect();
        if servers.len() >= 6 {
            break servers;
        }
        assert!(
            Instant::now() < deadline,
            "3 servers and 3 sentinels never ran: {servers:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    child.kill().unwrap(); // SIGKILL: no teardown
    child.wait().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        servers.iter().all(|p| !dead(*p)),
        "the servers outlive the harness"
    );
    let out = Command::new(bin()).arg("cleanup").output().unwrap();
    assert_eq!(code(&out), 0);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !servers.iter().all(|p| dead(*p)) {
        let left: Vec<_> = servers.iter().filter(|p| !dead(**p)).collect();
        assert!(Instant::now() < deadline, "still running after cleanup: {left:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(leftovers(pid).0, Vec::<String>::new(), "namespaces removed");
}
