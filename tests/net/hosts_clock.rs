//! `--set-host-clocks`: clock offsets stepping each host's system clock with `date -s`, for a
//! system with no clock of its own on hosts (the command example). The namespace hosts
//! share this machine's kernel, so every host runs a fake `date` that only logs the steps
//! it is asked for (`SshHosts::with_fake_clocks`): no test here ever sets a real clock.
//! Without the flag the fault is refused naming it; with it the steps happen, each host's
//! net offset is back to 0 after the run, and `cleanup --hosts` steps back what a
//! SIGKILLed harness left.

use super::hosts_external::{finished_run, hit, text};
use crate::support::runner::{code, history};
use crate::support::sshhosts::SshHosts;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("targets/command-example.toml")
}

/// `faultline test` of the command example on `hosts`, clock faults every second.
fn args<'a>(def: &'a Path, hosts: &'a Path, store: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec![
        "test",
        "--target",
        def.to_str().unwrap(),
        "--workload",
        "register",
        "--nemesis-interval",
        "1",
        "--concurrency",
        "3",
        "--rate",
        "20",
        "--op-timeout-ms",
        "3000",
        "--seed",
        "1",
        "--hosts",
        hosts.to_str().unwrap(),
        "--store-dir",
        store.to_str().unwrap(),
    ];
    a.extend(extra);
    a
}

/// Each host's net offset (ns) with its number of steps.
fn offsets(h: &SshHosts, n: usize) -> Vec<(i64, usize)> {
    (0..n)
        .map(|i| {
            let s = h.clock_steps(i);
            (s.iter().sum(), s.len())
        })
        .collect()
}

#[test]
fn clock_faults_step_host_clocks_only_with_set_host_clocks_and_every_step_is_undone() {
    let _serial = serial!();
    let h = SshHosts::with_fake_clocks(3);
    let hosts = h.hosts_file("hosts.toml", "id", &[]);
    let store = h.path().join("store");
    let def = example();
    // Without the flag: refused before anything starts, naming the flag.
    let o = h.run(&args(
        &def,
        &hosts,
        &store,
        &["--nemesis", "clock", "--time-limit", "2"],
    ));
    assert_eq!(code(&o), 3, "{}", text(&o));
    let msg = text(&o);
    eprintln!("without the flag: {msg}");
    assert!(
        msg.contains("clock offsets") && msg.contains("--set-host-clocks"),
        "{msg}"
    );
    // Clock rates stay refused with it, stating the one rule.
    let o = h.run(&args(
        &def,
        &hosts,
        &store,
        &[
            "--nemesis",
            "clock-drift",
            "--set-host-clocks",
            "--time-limit",
            "2",
        ],
    ));
    assert_eq!(code(&o), 3, "{}", text(&o));
    let msg = text(&o);
    assert!(
        msg.contains("clock rates") && msg.contains("one rule for clock and clock-drift"),
        "{msg}"
    );
    // The flag without --hosts.
    let o = h.run(&["test", "--set-host-clocks", "--time-limit", "1"]);
    assert_eq!(code(&o), 3, "{}", text(&o));
    assert!(text(&o).contains("--set-host-clocks"), "{}", text(&o));
    assert!(
        offsets(&h, 3).iter().all(|(_, k)| *k == 0),
        "a refused run stepped a clock"
    );
    // With it: the hosts' clocks are stepped, and stepped back.
    let o = h.run(&args(
        &def,
        &hosts,
        &store,
        &["--nemesis", "clock", "--set-host-clocks", "--time-limit", "6"],
    ));
    assert!(matches!(code(&o), 0..=2), "{}", text(&o));
    let dir = finished_run(&h, &store, 3);
    let hist = history(&dir);
    assert!(
        hit(&hist, "clock-bump") || hit(&hist, "clock-strobe"),
        "no clock fault took effect: {}",
        text(&o)
    );
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    let took: u64 = results["coverage"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "clock")
        .map(|r| r["took_effect"].as_u64().unwrap())
        .sum();
    assert!(took > 0, "coverage: {}", results["coverage"]["rows"]);
    let offs = offsets(&h, 3);
    eprintln!("net offset (ns) and steps per host: {offs:?}");
    assert!(
        offs.iter().any(|(_, k)| *k >= 2),
        "no host stepped and back: {offs:?}"
    );
    for (i, (net, k)) in offs.iter().enumerate() {
        assert_eq!(
            *net,
            0,
            "host {i}: net offset after {k} steps: {:?}",
            h.clock_steps(i)
        );
    }
}

#[test]
fn cleanup_hosts_steps_back_the_clock_a_killed_harness_left_stepped() {
    let _serial = serial!();
    let h = SshHosts::with_fake_clocks(3);
    let hosts = h.hosts_file("hosts.toml", "id", &[]);
    let store = h.path().join("store");
    let def = example();
    // Bumps only, on every node: a clock stays off until the next reset.
    let mut child = h
        .faultline(&args(
            &def,
            &hosts,
            &store,
            &[
                "--nemesis",
                "clock:all",
                "--set-host-clocks",
                "--time-limit",
                "60",
            ],
        ))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stepped = |h: &SshHosts| offsets(h, 3).iter().any(|(net, _)| net.abs() > 100_000_000);
    let up = (0..600).any(|_| {
        std::thread::sleep(Duration::from_millis(50));
        stepped(&h)
    });
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(up, "no host clock was stepped within 30 s");
    // A step in flight when the harness died still finishes on its host.
    std::thread::sleep(Duration::from_secs(1));
    let left = offsets(&h, 3);
    let o = h.run(&["cleanup", "--hosts", hosts.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let out = text(&o);
    eprintln!("left (ns, steps): {left:?}\n{out}");
    for (i, ((before, k), (after, k2))) in left.iter().zip(offsets(&h, 3)).enumerate() {
        let named = out.lines().any(|l| {
            l.starts_with(&format!("host h{}:", i + 1)) && l.contains("host clock stepped back from")
        });
        if *before != 0 {
            let line = format!("host clock stepped back from {:+} ms to 0", before / 1_000_000);
            assert!(
                named && out.contains(&line),
                "host {i} was left {before} ns off: {out}"
            );
            assert_eq!(k2, k + 1, "host {i}: one step back");
        }
        assert_eq!(after, 0, "host {i}: net offset after cleanup: {out}");
        let dirs: Vec<_> = std::fs::read_dir(h.host_dir(i))
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .filter(|n| n != "bin")
            .collect();
        assert!(dirs.is_empty(), "host {i} keeps {dirs:?}");
    }
}

#[test]
fn a_ctrl_c_steps_every_host_clock_back_before_the_run_ends() {
    let _serial = serial!();
    let h = SshHosts::with_fake_clocks(3);
    let hosts = h.hosts_file("hosts.toml", "id", &[]);
    let store = h.path().join("store");
    let def = example();
    let mut child = h
        .faultline(&args(
            &def,
            &hosts,
            &store,
            &[
                "--nemesis",
                "clock:all",
                "--set-host-clocks",
                "--time-limit",
                "60",
            ],
        ))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let up = (0..600).any(|_| {
        std::thread::sleep(Duration::from_millis(50));
        offsets(&h, 3).iter().any(|(net, _)| net.abs() > 100_000_000)
    });
    // SAFETY: a plain signal to the harness this test started.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let status = child.wait().unwrap();
    assert!(up, "no host clock was stepped within 30 s");
    assert!(matches!(status.code(), Some(0..=2)), "{status:?}");
    finished_run(&h, &store, 3);
    for (i, (net, k)) in offsets(&h, 3).iter().enumerate() {
        assert_eq!(*net, 0, "host {i}: net offset after {k} steps and a Ctrl-C");
    }
}
