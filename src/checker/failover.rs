//! Failover windows from node events, and where acknowledged writes fall relative to them.
//!
//! A window is one failover: from its `failover-start` event to the `failover-end` of the same
//! epoch (`term`). Systems that log failovers (Redis Sentinel, see
//! `crate::system::redis::events`) write these; the set checker uses them to say *when* the
//! acknowledged writes it found lost were acknowledged, relative to the failover that lost them
//! ([`attribute`]). Invariant: `start <= end`; one window
//! per epoch (the earliest start of an epoch wins).

use crate::history::node_event::NodeEvent;
use serde::Serialize;
use std::collections::BTreeMap;

/// One failover, in the history's time base (ns).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FailoverWindow {
    pub epoch: u64,
    pub start: u64,
    pub end: u64,
    /// The primary failed over from (the `failover-start` node).
    pub from: Option<String>,
    /// The primary failed over to (the `failover-end` node, or the next `leader`).
    pub to: Option<String>,
}

/// Windows of `events`, by start time. An unmatched start closes at the next `leader` event
/// after it, else at the last event's time.
pub fn windows(events: &[NodeEvent]) -> Vec<FailoverWindow> {
    let last = events.iter().map(|e| e.time).max().unwrap_or(0);
    windows_until(events, last)
}

/// As [`windows`], closing unmatched starts at the next `leader` event or at `history_end`.
pub fn windows_until(events: &[NodeEvent], history_end: u64) -> Vec<FailoverWindow> {
    let mut sorted: Vec<&NodeEvent> = events.iter().collect();
    sorted.sort_by_key(|e| e.time);
    let mut starts: BTreeMap<u64, &NodeEvent> = BTreeMap::new();
    for e in sorted.iter().filter(|e| e.event == "failover-start") {
        starts.entry(e.term).or_insert(e);
    }
    let mut out: Vec<FailoverWindow> = starts
        .values()
        .map(|s| {
            let end = sorted
                .iter()
                .find(|e| e.event == "failover-end" && e.term == s.term && e.time >= s.time)
                .or_else(|| sorted.iter().find(|e| e.event == "leader" && e.time >= s.time));
            FailoverWindow {
                epoch: s.term,
                start: s.time,
                end: end.map_or(history_end.max(s.time), |e| e.time),
                from: Some(s.node.clone()),
                to: end.map(|e| e.node.clone()),
            }
        })
        .collect();
    out.sort_by_key(|w| (w.start, w.epoch));
    out
}

/// Where a time falls relative to the nearest window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Before the window's start (the nearest window is the next one).
    Before,
    /// Inside the window.
    During,
    /// After the window's end (the nearest window is the previous one).
    After,
    /// There are no windows.
    None,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Before => "before",
            Phase::During => "during",
            Phase::After => "after",
            Phase::None => "none",
        }
    }
}

/// The window nearest to `t` and `t`'s phase relative to it: a window containing `t` wins;
/// otherwise the closer of the next window's start and the previous window's end (ties go to
/// the next window: a write acknowledged just before a failover is its classic victim).
pub fn locate(windows: &[FailoverWindow], t: u64) -> (Option<&FailoverWindow>, Phase) {
    if let Some(w) = windows.iter().find(|w| w.start <= t && t <= w.end) {
        return (Some(w), Phase::During);
    }
    let next = windows.iter().filter(|w| w.start > t).min_by_key(|w| w.start);
    let prev = windows.iter().filter(|w| w.end < t).max_by_key(|w| w.end);
    match (prev, next) {
        (Some(p), Some(n)) if t - p.end < n.start - t => (Some(p), Phase::After),
        (_, Some(n)) => (Some(n), Phase::Before),
        (Some(p), None) => (Some(p), Phase::After),
        (None, None) => (None, Phase::None),
    }
}

/// The failover that most plausibly lost a write acknowledged at `t` by `node`, and the ack's
/// phase relative to it. A write acknowledged by a primary is lost when that primary is failed
/// over, so among the windows failing over *from* `node`: the first one not over by `t`
/// (`before` or `during` it), else the last one (`after` it: the deposed primary kept
/// acknowledging until it was demoted). Without `node`, or when no window starts from it, the
/// nearest window ([`locate`]).
pub fn attribute<'w>(
    windows: &'w [FailoverWindow],
    t: u64,
    node: Option<&str>,
) -> (Option<&'w FailoverWindow>, Phase) {
    let from: Vec<&FailoverWindow> = windows
        .iter()
        .filter(|w| node.is_some() && w.from.as_deref() == node)
        .collect();
    if let Some(w) = from.iter().filter(|w| w.end >= t).min_by_key(|w| w.start) {
        return (Some(w), if t < w.start { Phase::Before } else { Phase::During });
    }
    if let Some(w) = from.iter().max_by_key(|w| w.end) {
        return (Some(w), Phase::After);
    }
    locate(windows, t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(event: &str, node: &str, term: u64, time: u64) -> NodeEvent {
        NodeEvent::new(event, node, term, time)
    }

    #[test]
    fn starts_pair_with_ends_of_their_epoch() {
        let e = vec![
            ev("leader", "n1", 0, 5),
            ev("failover-start", "n1", 1, 100),
            ev("failover-start", "n1", 1, 120), // a second Sentinel's view: the earliest wins
            ev("leader", "n3", 1, 150),
            ev("failover-end", "n3", 1, 200),
            ev("failover-start", "n3", 2, 300),
            ev("leader", "n2", 2, 350),
            ev("step-down", "n3", 1, 360),
            ev("failover-start", "n2", 3, 500),
        ];
        let w = windows_until(&e, 900);
        let s = |epoch, start, end, from: &str, to: Option<&str>| FailoverWindow {
            epoch,
            start,
            end,
            from: Some(from.into()),
            to: to.map(String::from),
        };
        assert_eq!(
            w,
            vec![
                s(1, 100, 200, "n1", Some("n3")),
                s(2, 300, 350, "n3", Some("n2")), // no end: closed by the next leader
                s(3, 500, 900, "n2", None),       // nothing after: closed at the history end
            ]
        );
        assert_eq!(windows(&e)[2].end, 500);
        assert!(windows(&[ev("leader", "n1", 0, 5)]).is_empty());
    }

    #[test]
    fn locate_names_the_nearest_window_and_phase() {
        let w = vec![
            FailoverWindow {
                epoch: 1,
                start: 100,
                end: 200,
                from: None,
                to: None,
            },
            FailoverWindow {
                epoch: 2,
                start: 1000,
                end: 1100,
                from: None,
                to: None,
            },
        ];
        let at = |t| {
            let (w, p) = locate(&w, t);
            (w.map(|w| w.epoch), p)
        };
        assert_eq!(at(50), (Some(1), Phase::Before));
        assert_eq!(at(150), (Some(1), Phase::During));
        assert_eq!(at(300), (Some(1), Phase::After));
        assert_eq!(at(900), (Some(2), Phase::Before));
        assert_eq!(at(1200), (Some(2), Phase::After));
        assert_eq!(locate(&[], 5).1, Phase::None);
    }

    #[test]
    fn attribute_prefers_the_failover_away_from_the_acknowledging_node() {
        let w = |epoch, start, end, from: &str, to: &str| FailoverWindow {
            epoch,
            start,
            end,
            from: Some(from.into()),
            to: Some(to.into()),
        };
        let ws = vec![w(1, 100, 200, "n1", "n2"), w(2, 1000, 1100, "n2", "n3")];
        let at = |t, n| {
            let (w, p) = attribute(&ws, t, n);
            (w.map(|w| w.epoch), p)
        };
        // n2 acknowledged during epoch 1 (it was being promoted): lost when it was failed over.
        assert_eq!(at(150, Some("n2")), (Some(2), Phase::Before));
        assert_eq!(at(1050, Some("n2")), (Some(2), Phase::During));
        assert_eq!(at(1500, Some("n2")), (Some(2), Phase::After));
        // n1, deposed in epoch 1, kept acknowledging long after.
        assert_eq!(at(900, Some("n1")), (Some(1), Phase::After));
        assert_eq!(at(50, Some("n1")), (Some(1), Phase::Before));
        // Unknown or uninvolved node: the nearest window.
        assert_eq!(at(900, None), (Some(2), Phase::Before));
        assert_eq!(at(300, Some("n9")), (Some(1), Phase::After));
    }
}
