//! Judging one element of one key from its add and the reads that held it: stable,
//! recovered, never read, or a gap (`lost`, `lost-after-seen`, `unstable`); and the
//! elements reads held that no add wrote (`unexpected`).

use super::attribution::Lost;
use super::elem::Elem;
use super::strays::Strays;
use super::{key_label, list, Read, Tally, MAX_LISTED};
use crate::checker::span::{ms, Outcome, Span};
use crate::checker::Anomaly;
use crate::util::text::preview;
use serde_json::{json, Value};
use std::collections::HashMap;

/// One key's reads, ranked by invocation, and their start times.
pub(super) struct KeyReads<'a, 'h> {
    pub(super) key: &'a str,
    pub(super) reads: &'a [Read<'h>],
    pub(super) starts: &'a [u64],
}

/// Judges one element: its add and the reads that held it (`present`, ranks ascending).
/// Counts it as recovered, unacknowledged and absent, never read, or stable; else lists
/// the gap ([`gap`]).
pub(super) fn judge(
    set: &KeyReads,
    e: &Elem,
    add: &Span,
    present: &[u32],
    t: &mut Tally,
    listed: &mut HashMap<&'static str, Vec<Anomaly>>,
) {
    let (reads, n) = (set.reads, set.reads.len());
    let first_seen = present.first().map(|&r| reads[r as usize].span);
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
            return;
        }
    };
    let first_after = set.starts.partition_point(|&s| s <= known);
    if first_after == n {
        t.never_read += 1;
        return;
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
        return;
    }
    // The last absent read: walk back from the newest read past the trailing presents.
    let mut last_absent = n - 1;
    let mut pi = present.len();
    while pi > 0 && present[pi - 1] as usize == last_absent {
        pi -= 1;
        last_absent -= 1;
    }
    let g = Gap {
        elem: e.to_json(),
        add,
        known,
        first_seen,
        absent: reads[last_absent].span,
        // Present again after the last absent read: unstable, not lost.
        back: present
            .last()
            .filter(|&&r| r as usize > last_absent)
            .map(|&r| reads[r as usize].span),
    };
    gap(set.key, g, t, listed);
}

/// An element missing from a read that began after it was known.
struct Gap<'a> {
    elem: Value,
    add: &'a Span<'a>,
    known: u64,
    first_seen: Option<&'a Span<'a>>,
    /// The last read that lacked it.
    absent: &'a Span<'a>,
    /// A read after `absent` that held it again.
    back: Option<&'a Span<'a>>,
}

/// Counts and lists a gap: `unstable` (present again later), `lost-after-seen` (seen, then
/// gone for good) or `lost` (acknowledged, never seen).
fn gap(key: &str, g: Gap, t: &mut Tally, listed: &mut HashMap<&'static str, Vec<Anomaly>>) {
    let Gap {
        elem,
        add,
        known,
        first_seen,
        absent,
        back,
    } = g;
    let acked = add.outcome == Outcome::Ok;
    let mut ops = add.ops();
    if let Some(r) = first_seen {
        ops.extend(r.ops());
    }
    ops.extend(absent.ops());
    let data = json!({
        "element": elem, "key": key, "known_at_ms": ms(known),
        "absent_read_ms_after_known": ms(absent.start - known),
    });
    match (back, first_seen) {
        (Some(lp), _) => {
            t.unstable += 1;
            if acked {
                t.stable_ms.push(ms(absent.end.saturating_sub(add.end)));
            }
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
        (None, Some(_)) => {
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
        (None, None) => {
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

/// Counts the elements reads held that no add wrote, and lists the first ones.
pub(super) fn unexpected(
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
