//! Every Porcupine corpus history gets its expected verdict: etcd logs with
//! `cas-register`, kv files with `kv`, and kv again with partitioning off
//! under a budget (there `unknown` is acceptable, the wrong verdict is not).

use faultline::checker::linearizable::check;
use faultline::checker::{CheckOptions, Validity};
use faultline::history::import::read_path;
use std::path::Path;
use std::time::Duration;

const CORPUS: &str = "tests/fixtures/histories/porcupine";

fn expected() -> Vec<(String, String, Validity)> {
    let text = std::fs::read_to_string(Path::new(CORPUS).join("expected.tsv")).unwrap();
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let v = match f[3] {
                "valid" => Validity::Valid,
                "invalid" => Validity::Invalid,
                other => panic!("bad expected verdict {other}"),
            };
            (f[0].to_string(), f[2].to_string(), v)
        })
        .collect()
}

fn opts(model: &str, partition: bool) -> CheckOptions {
    CheckOptions {
        model: Some(model.to_string()),
        partition,
        ..CheckOptions::default()
    }
}

#[test]
fn corpus_gets_expected_verdicts() {
    let _serial = serial!();
    let all = expected();
    assert!(all.len() >= 56, "expected.tsv lists {} files", all.len());
    for (file, model, want) in all {
        let h = read_path(&Path::new(CORPUS).join(&file), None).unwrap();
        let v = check(&h, &opts(&model, true)).unwrap();
        assert_eq!(v.valid, want, "{file}: {}", v.summary);
        if want == Validity::Invalid {
            let a = &v.anomalies[0];
            assert_eq!(a.kind, "nonlinearizable");
            assert!(!a.ops.is_empty(), "{file}: witness names no ops");
            assert!(a.data["prefix"].is_array(), "{file}: no prefix");
        }
    }
}

#[test]
fn kv_without_partitioning_never_wrong() {
    let _serial = serial!();
    for (file, model, want) in expected() {
        if model != "kv" {
            continue;
        }
        let h = read_path(&Path::new(CORPUS).join(&file), None).unwrap();
        let mut o = opts(&model, false);
        o.time_limit = Some(Duration::from_secs(5));
        o.memory_limit = Some(1 << 30);
        let v = check(&h, &o).unwrap();
        let small = !file.contains("c50");
        if small {
            assert_eq!(v.valid, want, "{file} (no partition): {}", v.summary);
        } else {
            assert_ne!(
                v.valid,
                if want == Validity::Valid {
                    Validity::Invalid
                } else {
                    Validity::Valid
                },
                "{file} (no partition): wrong verdict: {}",
                v.summary
            );
        }
        assert_eq!(v.details["partitioned"], false);
    }
}
