//! `faultline bench etcd` starts a real 3-member etcd cluster, reports what it measured in the
//! JSON line `bench store` prints, and leaves no etcd member running. Skips (with a message)
//! only when `etcd` is not installed; CI's `.ci/setup` installs it. No speed is asserted here;
//! figures belong in the issue notes.

use crate::support::external::etcd_present;
use assert_cmd::cargo::cargo_bin;
use serde_json::Value;
use std::process::Command;

/// Command lines of running processes that contain `needle`.
fn processes_with(needle: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmd) = std::fs::read(e.path().join("cmdline")) {
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            if cmd.contains(needle) {
                out.push(cmd);
            }
        }
    }
    out
}

#[test]
fn bench_etcd_puts_without_errors_and_stops_its_members() {
    let _serial = serial!();
    if !etcd_present() {
        return;
    }
    let child = Command::new(cargo_bin("faultline"))
        .args(["bench", "etcd", "--secs", "1", "--clients", "4"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The members' cluster token names the harness process (`faultline-<pid>-<members>`).
    let token = format!("faultline-{}-", child.id());
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = text
        .lines()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("{text}"));
    let r: Value = serde_json::from_str(json).unwrap();
    assert!(r["ok"].as_u64().unwrap() > 0, "{r}");
    assert_eq!(r["errors"], 0, "{r}");
    assert_eq!(r["system"], "etcd", "{r}");
    assert_eq!(
        (r["clients"].as_u64(), r["nodes"].as_u64()),
        (Some(4), Some(3)),
        "{r}"
    );
    assert!(
        r["etcd_version"].as_str().is_some_and(|v| v.starts_with('3')),
        "{r}"
    );
    for f in [
        "writes_per_sec",
        "p50_ms",
        "p99_ms",
        "p999_ms",
        "node_cpu_us_per_op",
    ] {
        assert!(r[f].as_f64().is_some_and(|x| x > 0.0), "{f}: {r}");
    }
    assert!(text.contains("writes/s ") && text.contains("errors 0"), "{text}");
    let left = processes_with(&token);
    assert!(left.is_empty(), "etcd members left running: {left:?}");
}

#[test]
fn missing_etcd_is_a_clear_error_with_exit_code_3() {
    let _serial = serial!();
    let empty = tempfile::tempdir().unwrap();
    let out = Command::new(cargo_bin("faultline"))
        .args(["bench", "etcd", "--secs", "1"])
        .env("PATH", empty.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("`etcd` is not installed"), "{err}");
    assert!(err.contains("apt-get install etcd-server"), "{err}");
    assert!(out.stdout.is_empty(), "{}", String::from_utf8_lossy(&out.stdout));
}
