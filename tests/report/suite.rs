//! `faultline suite` with a fake executor (outcomes, exit codes, junit.xml,
//! baselines) and one short real end-to-end suite through the binary.

use faultline::checker::{Anomaly, Validity, Verdict};
use faultline::report::suite::Baseline;
use faultline::report::suite::{
    run_suite, write_outputs, Outcome, SuiteFile, SuiteReport, TestExecutor, TestSpec,
};
use faultline::report::RunResults;
use std::collections::HashMap;
use std::path::Path;

/// Answers from a table keyed by (test name, seed); missing keys are harness errors.
struct Fake(HashMap<(String, u64), (Validity, Vec<&'static str>)>);

impl TestExecutor for Fake {
    fn execute(&self, spec: &TestSpec, seed: u64, _dir: &Path) -> Result<RunResults, String> {
        let (valid, kinds) = self
            .0
            .get(&(spec.name.clone(), seed))
            .ok_or_else(|| "fake: no such case".to_string())?;
        let mut v = Verdict::new("fake", *valid, "fake verdict");
        for k in kinds {
            v.anomalies.push(Anomaly {
                kind: k.to_string(),
                explanation: format!("value <script>&{k}</script>"),
                ops: vec![1],
                data: serde_json::Value::Null,
            });
        }
        Ok(RunResults {
            faultline_version: "test".into(),
            name: spec.name.clone(),
            valid: *valid,
            results: vec![v],
            test: serde_json::Value::Null,
            seed: Some(seed),
            ops: 2,
            duration_ms: 1.0,
            started_at: 0,
            replay: None,
            net: None,
            coverage: None,
            shards: None,
            warnings: vec![],
        })
    }
}

const SUITE: &str = r#"
[[test]]
name = "safe"
seeds = [1, 2]
expected = "valid"
[[test]]
name = "unsafe"
fsync = "never"
seeds = [1, 2]
expected = "invalid"
"#;

fn fake(entries: &[(&str, u64, Validity, Vec<&'static str>)]) -> Fake {
    Fake(
        entries
            .iter()
            .map(|(n, s, v, k)| ((n.to_string(), *s), (*v, k.clone())))
            .collect(),
    )
}

fn run(f: &Fake, baseline: Option<&Baseline>, out: &Path) -> SuiteReport {
    let suite = SuiteFile::parse(Path::new("suite.toml"), SUITE).unwrap();
    let r = run_suite(&suite, f, out, baseline, &mut |_| {});
    write_outputs(&r, out).unwrap();
    r
}

/// Parses junit.xml with Python's ElementTree and returns (tests, failures, errors, testcases).
fn junit_counts(path: &Path) -> (u32, u32, u32, u32) {
    let script = "import sys,xml.etree.ElementTree as E\nr=E.parse(sys.argv[1]).getroot()\ns=r.find('testsuite')\nprint(s.get('tests'),s.get('failures'),s.get('errors'),len(s.findall('testcase')))";
    let o = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(path)
        .output()
        .expect("python3");
    assert!(
        o.status.success(),
        "junit.xml rejected: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: Vec<u32> = String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect();
    (v[0], v[1], v[2], v[3])
}

#[test]
fn all_as_expected_passes_and_junit_parses() {
    let _serial = serial!();
    let d = tempfile::tempdir().unwrap();
    let f = fake(&[
        ("safe", 1, Validity::Valid, vec![]),
        ("safe", 2, Validity::Valid, vec![]),
        ("unsafe", 1, Validity::Invalid, vec!["lost-write"]),
        ("unsafe", 2, Validity::Invalid, vec!["lost-write"]),
    ]);
    let r = run(&f, None, d.path());
    assert_eq!(r.exit_code, 0);
    assert_eq!(r.count(Outcome::Pass), 4);
    assert_eq!(junit_counts(&d.path().join("junit.xml")), (4, 0, 0, 4));
    let md = std::fs::read_to_string(d.path().join("summary.md")).unwrap();
    assert!(md.contains("| unsafe | 2 |"), "{md}");
}

#[test]
fn expected_invalid_that_passes_fails_the_suite() {
    let _serial = serial!();
    let d = tempfile::tempdir().unwrap();
    let f = fake(&[
        ("safe", 1, Validity::Valid, vec![]),
        ("safe", 2, Validity::Valid, vec![]),
        ("unsafe", 1, Validity::Invalid, vec!["lost-write"]),
        ("unsafe", 2, Validity::Valid, vec![]),
    ]);
    let r = run(&f, None, d.path());
    assert_eq!(r.exit_code, 1);
    let failed: Vec<_> = r.cases.iter().filter(|c| c.outcome == Outcome::Fail).collect();
    assert_eq!(failed.len(), 1);
    assert_eq!((failed[0].test.as_str(), failed[0].seed), ("unsafe", 2));
    assert_eq!(junit_counts(&d.path().join("junit.xml")), (4, 1, 0, 4));
}

#[test]
fn anomalies_unknown_and_errors_map_to_exit_codes_and_junit() {
    let _serial = serial!();
    let d = tempfile::tempdir().unwrap();
    // safe seed 2 missing → harness error; unsafe 2 unknown; safe 1 has anomalies → fail.
    let f = fake(&[
        ("safe", 1, Validity::Invalid, vec!["stale-read"]),
        ("unsafe", 1, Validity::Invalid, vec!["lost-write"]),
        ("unsafe", 2, Validity::Unknown, vec![]),
    ]);
    let r = run(&f, None, d.path());
    assert_eq!(r.exit_code, 1);
    assert_eq!(junit_counts(&d.path().join("junit.xml")), (4, 1, 2, 4));
    let xml = std::fs::read_to_string(d.path().join("junit.xml")).unwrap();
    assert!(
        xml.contains("&lt;script&gt;&amp;stale-read"),
        "anomaly text escaped in failure"
    );
    assert!(!xml.contains("<script>"));

    let f = fake(&[
        ("safe", 1, Validity::Valid, vec![]),
        ("safe", 2, Validity::Valid, vec![]),
        ("unsafe", 1, Validity::Invalid, vec!["lost-write"]),
        ("unsafe", 2, Validity::Unknown, vec![]),
    ]);
    assert_eq!(run(&f, None, d.path()).exit_code, 2);
    let f = fake(&[
        ("safe", 1, Validity::Valid, vec![]),
        ("unsafe", 1, Validity::Invalid, vec!["lost-write"]),
        ("unsafe", 2, Validity::Unknown, vec![]),
    ]);
    assert_eq!(run(&f, None, d.path()).exit_code, 3);
}

#[test]
fn baseline_reports_only_new_kinds() {
    let _serial = serial!();
    let d = tempfile::tempdir().unwrap();
    let before = fake(&[
        ("safe", 1, Validity::Invalid, vec!["stale-read"]),
        ("safe", 2, Validity::Valid, vec![]),
        ("unsafe", 1, Validity::Invalid, vec!["lost-write"]),
        ("unsafe", 2, Validity::Invalid, vec!["lost-write"]),
    ]);
    let first = run(&before, None, &d.path().join("a"));
    assert_eq!(first.exit_code, 1);
    let base = Baseline::read(&d.path().join("a/suite.json")).unwrap();

    // Same known issue (on another seed): not new, suite passes.
    let same = fake(&[
        ("safe", 1, Validity::Valid, vec![]),
        ("safe", 2, Validity::Invalid, vec!["stale-read"]),
        ("unsafe", 1, Validity::Invalid, vec!["lost-write"]),
        ("unsafe", 2, Validity::Invalid, vec!["lost-write"]),
    ]);
    let r = run(&same, Some(&base), &d.path().join("b"));
    assert_eq!(r.exit_code, 0);
    assert_eq!(r.count(Outcome::Known), 1);
    assert!(r.cases.iter().all(|c| c.new_kinds.is_empty()));

    // A new kind on the known-bad test fails and is named.
    let newer = fake(&[
        ("safe", 1, Validity::Invalid, vec!["stale-read", "lost-write"]),
        ("safe", 2, Validity::Valid, vec![]),
        ("unsafe", 1, Validity::Invalid, vec!["lost-write", "G1c"]),
        ("unsafe", 2, Validity::Invalid, vec!["lost-write"]),
    ]);
    let r = run(&newer, Some(&base), &d.path().join("c"));
    assert_eq!(r.exit_code, 1);
    assert_eq!(r.cases[0].new_kinds, vec!["lost-write".to_string()]);
    assert_eq!(r.cases[0].outcome, Outcome::Fail);
    // Expected-invalid tests still pass; their new kinds are reported.
    assert_eq!(r.cases[2].outcome, Outcome::Pass);
    assert_eq!(r.cases[2].new_kinds, vec!["G1c".to_string()]);
}

#[test]
fn bad_suite_file_exits_3_naming_file_and_field() {
    let _serial = serial!();
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("bad.toml");
    std::fs::write(
        &p,
        "[[test]]\nname = 'a'\nseeds = [1]\nexpected = 'valid'\nnodes = 'three'\n",
    )
    .unwrap();
    let o = assert_cmd::Command::cargo_bin("faultline")
        .unwrap()
        .args(["suite"])
        .arg(&p)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bad.toml") && err.contains("nodes"), "{err}");
}

#[test]
fn real_suite_end_to_end() {
    let _serial = serial!();
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("e2e.toml");
    std::fs::write(
        &p,
        r#"
[[test]]
name = "safe-set"
workload = "set"
nemesis = "kill-all"
nemesis_interval = 2
nodes = 3
seeds = [1]
time_limit = 5
expected = "valid"

[[test]]
name = "fsync-never"
workload = "set"
nemesis = "kill-all"
nemesis_interval = 2
fsync = "never"
nodes = 3
seeds = [1]
time_limit = 5
expected = "invalid"
"#,
    )
    .unwrap();
    let out = d.path().join("out");
    let o = assert_cmd::Command::cargo_bin("faultline")
        .unwrap()
        .args(["suite"])
        .arg(&p)
        .arg("--out")
        .arg(&out)
        .env_remove("GITHUB_STEP_SUMMARY")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
    let r: SuiteReport =
        serde_json::from_str(&std::fs::read_to_string(out.join("suite.json")).unwrap()).unwrap();
    assert_eq!(r.cases.len(), 2);
    assert_eq!(r.cases[0].verdict, Some(Validity::Valid));
    assert_eq!(r.cases[1].verdict, Some(Validity::Invalid));
    assert!(!r.cases[1].anomaly_kinds.is_empty());
    assert_eq!(junit_counts(&out.join("junit.xml")), (2, 0, 0, 2));
    assert!(out.join("runs/fsync-never/seed-1/latest/results.json").exists());
}
