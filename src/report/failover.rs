//! Failover windows and lost-write attribution, as the report reads them.
//!
//! Windows are derived here from node events (`nodes/*.log`), not taken from a
//! checker, so the bands exist for any run whose nodes or Sentinels log
//! `failover-start` / `failover-end`:
//! - a `failover-start` opens the window of its `term` (the epoch); several
//!   starts of one term (one per Sentinel) open it once, at the earliest;
//! - the first `failover-end` of the same term at or after the start closes it,
//!   and its `node` is the promoted primary;
//! - an unmatched start ends at the next `leader` event (whose node is then the
//!   new primary) or at the end of the history;
//! - `from` is the node of the last `leader` event before the start, else the
//!   start event's own node.
//!
//! Invariant: every window has `start <= end`; windows are sorted by start.
//! Lone `failover-end` events (no start of their term) open no window.
//!
//! The set checker's `lost-attribution` anomaly is read defensively by
//! [`Attribution::from_data`]: missing fields become `None`, so a partial or
//! newer shape still renders.

use crate::history::NodeEvent;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One failover: times in nanoseconds of the history's time base.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Window {
    pub epoch: u64,
    pub start: u64,
    pub end: u64,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
}

impl Window {
    /// `failover epoch 1 n1→n2` (`?` for an unknown node).
    pub fn label(&self) -> String {
        let n = |x: &Option<String>| x.clone().unwrap_or_else(|| "?".into());
        format!("failover epoch {} {}→{}", self.epoch, n(&self.from), n(&self.to))
    }

    /// The `#t=START,END` URL fragment (seconds) that zooms the plots to this
    /// window with a quarter of its length (at least 0.2 s) of context each side.
    pub fn fragment(&self) -> String {
        let pad = ((self.end - self.start) / 4).max(200_000_000);
        format!(
            "#t={:.3},{:.3}",
            self.start.saturating_sub(pad) as f64 / 1e9,
            (self.end + pad) as f64 / 1e9
        )
    }
}

/// Derives failover windows from node events (any order); `history_end` (ns)
/// closes a window nothing else closes.
pub fn windows(events: &[NodeEvent], history_end: u64) -> Vec<Window> {
    let mut ev: Vec<&NodeEvent> = events.iter().collect();
    ev.sort_by_key(|e| e.time);
    let mut out: Vec<Window> = Vec::new();
    for (i, s) in ev.iter().enumerate() {
        if s.event != "failover-start" || out.iter().any(|w| w.epoch == s.term) {
            continue;
        }
        let later = &ev[i + 1..];
        let from = ev[..i]
            .iter()
            .rev()
            .find(|e| e.event == "leader")
            .map(|e| e.node.clone())
            .or_else(|| (!s.node.is_empty()).then(|| s.node.clone()));
        let close = later
            .iter()
            .find(|e| e.event == "failover-end" && e.term == s.term)
            .or_else(|| later.iter().find(|e| e.event == "leader"));
        let (end, to) = match close {
            Some(e) => (e.time, Some(e.node.clone())),
            None => (history_end.max(s.time), None),
        };
        out.push(Window {
            epoch: s.term,
            start: s.time,
            end,
            from,
            to,
        });
    }
    out.sort_by_key(|w| (w.start, w.epoch));
    out
}

/// Where an acknowledged write lies relative to its failover window.
pub const PHASES: [&str; 4] = ["before", "during", "after", "none"];

/// One lost write, as the checker attributed it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Lost {
    pub element: Value,
    pub key: Option<Value>,
    /// History index of the acknowledging op.
    pub op: Option<u64>,
    /// Nanoseconds.
    pub acked_time: Option<u64>,
    pub acked_by: Option<String>,
    /// Epoch of its window.
    pub window: Option<u64>,
    /// One of [`PHASES`] (anything else is kept as given).
    pub phase: String,
}

/// The `data` of a `lost-attribution` anomaly.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attribution {
    pub windows: Vec<Window>,
    pub lost: Vec<Lost>,
}

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

impl Attribution {
    /// Reads the contract shape; `None` when `data` has neither list.
    pub fn from_data(data: &Value) -> Option<Attribution> {
        let windows = data.get("windows").and_then(Value::as_array);
        let lost = data.get("lost").and_then(Value::as_array);
        if windows.is_none() && lost.is_none() {
            return None;
        }
        let windows = windows
            .into_iter()
            .flatten()
            .filter_map(|w| {
                let epoch = w.get("epoch")?.as_u64()?;
                let start = w.get("start").and_then(Value::as_u64).unwrap_or(0);
                let end = w.get("end").and_then(Value::as_u64).unwrap_or(start).max(start);
                Some(Window {
                    epoch,
                    start,
                    end,
                    from: text(w.get("from")),
                    to: text(w.get("to")),
                })
            })
            .collect();
        let lost = lost
            .into_iter()
            .flatten()
            .map(|l| Lost {
                element: l.get("element").cloned().unwrap_or(Value::Null),
                key: l.get("key").filter(|k| !k.is_null()).cloned(),
                op: l.get("op").and_then(Value::as_u64),
                acked_time: l.get("acked_time").and_then(Value::as_u64),
                acked_by: text(l.get("acked_by")),
                window: l.get("window").and_then(Value::as_u64),
                phase: text(l.get("phase")).unwrap_or_else(|| "none".into()),
            })
            .collect();
        Some(Attribution { windows, lost })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(event: &str, node: &str, term: u64, t_ms: u64) -> NodeEvent {
        NodeEvent {
            event: event.into(),
            node: node.into(),
            term,
            index: None,
            time: t_ms * 1_000_000,
            f: None,
            key: None,
            value: Value::Null,
        }
    }

    #[test]
    fn pairs_start_and_end_by_term() {
        let w = windows(
            &[
                ev("failover-end", "n2", 1, 50),
                ev("leader", "n1", 0, 1),
                ev("failover-start", "s1", 1, 10),
                ev("failover-start", "s2", 1, 12),
                ev("failover-end", "n9", 7, 20),
            ],
            1_000_000_000,
        );
        assert_eq!(w.len(), 1);
        assert_eq!((w[0].epoch, w[0].start, w[0].end), (1, 10_000_000, 50_000_000));
        assert_eq!(
            (w[0].from.as_deref(), w[0].to.as_deref()),
            (Some("n1"), Some("n2"))
        );
        assert_eq!(w[0].label(), "failover epoch 1 n1→n2");
    }

    #[test]
    fn unmatched_start_ends_at_next_leader_or_history_end() {
        let w = windows(
            &[
                ev("failover-start", "n1", 2, 10),
                ev("step-down", "n1", 2, 11),
                ev("leader", "n3", 2, 30),
                ev("failover-start", "n3", 3, 40),
            ],
            90_000_000,
        );
        assert_eq!(w.len(), 2);
        assert_eq!(
            (w[0].end, w[0].from.as_deref(), w[0].to.as_deref()),
            (30_000_000, Some("n1"), Some("n3"))
        );
        assert_eq!(
            (w[1].start, w[1].end, w[1].to.as_deref()),
            (40_000_000, 90_000_000, None)
        );
        assert_eq!(w[1].from.as_deref(), Some("n3"));
        assert!(windows(&[ev("leader", "n1", 1, 5)], 10).is_empty());
    }

    #[test]
    fn fragment_is_in_seconds_with_context() {
        let w = Window {
            epoch: 1,
            start: 4_000_000_000,
            end: 5_600_000_000,
            from: None,
            to: None,
        };
        assert_eq!(w.fragment(), "#t=3.600,6.000");
        assert_eq!(w.label(), "failover epoch 1 ?→?");
    }

    #[test]
    fn reads_the_contract_shape_defensively() {
        let a = Attribution::from_data(&json!({
            "windows": [{"epoch": 1, "start": 5, "end": 3, "from": "n1", "to": null}, {"bad": 1}],
            "lost": [{"element": 7, "key": null, "op": 12, "acked_time": 4, "acked_by": "n1", "window": 1, "phase": "during"},
                     {"element": "x"}]
        }))
        .unwrap();
        assert_eq!(a.windows.len(), 1);
        assert_eq!((a.windows[0].start, a.windows[0].end), (5, 5));
        assert_eq!(a.lost[0].acked_by.as_deref(), Some("n1"));
        assert_eq!(
            (a.lost[1].op, a.lost[1].window, a.lost[1].phase.as_str()),
            (None, None, "none")
        );
        assert!(Attribution::from_data(&json!({"other": 1})).is_none());
    }
}
