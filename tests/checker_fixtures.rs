//! Hand-written ok/bad fixture pairs, one pair per anomaly kind:
//! `tests/fixtures/checkers/<checker>/<kind>-{ok,bad}.jsonl`, with optional
//! `<kind>.params.json` (checker params) and `<kind>-{ok,bad}.nodes/*.log` (node logs).
//! The ok file must be valid; the bad file invalid with an anomaly of that kind.

use faultline::checker::{registry, CheckOptions, Validity};
use faultline::history::{jsonl, NodeEvents};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/checkers")
}

fn options(base: &Path, kind: &str, side: &str) -> CheckOptions {
    let mut o = CheckOptions::default();
    let params = base.join(format!("{kind}.params.json"));
    if params.exists() {
        o.params = serde_json::from_str(&std::fs::read_to_string(params).unwrap()).unwrap();
    }
    let nodes = base.join(format!("{kind}-{side}.nodes"));
    if nodes.is_dir() {
        let mut logs: Vec<PathBuf> = std::fs::read_dir(nodes)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        logs.sort();
        o.node_events = Some(Arc::new(NodeEvents::read(&logs)));
    }
    o
}

fn check_pairs(checker: &str) -> usize {
    let base = dir().join(checker);
    let c = registry::build(checker).unwrap();
    let mut kinds: Vec<String> = std::fs::read_dir(&base)
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix("-bad.jsonl").map(str::to_string))
        .collect();
    kinds.sort();
    for kind in &kinds {
        for side in ["ok", "bad"] {
            let path = base.join(format!("{kind}-{side}.jsonl"));
            let h = jsonl::read_file(&path).unwrap();
            let v = c.check(&h, &options(&base, kind, side));
            if side == "ok" {
                assert_eq!(v.valid, Validity::Valid, "{}: {v:#?}", path.display());
            } else {
                assert_eq!(v.valid, Validity::Invalid, "{}: {v:#?}", path.display());
                assert!(
                    v.anomalies.iter().any(|a| a.kind == *kind),
                    "{}: expected a `{kind}` anomaly, got {:?}",
                    path.display(),
                    v.anomalies.iter().map(|a| &a.kind).collect::<Vec<_>>()
                );
                assert!(v.anomalies.iter().all(|a| !a.explanation.is_empty()));
            }
        }
    }
    kinds.len()
}

#[test]
fn set_pairs() {
    assert_eq!(check_pairs("set"), 4);
}

#[test]
fn stale_pairs() {
    assert_eq!(check_pairs("stale"), 2);
}

#[test]
fn session_pairs() {
    assert_eq!(check_pairs("session"), 5);
}

#[test]
fn counter_pairs() {
    assert_eq!(check_pairs("counter"), 2);
}

#[test]
fn bank_pairs() {
    assert_eq!(check_pairs("bank"), 3);
}

#[test]
fn split_brain_pairs() {
    assert_eq!(check_pairs("split_brain"), 3);
}

#[test]
fn session_kinds_are_distinct() {
    // Each session fixture names exactly its own kind and no other session kind.
    let base = dir().join("session");
    let c = registry::build("session").unwrap();
    for kind in [
        "read-your-writes",
        "monotonic-reads",
        "monotonic-writes",
        "writes-follow-reads",
        "consistent-prefix",
    ] {
        let h = jsonl::read_file(&base.join(format!("{kind}-bad.jsonl"))).unwrap();
        let v = c.check(&h, &CheckOptions::default());
        let kinds: Vec<&str> = v.anomalies.iter().map(|a| a.kind.as_str()).collect();
        assert_eq!(kinds, vec![kind], "{kind}");
    }
}

#[test]
fn split_brain_without_logs_is_not_a_guess() {
    let base = dir().join("split_brain");
    let h = jsonl::read_file(&base.join("split-brain-bad.jsonl")).unwrap();
    let v = registry::build("split_brain")
        .unwrap()
        .check(&h, &CheckOptions::default());
    // n1, n2, n1 interleave: suspicious, but not proof without logs.
    assert_eq!(v.valid, Validity::Unknown, "{v:#?}");
    assert_eq!(v.details["suspected"].as_array().map(Vec::len), Some(1));
}

#[test]
fn an_exhausted_time_budget_is_unknown_not_a_verdict() {
    use faultline::checker::synth::{register_history, set_history, Shape};
    let opts = CheckOptions {
        time_limit: Some(std::time::Duration::ZERO),
        ..Default::default()
    };
    let shape = Shape {
        ops: 200_000,
        ..Default::default()
    };
    let set = set_history(&shape, 0.0001);
    let reg = register_history(&shape, 10);
    for (name, h) in [("set", &set), ("stale", &reg), ("session", &reg)] {
        let v = registry::build(name).unwrap().check(h, &opts);
        assert_eq!(v.valid, Validity::Unknown, "{name}: {}", v.summary);
        assert!(v.summary.contains("budget"), "{name}: {}", v.summary);
    }
}
