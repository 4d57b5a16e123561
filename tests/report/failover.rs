//! The report's failover side (issue 7): failover bands derived from node
//! events, lost writes attributed to windows, folding, `#t=` ranges and
//! `faultline report --junit`, on a matched pair of run directories
//! (tests/fixtures/report/{failover,no-failover}, written by
//! tests/fixtures/report/gen.py). Expected counts are read from the fixtures'
//! own results.json, not restated here.
//!
//! Chromium is required (CI installs Debian's `chromium`).

use assert_cmd::Command;
use faultline::report::chromium;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::support::report as report_common;
use report_common::assert_rendered;

const FAILOVER: &str = "tests/fixtures/report/failover";
const NO_FAILOVER: &str = "tests/fixtures/report/no-failover";

/// Runs `faultline report DIR --out OUT [--junit J]` and returns the page text.
fn report(dir: &Path, out: &Path, junit: Option<&Path>) -> String {
    let mut c = Command::cargo_bin("faultline").unwrap();
    c.arg("report").arg(dir).arg("--out").arg(out);
    if let Some(j) = junit {
        c.arg("--junit").arg(j);
    }
    c.assert().code(0);
    std::fs::read_to_string(out).unwrap()
}

/// The page's JSON data island.
fn island(page: &str) -> Value {
    let open = r#"<script type="application/json" id="fl-data">"#;
    let i = page.find(open).expect("data island") + open.len();
    let j = i + page[i..].find("</script>").unwrap();
    serde_json::from_str(&page[i..j]).unwrap()
}

fn results(dir: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(Path::new(dir).join("results.json")).unwrap()).unwrap()
}

/// The `lost-attribution` anomaly's data in a results.json.
fn attribution(r: &Value) -> Option<Value> {
    r["results"]
        .as_array()?
        .iter()
        .flat_map(|v| v["anomalies"].as_array().cloned().unwrap_or_default())
        .find(|a| a["kind"] == "lost-attribution")
        .map(|a| a["data"].clone())
}

/// `data-NAME="..."` values of every element with class `class` in `page`, in order.
fn rows(page: &str, class: &str, names: &[&str]) -> Vec<Vec<String>> {
    let needle = format!(r#"class="{class}""#);
    page.match_indices(&needle)
        .map(|(i, _)| {
            let tag = &page[i..i + page[i..].find('>').unwrap()];
            names
                .iter()
                .map(|n| {
                    let k = format!(r#"data-{n}=""#);
                    let s = tag
                        .find(&k)
                        .map(|s| s + k.len())
                        .unwrap_or_else(|| panic!("no data-{n} in {tag}"));
                    tag[s..s + tag[s..].find('"').unwrap()].to_string()
                })
                .collect()
        })
        .collect()
}

fn load(page: &Path, fragment: &str) -> chromium::Loaded {
    match chromium::dump_dom_at(page, fragment) {
        Ok(l) => l,
        Err(chromium::ChromiumError::NotFound) => panic!(
            "headless Chromium is required for the report tests: install it (Debian: apt-get install chromium) or set $CHROMIUM"
        ),
        Err(e) => panic!("loading {} in Chromium: {e}", page.display()),
    }
}

#[test]
fn failover_run_has_bands_matching_the_checker_windows() {
    let _serial = serial!();
    let d = tempfile::tempdir().unwrap();
    let page = report(Path::new(FAILOVER), &d.path().join("r.html"), None);
    let data = island(&page);
    let want = attribution(&results(FAILOVER)).unwrap();
    // Derived from nodes/*.log; the fixture's checker windows are the independent truth.
    let bands = data["failovers"].as_array().unwrap();
    let checker = want["windows"].as_array().unwrap();
    assert_eq!(bands.len(), checker.len());
    for (b, w) in bands.iter().zip(checker) {
        assert_eq!(b["epoch"], w["epoch"]);
        assert_eq!(b["start"].as_u64().unwrap(), w["start"].as_u64().unwrap() / 1000);
        assert_eq!(b["end"].as_u64().unwrap(), w["end"].as_u64().unwrap() / 1000);
        let label = format!(
            "failover epoch {} {}→{}",
            w["epoch"],
            w["from"].as_str().unwrap(),
            w["to"].as_str().unwrap()
        );
        assert_eq!(b["label"], label.as_str());
        assert!(page.contains(&label), "band label {label} not in the page text");
    }
    // One `#t=` link per band beside the timeline, one per window row in the table.
    assert_eq!(rows(&page, "window-row", &["epoch"]).len(), checker.len());
    let bands_div = &page[page.find(r#"<div class="bands">"#).unwrap()..];
    let bands_div = &bands_div[..bands_div.find("</div>").unwrap()];
    assert_eq!(bands_div.matches(r##"href="#t="##).count(), checker.len());
    // Leader / step-down markers per node; failover starts/ends are bands, not markers.
    let markers = data["markers"].as_array().unwrap();
    assert!(
        markers.iter().any(|m| m["event"] == "leader") && markers.iter().any(|m| m["event"] == "step-down")
    );
    assert!(markers
        .iter()
        .all(|m| !m["event"].as_str().unwrap().starts_with("failover")));
}

#[test]
fn failover_run_attributes_every_lost_write() {
    let _serial = serial!();
    let d = tempfile::tempdir().unwrap();
    let page = report(Path::new(FAILOVER), &d.path().join("r.html"), None);
    let want = attribution(&results(FAILOVER)).unwrap();
    let lost = want["lost"].as_array().unwrap();
    let s = |v: &Value| match v {
        Value::Null => "none".to_string(),
        Value::String(s) => s.clone(),
        v => v.to_string(),
    };
    let mut groups: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    for l in lost {
        let by = if l["acked_by"].is_null() {
            "unknown".into()
        } else {
            s(&l["acked_by"])
        };
        *groups.entry((s(&l["window"]), by, s(&l["phase"]))).or_default() += 1;
    }
    let got: BTreeMap<(String, String, String), usize> =
        rows(&page, "attr-row", &["window", "by", "phase", "count"])
            .into_iter()
            .map(|r| ((r[0].clone(), r[1].clone(), r[2].clone()), r[3].parse().unwrap()))
            .collect();
    assert_eq!(got, groups, "attribution table rows");
    assert!(groups.len() > 5, "the fixture should exercise folding");
    assert!(page.contains(&format!(
        "show all {} rows ({} more)",
        groups.len(),
        groups.len() - 5
    )));
    let summary = format!("{} acknowledged writes were lost", lost.len());
    assert!(page.contains(&summary), "summary sentence missing");
    // Every lost write is marked on the timeline, with its phase.
    let marks = island(&page)["lost"].as_array().unwrap().clone();
    assert_eq!(marks.len(), lost.len());
    let phases = ["before", "during", "after", "none"];
    for (m, l) in marks.iter().zip(lost) {
        assert_eq!(phases[m["phase"].as_u64().unwrap() as usize], l["phase"]);
        assert_eq!(m["op"], l["op"]);
    }
    // The set checker's `lost` anomalies fold past 5.
    let n_lost = results(FAILOVER)["results"][0]["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "lost")
        .count();
    assert!(n_lost > 5);
    assert!(page.contains(&format!("show all {n_lost} lost anomalies ({} more)", n_lost - 5)));
}

#[test]
fn no_failover_run_has_no_bands_and_no_table() {
    let _serial = serial!();
    let d = tempfile::tempdir().unwrap();
    let page = report(Path::new(NO_FAILOVER), &d.path().join("r.html"), None);
    assert!(attribution(&results(NO_FAILOVER)).is_none());
    let data = island(&page);
    assert_eq!(data["failovers"].as_array().unwrap().len(), 0);
    assert_eq!(data["lost"].as_array().unwrap().len(), 0);
    // The markup only (the page script's own text mentions failovers).
    let markup = &page[..page.find(r#"<script type="application/json""#).unwrap()];
    for absent in [
        r#"id="failovers""#,
        r#"class="attr-row""#,
        "band-link",
        r#"<div class="bands">"#,
        "sw failover",
        "Failovers",
    ] {
        assert!(!markup.contains(absent), "{absent} in a run without failovers");
    }
    // Its node logs still reach the page (leader marker of n1).
    assert!(data["markers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["event"] == "leader"));
}

/// Copies a fixture run dir into `to`.
fn copy_run(from: &str, to: &Path) {
    std::fs::create_dir_all(to.join("nodes")).unwrap();
    for f in ["history.jsonl", "results.json", "test.toml"] {
        std::fs::copy(Path::new(from).join(f), to.join(f)).unwrap();
    }
    for e in std::fs::read_dir(Path::new(from).join("nodes")).unwrap() {
        let p: PathBuf = e.unwrap().path();
        std::fs::copy(&p, to.join("nodes").join(p.file_name().unwrap())).unwrap();
    }
}

#[test]
fn hostile_attribution_values_stay_text() {
    let _serial = serial!();
    let evil1 = "<script>alert(1)</script>";
    let evil2 = "\"><img src=x onerror=alert(1)>";
    let d = tempfile::tempdir().unwrap();
    let run = d.path().join("run");
    copy_run(FAILOVER, &run);
    let mut r = results(FAILOVER);
    for v in r["results"].as_array_mut().unwrap() {
        for a in v["anomalies"].as_array_mut().unwrap() {
            if a["kind"] == "lost-attribution" {
                for l in a["data"]["lost"].as_array_mut().unwrap() {
                    l["element"] = evil1.into();
                    l["acked_by"] = evil2.into();
                }
                a["data"]["windows"][0]["from"] = evil2.into();
            }
        }
    }
    std::fs::write(run.join("results.json"), r.to_string()).unwrap();
    let line =
        serde_json::json!({"event": "failover-start", "node": evil2, "term": 9, "time": 10_500_000_000u64});
    let leader = serde_json::json!({"event": "leader", "node": evil1, "term": 9, "time": 10_700_000_000u64});
    std::fs::write(run.join("nodes").join("evil.log"), format!("{line}\n{leader}\n")).unwrap();
    let page_path = d.path().join("r.html");
    let page = report(&run, &page_path, None);
    assert!(!page.contains("<img"), "raw page holds an <img> tag");
    assert!(!page.contains("<script>alert"), "raw page holds a live <script>");
    assert_eq!(
        page.matches("<script").count(),
        2,
        "only the data island and the page script"
    );
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(page.contains(&faultline::report::escape_html(evil2)));
    let l = load(&page_path, "");
    assert_rendered(&l, &[]);
    assert!(!l.dom.contains("<img"), "an <img> element was injected");
    assert_eq!(
        l.dom.matches("<script").count(),
        2,
        "a <script> element was injected"
    );
}

#[test]
fn failover_page_renders_in_chromium_and_honours_a_time_fragment() {
    let _serial = serial!();
    let d = tempfile::tempdir().unwrap();
    let page_path = d.path().join("r.html");
    let page = report(Path::new(FAILOVER), &page_path, None);
    let l = load(&page_path, "");
    assert_rendered(&l, &[]);
    for id in ["failovers", "attribution", "timeline", "tl-canvas", "lat-canvas"] {
        assert!(l.dom.contains(&format!("id=\"{id}\"")), "#{id} missing");
    }
    // The first band's own link selects its range: the script zooms there and says so.
    let i = page.find(r##"class="band-link" href="#t="##).unwrap();
    let frag = page[i..]
        .split("href=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let l = load(&page_path, &frag);
    assert_rendered(&l, &[]);
    let nums: Vec<f64> = frag
        .trim_start_matches("#t=")
        .split(',')
        .map(|x| x.parse().unwrap())
        .collect();
    let link = format!(r##"id="view-link" href="#t={:.3},{:.3}""##, nums[0], nums[1]);
    assert!(l.dom.contains(&link), "view not set from {frag}; expected {link}");
    // A malformed fragment is ignored (whole run shown), not an error.
    let l = load(&page_path, "#t=oops,<b>");
    assert_rendered(&l, &[]);
    assert!(l.dom.contains(r##"id="view-link" href="#t=0.000,"##));
}

/// (tests, failures, errors, [(case name, failure message or "")]) via Python's ElementTree.
fn junit(path: &Path) -> (u32, u32, u32, Vec<(String, String)>) {
    let script = "import sys,xml.etree.ElementTree as E\nr=E.parse(sys.argv[1]).getroot()\ns=r.find('testsuite')\nprint(s.get('tests'),s.get('failures'),s.get('errors'))\nfor c in s.findall('testcase'):\n  f=c.find('failure')\n  print(c.get('name')+'\\t'+(f.get('message') if f is not None else ''))";
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(path)
        .output()
        .expect("python3 is needed to parse junit.xml");
    assert!(
        out.status.success(),
        "junit.xml rejected: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    let head: Vec<u32> = lines
        .next()
        .unwrap()
        .split(' ')
        .map(|x| x.parse().unwrap())
        .collect();
    let cases = lines
        .map(|l| {
            let (a, b) = l.split_once('\t').unwrap();
            (a.to_string(), b.to_string())
        })
        .collect();
    (head[0], head[1], head[2], cases)
}

#[test]
fn junit_has_one_case_per_checker_and_the_right_failures() {
    let _serial = serial!();
    for dir in [FAILOVER, NO_FAILOVER] {
        let d = tempfile::tempdir().unwrap();
        let j = d.path().join("junit.xml");
        report(Path::new(dir), &d.path().join("r.html"), Some(&j));
        let r = results(dir);
        let checkers = r["results"].as_array().unwrap();
        let (tests, failures, errors, cases) = junit(&j);
        assert_eq!(tests as usize, checkers.len(), "{dir}");
        assert_eq!(errors, 0, "{dir}");
        let want_fail: Vec<(String, String)> = checkers
            .iter()
            .map(|v| {
                let msg = if v["valid"] == false {
                    v["summary"].as_str().unwrap().to_string()
                } else {
                    String::new()
                };
                (v["checker"].as_str().unwrap().to_string(), msg)
            })
            .collect();
        assert_eq!(cases, want_fail, "{dir}");
        assert_eq!(
            failures as usize,
            want_fail.iter().filter(|c| !c.1.is_empty()).count(),
            "{dir}"
        );
    }
}

#[test]
fn junit_to_an_unwritable_path_is_exit_3() {
    let _serial = serial!();
    let d = tempfile::tempdir().unwrap();
    Command::cargo_bin("faultline")
        .unwrap()
        .arg("report")
        .arg(FAILOVER)
        .arg("--out")
        .arg(d.path().join("r.html"))
        .arg("--junit")
        .arg(d.path().join("no-such-dir").join("j.xml"))
        .assert()
        .code(3)
        .stderr(predicates::str::contains("j.xml"));
}

/// The committed fixtures are exactly what gen.py writes (nobody hand-edited them).
#[test]
fn fixtures_match_their_generator() {
    let _serial = serial!();
    let d = tempfile::tempdir().unwrap();
    let out = std::process::Command::new("python3")
        .arg("tests/fixtures/report/gen.py")
        .arg(d.path())
        .output()
        .expect("python3 is needed to run the fixture generator");
    assert!(
        out.status.success(),
        "gen.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (dir, name) in [(FAILOVER, "failover"), (NO_FAILOVER, "no-failover")] {
        let mut files = vec![
            "history.jsonl".to_string(),
            "results.json".into(),
            "test.toml".into(),
        ];
        for e in std::fs::read_dir(Path::new(dir).join("nodes")).unwrap() {
            files.push(format!("nodes/{}", e.unwrap().file_name().to_string_lossy()));
        }
        let generated = std::fs::read_dir(d.path().join(name).join("nodes"))
            .unwrap()
            .count();
        assert_eq!(generated + 3, files.len(), "{name}: node log sets differ");
        for f in files {
            let a = std::fs::read(Path::new(dir).join(&f)).unwrap();
            let b = std::fs::read(d.path().join(name).join(&f)).unwrap_or_default();
            assert!(
                a == b,
                "{dir}/{f} differs from what gen.py writes: rerun python3 tests/fixtures/report/gen.py"
            );
        }
    }
}
