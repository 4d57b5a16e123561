//! `report.html`: one self-contained page (inline CSS, JS, SVG; no network).
//!
//! The text parts (summary, anomalies, witnesses, cycles) are rendered here,
//! escaped, so they read even with scripts off; the plots (timeline, latency,
//! throughput, availability) are drawn by `reports/report.js` on canvases from
//! the JSON data island built by [`super::model`]. Canvas drawing is
//! virtualised: the page holds one canvas per plot, never a node per op.

use super::anomalies::{anomalies, LOST_ATTRIBUTION};
use super::ctx::Ctx;
use super::escape::{html, json_for_script, truncate, value_text};
use super::failover::{self, Attribution};
use super::{attribution, model};
use crate::checker::Validity;
use crate::history::{History, NodeEvent};
use crate::report::RunResults;
use serde_json::Value;
use std::fmt::Write;

const TEMPLATE: &str = include_str!("../../reports/report.html");
const CSS: &str = include_str!("../../reports/report.css");
const JS: &str = include_str!("../../reports/report.js");

/// What a run directory adds beyond the history and results.
#[derive(Debug, Default, Clone)]
pub struct Extras {
    /// Leader changes and starts from `nodes/*.log`, drawn on the timeline.
    pub node_events: Vec<NodeEvent>,
    /// (node log file name, size in bytes, number of event lines).
    pub node_logs: Vec<(String, u64, usize)>,
    /// Where the report reads its inputs from (shown in the summary).
    pub source: Option<String>,
}

/// Renders the report page for any history and its results.
pub fn render(history: &History, results: &RunResults) -> String {
    render_with(history, results, &Extras::default())
}

/// [`render`] plus what a run directory adds (node logs).
pub fn render_with(history: &History, results: &RunResults, extras: &Extras) -> String {
    let ctx = Ctx::new(history);
    let mut witness: Vec<u64> = results
        .results
        .iter()
        .flat_map(|v| v.anomalies.iter().flat_map(|a| a.ops.iter().copied()))
        .collect();
    witness.sort_unstable();
    witness.dedup();
    let mut tl = model::build(history, witness, &extras.node_events);
    // Failover windows come from node events; the checker's windows are the fallback.
    let end_ns = history.ops.iter().map(|o| o.time).max().unwrap_or(0);
    let mut windows = failover::windows(&extras.node_events, end_ns);
    let from_events = !windows.is_empty();
    let attr = results
        .results
        .iter()
        .flat_map(|v| &v.anomalies)
        .filter(|a| a.kind == LOST_ATTRIBUTION)
        .find_map(|a| Attribution::from_data(&a.data));
    if windows.is_empty() {
        windows = attr.as_ref().map(|a| a.windows.clone()).unwrap_or_default();
    }
    let lost = attr.as_ref().map(|a| a.lost.as_slice()).unwrap_or(&[]);
    tl.add_failovers(&windows, lost, |i| ctx.op(i).map(|o| o.time));
    let has_failovers = !windows.is_empty() || !lost.is_empty();
    let mut body = String::new();
    summary(&mut body, history, results, extras, &tl, has_failovers);
    attribution::section(&mut body, &windows, from_events, attr.as_ref(), &|i, t| {
        format!(
            r##"<a class="op-link" href="#timeline" data-op="{i}">{}</a>"##,
            html(t)
        )
    });
    anomalies(&mut body, &ctx, results);
    super::coverage::section(&mut body, &super::coverage::of(history, &results.results));
    super::shards::section(&mut body, results.shards.as_ref());
    plots(&mut body, &tl, &windows);
    nodes_and_config(&mut body, results, extras);
    let title = format!("faultline: {} ({})", results.name, results.valid);
    fill(
        TEMPLATE,
        &[
            ("TITLE", html(&title)),
            ("CSS", CSS.to_string()),
            ("BODY", body),
            ("DATA", json_for_script(&tl)),
            ("JS", JS.to_string()),
        ],
    )
}

/// Replaces `{{NAME}}` markers in one pass, so substituted (untrusted) text is never re-scanned.
fn fill(template: &str, subs: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(template.len() + subs.iter().map(|s| s.1.len()).sum::<usize>());
    let mut rest = template;
    while let Some(i) = rest.find("{{") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        match after
            .find("}}")
            .and_then(|j| subs.iter().find(|s| s.0 == &after[..j]).map(|s| (j, s)))
        {
            Some((j, (_, v))) => {
                out.push_str(v);
                rest = &after[j + 2..];
            }
            None => {
                out.push_str("{{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

pub(super) fn verdict_class(v: Validity) -> &'static str {
    match v {
        Validity::Valid => "v-valid",
        Validity::Invalid => "v-invalid",
        Validity::Unknown => "v-unknown",
    }
}

/// Looks up the first present path in the test config, as text.
fn cfg(test: &Value, paths: &[&[&str]]) -> Option<String> {
    paths.iter().find_map(|path| {
        let mut v = test;
        for k in *path {
            v = v.get(k)?;
        }
        match v {
            Value::Null => None,
            Value::Array(a) => Some(a.iter().map(value_text).collect::<Vec<_>>().join(", ")),
            Value::Object(m) => m
                .get("name")
                .or_else(|| m.get("kinds"))
                .or_else(|| m.get("kind"))
                .map(|x| match x {
                    Value::Array(a) => a.iter().map(value_text).collect::<Vec<_>>().join(", "),
                    x => value_text(x),
                }),
            v => Some(value_text(v)),
        }
    })
}

/// The store mode flags found in the config (`replication=async reads=follower ...`).
fn mode(test: &Value) -> Option<String> {
    if let Some(m) = cfg(test, &[&["mode"]]) {
        return Some(m);
    }
    // Replication, fsync and fencing are the built-in store's modes; an external
    // target (etcd, Redis, a command) only honours the read mode.
    let builtin = cfg(test, &[&["target"]]).is_none_or(|t| t == "builtin" || t == "reference");
    let keys: &[&str] = if builtin {
        &[
            "replication",
            "reads",
            "fsync",
            "fencing",
            "no_fencing",
            "no-fencing",
        ]
    } else {
        &["reads"]
    };
    let mut parts = Vec::new();
    for &k in keys {
        if let Some(v) = cfg(test, &[&[k], &["store", k], &["target", k], &["options", k]]) {
            parts.push(format!("{k}={v}"));
        }
    }
    (!parts.is_empty()).then(|| parts.join(" "))
}

fn summary(b: &mut String, h: &History, r: &RunResults, x: &Extras, tl: &model::Timeline, failovers: bool) {
    let t = &r.test;
    let dash = || "—".to_string();
    let duration = if r.duration_ms > 0.0 {
        r.duration_ms / 1000.0
    } else {
        tl.end as f64 / 1e6
    };
    let seed = r.seed.map(|s| s.to_string()).or_else(|| cfg(t, &[&["seed"]]));
    let rows: Vec<(&str, String)> = vec![
        ("Test", r.name.clone()),
        ("Target", cfg(t, &[&["target"], &["db"]]).unwrap_or_else(dash)),
        ("Mode", mode(t).unwrap_or_else(dash)),
        ("Workload", cfg(t, &[&["workload"]]).unwrap_or_else(dash)),
        ("Nemesis", cfg(t, &[&["nemesis"]]).unwrap_or_else(dash)),
        ("Seed", seed.unwrap_or_else(dash)),
        ("Duration", format!("{duration:.1} s")),
        (
            "Ops",
            format!(
                "{} history lines, {} client ops, {} nemesis ops",
                r.ops.max(h.len()),
                tl.ops.t0.len(),
                h.nemesis_ops().count()
            ),
        ),
        ("Network", r.net.clone().unwrap_or_else(dash)),
        ("faultline", r.faultline_version.clone()),
        ("Source", x.source.clone().unwrap_or_else(dash)),
    ];
    let _ = write!(
        b,
        r##"<header><h1>faultline report</h1><span class="verdict {}" id="overall">{}</span></header>
<nav><a href="#summary">Summary</a> {}<a href="#anomalies">Anomalies</a> <a href="#timeline">Timeline</a> <a href="#perf">Latency &amp; throughput</a> <a href="#config">Config</a></nav>
<section id="summary"><h2>Summary</h2><table class="kv">"##,
        verdict_class(r.valid),
        html(&r.valid.to_string()),
        if failovers {
            r##"<a href="#failovers">Failovers</a> "##
        } else {
            ""
        }
    );
    for (k, v) in rows {
        let _ = write!(b, "<tr><th>{}</th><td>{}</td></tr>", k, html(&v));
    }
    let replay = r
        .replay
        .clone()
        .unwrap_or_else(|| "faultline check history.jsonl".to_string());
    let _ = write!(
        b,
        r#"</table><h3>Replay</h3><pre class="cmd" id="replay">{}</pre><h3>Checkers</h3><table class="grid"><tr><th>checker</th><th>verdict</th><th>summary</th><th>anomalies</th><th>time</th></tr>"#,
        html(&replay)
    );
    for v in &r.results {
        let _ = write!(
            b,
            r#"<tr><td>{}</td><td class="{}">{}</td><td>{}</td><td>{}</td><td>{:.0} ms</td></tr>"#,
            html(&v.checker),
            verdict_class(v.valid),
            html(&v.valid.to_string()),
            html(&truncate(&v.summary, 300)),
            v.anomalies.len(),
            v.elapsed_ms
        );
    }
    b.push_str("</table>");
    let mut warnings: Vec<String> = r.warnings.iter().chain(&h.warnings).cloned().collect();
    if tl.orphans > 0 {
        warnings.push(format!(
            "{} completions without an invocation were left off the timeline",
            tl.orphans
        ));
    }
    if !warnings.is_empty() {
        b.push_str(r#"<h3>Warnings</h3><ul class="warnings">"#);
        for w in warnings {
            let _ = write!(b, "<li>{}</li>", html(&truncate(&w, 500)));
        }
        b.push_str("</ul>");
    }
    b.push_str("</section>\n");
}

/// Canvases and controls the script fills in; failover links beside the timeline.
fn plots(b: &mut String, tl: &model::Timeline, windows: &[failover::Window]) {
    b.push_str(r##"<section id="timeline"><h2>Timeline</h2>
<div class="controls"><button id="zoom-in">Zoom in</button> <button id="zoom-out">Zoom out</button> <button id="zoom-reset">Show all</button> <a id="view-link" href="#t=">link to this view</a> <span class="hint">Wheel to zoom, drag to pan (any plot; all move together), click an op for details. <code>#t=START,END</code> (seconds) in the URL selects a range.</span> <span id="range"></span></div>
"##);
    if !windows.is_empty() {
        b.push_str(r#"<div class="bands">Failover windows: "#);
        for w in windows {
            let _ = write!(
                b,
                r#"<a class="band-link" href="{}">{} ({:.2}–{:.2} s)</a> "#,
                html(&w.fragment()),
                html(&truncate(&w.label(), 120)),
                w.start as f64 / 1e9,
                w.end as f64 / 1e9
            );
        }
        b.push_str("</div>\n");
    }
    b.push_str(r#"<div class="legend"><span class="sw ok"></span>ok <span class="sw fail"></span>fail <span class="sw info"></span>info / timeout <span class="sw pending"></span>pending <span class="sw witness"></span>witness op <span class="sw nem"></span>nemesis window"#);
    if !windows.is_empty() {
        b.push_str(r#" <span class="sw failover"></span>failover window"#);
    }
    if !tl.markers.is_empty() {
        b.push_str(r#" <span class="mk">▼</span>became leader <span class="mk">▽</span>stepped down"#);
    }
    if !tl.lost.is_empty() {
        b.push_str(r#" · lost writes acked: <span class="lost before">◆</span>before <span class="lost during">◆</span>during <span class="lost after">◆</span>after a failover <span class="lost none">◆</span>outside any"#);
    }
    b.push_str(r#"</div>
<div class="canvas-wrap"><canvas id="tl-canvas" height="420"></canvas><div id="tooltip" hidden></div></div>
<pre id="op-detail">Click an op to see it here.</pre>
</section>
<section id="perf"><h2>Latency, throughput, availability</h2>
<h3>Latency (log scale, ms; points per op kind, lines p50/p95/p99 of ok ops)</h3><canvas id="lat-canvas" height="260"></canvas><div class="legend" id="lat-legend"></div>
<h3>Throughput (completions per second by outcome)</h3><canvas id="thr-canvas" height="180"></canvas>
<h3>Availability (share of completions that were ok)</h3><canvas id="avail-canvas" height="120"></canvas>
</section>
"#);
}

fn nodes_and_config(b: &mut String, r: &RunResults, x: &Extras) {
    if !x.node_logs.is_empty() {
        b.push_str(r#"<section id="nodes"><h2>Node logs</h2><table class="grid"><tr><th>file</th><th>bytes</th><th>event lines</th></tr>"#);
        for (name, size, events) in &x.node_logs {
            let _ = write!(
                b,
                "<tr><td>{}</td><td>{size}</td><td>{events}</td></tr>",
                html(name)
            );
        }
        b.push_str("</table><p>Leader changes are marked above the timeline.</p></section>\n");
    }
    b.push_str(r#"<section id="config"><h2>Config and checker details</h2>"#);
    let pretty = serde_json::to_string_pretty(&r.test).unwrap_or_default();
    let _ = write!(
        b,
        "<details><summary>Test config</summary><pre>{}</pre></details>",
        html(&truncate(&pretty, 50_000))
    );
    for v in r.results.iter().filter(|v| !v.details.is_null()) {
        let pretty = serde_json::to_string_pretty(&v.details).unwrap_or_default();
        let _ = write!(
            b,
            "<details><summary>{} details</summary><pre>{}</pre></details>",
            html(&v.checker),
            html(&truncate(&pretty, 50_000))
        );
    }
    b.push_str("</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_does_not_rescan_substituted_text() {
        let out = fill("a{{X}}b{{Y}}c{{Z}}", &[("X", "{{Y}}".into()), ("Y", "y".into())]);
        assert_eq!(out, "a{{Y}}byc{{Z}}");
    }

    #[test]
    fn mode_reads_flags_from_the_config() {
        let t = serde_json::json!({"store": {"replication": "async", "reads": "follower"}, "nemesis": ["kill", "partition"]});
        assert_eq!(mode(&t).unwrap(), "replication=async reads=follower");
        assert_eq!(cfg(&t, &[&["nemesis"]]).unwrap(), "kill, partition");
        // test.toml's own shape: the system and its modes in `[target]`.
        let t = serde_json::json!({"target": {"name": "etcd", "nodes": 3, "replication": "quorum", "reads": "follower"}});
        assert_eq!(cfg(&t, &[&["target"]]).unwrap(), "etcd");
        assert_eq!(mode(&t).unwrap(), "reads=follower");
    }
}
