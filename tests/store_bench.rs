//! `faultline bench store` runs a real 3-node cluster and reports what it measured: both client
//! drivers (a thread per client, one event loop) complete writes without errors, and a read mix
//! reports reads. No speed is asserted here; figures belong in the issue notes.

use assert_cmd::Command;
use serde_json::Value;

fn bench(extra: &[&str]) -> Value {
    let out = Command::cargo_bin("faultline")
        .unwrap()
        .args(["bench", "store", "--secs", "1", "--clients", "4"])
        .args(extra)
        .timeout(std::time::Duration::from_secs(90))
        .output()
        .unwrap();
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
    serde_json::from_str(json).unwrap()
}

#[test]
fn both_client_drivers_complete_writes_without_errors() {
    for extra in [&[][..], &["--event-loop-clients"][..]] {
        let r = bench(extra);
        assert!(r["ok"].as_u64().unwrap() > 0, "{r}");
        assert_eq!(r["errors"], 0, "{r}");
        assert_eq!(r["event_loop_clients"], !extra.is_empty(), "{r}");
    }
}

#[test]
fn a_lease_read_mix_reports_reads() {
    let r = bench(&[
        "--reads-ratio",
        "0.5",
        "--read-mode",
        "lease",
        "--event-loop-clients",
    ]);
    assert!(r["reads_ok"].as_u64().unwrap() > 0, "{r}");
    assert!(r["ok"].as_u64().unwrap() > 0, "{r}");
    assert_eq!(r["read_mode"], "lease", "{r}");
}
