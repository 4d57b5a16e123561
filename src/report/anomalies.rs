//! The anomaly list of the report page: each anomaly's explanation, its
//! witness ops (linked to the timeline), a linearizability witness (longest
//! prefix and the op that cannot be placed) or an Elle cycle graph, and its
//! raw data. Anomalies are grouped by kind in order of first appearance; past
//! [`FOLD_ANOMALIES`] of one kind the rest fold under a `<details>` ("show all
//! N"), so a run with thousands of lost writes keeps a readable page that
//! still works without scripts. Every value is escaped.
//!
//! Long values are shown shortened with their size; the whole value of an
//! op named by an anomaly is one click away (a `<details>` under its row,
//! once per page, cut at [`FULL_VALUE_BYTES`]; the history file has it all).

use super::ctx::{op_link, Ctx, SHOWN_CHARS};
use super::escape::{html, pretty_bounded, short, truncate, value_text};
use super::witness::{self, LinWitness, Step};
use crate::checker::{Anomaly, Validity, Verdict};
use crate::history::Op;
use crate::report::RunResults;
use serde_json::Value;
use std::collections::HashSet;
use std::fmt::Write;

/// Witness ops listed per anomaly (all are highlighted on the timeline).
const MAX_WITNESS_ROWS: usize = 40;
/// Linearization steps shown before the op that breaks it.
const MAX_PREFIX_ROWS: usize = 30;
/// Anomalies of one kind shown before the rest fold under "show all N".
pub const FOLD_ANOMALIES: usize = 5;
/// The anomaly kind whose data ties lost writes to failover windows.
pub const LOST_ATTRIBUTION: &str = "lost-attribution";
/// Most bytes of one whole value the page holds.
pub const FULL_VALUE_BYTES: usize = 1 << 20;
/// Most bytes of an anomaly's raw data shown.
const RAW_DATA_BYTES: usize = 20_000;

/// Ops whose whole values the page already holds (history indices).
type Expanded = HashSet<u64>;

/// A `<details>` with the whole value of op `i`'s invocation and completion
/// when its one-line description had to shorten them; once per op per page.
fn full_values(b: &mut String, ctx: &Ctx, i: u64, done: &mut Expanded) {
    let (inv, cmp) = ctx.pair(i);
    fn long(o: Option<&Op>) -> Option<&Op> {
        o.filter(|o| crate::util::text::is_longer(&o.value, SHOWN_CHARS))
    }
    let parts: Vec<(&str, &Op)> = [("invoked with", long(inv)), ("completed with", long(cmp))]
        .into_iter()
        .filter_map(|(label, o)| o.map(|o| (label, o)))
        .collect();
    let Some(first) = parts.first().map(|p| p.1.index) else {
        return;
    };
    if !done.insert(first) {
        let _ = write!(
            b,
            r#"<p class="full-ref">(whole value shown above, op {first})</p>"#
        );
        return;
    }
    for (label, o) in parts {
        let _ = write!(
            b,
            r#"<details class="full-value"><summary>whole value {label}: {}</summary><pre>{}</pre></details>"#,
            html(&short(&o.value, 40)),
            html(&pretty_bounded(&o.value, FULL_VALUE_BYTES))
        );
    }
}

/// Anomalies grouped by kind (in order of first appearance); past
/// [`FOLD_ANOMALIES`] of one kind the rest fold under "show all N".
pub(super) fn anomalies(b: &mut String, ctx: &Ctx, r: &RunResults) {
    b.push_str(r#"<section id="anomalies"><h2>Anomalies</h2>"#);
    for v in r
        .results
        .iter()
        .filter(|v| v.valid == Validity::Invalid && v.anomalies.is_empty())
    {
        let _ = write!(
            b,
            r#"<article class="anomaly"><h3>{} said invalid</h3><p>{}</p></article>"#,
            html(&v.checker),
            html(&v.summary)
        );
    }
    let mut kinds: Vec<(&str, Vec<(&Verdict, &Anomaly)>)> = Vec::new();
    for v in &r.results {
        for a in &v.anomalies {
            match kinds.iter_mut().find(|(k, _)| *k == a.kind) {
                Some((_, list)) => list.push((v, a)),
                None => kinds.push((&a.kind, vec![(v, a)])),
            }
        }
    }
    let mut n = 0;
    let mut done = Expanded::new();
    for (kind, list) in &kinds {
        for (k, (v, a)) in list.iter().enumerate() {
            if k == FOLD_ANOMALIES {
                let _ = write!(
                    b,
                    r#"<details class="fold anomaly-fold" data-kind="{}"><summary>show all {} {} anomalies ({} more)</summary>"#,
                    html(kind),
                    list.len(),
                    html(&truncate(kind, 60)),
                    list.len() - FOLD_ANOMALIES
                );
            }
            n += 1;
            anomaly(b, ctx, v, a, n, &mut done);
        }
        if list.len() > FOLD_ANOMALIES {
            b.push_str("</details>");
        }
    }
    if n == 0 && r.results.iter().all(|v| v.valid != Validity::Invalid) {
        b.push_str(r#"<p class="none">No anomalies found.</p>"#);
    }
    b.push_str("</section>\n");
}

fn anomaly(b: &mut String, ctx: &Ctx, v: &Verdict, a: &Anomaly, n: usize, done: &mut Expanded) {
    let _ = write!(
        b,
        r#"<article class="anomaly" id="anomaly-{n}"><h3><span class="kind">{}</span> <span class="by">found by {}</span></h3><p class="explain">{}</p>"#,
        html(&a.kind),
        html(&v.checker),
        html(&a.explanation)
    );
    if a.kind == LOST_ATTRIBUTION {
        b.push_str(r##"<p><a href="#failovers">Lost writes by failover window, node and phase</a> (section above).</p>"##);
    }
    if !a.ops.is_empty() {
        let _ = write!(
            b,
            r#"<p><button class="show-ops" data-ops="{}">Show these ops on the timeline</button></p><table class="grid ops"><tr><th>op</th><th>time</th><th>what happened</th></tr>"#,
            a.ops.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",")
        );
        for &i in a.ops.iter().take(MAX_WITNESS_ROWS) {
            let t = ctx
                .op(i)
                .map(|o| format!("{:.3} s", o.time as f64 / 1e9))
                .unwrap_or_default();
            let _ = write!(
                b,
                "<tr><td>{}</td><td>{}</td><td>{}",
                op_link(i),
                t,
                html(&ctx.describe(i))
            );
            full_values(b, ctx, i, done);
            b.push_str("</td></tr>");
        }
        if a.ops.len() > MAX_WITNESS_ROWS {
            let _ = write!(
                b,
                r#"<tr><td colspan="3">… {} more</td></tr>"#,
                a.ops.len() - MAX_WITNESS_ROWS
            );
        }
        b.push_str("</table>");
    }
    let lin_like = a.kind.contains("linearizab") || v.checker.contains("linearizab");
    if let Some(w) = lin_like
        .then(|| witness::linearizable(&a.data, &v.details))
        .flatten()
    {
        lin_witness(b, ctx, &w, done);
    }
    if let Some(c) = witness::cycle(&a.data) {
        b.push_str(r#"<div class="cycle-box"><h4>Dependency cycle</h4>"#);
        b.push_str(&super::svg::cycle(&c));
        b.push_str(r#"<ul class="edges">"#);
        for (from, to, label) in &c.edges {
            let _ = write!(b, "<li>T{} → T{}: {}</li>", html(from), html(to), html(label));
        }
        b.push_str("</ul></div>");
    }
    if !a.data.is_null() {
        let _ = write!(
            b,
            "<details><summary>Raw data</summary><pre>{}</pre></details>",
            html(&pretty_bounded(&a.data, RAW_DATA_BYTES))
        );
    }
    b.push_str("</article>\n");
}

fn state_text(s: &Option<Value>) -> String {
    s.as_ref()
        .map(|v| short(v, 120))
        .unwrap_or_else(|| "—".to_string())
}

fn lin_witness(b: &mut String, ctx: &Ctx, w: &LinWitness, done: &mut Expanded) {
    let key = w
        .key
        .as_ref()
        .map(|k| format!(" on key {}", value_text(k)))
        .unwrap_or_default();
    let _ = write!(
        b,
        r#"<div class="lin"><h4>Longest linearizable prefix{}: {} ops</h4><table class="grid prefix"><tr><th>step</th><th>op</th><th>what happened</th><th>model state after</th></tr>"#,
        html(&key),
        w.total
    );
    let skip = w.prefix.len().saturating_sub(MAX_PREFIX_ROWS);
    let earlier = w.total - w.prefix.len() + skip;
    if earlier > 0 {
        let _ = write!(b, r#"<tr><td colspan="4">… {earlier} earlier steps</td></tr>"#);
    }
    let first_step = w.total - w.prefix.len();
    let row = |b: &mut String, label: String, s: &Step, class: &str| {
        let (link, what) = match s.op {
            Some(i) => (op_link(i), ctx.describe(i)),
            None => (String::new(), truncate(&s.raw.to_string(), 160)),
        };
        let _ = write!(
            b,
            r#"<tr class="{class}"><td>{label}</td><td>{link}</td><td>{}</td><td>{}</td></tr>"#,
            html(&what),
            html(&state_text(&s.state))
        );
    };
    for (k, s) in w.prefix.iter().enumerate().skip(skip) {
        row(b, (first_step + k + 1).to_string(), s, "");
    }
    b.push_str("</table>");
    let before = w.prefix.last().and_then(|s| s.state.clone());
    for f in &w.failing {
        let _ = write!(
            b,
            r#"<div class="breaks"><h4>The op that cannot be placed next</h4><p>{} {}</p><table class="kv"><tr><th>model state before</th><td>{}</td></tr>"#,
            f.op.map(op_link).unwrap_or_default(),
            html(&f.op.map(|i| ctx.describe(i)).unwrap_or_default()),
            html(&state_text(&before.clone().or(f.state.clone())))
        );
        if let Some(i) = f.op {
            b.push_str("<tr><td colspan=\"2\">");
            full_values(b, ctx, i, done);
            b.push_str("</td></tr>");
        }
        if let Value::Object(m) = &f.raw {
            for (k, v) in m
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "op" | "index" | "op_index"))
            {
                let _ = write!(
                    b,
                    "<tr><th>{}</th><td>{}</td></tr>",
                    html(k),
                    html(&short(v, 300))
                );
            }
        }
        b.push_str("</table></div>");
    }
    b.push_str("</div>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::History;

    fn results(kinds: &[(&str, usize)]) -> RunResults {
        let mut v = Verdict::new("set", Validity::Valid, "s");
        for (kind, n) in kinds {
            for i in 0..*n {
                v.push_anomaly(Anomaly {
                    kind: kind.to_string(),
                    explanation: format!("{kind} {i}"),
                    ops: vec![],
                    data: Value::Null,
                });
            }
        }
        let (_, mut r) = crate::report::example::failing_run(20, 1, 1);
        r.results = vec![v];
        r
    }

    #[test]
    fn folds_past_five_per_kind_and_keeps_every_anomaly() {
        let h = History::new(vec![]);
        let ctx = Ctx::new(&h);
        let mut b = String::new();
        anomalies(
            &mut b,
            &ctx,
            &results(&[("lost", 7), ("unstable", 2), ("<k>", 6)]),
        );
        assert_eq!(b.matches("<article").count(), 15);
        assert_eq!(b.matches("<details class=\"fold").count(), 2);
        assert!(b.contains("show all 7 lost anomalies (2 more)"));
        assert!(b.contains("show all 6 &lt;k&gt; anomalies (1 more)"));
        // The sixth `lost` is inside the fold, the fifth is not.
        let fold = b.find("show all 7 lost").unwrap();
        assert!(b.find(">lost 4<").unwrap() < fold && b.find(">lost 5<").unwrap() > fold);
    }
}
