//! JUnit XML for one run ([`for_run`]: one `<testcase>` per checker), anomalies in the
//! failure text; a suite's (one `<testcase>` per test × seed) is `suite::junit`, built on
//! [`escape`]. Every string is XML-escaped and characters XML 1.0 forbids are dropped,
//! since anomaly text quotes untrusted history values.

use crate::checker::{Validity, Verdict};
use crate::report::RunResults;
use std::fmt::Write;

/// Escapes text for XML content and attributes.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            '\t' | '\n' | '\r' => o.push(ch),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => o.push('\u{FFFD}'),
            c => o.push(c),
        }
    }
    o
}

/// Most anomalies listed per checker in a run's failure text.
const MAX_RUN_ANOMALIES: usize = 50;

fn checker_body(v: &Verdict) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "{}", v.summary);
    for a in v.anomalies.iter().take(MAX_RUN_ANOMALIES) {
        let _ = writeln!(t, "[{}] {}", a.kind, a.explanation);
    }
    if v.anomalies.len() > MAX_RUN_ANOMALIES {
        let _ = writeln!(t, "... {} more anomalies", v.anomalies.len() - MAX_RUN_ANOMALIES);
    }
    t
}

/// JUnit XML for one run: a `<testsuite>` named after the run, one
/// `<testcase>` per checker. An invalid checker is a `<failure>`, an unknown
/// one an `<error>`; the message is the checker's summary (first line), the
/// body lists its anomalies.
pub fn for_run(r: &RunResults) -> String {
    let count = |v| r.results.iter().filter(|c| c.valid == v).count();
    let (fails, errors) = (count(Validity::Invalid), count(Validity::Unknown));
    let secs = r.results.iter().map(|v| v.elapsed_ms).sum::<f64>() / 1000.0;
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"faultline\" tests=\"{}\" failures=\"{fails}\" errors=\"{errors}\" time=\"{secs:.3}\">",
        r.results.len()
    );
    let _ = writeln!(
        x,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{fails}\" errors=\"{errors}\" skipped=\"0\" time=\"{secs:.3}\">",
        escape(&r.name),
        r.results.len()
    );
    for v in &r.results {
        let _ = write!(
            x,
            "    <testcase classname=\"faultline.{}\" name=\"{}\" time=\"{:.3}\"",
            escape(&r.name),
            escape(&v.checker),
            v.elapsed_ms / 1000.0
        );
        let (tag, ty) = match v.valid {
            Validity::Valid => {
                x.push_str("/>\n");
                continue;
            }
            Validity::Invalid => ("failure", "invalid"),
            Validity::Unknown => ("error", "unknown"),
        };
        let _ = writeln!(
            x,
            ">\n      <{tag} type=\"{ty}\" message=\"{}\">{}</{tag}>\n    </testcase>",
            escape(v.summary.lines().next().unwrap_or("")),
            escape(&checker_body(v))
        );
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_case_per_checker_with_failures_and_errors() {
        let mut bad = Verdict::new("set", Validity::Invalid, "2 lost <a&b>");
        bad.push_anomaly(crate::checker::Anomaly {
            kind: "lost".into(),
            explanation: "element \u{1} gone".into(),
            ops: vec![],
            data: serde_json::Value::Null,
        });
        let r = RunResults {
            faultline_version: "0".into(),
            name: "run\"1".into(),
            valid: Validity::Invalid,
            results: vec![
                bad,
                Verdict::valid("stats", "ok"),
                Verdict::unknown("lin", "budget"),
            ],
            test: serde_json::Value::Null,
            seed: None,
            ops: 0,
            duration_ms: 0.0,
            started_at: 0,
            replay: None,
            net: None,
            coverage: None,
            shards: None,
            warnings: vec![],
        };
        let x = for_run(&r);
        assert_eq!(x.matches("<testcase ").count(), 3);
        assert!(x.contains("tests=\"3\" failures=\"1\" errors=\"1\""));
        assert!(x.contains("<failure type=\"invalid\" message=\"2 lost &lt;a&amp;b&gt;\">"));
        assert!(x.contains("[lost] element \u{FFFD} gone"));
        assert!(x.contains("<error type=\"unknown\" message=\"budget\">"));
        assert!(x.contains("name=\"run&quot;1\""));
    }

    #[test]
    fn escapes_markup_and_control_chars() {
        assert_eq!(
            escape("<a href=\"x\">&'\u{1}"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&apos;\u{FFFD}"
        );
        assert_eq!(escape("line\nnext"), "line\nnext");
    }
}
