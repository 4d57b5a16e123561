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

use super::span::{over_budget, quantiles_ms, spans, Outcome, Span};
use super::{Anomaly, CheckOptions, Checker, Validity, Verdict};
use crate::history::History;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Instant;

/// At most this many anomalies of one kind are listed one by one; counts are always exact.
const MAX_LISTED: usize = 50;

mod attribution;
mod elem;
mod judge;
mod presence;
mod strays;

use attribution::{attribution, Lost};
use elem::{Elem, ElemInfo, Interner};
use judge::{judge, unexpected, KeyReads};
use presence::Presence;

pub struct SetChecker;

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
    let (ids, elems) = intern_adds(adds, t);
    let (presence, malformed, strays) = Presence::of(&reads, &ids, elems.len());
    unexpected(key, &reads, strays, t, listed);
    t.reads += reads.len();
    let set = KeyReads {
        key,
        reads: &reads,
        starts: &starts,
    };
    for (id, (e, info)) in elems.iter().enumerate() {
        // Every interned element came from an add (strays are counted apart).
        let Some(add) = info.add else { continue };
        judge(&set, e, add, presence.of_elem(id), t, listed);
    }
    malformed
}

/// Element ids for the adds of one key, each element with its add (with duplicate adds,
/// an acknowledged one: the stronger claim).
fn intern_adds<'h>(adds: &[&'h Span<'h>], t: &mut Tally) -> (Interner, Vec<(Elem, ElemInfo<'h>)>) {
    let mut ids = Interner::for_adds(adds);
    let mut elems: Vec<(Elem, ElemInfo)> = Vec::with_capacity(adds.len());
    for a in adds {
        let id = match ids.get(a.value) {
            Some(id) => id,
            None => ids.insert(a.value, &mut elems),
        };
        let slot = &mut elems[id as usize].1.add;
        if slot.is_none() || (a.outcome == Outcome::Ok && slot.is_some_and(|s| s.outcome != Outcome::Ok)) {
            *slot = Some(a);
        }
        t.adds += 1;
        t.ok_adds += (a.outcome == Outcome::Ok) as usize;
    }
    (ids, elems)
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
