//! Counter reads within the bounds increments allow.
//!
//! For a read over `[start, end]`: increments acknowledged before `start`
//! certainly counted; increments ok or `info`/pending that were invoked before
//! `end` may have. The read must lie in `[certain + possible negatives,
//! certain + possible positives]` (with only positive deltas: between the sum
//! acknowledged before the read began and the sum attempted before it ended).
//! `fail`ed increments count for nothing. One counter per `key`. O(n log n).

use super::span::{spans, Outcome, Span};
use super::{Anomaly, CheckOptions, Checker, Verdict};
use crate::history::History;
use serde_json::json;
use std::collections::BTreeMap;

const MAX_LISTED: usize = 100;

pub struct Counter;

/// Prefix sums of positive and negative deltas over a time-sorted list.
struct Sums {
    times: Vec<u64>,
    pos: Vec<i128>,
    neg: Vec<i128>,
}

impl Sums {
    fn new(mut xs: Vec<(u64, i64)>) -> Sums {
        xs.sort_unstable();
        let (mut pos, mut neg) = (vec![0i128], vec![0i128]);
        for &(_, d) in &xs {
            pos.push(pos.last().copied().unwrap_or(0) + i128::from(d.max(0)));
            neg.push(neg.last().copied().unwrap_or(0) + i128::from(d.min(0)));
        }
        Sums {
            times: xs.iter().map(|x| x.0).collect(),
            pos,
            neg,
        }
    }
    /// Sums over entries with time strictly before `t`.
    fn before(&self, t: u64) -> (i128, i128) {
        let i = self.times.partition_point(|&x| x < t);
        (self.pos[i], self.neg[i])
    }
}

impl Checker for Counter {
    fn name(&self) -> &str {
        "counter"
    }

    fn check(&self, h: &History, _opts: &CheckOptions) -> Verdict {
        let all = match spans(h) {
            Ok(s) => s,
            Err(e) => return Verdict::unknown("counter", format!("history cannot be paired: {e}")),
        };
        let mut keys: BTreeMap<String, (Vec<&Span>, Vec<&Span>)> = BTreeMap::new();
        let mut malformed = 0usize;
        for s in &all {
            match (s.f, s.outcome) {
                ("incr", Outcome::Ok | Outcome::Info) => keys.entry(s.key_str()).or_default().0.push(s),
                ("read", Outcome::Ok) => keys.entry(s.key_str()).or_default().1.push(s),
                _ => {}
            }
        }
        let mut v = Verdict::valid("counter", "");
        let (mut reads, mut bad) = (0usize, 0usize);
        for (key, (incrs, rs)) in &keys {
            let mut certain = Vec::new();
            let mut attempted = Vec::new();
            for s in incrs {
                let Some(d) = s.value.as_i64() else {
                    malformed += 1;
                    continue;
                };
                if s.outcome == Outcome::Ok {
                    certain.push((s.end, d));
                }
                attempted.push((s.start, d));
            }
            let certain = Sums::new(certain);
            let attempted = Sums::new(attempted);
            for r in rs {
                let Some(x) = r.value.as_i64() else {
                    malformed += 1;
                    continue;
                };
                reads += 1;
                let (cp, cn) = certain.before(r.start);
                // `<= end`: an increment invoked at the read's last instant may count.
                let (ap, an) = attempted.before(r.end.saturating_add(1));
                let (lo, hi) = (cp + cn + (an - cn), cp + cn + (ap - cp));
                let x = i128::from(x);
                if x >= lo && x <= hi {
                    continue;
                }
                bad += 1;
                if bad > MAX_LISTED {
                    v.valid = super::Validity::Invalid;
                    continue;
                }
                let kind = if x < lo {
                    "counter-read-too-low"
                } else {
                    "counter-read-too-high"
                };
                v.push_anomaly(Anomaly {
                    kind: kind.into(),
                    explanation: format!(
                        "Read {} of counter{} returned {x}, outside [{lo}, {hi}]: increments acknowledged before the read began sum to {}, increments attempted before it ended allow at most {hi}.",
                        r.inv,
                        if key.is_empty() { String::new() } else { format!(" {key}") },
                        cp + cn
                    ),
                    ops: r.ops(),
                    data: json!({"key": key, "read": x as i64, "lower": lo as i64, "upper": hi as i64}),
                });
            }
        }
        v.summary = format!("{reads} reads, {bad} out of bounds");
        v.with_details(
            json!({"reads": reads, "out_of_bounds": bad, "malformed": malformed, "keys": keys.len()}),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::Validity;
    use crate::history::{Op, OpType, Process};
    use OpType::*;

    fn hist(rows: &[(u64, OpType, &str, serde_json::Value, u64)]) -> History {
        let mut h = History::new(
            rows.iter()
                .map(|(p, ty, f, v, t)| Op::new(*ty, Process::Client(*p), *f, v.clone()).with_time(*t))
                .collect(),
        );
        h.reindex();
        h
    }

    #[test]
    fn bounds() {
        let rows = |read: i64| {
            hist(&[
                (1, Invoke, "incr", json!(2), 1),
                (1, Ok, "incr", json!(2), 2),
                (2, Invoke, "incr", json!(5), 3),
                (3, Invoke, "read", json!(null), 4),
                (3, Ok, "read", json!(read), 5),
                (2, Info, "incr", json!(5), 6),
            ])
        };
        for (x, ok) in [(1, false), (2, true), (7, true), (8, false)] {
            let v = Counter.check(&rows(x), &CheckOptions::default());
            assert_eq!(v.valid == Validity::Valid, ok, "read {x}: {v:?}");
        }
    }
}
