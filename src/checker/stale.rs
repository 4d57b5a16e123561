//! Stale reads in register and keyed histories, without a linearizability search.
//!
//! A read of value `v` is *certainly* stale when some write `w` to the same key
//! was invoked after `v`'s write was acknowledged and was itself acknowledged
//! before the read began: every linearization puts `v`'s write, then `w`, then
//! the read, and values are unique, so `v` cannot be current. Reads that may
//! legally return one of several concurrent values are never flagged; reads
//! of a value no write wrote are flagged as `unwritten-value`.
//! How stale: `versions_behind` counts such writes `w` (a lower bound, capped
//! at [`SCAN_CAP`]); `ms_behind` is how long before the read the first of them
//! had been acknowledged. Cost: O(n log n) per key; fine for millions of ops.

use super::register::{index_writes, value_key, Source};
use super::span::{ms, over_budget, quantiles_ms, spans, Outcome};
use super::{Anomaly, CheckOptions, Checker, Verdict};
use crate::history::History;
use crate::util::text::{bounded, preview};
use serde_json::json;
use std::time::Instant;

const MAX_LISTED: usize = 100;
/// Newer writes counted per stale read, at most.
pub const SCAN_CAP: usize = 10_000;

pub struct Stale;

impl Checker for Stale {
    fn name(&self) -> &str {
        "stale"
    }

    fn check(&self, h: &History, opts: &CheckOptions) -> Verdict {
        let started = Instant::now();
        let all = match spans(h) {
            Ok(s) => s,
            Err(e) => return Verdict::unknown("stale", format!("history cannot be paired: {e}")),
        };
        let writes = index_writes(&all);
        let mut v = Verdict::valid("stale", "");
        let (mut reads, mut stale, mut unwritten) = (0usize, 0usize, 0usize);
        let mut behind_ms = Vec::new();
        let mut behind_versions = Vec::new();
        for (n, r) in all.iter().enumerate() {
            if n % 65_536 == 0 && over_budget(opts, started) {
                return Verdict::unknown("stale", format!("after {reads} reads, {}", super::time_ran_out()));
            }
            if r.f != "read" || r.outcome != Outcome::Ok {
                continue;
            }
            reads += 1;
            let key = r.key_str();
            let Some(kw) = writes.get(&key) else {
                if !r.value.is_null() {
                    unwritten += 1;
                    if unwritten <= MAX_LISTED {
                        v.push_anomaly(unwritten_anomaly(&key, r.value, r.ops()));
                    }
                }
                continue;
            };
            let src = kw.source(r.value);
            if src == Source::Unwritten {
                unwritten += 1;
                if unwritten <= MAX_LISTED {
                    v.push_anomaly(unwritten_anomaly(&key, r.value, r.ops()));
                } else {
                    v.valid = super::Validity::Invalid;
                }
                continue;
            }
            let Some((first_end, first)) = kw.first_acked_after(src) else {
                continue;
            };
            if first_end >= r.start {
                continue;
            }
            stale += 1;
            let from = match src {
                Source::Write(w) => kw.writes.partition_point(|x| x.start <= kw.writes[w].end),
                _ => 0,
            };
            let versions = kw.writes[from..]
                .iter()
                .take_while(|x| x.start < r.start)
                .filter(|x| x.end < r.start)
                .take(SCAN_CAP)
                .count();
            let lag = ms(r.start - first_end);
            behind_ms.push(lag);
            behind_versions.push(versions as f64);
            if stale > MAX_LISTED {
                v.valid = super::Validity::Invalid;
                continue;
            }
            let newer = &all[kw.writes[first].span];
            let mut ops = Vec::new();
            if let Source::Write(w) = src {
                ops.extend(all[kw.writes[w].span].ops());
            }
            ops.extend(newer.ops());
            ops.extend(r.ops());
            v.push_anomaly(Anomaly {
                kind: "stale-read".into(),
                explanation: format!(
                    "Read {} of key {key} returned {}, but write {} of {} was acknowledged {lag:.3} ms before the read began, and was invoked after {} was written: the read is at least {versions} version(s) behind.",
                    r.inv,
                    preview(r.value, 120),
                    newer.inv,
                    preview(super::register::written_value(newer).unwrap_or(&serde_json::Value::Null), 120),
                    if src == Source::Initial { "the initial value".to_string() } else { preview(r.value, 120) },
                ),
                ops,
                data: json!({"key": key, "value": bounded(r.value, 2048), "versions_behind": versions, "ms_behind": lag,
                             "newer_value": value_key(super::register::written_value(newer).unwrap_or(&serde_json::Value::Null))}),
            });
        }
        v.summary = format!("{reads} reads: {stale} certainly stale, {unwritten} of unwritten values");
        v.with_details(json!({
            "reads": reads, "stale": stale, "unwritten_values": unwritten, "keys": writes.len(),
            "ms_behind": quantiles_ms(&mut behind_ms),
            "versions_behind": quantiles_ms(&mut behind_versions),
        }))
    }
}

fn unwritten_anomaly(key: &str, value: &serde_json::Value, ops: Vec<u64>) -> Anomaly {
    Anomaly {
        kind: "unwritten-value".into(),
        explanation: format!(
            "A read of key {key} returned {}, a value no write (ok, info or pending) ever wrote.",
            preview(value, 120)
        ),
        ops,
        data: json!({"key": key, "value": bounded(value, 2048)}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::Validity;
    use crate::history::{Op, OpType, Process};
    use serde_json::Value;
    use OpType::*;

    fn hist(rows: &[(u64, OpType, &str, Value, u64)]) -> History {
        let mut h = History::new(
            rows.iter()
                .map(|(p, ty, f, v, t)| {
                    Op::new(*ty, Process::Client(*p), *f, v.clone())
                        .with_time(*t)
                        .with_key(json!("x"))
                })
                .collect(),
        );
        h.reindex();
        h
    }

    #[test]
    fn concurrent_write_is_not_stale_but_completed_one_is() {
        let base = [
            (1, Invoke, "write", json!(1), 1),
            (1, Ok, "write", json!(1), 2),
            (1, Invoke, "write", json!(2), 3),
        ];
        // Write 2 still in flight when the read of 1 happens: legal.
        let mut rows = base.to_vec();
        rows.extend([
            (2, Invoke, "read", json!(null), 4),
            (2, Ok, "read", json!(1), 5),
            (1, Ok, "write", json!(2), 6),
        ]);
        assert_eq!(
            Stale.check(&hist(&rows), &CheckOptions::default()).valid,
            Validity::Valid
        );
        // Write 2 acknowledged before the read began: stale, one version behind.
        let mut rows = base.to_vec();
        rows.extend([
            (1, Ok, "write", json!(2), 4),
            (2, Invoke, "read", json!(null), 5),
            (2, Ok, "read", json!(1), 6),
        ]);
        let v = Stale.check(&hist(&rows), &CheckOptions::default());
        assert_eq!(v.valid, Validity::Invalid);
        assert_eq!(v.anomalies[0].kind, "stale-read");
        assert_eq!(v.anomalies[0].data["versions_behind"], 1);
        // Reading the initial value after an acknowledged write is stale too.
        let rows = [
            (1, Invoke, "write", json!(1), 1),
            (1, Ok, "write", json!(1), 2),
            (2, Invoke, "read", json!(null), 3),
            (2, Ok, "read", json!(null), 4),
        ];
        assert_eq!(
            Stale.check(&hist(&rows), &CheckOptions::default()).anomalies[0].kind,
            "stale-read"
        );
    }
}
