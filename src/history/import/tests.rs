//! Tests of detection, options and the shared finishing steps.

use super::*;
use serde_json::json;
use std::path::PathBuf;

const EDN: &str = "{:type :invoke, :f :write, :value 1, :process 0, :time 10, :index 5}\n\
{:type :ok, :f :write, :value 1, :process 0, :time 20, :index 6}\n";
const JSONL: &str = "{\"type\":\"invoke\",\"process\":0,\"f\":\"read\",\"time\":5}\n";
const ETCD: &str = "INFO  jepsen.util - 0\t:invoke\t:read\tnil\n";

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/histories/porcupine")
        .join(rel)
}

#[test]
fn detects_each_format() {
    assert_eq!(detect(EDN, "t").unwrap(), Format::Edn);
    assert_eq!(detect(JSONL, "t").unwrap(), Format::Jsonl);
    assert_eq!(detect(ETCD, "t").unwrap(), Format::PorcupineEtcd);
    assert_eq!(detect("; comment\n[{:type :ok}]", "t").unwrap(), Format::Edn);
    assert_eq!(detect("\n\n", "t").unwrap(), Format::Edn);
    let e = detect("hello world\n", "x.txt").unwrap_err().to_string();
    assert!(e.starts_with("x.txt:") && e.contains("--format"), "{e}");
}

#[test]
fn format_names() {
    assert_eq!("porcupine-kv".parse::<Format>().unwrap(), Format::Edn);
    assert_eq!("edn".parse::<Format>().unwrap(), Format::Edn);
    assert_eq!("jsonl".parse::<Format>().unwrap(), Format::Jsonl);
    assert_eq!("porcupine-etcd".parse::<Format>().unwrap(), Format::PorcupineEtcd);
    assert!("xml".parse::<Format>().is_err());
}

#[test]
fn reindexes_and_keeps_times() {
    let h = read_str(EDN, "t", None).unwrap();
    assert_eq!(h.ops.iter().map(|o| o.index).collect::<Vec<_>>(), vec![0, 1]);
    assert_eq!(h.ops.iter().map(|o| o.time).collect::<Vec<_>>(), vec![10, 20]);
}

#[test]
fn synthesises_missing_times() {
    let h = read_str(&format!("{ETCD}{ETCD}"), "t", None);
    // Two invocations of one process: the importer does not judge pairing.
    let h = h.unwrap();
    assert_eq!(h.ops[1].time, SYNTH_STEP_NS);
    let mixed = "{:type :invoke :process 0 :f :r :time 7}\n{:type :ok :process 0 :f :r}\n";
    let h = read_str(mixed, "t", None).unwrap();
    assert_eq!(h.ops[1].time, 7);
    let h = read_str(
        "{\"type\":\"invoke\",\"process\":0,\"f\":\"r\"}\n{\"type\":\"ok\",\"process\":0,\"f\":\"r\"}\n",
        "t",
        None,
    )
    .unwrap();
    assert_eq!(h.ops[1].time, SYNTH_STEP_NS);
}

#[test]
fn forced_format_wins_and_errors_name_the_file() {
    let e = read_str(ETCD, "a.log", Some(Format::Edn))
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("a.log:1:"), "{e}");
    let e = read_str(EDN, "a.edn", Some(Format::Jsonl))
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("a.edn:1:"), "{e}");
}

#[test]
fn input_without_ops_is_an_error() {
    for (text, format) in [
        ("", None),
        ("  \n", Some(Format::Edn)),
        ("[]", None),
        ("\r\r", None),
    ] {
        let e = read_str(text, "t", format).unwrap_err();
        assert!(matches!(e, ImportError::NoOps { .. }), "{text:?}: {e}");
    }
}

fn with(text: &str, independent: Independent) -> Result<History, ImportError> {
    import_str(
        text,
        "t",
        &ImportOptions {
            format: None,
            independent,
        },
    )
    .map(|i| i.history)
}

const INDEP: &str = "{:type :invoke :process 0 :f :read :value [3 nil]}\n\
{:type :ok :process 0 :f :read :value [3 7]}\n\
{:type :invoke :process 1 :f :cas :value [\"k\" [1 2]]}\n\
{:type :info :process 1 :f :cas :value :timed-out}\n\
{:type :info :process :nemesis :f :start :value [1 2]}\n";

#[test]
fn independent_auto_splits_unambiguous_tuples() {
    let h = with(INDEP, Independent::Auto).unwrap();
    assert_eq!(h.ops[0].key, Some(json!(3)));
    assert_eq!(h.ops[0].value, json!(null));
    assert_eq!(h.ops[1].value, json!(7));
    assert_eq!(h.ops[2].key, Some(json!("k")));
    assert_eq!(h.ops[2].value, json!([1, 2]));
    // The info completion takes its invocation's key; the nemesis is untouched.
    assert_eq!(h.ops[3].key, Some(json!("k")));
    assert_eq!(h.ops[4].key, None);
    assert_eq!(h.ops[4].value, json!([1, 2]));
    let kept = with(INDEP, Independent::Keep).unwrap();
    assert_eq!(kept.ops[0].key, None);
}

#[test]
fn independent_auto_leaves_ambiguous_histories() {
    // Only cas ops: `[old new]` is not a tuple.
    let cas =
        "{:type :invoke :process 0 :f :cas :value [1 2]}\n{:type :ok :process 0 :f :cas :value [1 2]}\n";
    assert_eq!(with(cas, Independent::Auto).unwrap().ops[0].key, None);
    assert_eq!(with(cas, Independent::Split).unwrap().ops[0].key, Some(json!(1)));
    // A read with a nil value: not independent.
    let reg =
        "{:type :invoke :process 0 :f :read :value nil}\n{:type :ok :process 0 :f :read :value [1 2]}\n";
    assert_eq!(with(reg, Independent::Auto).unwrap().ops[1].key, None);
    let e = with(reg, Independent::Split).unwrap_err().to_string();
    assert!(e.starts_with("t:1:") && e.contains("`value`"), "{e}");
    // Txn values: the first element is a vector, not a key.
    let txn = "{:type :invoke :process 0 :f :txn :value [[:r 1 nil] [:append 1 2]]}\n";
    assert_eq!(with(txn, Independent::Auto).unwrap().ops[0].key, None);
}

#[test]
fn non_utf8_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bin.log");
    std::fs::write(&p, b"ok\n\xff\xfe").unwrap();
    let e = read_path(&p, None).unwrap_err().to_string();
    assert!(e.contains("bin.log:2:") && e.contains("UTF-8"), "{e}");
    let e = read_path(&dir.path().join("missing"), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing"), "{e}");
}

#[test]
fn porcupine_etcd_fixture_counts() {
    let p = fixture("etcd/etcd_000.log");
    let text = std::fs::read_to_string(&p).unwrap();
    let imp = import_path(&p, &ImportOptions::default()).unwrap();
    assert_eq!(imp.format, Format::PorcupineEtcd);
    let h = &imp.history;
    assert_eq!(h.len(), text.lines().count());
    let invokes = text.lines().filter(|l| l.contains(":invoke")).count();
    assert_eq!(h.ops.iter().filter(|o| o.is_invoke()).count(), invokes);
    assert!(h.warnings.is_empty());
    assert!(crate::history::pair(h).is_ok());
}

#[test]
fn porcupine_kv_fixture_counts() {
    let p = fixture("kv/c10-ok.txt");
    let text = std::fs::read_to_string(&p).unwrap();
    let imp = import_path(&p, &ImportOptions::default()).unwrap();
    assert_eq!(imp.format, Format::Edn);
    let h = &imp.history;
    assert_eq!(h.len(), text.lines().filter(|l| !l.trim().is_empty()).count());
    assert!(h.ops.iter().all(|o| o.key.is_some()));
    assert!(crate::history::pair(h).is_ok());
}
