//! Jepsen's set-full checker: unique `add`s, `read`s of the whole set.
//!
//! Per element we find the time it became *known* (its add was acknowledged,
//! or a read that contained it completed). Every read that began after that
//! must contain it. Outcomes:
//! - `lost`: acknowledged, never seen in any read, absent from reads that began after the ack;
//! - `lost-after-seen`: known, then absent from the last reads that began after it was known;
//! - `unstable`: absent from some read that began after it was known, yet present again later;
//! - `unexpected`: read, but no add of it was ever invoked;
//! - recovered (not an anomaly): the add ended `info`/`fail`/pending, yet the element appeared;
//! - never-read (not an anomaly): no read began after it was known.
//!
//! - `lost-attribution` (one, only with lost elements and failover windows in the node logs,
//!   see [`super::failover`]): each lost element's acknowledgement placed before, during or
//!   after the failover that lost it (the next failover away from the node that acknowledged
//!   it, the completion's `node`; else the nearest window).
//!
//! With a `key` on ops, each key is its own set. Cost: O(reads log reads + total
//! elements read), so a million adds take well under a second.

use super::failover::{self, Phase};
use super::span::{ms, over_budget, quantiles_ms, spans, Outcome, Span};
use super::{Anomaly, CheckOptions, Checker, Validity, Verdict};
use crate::history::History;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

/// At most this many anomalies of one kind are listed one by one; counts are always exact.
const MAX_LISTED: usize = 50;

mod strays;

use crate::util::text::preview;
use strays::Strays;

pub struct SetChecker;

/// An element, hashed cheaply when it is an integer.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Elem {
    Int(i64),
    Other(String),
}

impl Elem {
    fn of(v: &Value) -> Elem {
        match v.as_i64() {
            Some(i) => Elem::Int(i),
            None => Elem::Other(v.to_string()),
        }
    }
    fn to_json(&self) -> Value {
        match self {
            Elem::Int(i) => json!(i),
            Elem::Other(s) => serde_json::from_str(s).unwrap_or(Value::String(s.clone())),
        }
    }
}

/// Per element: its add (if any). Its reads live in a flat presence array.
#[derive(Default)]
struct ElemInfo<'h> {
    add: Option<&'h Span<'h>>,
}

/// Element ids: a plain array when the added integers are dense (the common
/// case, and the fast one), with a hash map for everything else.
struct Interner {
    min: i64,
    dense: Vec<u32>,
    map: HashMap<Elem, u32>,
}

impl Interner {
    fn for_adds(adds: &[&Span]) -> Interner {
        let ints: Option<Vec<i64>> = adds.iter().map(|a| a.value.as_i64()).collect();
        let (min, len) = match ints {
            Some(v) if !v.is_empty() => {
                let (lo, hi) = (
                    v.iter().min().copied().unwrap_or(0),
                    v.iter().max().copied().unwrap_or(0),
                );
                let span = hi.saturating_sub(lo) as u64;
                if span < 4 * v.len() as u64 + 1024 {
                    (lo, span as usize + 1)
                } else {
                    (0, 0)
                }
            }
            _ => (0, 0),
        };
        Interner {
            min,
            dense: vec![u32::MAX; len],
            map: HashMap::new(),
        }
    }

    fn slot(&self, v: &Value) -> Option<usize> {
        let i = v.as_i64()?.checked_sub(self.min)?;
        (i >= 0 && (i as usize) < self.dense.len()).then_some(i as usize)
    }

    fn get(&self, v: &Value) -> Option<u32> {
        match self.slot(v) {
            Some(i) => Some(self.dense[i]).filter(|&x| x != u32::MAX),
            None => self.map.get(&Elem::of(v)).copied(),
        }
    }

    fn insert<'h>(&mut self, v: &Value, elems: &mut Vec<(Elem, ElemInfo<'h>)>) -> u32 {
        let id = elems.len() as u32;
        elems.push((Elem::of(v), ElemInfo::default()));
        match self.slot(v) {
            Some(i) => self.dense[i] = id,
            None => {
                self.map.insert(Elem::of(v), id);
            }
        }
        id
    }
}

/// One ok read, ranked by invocation time.
struct Read<'h> {
    /// The op.
    span: &'h Span<'h>,
}

#[derive(Default)]
struct Tally {
    adds: usize,
    ok_adds: usize,
    reads: usize,
    stable: usize,
    lost: usize,
    lost_after_seen: usize,
    unstable: usize,
    unexpected: usize,
    recovered: usize,
    recovered_from_fail: usize,
    never_read: usize,
    unacknowledged_absent: usize,
    visible_ms: Vec<f64>,
    stable_ms: Vec<f64>,
    /// Every `lost` element (not only the listed ones), for the failover attribution.
    lost_elems: Vec<Lost>,
}

/// One acknowledged add that no read ever contained.
struct Lost {
    element: Value,
    key: String,
    /// History index of the acknowledgement (the add's completion).
    op: u64,
    acked_time: u64,
    acked_by: Option<String>,
}

impl Checker for SetChecker {
    fn name(&self) -> &str {
        "set"
    }

    fn check(&self, h: &History, opts: &CheckOptions) -> Verdict {
        let started = Instant::now();
        let all = match spans(h) {
            Ok(s) => s,
            Err(e) => return Verdict::unknown("set", format!("history cannot be paired: {e}")),
        };
        let mut by_key: HashMap<String, (Vec<&Span>, Vec<&Span>)> = HashMap::new();
        for s in &all {
            match s.f {
                "add" => by_key.entry(s.key_str()).or_default().0.push(s),
                "read" if s.outcome == Outcome::Ok => by_key.entry(s.key_str()).or_default().1.push(s),
                _ => {}
            }
        }
        let mut keys: Vec<_> = by_key.into_iter().collect();
        keys.sort_by(|a, b| a.0.cmp(&b.0));
        let mut t = Tally::default();
        let mut listed: HashMap<&'static str, Vec<Anomaly>> = HashMap::new();
        let mut malformed = 0usize;
        for (key, (adds, reads)) in &keys {
            if over_budget(opts, started) {
                return Verdict::unknown("set", super::time_ran_out());
            }
            malformed += check_key(key, adds, reads, &mut t, &mut listed);
        }
        let mut v = Verdict::valid("set", "");
        for kind in ["lost", "lost-after-seen", "unstable", "unexpected"] {
            for a in listed.remove(kind).unwrap_or_default() {
                v.push_anomaly(a);
            }
        }
        v.summary = format!(
            "{} adds ({} ok), {} reads: {} lost, {} lost after seen, {} unstable, {} unexpected, {} recovered, {} never read",
            t.adds, t.ok_adds, t.reads, t.lost, t.lost_after_seen, t.unstable, t.unexpected, t.recovered, t.never_read
        );
        let history_end = h.ops.iter().map(|o| o.time).max().unwrap_or(0);
        let mut by_phase = Value::Null;
        if let Some((a, phases)) = attribution(&t.lost_elems, opts, history_end) {
            v.summary.push_str(&format!(
                "; lost vs failover windows: {} before, {} during, {} after",
                phases[0], phases[1], phases[2]
            ));
            by_phase = json!({"before": phases[0], "during": phases[1], "after": phases[2]});
            v.push_anomaly(a);
        }
        if v.valid == Validity::Valid && t.reads == 0 && t.adds > 0 {
            v.valid = Validity::Unknown;
            v.summary = format!("{} adds but no ok read: nothing can be concluded", t.adds);
        }
        v.with_details(json!({
            "keys": keys.len(),
            "adds": t.adds, "ok_adds": t.ok_adds, "reads": t.reads,
            "stable": t.stable, "lost": t.lost, "lost_after_seen": t.lost_after_seen,
            "unstable": t.unstable, "unexpected": t.unexpected, "recovered": t.recovered,
            "recovered_from_fail": t.recovered_from_fail, "never_read": t.never_read,
            "unacknowledged_absent": t.unacknowledged_absent, "malformed_reads": malformed,
            "lost_by_failover_phase": by_phase,
            "visible_latency_ms": quantiles_ms(&mut t.visible_ms),
            "stable_latency_ms": quantiles_ms(&mut t.stable_ms),
        }))
    }
}

fn list(listed: &mut HashMap<&'static str, Vec<Anomaly>>, kind: &'static str, a: impl FnOnce() -> Anomaly) {
    let l = listed.entry(kind).or_default();
    if l.len() < MAX_LISTED {
        l.push(a());
    }
}

fn key_label(key: &str) -> String {
    if key.is_empty() {
        String::new()
    } else {
        format!(" (key {key})")
    }
}

/// Checks one set; returns the number of ok reads whose value was not a list.
fn check_key<'h>(
    key: &str,
    adds: &[&'h Span<'h>],
    reads: &[&'h Span<'h>],
    t: &mut Tally,
    listed: &mut HashMap<&'static str, Vec<Anomaly>>,
) -> usize {
    let mut reads: Vec<Read> = reads.iter().map(|s| Read { span: s }).collect();
    reads.sort_by_key(|r| (r.span.start, r.span.inv));
    let starts: Vec<u64> = reads.iter().map(|r| r.span.start).collect();
    let mut ids = Interner::for_adds(adds);
    let mut elems: Vec<(Elem, ElemInfo)> = Vec::with_capacity(adds.len());
    for a in adds {
        let id = match ids.get(a.value) {
            Some(id) => id,
            None => ids.insert(a.value, &mut elems),
        };
        let slot = &mut elems[id as usize].1.add;
        // With duplicate adds, prefer an acknowledged one (the stronger claim).
        if slot.is_none() || (a.outcome == Outcome::Ok && slot.is_some_and(|s| s.outcome != Outcome::Ok)) {
            *slot = Some(a);
        }
        t.adds += 1;
        t.ok_adds += (a.outcome == Outcome::Ok) as usize;
    }
    // Presence lists in one flat array (CSR): resolve ids read by read, then counting-sort.
    let mut malformed = 0;
    let total: usize = reads
        .iter()
        .filter_map(|r| r.span.value.as_array().map(Vec::len))
        .sum();
    let mut occ: Vec<u32> = Vec::with_capacity(total);
    let mut bounds: Vec<usize> = vec![0];
    let mut strays = Strays::default();
    for (rank, r) in reads.iter().enumerate() {
        match r.span.value.as_array() {
            Some(items) => {
                for (pos, x) in items.iter().enumerate() {
                    match ids.get(x) {
                        Some(id) => occ.push(id),
                        None => strays.push(x, rank, pos),
                    }
                }
            }
            None => malformed += 1,
        }
        bounds.push(occ.len());
    }
    unexpected(key, &reads, strays, t, listed);
    let mut offsets = vec![0usize; elems.len() + 1];
    let mut last_rank = vec![u32::MAX; elems.len()];
    for rank in 0..reads.len() {
        for &id in &occ[bounds[rank]..bounds[rank + 1]] {
            if last_rank[id as usize] != rank as u32 {
                last_rank[id as usize] = rank as u32;
                offsets[id as usize + 1] += 1;
            }
        }
    }
    for i in 0..elems.len() {
        offsets[i + 1] += offsets[i];
    }
    let mut flat = vec![0u32; offsets[elems.len()]];
    let mut fill = offsets.clone();
    last_rank.fill(u32::MAX);
    for rank in 0..reads.len() {
        for &id in &occ[bounds[rank]..bounds[rank + 1]] {
            if last_rank[id as usize] != rank as u32 {
                last_rank[id as usize] = rank as u32;
                flat[fill[id as usize]] = rank as u32;
                fill[id as usize] += 1;
            }
        }
    }
    drop(occ);
    t.reads += reads.len();
    let n = reads.len();
    for (id, (e, info)) in elems.iter().enumerate() {
        let present = &flat[offsets[id]..offsets[id + 1]];
        let first_seen = present.first().map(|&r| reads[r as usize].span);
        // Every interned element came from an add (strays are counted apart).
        let Some(add) = info.add else { continue };
        let acked = add.outcome == Outcome::Ok;
        if !acked && first_seen.is_some() {
            t.recovered += 1;
            if add.outcome == Outcome::Fail {
                t.recovered_from_fail += 1;
            }
        }
        // Known: ack time, or the completion of the first read that saw it.
        let known = match (acked, first_seen) {
            (true, Some(r)) => add.end.min(r.end),
            (true, None) => add.end,
            (false, Some(r)) => r.end,
            (false, None) => {
                t.unacknowledged_absent += 1;
                continue;
            }
        };
        let first_after = starts.partition_point(|&s| s <= known);
        if first_after == n {
            t.never_read += 1;
            continue;
        }
        let present_after = present.len() - present.partition_point(|&r| (r as usize) < first_after);
        if let Some(r) = first_seen {
            t.visible_ms
                .push(ms(r.start.saturating_sub(add.end.min(r.start))));
        }
        if present_after == n - first_after {
            t.stable += 1;
            if acked {
                t.stable_ms.push(0.0);
            }
            continue;
        }
        // The last absent read: walk back from the newest read past the trailing presents.
        let mut last_absent = n - 1;
        let mut pi = present.len();
        while pi > 0 && present[pi - 1] as usize == last_absent {
            pi -= 1;
            last_absent -= 1;
        }
        let absent = reads[last_absent].span;
        let last_present = present.last().map(|&r| reads[r as usize].span);
        let mut ops = add.ops();
        if let Some(r) = first_seen {
            ops.extend(r.ops());
        }
        ops.extend(absent.ops());
        let elem = e.to_json();
        let data = json!({
            "element": elem, "key": key, "known_at_ms": ms(known),
            "absent_read_ms_after_known": ms(absent.start - known),
        });
        match last_present {
            Some(lp) if (present[present.len() - 1] as usize) > last_absent => {
                t.unstable += 1;
                if acked {
                    t.stable_ms.push(ms(absent.end.saturating_sub(add.end)));
                }
                let mut ops = ops;
                ops.extend(lp.ops());
                list(listed, "unstable", || {
                    Anomaly {
                    kind: "unstable".into(),
                    explanation: format!(
                        "Element {elem}{} was known at {:.3} ms, missing from a read that began {:.3} ms later, then present again in a later read.",
                        key_label(key), ms(known), ms(absent.start - known)
                    ),
                    ops,
                    data,
                }
                });
            }
            Some(_) => {
                t.lost_after_seen += 1;
                list(listed, "lost-after-seen", || {
                    Anomaly {
                    kind: "lost-after-seen".into(),
                    explanation: format!(
                        "Element {elem}{} was read, then missing from every read from one that began {:.3} ms after it was known: it was lost after being seen.",
                        key_label(key), ms(absent.start - known)
                    ),
                    ops,
                    data,
                }
                });
            }
            None => {
                t.lost += 1;
                t.lost_elems.push(Lost {
                    element: elem.clone(),
                    key: key.to_string(),
                    op: add.done.unwrap_or(add.inv),
                    acked_time: add.end,
                    acked_by: add.node.map(str::to_string),
                });
                list(listed, "lost", || {
                    Anomaly {
                    kind: "lost".into(),
                    explanation: format!(
                        "The add of {elem}{} was acknowledged, but no read ever contained it, including one that began {:.3} ms after the acknowledgement.",
                        key_label(key), ms(absent.start - known)
                    ),
                    ops,
                    data,
                }
                });
            }
        }
    }
    malformed
}

/// Counts the elements reads held that no add wrote, and lists the first ones.
fn unexpected(
    key: &str,
    reads: &[Read],
    strays: Strays,
    t: &mut Tally,
    listed: &mut HashMap<&'static str, Vec<Anomaly>>,
) {
    let (count, first) = strays.first_seen(MAX_LISTED);
    t.unexpected += count;
    for s in first {
        let r = reads[s.rank].span;
        list(listed, "unexpected", || Anomaly {
            kind: "unexpected".into(),
            explanation: format!(
                "Element {}{} was read, but no add of it was ever invoked.",
                preview(&s.element, 120),
                key_label(key)
            ),
            ops: r.ops(),
            data: json!({"element": s.element, "key": key}),
        });
    }
}

/// `12,345`.
fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The `lost-attribution` anomaly: where each lost element's acknowledgement falls relative to
/// the failover that lost it (the next failover away from the node that acknowledged it, see
/// [`failover::attribute`]; else the nearest window), with counts per phase
/// (`[before, during, after]`). `None` without lost elements or without windows.
fn attribution(lost: &[Lost], opts: &CheckOptions, history_end: u64) -> Option<(Anomaly, [usize; 3])> {
    let events = &opts.node_events.as_ref()?.events;
    if lost.is_empty() {
        return None;
    }
    let windows = failover::windows_until(events, history_end);
    if windows.is_empty() {
        return None;
    }
    let mut phases = [0usize; 3];
    // (epoch, phase, node) -> (count, farthest distance from the window in ns).
    let mut groups: BTreeMap<(u64, &'static str, String), (usize, u64)> = BTreeMap::new();
    let rows: Vec<Value> = lost
        .iter()
        .map(|l| {
            let (w, phase) = failover::attribute(&windows, l.acked_time, l.acked_by.as_deref());
            if let Some(w) = w {
                let (i, dist) = match phase {
                    Phase::Before => (0, w.start - l.acked_time),
                    Phase::During => (1, 0),
                    _ => (2, l.acked_time.saturating_sub(w.end)),
                };
                phases[i] += 1;
                let node = l.acked_by.clone().unwrap_or_else(|| "an unknown node".into());
                let g = groups.entry((w.epoch, phase.as_str(), node)).or_default();
                g.0 += 1;
                g.1 = g.1.max(dist);
            }
            json!({
                "element": l.element, "key": if l.key.is_empty() { Value::Null } else { json!(l.key) },
                "op": l.op, "acked_time": l.acked_time, "acked_by": l.acked_by,
                "window": w.map(|w| w.epoch), "phase": phase.as_str(),
            })
        })
        .collect();
    let mut ranked: Vec<_> = groups.into_iter().collect();
    ranked.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then(a.0.cmp(&b.0)));
    let arrow = |epoch: u64| {
        let w = windows.iter().find(|w| w.epoch == epoch);
        let n = |x: Option<&Option<String>>| x.and_then(|x| x.clone()).unwrap_or_else(|| "?".into());
        format!("{}→{}", n(w.map(|w| &w.from)), n(w.map(|w| &w.to)))
    };
    let parts: Vec<String> = ranked
        .iter()
        .take(3)
        .map(|((epoch, phase, node), (n, dist))| {
            let secs = *dist as f64 / 1e9;
            let fo = format!("failover epoch {epoch} ({})", arrow(*epoch));
            let when = match *phase {
                "before" => format!("in the {secs:.1} s before {fo}"),
                "during" => format!("during {fo}"),
                _ => format!("up to {secs:.1} s after {fo} ended"),
            };
            format!(
                "{} {} acknowledged by {node} {when}",
                thousands(*n),
                if *n == 1 { "was" } else { "were" }
            )
        })
        .collect();
    let rest: usize = ranked.iter().skip(3).map(|g| g.1 .0).sum();
    let mut explanation = format!(
        "{} acknowledged adds lost; {}",
        thousands(lost.len()),
        parts.join("; ")
    );
    if rest > 0 {
        explanation.push_str(&format!("; {} elsewhere", thousands(rest)));
    }
    explanation.push('.');
    let mut ops: Vec<u64> = lost.iter().map(|l| l.op).collect();
    ops.truncate(MAX_LISTED);
    Some((
        Anomaly {
            kind: "lost-attribution".into(),
            explanation,
            ops,
            data: json!({"windows": windows, "lost": rows}),
        },
        phases,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{NodeEvents, Op, OpType, Process};

    /// Builds a history from (process, type, f, value, time) rows.
    fn hist(rows: &[(u64, OpType, &str, Value, u64)]) -> History {
        let mut h = History::new(
            rows.iter()
                .map(|(p, ty, f, v, t)| Op::new(*ty, Process::Client(*p), *f, v.clone()).with_time(*t))
                .collect(),
        );
        h.reindex();
        h
    }

    fn kinds(v: &Verdict) -> Vec<&str> {
        v.anomalies.iter().map(|a| a.kind.as_str()).collect()
    }

    use OpType::*;

    #[test]
    fn stable_history_is_valid() {
        let h = hist(&[
            (1, Invoke, "add", json!(1), 1),
            (1, Ok, "add", json!(1), 2),
            (2, Invoke, "read", json!(null), 3),
            (2, Ok, "read", json!([1]), 4),
        ]);
        let v = SetChecker.check(&h, &CheckOptions::default());
        assert_eq!(v.valid, Validity::Valid, "{v:?}");
        assert_eq!(v.details["stable"], 1);
    }

    #[test]
    fn each_kind_is_named() {
        let h = hist(&[
            (1, Invoke, "add", json!(1), 1),
            (1, Ok, "add", json!(1), 2),
            (1, Invoke, "add", json!(2), 3),
            (1, Ok, "add", json!(2), 4),
            (1, Invoke, "add", json!(3), 5),
            (1, Ok, "add", json!(3), 6),
            (2, Invoke, "read", json!(null), 10),
            (2, Ok, "read", json!([2, 3, 9]), 11),
            (2, Invoke, "read", json!(null), 12),
            (2, Ok, "read", json!([3]), 13),
            (2, Invoke, "read", json!(null), 14),
            (2, Ok, "read", json!([3]), 15),
        ]);
        let v = SetChecker.check(&h, &CheckOptions::default());
        let mut k = kinds(&v);
        k.sort();
        assert_eq!(k, vec!["lost", "lost-after-seen", "unexpected"]);
        let h = hist(&[
            (1, Invoke, "add", json!(1), 1),
            (1, Ok, "add", json!(1), 2),
            (2, Invoke, "read", json!(null), 10),
            (2, Ok, "read", json!([]), 11),
            (2, Invoke, "read", json!(null), 12),
            (2, Ok, "read", json!([1]), 13),
        ]);
        let v = SetChecker.check(&h, &CheckOptions::default());
        assert_eq!(kinds(&v), vec!["unstable"]);
    }

    /// Writes event lines to a temp node log; returns the dir (kept alive) and options.
    fn with_events(events: &[(&str, &str, u64, u64)]) -> (tempfile::TempDir, CheckOptions) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sentinel-events.log");
        let mut text = String::from("not an event line\n");
        for (ev, node, term, time) in events {
            text.push_str(&json!({"event": ev, "node": node, "term": term, "time": time}).to_string());
            text.push('\n');
        }
        std::fs::write(&p, text).unwrap();
        let opts = CheckOptions {
            node_events: Some(std::sync::Arc::new(NodeEvents::read(&[p]))),
            ..CheckOptions::default()
        };
        (dir, opts)
    }

    /// Adds acked by `node` at the given times, then one final read holding only `kept`.
    fn lossy(acks: &[(i64, u64, &str)], kept: &[i64]) -> History {
        let mut ops = Vec::new();
        for (v, t, node) in acks {
            ops.push(Op::new(Invoke, Process::Client(1), "add", json!(v)).with_time(t - 1));
            let mut done = Op::new(Ok, Process::Client(1), "add", json!(v)).with_time(*t);
            done.node = Some(node.to_string());
            ops.push(done);
        }
        ops.push(Op::new(Invoke, Process::Client(2), "read", json!(null)).with_time(10_000_000_000));
        ops.push(Op::new(Ok, Process::Client(2), "read", json!(kept)).with_time(10_000_000_001));
        let mut h = History::new(ops);
        h.reindex();
        h
    }

    #[test]
    fn lost_adds_are_placed_relative_to_failover_windows() {
        // Failover epoch 1 (n1→n2) from 3 s to 4 s; adds acked at 1, 2.5, 3.5 and 6 s.
        let s = 1_000_000_000u64;
        let (_d, opts) = with_events(&[
            ("leader", "n1", 0, 0),
            ("failover-start", "n1", 1, 3 * s),
            ("failover-end", "n2", 1, 4 * s),
        ]);
        let h = lossy(
            &[
                (1, s, "n1"),
                (2, 2 * s + s / 2, "n1"),
                (3, 3 * s + s / 2, "n1"),
                (4, 6 * s, "n2"),
                (5, 7 * s, "n2"),
            ],
            &[1, 5],
        );
        let v = SetChecker.check(&h, &opts);
        assert_eq!(v.valid, Validity::Invalid);
        let a: Vec<_> = v
            .anomalies
            .iter()
            .filter(|a| a.kind == "lost-attribution")
            .collect();
        assert_eq!(a.len(), 1, "exactly one attribution anomaly: {v:?}");
        let d = &a[0].data;
        assert_eq!(
            d["windows"][0],
            json!({"epoch": 1, "start": 3 * s, "end": 4 * s, "from": "n1", "to": "n2"})
        );
        let lost = d["lost"].as_array().unwrap();
        let row = |e: i64| lost.iter().find(|l| l["element"] == json!(e)).unwrap().clone();
        assert_eq!(lost.len(), 3);
        assert_eq!(
            (row(2)["phase"].clone(), row(2)["window"].clone()),
            (json!("before"), json!(1))
        );
        assert_eq!(row(3)["phase"], "during");
        assert_eq!(row(4)["phase"], "after");
        assert_eq!(row(2)["acked_by"], "n1");
        assert_eq!(row(2)["acked_time"], json!(2 * s + s / 2));
        assert_eq!(row(2)["key"], Value::Null);
        let op = row(2)["op"].as_u64().unwrap() as usize;
        assert_eq!((h.ops[op].ty, h.ops[op].value.clone()), (Ok, json!(2)));
        let e = &a[0].explanation;
        assert!(e.starts_with("3 acknowledged adds lost"), "{e}");
        assert!(
            e.contains("acknowledged by n1 in the 0.5 s before failover epoch 1 (n1→n2)"),
            "{e}"
        );
        assert!(v.summary.contains("1 before, 1 during, 1 after"), "{}", v.summary);
        assert_eq!(v.details["lost_by_failover_phase"]["during"], 1);
    }

    #[test]
    fn no_attribution_without_windows_or_without_lost_elements() {
        let s = 1_000_000_000u64;
        let h = lossy(&[(1, s, "n1"), (2, 2 * s, "n1")], &[1]);
        let (_d, no_windows) = with_events(&[("leader", "n1", 0, 0)]);
        for opts in [CheckOptions::default(), no_windows] {
            let v = SetChecker.check(&h, &opts);
            assert_eq!(kinds(&v), vec!["lost"], "{v:?}");
            assert!(!v.summary.contains("failover"));
        }
        let (_d, opts) = with_events(&[("failover-start", "n1", 1, s), ("failover-end", "n2", 1, 2 * s)]);
        let v = SetChecker.check(&lossy(&[(1, s, "n1")], &[1]), &opts);
        assert_eq!(v.valid, Validity::Valid, "{v:?}");
        assert!(v.anomalies.is_empty());
    }

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(
            [0, 999, 1_517, 1_000_000].map(thousands),
            ["0", "999", "1,517", "1,000,000"]
        );
    }

    #[test]
    fn info_add_that_appears_is_recovered_not_an_anomaly() {
        let h = hist(&[
            (1, Invoke, "add", json!(1), 1),
            (1, Info, "add", json!(1), 2),
            (2, Invoke, "read", json!(null), 10),
            (2, Ok, "read", json!([]), 11),
            (2, Invoke, "read", json!(null), 12),
            (2, Ok, "read", json!([1]), 13),
        ]);
        let v = SetChecker.check(&h, &CheckOptions::default());
        assert_eq!(v.valid, Validity::Valid, "{v:?}");
        assert_eq!(v.details["recovered"], 1);
    }
}
