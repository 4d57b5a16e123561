//! The page's data island: the history reduced to compact columns the
//! report's script draws from (timeline, latency, throughput, availability).
//!
//! Everything is derived from the history itself, not from checker details,
//! so the plots exist for any history and any checker set. Times are
//! microseconds since the test started. Invariant: column vectors of
//! [`OpColumns`] all have the same length, one entry per client invocation.

use super::escape::{short, truncate, value_text};
use super::failover::{Lost, Window, PHASES};
use crate::history::{History, NodeEvent, OpType, Process};
use serde::Serialize;
use std::collections::HashMap;

/// Longest value text kept per op (tooltips only; the full op is in history.jsonl).
const VALUE_CHARS: usize = 48;
/// Most node events drawn as markers.
const MAX_NODE_EVENTS: usize = 5_000;

/// One client operation per entry: invocation paired with its completion.
#[derive(Debug, Default, Serialize)]
pub struct OpColumns {
    /// Lane (index into [`Timeline::lanes`]).
    pub lane: Vec<u32>,
    /// Invocation time, µs.
    pub t0: Vec<u64>,
    /// Completion time, µs (end of history for a pending op).
    pub t1: Vec<u64>,
    /// 0 ok, 1 fail, 2 info, 3 pending (never completed).
    pub ty: Vec<u8>,
    /// Index into [`Timeline::fs`].
    pub f: Vec<u32>,
    /// Key text ("" when none).
    pub key: Vec<String>,
    /// Value text (the completion's value when it has one, else the invocation's), truncated.
    pub val: Vec<String>,
    /// History index of the invocation.
    pub inv: Vec<u64>,
    /// History index of the completion, or -1.
    pub cmp: Vec<i64>,
}

/// A fault window: from the start of a fault to the end of its healing op
/// (or the end of the history when never healed). Point events (`end == start`)
/// are faults with no known end kind.
#[derive(Debug, Serialize, Clone, PartialEq)]
pub struct NemesisWindow {
    /// Fault family: `partition`, `kill`, `pause`, `clock`, `drift` (clock
    /// rate), or the raw `f`.
    pub kind: String,
    pub start: u64,
    pub end: u64,
    /// What happened (f names and values), truncated.
    pub text: String,
    /// History indices of the nemesis ops in this window.
    pub ops: Vec<u64>,
}

/// Per time bucket: completions by type and latency quantiles of `ok` ops (ms, -1 when none).
#[derive(Debug, Default, Serialize)]
pub struct Buckets {
    /// Bucket width, µs.
    pub width: u64,
    pub ok: Vec<u32>,
    pub fail: Vec<u32>,
    pub info: Vec<u32>,
    pub p50: Vec<f64>,
    pub p95: Vec<f64>,
    pub p99: Vec<f64>,
}

/// A node event drawn as a marker on the timeline (leader changes and starts).
#[derive(Debug, Serialize)]
pub struct Marker {
    pub t: u64,
    pub node: String,
    pub event: String,
    pub term: u64,
}

/// A failover window drawn as a band on every plot, µs.
#[derive(Debug, Serialize)]
pub struct Band {
    pub epoch: u64,
    pub start: u64,
    pub end: u64,
    /// `failover epoch N n1→n2`.
    pub label: String,
}

/// A lost acknowledged write, marked on the timeline at its acknowledgement.
#[derive(Debug, Serialize)]
pub struct LostMark {
    /// Acknowledgement time, µs.
    pub t: u64,
    /// Index into [`PHASES`] (`before`, `during`, `after`, `none`).
    pub phase: u8,
    /// History index of the acknowledging op, or -1.
    pub op: i64,
    /// Element and acknowledging node, for the tooltip.
    pub text: String,
}

/// Everything the script draws.
#[derive(Debug, Default, Serialize)]
pub struct Timeline {
    /// Lane labels: client processes in numeric order.
    pub lanes: Vec<String>,
    pub fs: Vec<String>,
    pub ops: OpColumns,
    pub nemesis: Vec<NemesisWindow>,
    pub buckets: Buckets,
    pub markers: Vec<Marker>,
    /// Failover windows (empty without failover events).
    pub failovers: Vec<Band>,
    /// Lost writes from a `lost-attribution` anomaly.
    pub lost: Vec<LostMark>,
    /// End of the history, µs.
    pub end: u64,
    /// History indices named by any anomaly (highlighted).
    pub witness: Vec<u64>,
    /// Completions without an invocation, skipped.
    pub orphans: usize,
}

/// Builds the timeline from a history. Never fails: unpaired completions are
/// counted in `orphans`, pending invocations run to the end of the history.
pub fn build(h: &History, witness: Vec<u64>, events: &[NodeEvent]) -> Timeline {
    let end = h.ops.iter().map(|o| o.time / 1000).max().unwrap_or(0);
    let mut t = Timeline {
        end,
        witness,
        ..Timeline::default()
    };
    let mut lanes: Vec<u64> = h.ops.iter().filter_map(|o| o.process.client()).collect();
    lanes.sort_unstable();
    lanes.dedup();
    let lane_of: HashMap<u64, u32> = lanes.iter().enumerate().map(|(i, p)| (*p, i as u32)).collect();
    t.lanes = lanes.iter().map(|p| p.to_string()).collect();
    let mut f_of: HashMap<String, u32> = HashMap::new();
    // Entry position in the columns of each process's in-flight invocation.
    let mut in_flight: HashMap<u64, usize> = HashMap::new();
    for op in &h.ops {
        let Process::Client(p) = op.process else { continue };
        if op.ty == OpType::Invoke {
            let n = f_of.len() as u32;
            let f = *f_of.entry(op.f.clone()).or_insert_with(|| {
                t.fs.push(op.f.clone());
                n
            });
            let c = &mut t.ops;
            in_flight.insert(p, c.lane.len());
            c.lane.push(lane_of[&p]);
            c.t0.push(op.time / 1000);
            c.t1.push(end);
            c.ty.push(3);
            c.f.push(f);
            c.key
                .push(op.key_string().map(|k| truncate(&k, 24)).unwrap_or_default());
            c.val.push(if op.value.is_null() {
                String::new()
            } else {
                short(&op.value, VALUE_CHARS)
            });
            c.inv.push(op.index);
            c.cmp.push(-1);
        } else if let Some(i) = in_flight.remove(&p) {
            let c = &mut t.ops;
            c.t1[i] = (op.time / 1000).max(c.t0[i]);
            c.ty[i] = match op.ty {
                OpType::Ok => 0,
                OpType::Fail => 1,
                _ => 2,
            };
            c.cmp[i] = op.index as i64;
            if !op.value.is_null() {
                c.val[i] = short(&op.value, VALUE_CHARS);
            }
        } else {
            t.orphans += 1;
        }
    }
    t.nemesis = nemesis_windows(h, end);
    t.buckets = buckets(&t.ops, end);
    t.markers = events
        .iter()
        // Failover starts and ends are drawn as bands, acks and discards not at all.
        .filter(|e| {
            !matches!(
                e.event.as_str(),
                "ack" | "discard" | "failover-start" | "failover-end"
            )
        })
        .take(MAX_NODE_EVENTS)
        .map(|e| Marker {
            t: e.time / 1000,
            node: e.node.clone(),
            event: e.event.clone(),
            term: e.term,
        })
        .collect();
    t
}

impl Timeline {
    /// Adds failover bands and lost-write marks. A lost write without an
    /// acknowledgement time is placed at its op's time, or left off when
    /// neither is known (it is still listed in the attribution table).
    pub fn add_failovers(&mut self, windows: &[Window], lost: &[Lost], op_time: impl Fn(u64) -> Option<u64>) {
        self.failovers = windows
            .iter()
            .map(|w| Band {
                epoch: w.epoch,
                start: w.start / 1000,
                end: w.end / 1000,
                label: truncate(&w.label(), 80),
            })
            .collect();
        self.lost = lost
            .iter()
            .filter_map(|l| {
                let t = l.acked_time.or_else(|| l.op.and_then(&op_time))? / 1000;
                let phase = PHASES.iter().position(|p| *p == l.phase).unwrap_or(3) as u8;
                let by = l.acked_by.as_deref().unwrap_or("?");
                Some(LostMark {
                    t,
                    phase,
                    op: l.op.map_or(-1, |o| o as i64),
                    text: truncate(
                        &format!("lost {} (acked by {by}, {})", value_text(&l.element), l.phase),
                        120,
                    ),
                })
            })
            .collect();
    }
}

/// The fault family a nemesis `f` starts, or ends (`false`).
fn family(f: &str) -> Option<(&'static str, bool)> {
    let f = f.trim_start_matches(':');
    Some(match f {
        _ if f.starts_with("partition") || f.starts_with("isolate") || f == "bridge" => ("partition", true),
        "heal" | "heal-partition" | "stop-partition" => ("partition", false),
        "kill" | "crash" | "stop" => ("kill", true),
        "restart" | "start" | "recover" => ("kill", false),
        "pause" | "suspend" => ("pause", true),
        "resume" | "unpause" => ("pause", false),
        "clock-drift" => ("drift", true),
        "clock-rate-reset" => ("drift", false),
        "delay" | "loss" => ("packet", true),
        "packet-heal" => ("packet", false),
        _ if f.starts_with("clock-reset") || f == "reset-clock" => ("clock", false),
        _ if f.starts_with("clock") || f == "bump" || f == "strobe" => ("clock", true),
        _ => return None,
    })
}

/// Folds nemesis ops into windows. An invoke/info pair is one event (its
/// invocation time opens a window, its completion time closes one); a lone
/// op is an event at its own time. One window per fault family is open at a
/// time; a second start of the same family extends the open window.
pub fn nemesis_windows(h: &History, end: u64) -> Vec<NemesisWindow> {
    let mut out: Vec<NemesisWindow> = Vec::new();
    let mut open: HashMap<&'static str, usize> = HashMap::new();
    let mut pending_invoke: Option<usize> = None;
    for (pos, op) in h.ops.iter().enumerate() {
        if !op.process.is_nemesis() {
            continue;
        }
        if op.ty == OpType::Invoke {
            pending_invoke = Some(pos);
            continue;
        }
        // The event spans its invocation (if paired with the same f) to this completion.
        let inv = pending_invoke.take().filter(|&i| h.ops[i].f == op.f);
        let t_start = inv.map(|i| h.ops[i].time).unwrap_or(op.time) / 1000;
        let t_end = op.time / 1000;
        let mut ids: Vec<u64> = inv.map(|i| h.ops[i].index).into_iter().collect();
        ids.push(op.index);
        let v = if op.value.is_null() {
            inv.map(|i| h.ops[i].value.clone()).unwrap_or_default()
        } else {
            op.value.clone()
        };
        let text = if v.is_null() {
            op.f.clone()
        } else {
            format!("{} {}", op.f, short(&v, 100))
        };
        match family(&op.f) {
            Some((fam, true)) => match open.get(fam) {
                Some(&w) => {
                    out[w].ops.extend(ids);
                    out[w].text = truncate(&format!("{}; {}", out[w].text, text), 200);
                }
                None => {
                    open.insert(fam, out.len());
                    out.push(NemesisWindow {
                        kind: fam.to_string(),
                        start: t_start,
                        end,
                        text,
                        ops: ids,
                    });
                }
            },
            Some((fam, false)) => {
                if let Some(w) = open.remove(fam) {
                    out[w].end = t_end.max(out[w].start);
                    out[w].ops.extend(ids);
                    out[w].text = truncate(&format!("{}; {}", out[w].text, text), 200);
                }
            }
            None => out.push(NemesisWindow {
                kind: op.f.clone(),
                start: t_start,
                end: t_end,
                text,
                ops: ids,
            }),
        }
    }
    // A lone nemesis invoke at the very end (never completed) is a point event.
    if let Some(i) = pending_invoke {
        let op = &h.ops[i];
        out.push(NemesisWindow {
            kind: op.f.clone(),
            start: op.time / 1000,
            end,
            text: format!("{} (never completed)", op.f),
            ops: vec![op.index],
        });
    }
    out
}

/// A round bucket width (1, 2 or 5 × 10^k µs) giving about 150 buckets, at least 1 ms.
fn bucket_width(end: u64) -> u64 {
    let target = (end / 150).max(1_000);
    let mut w = 1_000u64;
    loop {
        for m in [1, 2, 5] {
            if w * m >= target {
                return w * m;
            }
        }
        w *= 10;
    }
}

fn buckets(c: &OpColumns, end: u64) -> Buckets {
    let width = bucket_width(end);
    let n = (end / width + 1) as usize;
    let mut b = Buckets {
        width,
        ok: vec![0; n],
        fail: vec![0; n],
        info: vec![0; n],
        ..Buckets::default()
    };
    let mut lat: Vec<Vec<u64>> = vec![Vec::new(); n];
    for i in 0..c.t0.len() {
        let k = ((c.t1[i] / width) as usize).min(n - 1);
        match c.ty[i] {
            0 => {
                b.ok[k] += 1;
                lat[k].push(c.t1[i] - c.t0[i]);
            }
            1 => b.fail[k] += 1,
            2 => b.info[k] += 1,
            _ => {}
        }
    }
    for mut l in lat {
        l.sort_unstable();
        for (q, dst) in [(0.5, &mut b.p50), (0.95, &mut b.p95), (0.99, &mut b.p99)] {
            dst.push(quantile(&l, q));
        }
    }
    b
}

/// Nearest-rank quantile of sorted µs values, in ms; -1 for an empty slice.
fn quantile(sorted: &[u64], q: f64) -> f64 {
    if sorted.is_empty() {
        return -1.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1] as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Op;
    use serde_json::{json, Value};

    fn op(ty: OpType, p: Process, f: &str, v: Value, t_ms: u64) -> Op {
        Op::new(ty, p, f, v).with_time(t_ms * 1_000_000)
    }

    fn hist(ops: Vec<Op>) -> History {
        let mut h = History::new(ops);
        h.reindex();
        h
    }

    #[test]
    fn pairs_ops_per_process_and_keeps_pending_to_the_end() {
        use OpType::*;
        let c = Process::Client;
        let h = hist(vec![
            op(Invoke, c(1), "write", json!(1), 0),
            op(Invoke, c(2), "read", Value::Null, 1),
            op(Ok, c(1), "write", json!(1), 3),
            op(Fail, c(7), "read", Value::Null, 4),
            op(Ok, c(2), "read", json!(1), 5),
            op(Invoke, c(1), "cas", json!([1, 2]), 6),
            op(Ok, c(2), "read", json!(1), 9),
        ]);
        let t = build(&h, vec![], &[]);
        assert_eq!(t.lanes, vec!["1", "2", "7"]);
        assert_eq!(t.fs, vec!["write", "read", "cas"]);
        assert_eq!(t.ops.ty, vec![0, 0, 3]);
        assert_eq!(t.ops.t0, vec![0, 1000, 6000]);
        assert_eq!(t.ops.t1, vec![3000, 5000, 9000]);
        assert_eq!(t.ops.cmp, vec![2, 4, -1]);
        assert_eq!(t.ops.val[1], "1");
        assert_eq!(t.orphans, 2);
        assert_eq!(t.buckets.ok.iter().sum::<u32>(), 2);
    }

    #[test]
    fn nemesis_windows_pair_start_and_heal() {
        use OpType::*;
        let n = Process::Nemesis;
        let h = hist(vec![
            op(Invoke, n, "partition", json!({"n1": ["n2"]}), 10),
            op(Info, n, "partition", json!({"n1": ["n2"]}), 12),
            op(Invoke, n, "heal", Value::Null, 50),
            op(Info, n, "heal", Value::Null, 51),
            op(Info, n, "kill", json!("n3"), 60),
            op(Info, n, "weird", Value::Null, 70),
        ]);
        let w = nemesis_windows(&h, 100_000);
        assert_eq!(w.len(), 3);
        assert_eq!(
            (w[0].kind.as_str(), w[0].start, w[0].end),
            ("partition", 10_000, 51_000)
        );
        assert_eq!(w[0].ops, vec![0, 1, 2, 3]);
        assert_eq!(
            (w[1].kind.as_str(), w[1].start, w[1].end),
            ("kill", 60_000, 100_000)
        );
        assert_eq!(
            (w[2].kind.as_str(), w[2].start, w[2].end),
            ("weird", 70_000, 70_000)
        );
        // Clock drift is its own family: a skew reset does not end it.
        let h = hist(vec![
            op(Info, n, "clock-drift", json!({"n1": 0.25}), 10),
            op(Info, n, "clock-reset", json!([]), 20),
            op(Info, n, "clock-rate-reset", json!(["n1"]), 30),
        ]);
        let w = nemesis_windows(&h, 100_000);
        let drift: Vec<_> = w.iter().filter(|w| w.kind == "drift").collect();
        assert_eq!(drift.len(), 1, "{w:?}");
        assert_eq!((drift[0].start, drift[0].end), (10_000, 30_000));
    }

    #[test]
    fn quantiles_are_nearest_rank() {
        let v: Vec<u64> = (1..=100).map(|x| x * 1000).collect();
        assert_eq!(quantile(&v, 0.5), 50.0);
        assert_eq!(quantile(&v, 0.99), 99.0);
        assert_eq!(quantile(&[], 0.5), -1.0);
        assert_eq!(bucket_width(0), 1000);
        assert_eq!(bucket_width(30_000_000), 200_000);
    }
}
