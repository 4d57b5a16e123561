//! The "Failovers and lost writes" section: the failover windows (each with a
//! `#t=` link that zooms the plots to it) and, for a `lost-attribution`
//! anomaly, which acknowledged writes were lost relative to which failover.
//!
//! The attribution table has one row per (window, acknowledging node, phase)
//! with its count and first few elements, each element linking to its op on
//! the timeline. Rows past [`FOLD_ROWS`] fold under a `<details>` so the page
//! stays short and still reads without scripts. Every value is escaped.
//! Invariant: the row counts sum to the number of lost writes.

use super::escape::{html, truncate, value_text};
use super::failover::{Attribution, Lost, Window, PHASES};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Rows shown before the rest fold away.
pub const FOLD_ROWS: usize = 5;
/// Elements listed per row.
const ELEMENTS_PER_ROW: usize = 5;

/// Sort key of a group: window (none last), node (unknown last), phase order.
type GroupKey = (u64, Option<String>, usize);

fn phase_rank(p: &str) -> usize {
    PHASES.iter().position(|x| *x == p).unwrap_or(PHASES.len())
}

fn window_label(windows: &[Window], epoch: Option<u64>) -> String {
    match epoch {
        None => "no window".into(),
        Some(e) => windows
            .iter()
            .find(|w| w.epoch == e)
            .map(Window::label)
            .unwrap_or_else(|| format!("failover epoch {e}")),
    }
}

fn secs(ns: u64) -> String {
    format!("{:.3} s", ns as f64 / 1e9)
}

/// `a: 3, b: 2` from counts, largest first (ties by name).
fn counts_text(mut v: Vec<(String, usize)>) -> String {
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.into_iter()
        .map(|(k, n)| format!("{k}: {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The one-sentence summary: counts per phase, per window and per acknowledging node.
pub fn summary_sentence(windows: &[Window], lost: &[Lost]) -> String {
    let mut by_phase: BTreeMap<usize, usize> = BTreeMap::new();
    let mut by_window: BTreeMap<Option<u64>, usize> = BTreeMap::new();
    let mut by_node: BTreeMap<String, usize> = BTreeMap::new();
    for l in lost {
        *by_phase.entry(phase_rank(&l.phase)).or_default() += 1;
        *by_window.entry(l.window).or_default() += 1;
        *by_node
            .entry(l.acked_by.clone().unwrap_or_else(|| "unknown node".into()))
            .or_default() += 1;
    }
    let phase_text = |r: usize| match PHASES.get(r) {
        Some(&"none") => "outside any window".to_string(),
        Some(p) => format!("{p} a failover"),
        None => "of another phase".to_string(),
    };
    let phases = by_phase
        .iter()
        .map(|(r, n)| format!("{n} acknowledged {}", phase_text(*r)))
        .collect::<Vec<_>>()
        .join(", ");
    let wins = counts_text(
        by_window
            .iter()
            .map(|(w, n)| (window_label(windows, *w), *n))
            .collect(),
    );
    let nodes = counts_text(by_node.into_iter().collect());
    format!(
        "{} acknowledged writes were lost: {phases}. By window: {wins}. By acknowledging node: {nodes}.",
        lost.len()
    )
}

/// Renders the section; nothing at all when there are neither windows nor lost writes.
/// `op_link(i)` renders a link to history op `i` showing `text`.
pub fn section(
    b: &mut String,
    windows: &[Window],
    from_events: bool,
    attr: Option<&Attribution>,
    op_link: &dyn Fn(u64, &str) -> String,
) {
    let lost: &[Lost] = attr.map(|a| a.lost.as_slice()).unwrap_or(&[]);
    if windows.is_empty() && lost.is_empty() {
        return;
    }
    b.push_str(r#"<section id="failovers"><h2>Failovers and lost writes</h2>"#);
    if !windows.is_empty() {
        windows_table(b, windows, from_events, lost);
    }
    if !lost.is_empty() {
        let _ = write!(
            b,
            r#"<p class="attr-summary" id="attr-summary">{}</p>"#,
            html(&summary_sentence(windows, lost))
        );
        attribution_table(b, windows, lost, op_link);
    }
    b.push_str("</section>\n");
}

fn windows_table(b: &mut String, windows: &[Window], from_events: bool, lost: &[Lost]) {
    let source = if from_events {
        "derived from the node event logs (failover-start/failover-end paired by epoch)"
    } else {
        "as the checker reported them (the node logs hold no failover events)"
    };
    let _ = write!(
        b,
        r#"<h3>Failover windows</h3><p class="hint">{} windows, {source}. Each link zooms the plots to the window.</p><table class="grid failovers"><tr><th>window</th><th>start</th><th>end</th><th>length</th><th>lost writes before / during / after</th><th>view</th></tr>"#,
        windows.len()
    );
    for w in windows {
        let n = |p: &str| {
            lost.iter()
                .filter(|l| l.window == Some(w.epoch) && l.phase == p)
                .count()
        };
        let _ = write!(
            b,
            r#"<tr class="window-row" data-epoch="{}"><td>{}</td><td>{}</td><td>{}</td><td>{:.3} s</td><td>{} / {} / {}</td><td><a class="band-link" href="{}">show on the plots</a></td></tr>"#,
            w.epoch,
            html(&truncate(&w.label(), 120)),
            secs(w.start),
            secs(w.end),
            (w.end - w.start) as f64 / 1e9,
            n("before"),
            n("during"),
            n("after"),
            html(&w.fragment())
        );
    }
    b.push_str("</table>");
}

fn attribution_table(
    b: &mut String,
    windows: &[Window],
    lost: &[Lost],
    op_link: &dyn Fn(u64, &str) -> String,
) {
    let mut groups: BTreeMap<GroupKey, Vec<&Lost>> = BTreeMap::new();
    for l in lost {
        let key = (
            l.window.unwrap_or(u64::MAX),
            l.acked_by.clone(),
            phase_rank(&l.phase),
        );
        groups.entry(key).or_default().push(l);
    }
    let header =
        "<tr><th>window</th><th>acknowledged by</th><th>phase</th><th>lost</th><th>first elements</th></tr>";
    let _ = write!(
        b,
        r#"<h3>Lost writes by window, node and phase</h3><table class="grid attribution" id="attribution">{header}"#
    );
    let total = groups.len();
    for (k, (_, ls)) in groups.iter().enumerate() {
        if k == FOLD_ROWS {
            let _ = write!(
                b,
                r#"</table><details class="fold"><summary>show all {total} rows ({} more)</summary><table class="grid attribution">{header}"#,
                total - FOLD_ROWS
            );
        }
        row(b, windows, ls, op_link);
    }
    b.push_str("</table>");
    if total > FOLD_ROWS {
        b.push_str("</details>");
    }
}

fn row(b: &mut String, windows: &[Window], ls: &[&Lost], op_link: &dyn Fn(u64, &str) -> String) {
    let first = ls[0];
    let window_cell = match windows.iter().find(|w| Some(w.epoch) == first.window) {
        Some(w) => format!(
            r#"<a class="band-link" href="{}">{}</a>"#,
            html(&w.fragment()),
            html(&truncate(&w.label(), 120))
        ),
        None => html(&window_label(windows, first.window)),
    };
    let by = first.acked_by.as_deref().unwrap_or("unknown");
    let _ = write!(
        b,
        r#"<tr class="attr-row" data-window="{}" data-by="{}" data-phase="{}" data-count="{}"><td>{window_cell}</td><td>{}</td><td class="phase-{}">{}</td><td>{}</td><td>"#,
        first
            .window
            .map(|w| w.to_string())
            .unwrap_or_else(|| "none".into()),
        html(by),
        html(&first.phase),
        ls.len(),
        html(&truncate(by, 60)),
        phase_rank(&first.phase),
        html(&first.phase),
        ls.len()
    );
    let shown: Vec<String> = ls
        .iter()
        .take(ELEMENTS_PER_ROW)
        .map(|l| {
            let mut t = truncate(&value_text(&l.element), 40);
            if let Some(k) = &l.key {
                t = format!("{}:{t}", truncate(&value_text(k), 20));
            }
            match l.op {
                Some(i) => op_link(i, &t),
                None => html(&t),
            }
        })
        .collect();
    b.push_str(&shown.join(", "));
    if ls.len() > ELEMENTS_PER_ROW {
        let _ = write!(b, " … and {} more", ls.len() - ELEMENTS_PER_ROW);
    }
    b.push_str("</td></tr>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lost(e: i64, w: Option<u64>, by: Option<&str>, phase: &str) -> Lost {
        Lost {
            element: json!(e),
            key: None,
            op: Some(e as u64 * 2),
            acked_time: Some(e as u64),
            acked_by: by.map(str::to_string),
            window: w,
            phase: phase.into(),
        }
    }

    fn win(epoch: u64) -> Window {
        Window {
            epoch,
            start: epoch * 10,
            end: epoch * 10 + 5,
            from: Some("n1".into()),
            to: Some("n2".into()),
        }
    }

    fn link(i: u64, t: &str) -> String {
        format!("<a data-op=\"{i}\">{}</a>", html(t))
    }

    #[test]
    fn groups_rows_and_folds_past_five() {
        let mut ls = Vec::new();
        for (i, p) in ["before", "during", "after"].iter().enumerate() {
            for n in 0..=i {
                ls.push(lost((i * 10 + n) as i64, Some(1), Some("n1"), p));
            }
        }
        ls.push(lost(90, None, None, "none"));
        ls.push(lost(91, Some(2), Some("n2"), "during"));
        ls.push(lost(92, Some(2), Some("n3"), "during"));
        let mut b = String::new();
        section(
            &mut b,
            &[win(1), win(2)],
            true,
            Some(&Attribution {
                windows: vec![],
                lost: ls.clone(),
            }),
            &link,
        );
        assert_eq!(b.matches(r#"class="attr-row""#).count(), 6);
        let counts: usize = b
            .match_indices("data-count=\"")
            .map(|(i, m)| {
                b[i + m.len()..]
                    .split('"')
                    .next()
                    .unwrap()
                    .parse::<usize>()
                    .unwrap()
            })
            .sum();
        assert_eq!(counts, ls.len());
        assert!(b.contains("show all 6 rows (1 more)"));
        // The last row (no window) is the folded one.
        let fold = b.find("<details").unwrap();
        assert!(b[fold..].contains(r#"data-window="none""#));
        assert!(b.contains(r#"data-window="1" data-by="n1" data-phase="after" data-count="3""#));
        assert!(b.contains(r##"href="#t="##));
    }

    #[test]
    fn summary_counts_phases_windows_and_nodes() {
        let ls = vec![
            lost(1, Some(1), Some("n1"), "during"),
            lost(2, Some(1), Some("n1"), "during"),
            lost(3, Some(1), Some("n1"), "before"),
            lost(4, None, None, "none"),
        ];
        let s = summary_sentence(&[win(1)], &ls);
        assert!(s.starts_with("4 acknowledged writes were lost: 1 acknowledged before a failover, 2 acknowledged during a failover, 1 acknowledged outside any window."), "{s}");
        assert!(
            s.contains("By window: failover epoch 1 n1→n2: 3, no window: 1."),
            "{s}"
        );
        assert!(
            s.contains("By acknowledging node: n1: 3, unknown node: 1."),
            "{s}"
        );
    }

    #[test]
    fn nothing_without_windows_or_lost_writes() {
        let mut b = String::new();
        section(&mut b, &[], true, None, &link);
        section(&mut b, &[], true, Some(&Attribution::default()), &link);
        assert!(b.is_empty());
    }
}
