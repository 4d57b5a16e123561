//! The terminal table and the Markdown summary (for `$GITHUB_STEP_SUMMARY`).

use super::junit::verdict;
use super::results::{Outcome, SuiteReport};
use std::fmt::Write;

fn counts(r: &SuiteReport) -> String {
    format!(
        "{} cases: {} pass, {} known, {} fail, {} unknown, {} error in {:.1} s (exit {})",
        r.cases.len(),
        r.count(Outcome::Pass),
        r.count(Outcome::Known),
        r.count(Outcome::Fail),
        r.count(Outcome::Unknown),
        r.count(Outcome::Error),
        r.duration_s,
        r.exit_code
    )
}

/// One line per case, aligned.
pub fn table(r: &SuiteReport) -> String {
    let w = r.cases.iter().map(|c| c.test.len()).max().unwrap_or(4).max(4);
    let mut s = format!(
        "{:<w$}  {:>6}  {:<8}  {:<13}  {:<7}  {:>7}  anomalies\n",
        "test", "seed", "expected", "verdict", "outcome", "time"
    );
    for c in &r.cases {
        let mut kinds = c.anomaly_kinds.join(",");
        if !c.new_kinds.is_empty() {
            kinds = format!("{kinds} (new: {})", c.new_kinds.join(","));
        }
        let _ = writeln!(
            s,
            "{:<w$}  {:>6}  {:<8}  {:<13}  {:<7}  {:>6.1}s  {kinds}",
            c.test,
            c.seed,
            c.expected.to_string(),
            verdict(c),
            c.outcome.label(),
            c.duration_s
        );
    }
    s.push_str(&counts(r));
    s.push('\n');
    s
}

/// Markdown cells: no pipes or newlines, and HTML-escaped (CI renders it).
fn cell(s: &str) -> String {
    crate::report::escape_html(s)
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

/// A Markdown summary suitable for a CI step summary.
pub fn markdown(r: &SuiteReport) -> String {
    let icon = if r.exit_code == 0 { "✅" } else { "❌" };
    let mut s = format!(
        "## {icon} faultline suite `{}`\n\n{}\n\n",
        cell(&r.suite_file),
        counts(r)
    );
    if let Some(b) = &r.baseline {
        let _ = writeln!(s, "Baseline: `{}`\n", cell(b));
    }
    s.push_str("| test | seed | expected | verdict | outcome | anomaly kinds | new | time |\n");
    s.push_str("|---|---:|---|---|---|---|---|---:|\n");
    for c in &r.cases {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | **{}** | {} | {} | {:.1} s |",
            cell(&c.test),
            c.seed,
            c.expected,
            verdict(c),
            c.outcome.label(),
            cell(&c.anomaly_kinds.join(", ")),
            cell(&c.new_kinds.join(", ")),
            c.duration_s
        );
    }
    let bad: Vec<_> = r
        .cases
        .iter()
        .filter(|c| matches!(c.outcome, Outcome::Fail | Outcome::Error | Outcome::Unknown))
        .collect();
    if !bad.is_empty() {
        s.push_str("\n### Problems\n\n");
        for c in bad {
            let _ = writeln!(s, "- **{} seed {}**: {}", cell(&c.test), c.seed, cell(&c.message));
        }
    }
    s
}
