//! Performance: latency, throughput and availability under faults.
//! Informational: always `valid` (`unknown` only if the history cannot be paired).
//!
//! `details` JSON shape (times in ms since the test start):
//! ```text
//! { "ops": n, "completed": {"ok": n, "fail": n, "info": n},
//!   "latency_ms": { "<f>": {"count": n, "p50": x, "p90": x, "p99": x, "p999": x, "max": x, "mean": x}, ... },
//!       // over ok completions of each f, from an HDR histogram (3 significant digits)
//!   "throughput": {"bucket_ms": w, "series": [{"t_ms": t, "ok": n, "fail": n, "info": n}, ...]},
//!       // completions per bucket; `info` includes ops still pending at the end (at their invoke time)
//!   "availability": {"inside": {"ops": n, "ok": n, "share": x|null},
//!                    "outside": {"ops": n, "ok": n, "share": x|null}},
//!       // ops by invoke time inside/outside any nemesis window; share = ok / ops
//!   "windows": [{"fault": f, "from_ms": t, "to_ms": t, "healed_by": f|null,
//!                "ops": n, "ok": n, "share": x|null}, ...],
//!   "points": {"stride": k, "series": [[t_ms, latency_ms, "<f>", "ok"|"fail"|"info"], ...]}
//!       // every k-th client op (at most MAX_POINTS), info ops with latency null
//! }
//! ```
//! Nemesis ops (process `nemesis`) come as invoke/completion pairs or lone
//! `info` lines. A window runs from a fault's first line to the completion of
//! the op that heals it: `heal` heals partitions, `restart`/`start` heal
//! `kill`, `resume` heals `pause`, `clock-reset` heals `clock-*` skew and
//! `clock-rate-reset` heals `clock-drift` (a rate, its own family); an unhealed
//! fault's window runs to the end of the history.

use super::span::{ms, spans, Outcome, Span};
use super::{CheckOptions, Checker, Verdict};
use crate::history::{History, OpType};
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Most latency points kept for plotting.
pub const MAX_POINTS: usize = 10_000;
/// Most throughput buckets.
pub const MAX_BUCKETS: u64 = 200;

/// Latencies above one hour are recorded as one hour.
const MAX_LATENCY_NS: u64 = 3_600_000_000_000;

pub struct Perf;

/// A fault window.
#[derive(Clone, Debug, PartialEq)]
pub struct Window {
    pub fault: String,
    pub from: u64,
    pub to: u64,
    pub healed_by: Option<String>,
}

/// Which family of faults `f` injects, or `None` for a heal.
fn family(f: &str) -> (&'static str, bool) {
    if f == "converge" {
        // The convergence phase reads replicas after every fault is healed: no fault.
        return ("phase", true);
    }
    let heal = matches!(
        f,
        "heal" | "restart" | "start" | "resume" | "clock-reset" | "clock-rate-reset" | "stop-partition"
    ) || f.starts_with("heal");
    let fam = if f.contains("partition")
        || f.contains("isolate")
        || f.contains("bridge")
        || f.contains("ring")
        || f.starts_with("heal")
    {
        "partition"
    } else if matches!(f, "kill" | "restart" | "start" | "crash") {
        "kill"
    } else if matches!(f, "pause" | "resume") {
        "pause"
    } else if matches!(f, "clock-drift" | "clock-rate-reset") {
        "drift"
    } else if f.starts_with("clock") {
        "clock"
    } else {
        "other"
    };
    (fam, heal)
}

/// Nemesis windows of a history, in start order.
pub fn nemesis_windows(h: &History) -> Vec<Window> {
    let end_of_history = h.ops.iter().map(|o| o.time).max().unwrap_or(0);
    // Events: (f, first time, last time), pairing an invoke with the next completion of the same f.
    let mut events: Vec<(String, u64, u64)> = Vec::new();
    let mut pending: Option<usize> = None;
    for op in h.nemesis_ops() {
        match (op.ty, pending) {
            (OpType::Invoke, _) => {
                events.push((op.f.clone(), op.time, op.time));
                pending = Some(events.len() - 1);
            }
            (_, Some(i)) if events[i].0 == op.f => {
                events[i].2 = op.time;
                pending = None;
            }
            _ => events.push((op.f.clone(), op.time, op.time)),
        }
    }
    let mut open: Vec<Window> = Vec::new();
    let mut done = Vec::new();
    for (f, from, to) in events {
        let (fam, heal) = family(&f);
        if heal {
            let (closing, keep): (Vec<Window>, Vec<Window>) =
                open.into_iter().partition(|w| family(&w.fault).0 == fam);
            open = keep;
            done.extend(closing.into_iter().map(|mut w| {
                w.to = to;
                w.healed_by = Some(f.clone());
                w
            }));
        } else {
            open.push(Window {
                fault: f,
                from,
                to: end_of_history,
                healed_by: None,
            });
        }
    }
    done.extend(open);
    done.sort_by_key(|w| w.from);
    done
}

fn share(ok: usize, n: usize) -> Value {
    if n == 0 {
        Value::Null
    } else {
        json!(ok as f64 / n as f64)
    }
}

fn hist_json(h: &Histogram<u64>) -> Value {
    let q = |x: f64| ms(h.value_at_quantile(x));
    json!({"count": h.len(), "p50": q(0.5), "p90": q(0.9), "p99": q(0.99), "p999": q(0.999), "max": ms(h.max()), "mean": h.mean() / 1e6})
}

impl Checker for Perf {
    fn name(&self) -> &str {
        "perf"
    }

    fn check(&self, h: &History, _opts: &CheckOptions) -> Verdict {
        let all = match spans(h) {
            Ok(s) => s,
            Err(e) => return Verdict::unknown("perf", format!("history cannot be paired: {e}")),
        };
        let mut lat: BTreeMap<&str, Histogram<u64>> = BTreeMap::new();
        let (mut ok, mut fail, mut info) = (0usize, 0usize, 0usize);
        for s in &all {
            match s.outcome {
                Outcome::Ok => {
                    ok += 1;
                    let hist = lat.entry(s.f).or_insert_with(|| {
                        Histogram::new_with_bounds(1, MAX_LATENCY_NS, 3).expect("valid bounds")
                    });
                    hist.saturating_record((s.end - s.start).max(1));
                }
                Outcome::Fail => fail += 1,
                Outcome::Info => info += 1,
            }
        }
        let first = all.iter().map(|s| s.start).min().unwrap_or(0);
        let last = all
            .iter()
            .map(|s| s.completed_at.unwrap_or(s.start))
            .max()
            .unwrap_or(0);
        let span_ns = last.saturating_sub(first).max(1);
        let bucket = (span_ns.div_ceil(MAX_BUCKETS)).max(100_000_000);
        let n_buckets = (last / bucket + 1) as usize;
        let mut series = vec![[0usize; 3]; n_buckets];
        for s in &all {
            let t = s.completed_at.unwrap_or(s.start);
            let slot = match s.outcome {
                Outcome::Ok => 0,
                Outcome::Fail => 1,
                Outcome::Info => 2,
            };
            series[(t / bucket) as usize][slot] += 1;
        }
        let windows = nemesis_windows(h);
        let inside = |s: &Span| windows.iter().any(|w| s.start >= w.from && s.start <= w.to);
        let (mut in_n, mut in_ok, mut out_n, mut out_ok) = (0, 0, 0, 0);
        for s in &all {
            let good = (s.outcome == Outcome::Ok) as usize;
            if inside(s) {
                in_n += 1;
                in_ok += good;
            } else {
                out_n += 1;
                out_ok += good;
            }
        }
        let win_json: Vec<Value> = windows
            .iter()
            .map(|w| {
                let (n, k) = all
                    .iter()
                    .filter(|s| s.start >= w.from && s.start <= w.to)
                    .fold((0, 0), |(n, k), s| {
                        (n + 1, k + (s.outcome == Outcome::Ok) as usize)
                    });
                json!({"fault": w.fault, "from_ms": ms(w.from), "to_ms": ms(w.to), "healed_by": w.healed_by,
                       "ops": n, "ok": k, "share": share(k, n)})
            })
            .collect();
        let stride = all.len().div_ceil(MAX_POINTS).max(1);
        let points: Vec<Value> = all
            .iter()
            .step_by(stride)
            .map(|s| {
                let (l, ty) = match s.outcome {
                    Outcome::Ok => (json!(ms(s.end - s.start)), "ok"),
                    Outcome::Fail => (json!(ms(s.end - s.start)), "fail"),
                    Outcome::Info => (Value::Null, "info"),
                };
                json!([ms(s.start), l, s.f, ty])
            })
            .collect();
        let latency: serde_json::Map<String, Value> =
            lat.iter().map(|(f, h)| (f.to_string(), hist_json(h))).collect();
        let summary = format!(
            "{} ops ({ok} ok, {fail} fail, {info} info); availability {} outside faults, {} inside {} fault window(s)",
            all.len(),
            fmt_share(out_ok, out_n),
            fmt_share(in_ok, in_n),
            windows.len()
        );
        Verdict::valid("perf", summary).with_details(json!({
            "ops": all.len(),
            "completed": {"ok": ok, "fail": fail, "info": info},
            "latency_ms": latency,
            "throughput": {"bucket_ms": ms(bucket), "series": series.iter().enumerate()
                .map(|(i, c)| json!({"t_ms": ms(i as u64 * bucket), "ok": c[0], "fail": c[1], "info": c[2]}))
                .collect::<Vec<_>>()},
            "availability": {"inside": {"ops": in_n, "ok": in_ok, "share": share(in_ok, in_n)},
                             "outside": {"ops": out_n, "ok": out_ok, "share": share(out_ok, out_n)}},
            "windows": win_json,
            "points": {"stride": stride, "series": points},
        }))
    }
}

fn fmt_share(ok: usize, n: usize) -> String {
    if n == 0 {
        "n/a".into()
    } else {
        format!("{:.1}%", 100.0 * ok as f64 / n as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::Validity;
    use crate::history::{Op, Process};

    #[test]
    fn windows_and_availability() {
        let c = |ty, p, f: &str, t| Op::new(ty, Process::Client(p), f, Value::Null).with_time(t);
        let n = |ty, f: &str, t| Op::new(ty, Process::Nemesis, f, Value::Null).with_time(t);
        let mut h = History::new(vec![
            c(OpType::Invoke, 1, "read", 0),
            c(OpType::Ok, 1, "read", 1_000_000),
            n(OpType::Invoke, "partition", 2_000_000),
            n(OpType::Info, "partition", 2_100_000),
            c(OpType::Invoke, 1, "read", 3_000_000),
            c(OpType::Info, 1, "read", 4_000_000),
            n(OpType::Info, "heal", 5_000_000),
            c(OpType::Invoke, 2, "read", 6_000_000),
            c(OpType::Ok, 2, "read", 7_000_000),
        ]);
        h.reindex();
        let w = nemesis_windows(&h);
        assert_eq!(w.len(), 1);
        assert_eq!(
            (w[0].from, w[0].to, w[0].healed_by.as_deref()),
            (2_000_000, 5_000_000, Some("heal"))
        );
        let v = Perf.check(&h, &CheckOptions::default());
        assert_eq!(v.valid, Validity::Valid);
        let d = &v.details;
        assert_eq!(d["availability"]["inside"]["share"], 0.0);
        assert_eq!(d["availability"]["outside"]["share"], 1.0);
        assert_eq!(d["latency_ms"]["read"]["count"], 2);
        // HDR histograms keep 3 significant digits.
        let max = d["latency_ms"]["read"]["max"].as_f64().unwrap();
        assert!((max - 1.0).abs() < 1e-3, "{max}");
    }

    #[test]
    fn a_clock_drift_is_healed_by_the_rate_reset_only() {
        let n = |f: &str, t| Op::new(OpType::Info, Process::Nemesis, f, Value::Null).with_time(t);
        let mut h = History::new(vec![
            n("clock-drift", 1_000),
            n("clock-bump", 2_000),
            n("clock-reset", 3_000),
            n("clock-rate-reset", 4_000),
        ]);
        h.reindex();
        let w: Vec<_> = nemesis_windows(&h)
            .into_iter()
            .map(|w| (w.fault, w.from, w.to, w.healed_by))
            .collect();
        let healed = |s: &str| Some(s.to_string());
        assert_eq!(
            w,
            vec![
                ("clock-drift".into(), 1_000, 4_000, healed("clock-rate-reset")),
                ("clock-bump".into(), 2_000, 3_000, healed("clock-reset")),
            ]
        );
    }
}
