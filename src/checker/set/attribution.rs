//! The `lost-attribution` anomaly: each lost acknowledged add placed before, during or after
//! the failover that lost it, from the node events' failover windows.

use super::MAX_LISTED;
use crate::checker::failover::{self, Phase};
use crate::checker::{Anomaly, CheckOptions};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// One acknowledged add that no read ever contained.
pub(super) struct Lost {
    pub(super) element: Value,
    pub(super) key: String,
    /// History index of the acknowledgement (the add's completion).
    pub(super) op: u64,
    pub(super) acked_time: u64,
    pub(super) acked_by: Option<String>,
}

/// `12,345`.
fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
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
pub(super) fn attribution(
    lost: &[Lost],
    opts: &CheckOptions,
    history_end: u64,
) -> Option<(Anomaly, [usize; 3])> {
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

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(
            [0, 999, 1_517, 1_000_000].map(thousands),
            ["0", "999", "1,517", "1,000,000"]
        );
    }
}
