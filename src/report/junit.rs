//! JUnit XML for a suite: one `<testcase>` per test × seed, anomalies in the
//! failure text. Every string is XML-escaped and characters XML 1.0 forbids are
//! dropped, since anomaly text quotes untrusted history values.

use crate::report::suite::{CaseResult, Outcome, SuiteReport};
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

pub(crate) fn verdict(c: &CaseResult) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_control_chars() {
        assert_eq!(
            escape("<a href=\"x\">&'\u{1}"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&apos;\u{FFFD}"
        );
        assert_eq!(escape("line\nnext"), "line\nnext");
    }
}
