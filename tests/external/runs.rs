//! Whole runs of `faultline test` against real external clusters in network namespaces
//! (root and `nft`, as in CI), each with a pinned seed:
//! - etcd, register, linearizable reads, partitions and kills: valid (exit 0), every checker valid;
//! - etcd, serializable reads, partitions: stale reads flagged (exit 1);
//! - Redis + Sentinel, set workload, the primary partitioned away 4 s at a time: lost writes
//!   (exit 1), tied to the Sentinel failover window (the set checker's summary places them
//!   before/during/after it).
//!
//! Outside CI, skipped with a message when the server binaries are not installed; under `CI` a
//! missing binary fails the test.

use assert_cmd::Command;
use faultline::system::external::check_binary;

fn run(args: &[&str]) -> (i32, String) {
    run_for("10", args)
}

/// As [`run`] with `--time-limit secs`.
fn run_for(secs: &str, args: &[&str]) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::cargo_bin("faultline")
        .unwrap()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "test",
            "--nodes",
            "3",
            "--net",
            "netns",
            "--seed",
            "1",
            "--time-limit",
            secs,
        ])
        .args(["--store-dir", dir.path().to_str().unwrap()])
        .args(args)
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

fn have(bins: &[&str]) -> bool {
    let ok = bins.iter().all(|b| check_binary(b, "").is_ok());
    if !ok {
        let msg = format!("{bins:?} not installed: apt-get install etcd-server redis-server redis-sentinel");
        // CI installs them (.ci/setup): a missing binary there is a failure, not a skip.
        assert!(std::env::var_os("CI").is_none(), "{msg}");
        eprintln!("{msg} (skipped outside CI)");
    }
    ok
}

/// A run of the etcd register workload with `extra` flags; `None` when etcd is not installed.
fn etcd_register(extra: &[&str]) -> Option<(i32, String)> {
    if !have(&["etcd"]) {
        return None;
    }
    let args = [&["--target", "etcd", "--workload", "register"], extra].concat();
    Some(run(&args))
}

fn line<'a>(text: &'a str, checker: &str) -> &'a str {
    text.lines()
        .find(|l| l.trim_start().starts_with(checker))
        .unwrap_or("")
}

#[test]
fn etcd_linearizable_register_under_partitions_and_kills_passes() {
    let _serial = serial!();
    let Some((code, text)) = etcd_register(&["--nemesis", "partition,kill"]) else {
        return;
    };
    assert_eq!(code, 0, "{text}");
    assert!(
        line(&text, "stale").contains("valid") && !line(&text, "stale").contains("INVALID"),
        "{text}"
    );
    assert!(!text.contains("INVALID"), "{text}");
}

#[test]
fn etcd_serializable_reads_under_partition_are_flagged_stale() {
    let _serial = serial!();
    let Some((code, text)) = etcd_register(&["--reads", "serializable", "--nemesis", "partition"]) else {
        return;
    };
    assert_eq!(code, 1, "{text}");
    assert!(line(&text, "stale").contains("INVALID"), "{text}");
}

#[test]
fn redis_sentinel_failover_loses_acknowledged_set_writes() {
    let _serial = serial!();
    if !have(&["redis-server", "redis-sentinel"]) {
        return;
    }
    // The primary cut off for 4 s per fault: Sentinel needs down-after-milliseconds (1 s), up to
    // 1 s of election desync and a promotion check (~1 s) to fail over. With the default 1.5 s
    // faults and random targets, seed 1 failed over in most runs here but in none on one CI run.
    let (code, text) = run_for(
        "30",
        &[
            "--target",
            "redis",
            "--workload",
            "set",
            "--nemesis",
            "partition:leader",
            "--nemesis-interval",
            "4",
        ],
    );
    assert_eq!(code, 1, "{text}");
    let set = line(&text, "set");
    assert!(set.contains("INVALID") && !set.contains(" 0 lost,"), "{text}");
    assert!(set.contains("lost vs failover windows"), "{text}");
}
