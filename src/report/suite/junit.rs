//! JUnit XML for a suite: one `<testcase>` per test × seed, the case's anomalies and replay
//! command in the failure text.

use super::results::{CaseResult, Outcome, SuiteReport};
use crate::report::junit::escape;
use std::fmt::Write;

fn body(c: &CaseResult) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "{}", c.message);
    let _ = writeln!(t, "expected {}, verdict {}", c.expected, verdict(c));
    if !c.new_kinds.is_empty() {
        let _ = writeln!(t, "new since baseline: {}", c.new_kinds.join(", "));
    }
    for a in &c.anomalies {
        let _ = writeln!(t, "[{}] {}: {}", a.checker, a.kind, a.explanation);
    }
    if let Some(r) = &c.replay {
        let _ = writeln!(t, "replay: {r}");
    }
    let _ = writeln!(t, "store: {}", c.store_dir);
    t
}

pub fn verdict(c: &CaseResult) -> String {
    c.verdict
        .map(|v| v.to_string())
        .unwrap_or_else(|| "harness error".into())
}

/// Renders the whole document.
pub fn render(r: &SuiteReport) -> String {
    let fails = r.count(Outcome::Fail);
    let errors = r.count(Outcome::Error) + r.count(Outcome::Unknown);
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"faultline\" tests=\"{}\" failures=\"{fails}\" errors=\"{errors}\" time=\"{:.3}\">",
        r.cases.len(),
        r.duration_s
    );
    let _ = writeln!(
        x,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{fails}\" errors=\"{errors}\" skipped=\"0\" time=\"{:.3}\">",
        escape(&r.suite_file),
        r.cases.len(),
        r.duration_s
    );
    for c in &r.cases {
        let _ = write!(
            x,
            "    <testcase classname=\"faultline.{}\" name=\"{} seed={}\" time=\"{:.3}\"",
            escape(&c.test),
            escape(&c.test),
            c.seed,
            c.duration_s
        );
        let (tag, ty) = match c.outcome {
            Outcome::Pass => (None, ""),
            Outcome::Known => (None, ""),
            Outcome::Fail => (Some("failure"), "fail"),
            Outcome::Unknown => (Some("error"), "unknown"),
            Outcome::Error => (Some("error"), "harness-error"),
        };
        match tag {
            None if c.outcome == Outcome::Known => {
                let _ = writeln!(
                    x,
                    ">\n      <system-out>{}</system-out>\n    </testcase>",
                    escape(&body(c))
                );
            }
            None => x.push_str("/>\n"),
            Some(tag) => {
                let msg = c.message.lines().next().unwrap_or("");
                let _ = writeln!(
                    x,
                    ">\n      <{tag} type=\"{ty}\" message=\"{}\">{}</{tag}>\n    </testcase>",
                    escape(msg),
                    escape(&body(c))
                );
            }
        }
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}
