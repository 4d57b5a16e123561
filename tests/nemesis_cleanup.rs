//! SIGKILL `faultline test` mid-run: `faultline cleanup` (and the next run's
//! start) removes every namespace, nft rule and node process it left.

mod runner_common;
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
