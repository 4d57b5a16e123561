//! Importers over the Porcupine corpus: every file listed in expected.tsv
//! imports in its format, pairs cleanly, and survives a JSONL round trip both
//! in the library and through `faultline convert`.

use assert_cmd::Command;
use faultline::history::import::{self, Format, ImportOptions};
use faultline::history::{jsonl, pair, History, OpType};
use std::path::{Path, PathBuf};

fn corpus() -> Vec<(PathBuf, Format)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/histories/porcupine");
    let tsv = std::fs::read_to_string(dir.join("expected.tsv")).unwrap();
    let rows: Vec<_> = tsv
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            (dir.join(cols[0]), cols[1].parse::<Format>().unwrap())
        })
        .collect();
    assert_eq!(rows.len(), 56, "50 etcd logs and 6 kv files");
    rows
}

fn import(path: &Path) -> import::Imported {
    import::import_path(path, &ImportOptions::default()).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_fixture_imports_in_its_format_and_pairs() {
    let _serial = serial!();
    for (path, format) in corpus() {
        let imp = import(&path);
        let h = &imp.history;
        assert_eq!(imp.format, format, "{}", path.display());
        assert!(h.warnings.is_empty(), "{}: {:?}", path.display(), h.warnings);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(h.len(), text.lines().filter(|l| !l.trim().is_empty()).count());
        assert!(h.ops.iter().enumerate().all(|(i, o)| o.index == i as u64));
        assert!(h.ops.windows(2).all(|w| w[0].time < w[1].time));
        assert!(pair(h).is_ok(), "{}", path.display());
        match format {
            Format::PorcupineEtcd => {
                assert!(h
                    .ops
                    .iter()
                    .all(|o| ["read", "write", "cas"].contains(&o.f.as_str())));
                // Every info completion carries its invocation's value and the reason.
                for o in h.ops.iter().filter(|o| o.ty == OpType::Info) {
                    assert_eq!(o.error.as_deref(), Some("timed-out"));
                    assert!(!o.value.is_string(), "{}: {o:?}", path.display());
                }
            }
            _ => {
                assert!(h
                    .ops
                    .iter()
                    .all(|o| o.key.as_ref().is_some_and(|k| k.is_string())));
                assert!(h
                    .ops
                    .iter()
                    .all(|o| ["get", "put", "append"].contains(&o.f.as_str())));
            }
        }
    }
}

fn read_back(bytes: &[u8]) -> History {
    let text = std::str::from_utf8(bytes).unwrap();
    import::read_str(text, "converted", Some(Format::Jsonl)).unwrap()
}

#[test]
fn jsonl_round_trip_in_the_library() {
    let _serial = serial!();
    for (path, _) in corpus() {
        let h = import(&path).history;
        let mut out = Vec::new();
        jsonl::write(&h, &mut out).unwrap();
        assert_eq!(read_back(&out).ops, h.ops, "{}", path.display());
    }
}

#[test]
fn convert_round_trip_over_the_corpus() {
    let _serial = serial!();
    let dir = tempfile::tempdir().unwrap();
    for (i, (path, _)) in corpus().into_iter().enumerate() {
        let out = dir.path().join(format!("{i}.jsonl"));
        Command::cargo_bin("faultline")
            .unwrap()
            .arg("convert")
            .arg(&path)
            .arg(&out)
            .assert()
            .code(0);
        let back = import::read_path(&out, None).unwrap();
        assert_eq!(back.ops, import(&path).history.ops, "{}", path.display());
    }
}

#[test]
fn convert_to_stdout_and_bad_input() {
    let _serial = serial!();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let out = Command::cargo_bin("faultline")
        .unwrap()
        .args(["convert", "--format", "porcupine-etcd"])
        .arg(dir.join("histories/porcupine/etcd/etcd_040.log"))
        .arg("-")
        .assert()
        .code(0)
        .get_output()
        .clone();
    let h = read_back(&out.stdout);
    assert!(!h.is_empty());
    let err = Command::cargo_bin("faultline")
        .unwrap()
        .arg("convert")
        .arg(dir.join("history/unknown-type-bad.edn"))
        .arg("-")
        .assert()
        .code(3)
        .get_output()
        .clone();
    let err = String::from_utf8_lossy(&err.stderr);
    assert!(err.contains("unknown-type-bad.edn:2:"), "{err}");
}
