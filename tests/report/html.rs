//! The HTML report in a real browser: a failing run's page renders in headless
//! Chromium without script errors and shows its sections; hostile history
//! values stay text; `faultline report` and `check --html` write pages and
//! reject bad input with exit code 3.
//!
//! Chromium is required (CI installs Debian's `chromium`); without it these
//! tests fail and say how to install it.

use assert_cmd::Command;
use faultline::checker::{Anomaly, Validity, Verdict};
use faultline::history::{jsonl, History, Op, OpType, Process};
use faultline::report::{chromium, example, html};
use serde_json::json;
use std::path::Path;

use crate::support::report as report_common;
use report_common::assert_rendered;

fn load(page: &Path) -> chromium::Loaded {
    match chromium::dump_dom(page) {
        Ok(l) => l,
        Err(chromium::ChromiumError::NotFound) => panic!(
            "headless Chromium is required for the report tests: install it (Debian: apt-get install chromium) or set $CHROMIUM"
        ),
        Err(e) => panic!("loading {} in Chromium: {e}", page.display()),
    }
}

#[test]
fn failing_run_renders_in_chromium_with_all_sections() {
    let _serial = serial!();
    let (h, r) = example::failing_run(3000, 6, 7);
    assert_eq!(r.valid, Validity::Invalid);
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    std::fs::write(&page, html::render(&h, &r)).unwrap();
    let l = load(&page);
    assert_rendered(
        &l,
        &[
            "summary",
            "anomalies",
            "timeline",
            "tl-canvas",
            "perf",
            "anomaly-1",
            "anomaly-2",
        ],
    );
    // The linearizability witness and the Elle cycle are both explained.
    assert!(
        l.dom.contains("nonlinearizable"),
        "linearizability anomaly missing"
    );
    assert!(l.dom.contains("<svg"), "Elle cycle graph missing");
}

fn hostile_run() -> (History, faultline::report::RunResults) {
    let evil1 = "<script>alert(1)</script>";
    let evil2 = "\"><img src=x onerror=alert(1)>";
    let mut ops = vec![
        Op::new(OpType::Invoke, Process::Client(0), "write", json!(evil1))
            .with_key(json!(evil2))
            .with_time(10),
        Op::new(OpType::Ok, Process::Client(0), "write", json!(evil1))
            .with_key(json!(evil2))
            .with_time(20),
        Op::new(OpType::Invoke, Process::Client(1), evil2, json!({ evil2: evil1 })).with_time(30),
        Op::new(OpType::Info, Process::Client(1), evil2, json!({ evil2: evil1 })).with_time(40),
        Op::new(OpType::Invoke, Process::Nemesis, evil1, json!(evil2)).with_time(15),
        Op::new(OpType::Info, Process::Nemesis, evil1, json!(evil2)).with_time(35),
    ];
    ops[3].error = Some(evil2.to_string());
    ops.sort_by_key(|o| o.time);
    let mut h = History::new(ops);
    h.reindex();
    let (_, mut r) = example::failing_run(200, 2, 1);
    r.name = evil1.to_string();
    r.test = json!({ "target": evil1, "workload": evil2 });
    let mut v = Verdict::new(evil1, Validity::Invalid, evil2);
    v.push_anomaly(Anomaly {
        kind: evil2.to_string(),
        explanation: evil1.to_string(),
        ops: vec![0, 1],
        data: json!({ "cycle": evil1, "prefix": [evil2] }),
    });
    r.results = vec![v];
    r.warnings = vec![evil1.to_string()];
    (h, r)
}

#[test]
fn hostile_values_appear_only_as_text() {
    let _serial = serial!();
    let (h, r) = hostile_run();
    let page_text = html::render(&h, &r);
    // Raw page: no live tag built from a history value, anywhere (data island included).
    assert!(
        !page_text.contains("<script>alert"),
        "raw page holds a live <script>"
    );
    assert!(!page_text.contains("<img"), "raw page holds an <img> tag");
    assert_eq!(
        page_text.matches("<script").count(),
        2,
        "only the data island and the page script"
    );
    assert!(
        page_text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "hostile value not shown as text"
    );

    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    std::fs::write(&page, &page_text).unwrap();
    let l = load(&page);
    assert_rendered(&l, &["summary", "anomalies", "timeline"]);
    // The browser built no element from the values: no <img>, still exactly two scripts.
    assert!(!l.dom.contains("<img"), "an <img> element was injected");
    assert_eq!(
        l.dom.matches("<script").count(),
        2,
        "a <script> element was injected"
    );
    assert!(
        l.dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "hostile value not rendered as text"
    );
}

#[test]
fn check_html_writes_a_page_for_an_etcd_history() {
    let _serial = serial!();
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("etcd.html");
    Command::cargo_bin("faultline")
        .unwrap()
        .args(["check", "--html"])
        .arg(&page)
        .arg("tests/fixtures/histories/porcupine/etcd/etcd_000.log")
        .assert()
        .code(1);
    let l = load(&page);
    assert_rendered(&l, &["summary", "anomalies", "timeline", "anomaly-1"]);
    assert!(
        l.dom.contains("longest linearizable prefix"),
        "witness prefix not shown"
    );
}

#[test]
fn report_subcommand_writes_report_html_into_a_run_dir() {
    let _serial = serial!();
    let (h, r) = example::failing_run(400, 3, 2);
    let dir = tempfile::tempdir().unwrap();
    jsonl::write_file(&h, &dir.path().join("history.jsonl")).unwrap();
    std::fs::write(
        dir.path().join("results.json"),
        serde_json::to_string(&r).unwrap(),
    )
    .unwrap();
    Command::cargo_bin("faultline")
        .unwrap()
        .arg("report")
        .arg(dir.path())
        .assert()
        .code(0);
    let text = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert!(text.contains("id=\"timeline\"") && text.contains("id=\"anomaly-1\""));
}

#[test]
fn report_subcommand_rejects_bad_dirs_with_exit_3() {
    let _serial = serial!();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    Command::cargo_bin("faultline")
        .unwrap()
        .arg("report")
        .arg(&missing)
        .assert()
        .code(3)
        .stderr(predicates::str::contains("not a run directory"));
    // A directory without history.jsonl names the missing file.
    Command::cargo_bin("faultline")
        .unwrap()
        .arg("report")
        .arg(dir.path())
        .assert()
        .code(3)
        .stderr(predicates::str::contains("history.jsonl"));
    // A corrupt results.json is named as such.
    jsonl::write_file(
        &example::failing_run(50, 2, 3).0,
        &dir.path().join("history.jsonl"),
    )
    .unwrap();
    std::fs::write(dir.path().join("results.json"), "{not json").unwrap();
    Command::cargo_bin("faultline")
        .unwrap()
        .arg("report")
        .arg(dir.path())
        .assert()
        .code(3)
        .stderr(predicates::str::contains("results.json"));
}
