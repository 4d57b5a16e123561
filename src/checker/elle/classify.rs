//! Naming anomalies: the kinds this checker reports, a cycle's kind from its
//! edges (Adya's classes as Elle names them), and the per-kind collector.
//! Which models a kind rules out is [`super::models`].

use super::graph::{Edge, PROCESS, REALTIME, RW, WR};
use crate::checker::Anomaly;
use serde_json::Value;
use std::collections::BTreeMap;

/// Every kind this checker can report, in the order summaries list them:
/// cycles from the most to the least severe data class (as Elle searches
/// them), then non-cycle anomalies and the fallbacks.
pub const KINDS: &[&str] = &[
    "G0",
    "G1a",
    "G1b",
    "G1c",
    "G-single",
    "G-nonadjacent",
    "G2-item",
    "G0-process",
    "G1c-process",
    "G-single-process",
    "G-nonadjacent-process",
    "G2-item-process",
    "G0-realtime",
    "G1c-realtime",
    "G-single-realtime",
    "G-nonadjacent-realtime",
    "G2-item-realtime",
    "internal",
    "future-read",
    "duplicate-elements",
    "incompatible-order",
    "cyclic-versions",
    "lost-update",
    "lost-append",
    "PL-1-cycle-exists",
    "PL-2-cycle-exists",
    "PL-SI-cycle-exists",
    "PL-2.99-cycle-exists",
    "strong-session-PL-1-cycle-exists",
    "strong-session-PL-2-cycle-exists",
    "strong-session-snapshot-isolation-cycle-exists",
    "strong-session-serializable-cycle-exists",
    "strong-PL-1-cycle-exists",
    "strong-PL-2-cycle-exists",
    "strong-snapshot-isolation-cycle-exists",
    "PL-SS-cycle-exists",
];

/// Names a cycle by its edges: the data part picks G0 / G1c / G-single /
/// G-nonadjacent (2+ rw edges, no two adjacent) / G2-item (2+ rw edges, two
/// of them adjacent); a real-time edge adds `-realtime`, else a process edge
/// `-process`.
pub fn classify_cycle(cycle: &[Edge]) -> String {
    let rw = cycle.iter().filter(|e| e.kind == RW).count();
    let wr = cycle.iter().any(|e| e.kind == WR);
    let adjacent = (0..cycle.len()).any(|i| cycle[i].kind == RW && cycle[(i + 1) % cycle.len()].kind == RW);
    let base = match rw {
        0 if wr => "G1c",
        0 => "G0",
        1 => "G-single",
        _ if adjacent => "G2-item",
        _ => "G-nonadjacent",
    };
    if cycle.iter().any(|e| e.kind == REALTIME) {
        format!("{base}-realtime")
    } else if cycle.iter().any(|e| e.kind == PROCESS) {
        format!("{base}-process")
    } else {
        base.to_string()
    }
}

/// How many anomalies of one kind are kept in full; the rest are counted.
pub const KEEP_PER_KIND: usize = 16;

/// Collects anomalies, keeping the first [`KEEP_PER_KIND`] of each kind and
/// counting all of them.
#[derive(Default)]
pub struct Collector {
    pub list: Vec<Anomaly>,
    pub counts: BTreeMap<String, u64>,
}

impl Collector {
    pub fn push(&mut self, kind: &str, explanation: String, ops: Vec<u64>, data: Value) {
        let n = self.counts.entry(kind.to_string()).or_insert(0);
        *n += 1;
        if *n as usize <= KEEP_PER_KIND {
            self.list.push(Anomaly {
                kind: kind.to_string(),
                explanation,
                ops,
                data,
            });
        }
    }

    /// Whether a kind is already full (callers may skip building explanations).
    pub fn saturated(&self, kind: &str) -> bool {
        self.counts.get(kind).copied().unwrap_or(0) as usize >= KEEP_PER_KIND
    }

    pub fn count(&self, kind: &str) -> u64 {
        self.counts.get(kind).copied().unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::elle::graph::{NONE_EDGE, WW};

    fn e(kind: u8) -> Edge {
        Edge { kind, ..NONE_EDGE }
    }

    #[test]
    fn cycle_names() {
        assert_eq!(classify_cycle(&[e(WW), e(WW)]), "G0");
        assert_eq!(classify_cycle(&[e(WW), e(WR)]), "G1c");
        assert_eq!(classify_cycle(&[e(RW), e(WR)]), "G-single");
        assert_eq!(classify_cycle(&[e(RW), e(RW)]), "G2-item");
        assert_eq!(classify_cycle(&[e(RW), e(WW), e(RW), e(WR)]), "G-nonadjacent");
        assert_eq!(classify_cycle(&[e(RW), e(WW), e(RW)]), "G2-item");
        assert_eq!(
            classify_cycle(&[e(RW), e(PROCESS), e(RW), e(PROCESS)]),
            "G-nonadjacent-process"
        );
        assert_eq!(classify_cycle(&[e(RW), e(PROCESS)]), "G-single-process");
        assert_eq!(classify_cycle(&[e(WR), e(PROCESS), e(REALTIME)]), "G1c-realtime");
    }

    #[test]
    fn every_kind_rules_out_some_model() {
        for k in KINDS {
            assert!(
                !super::super::models::impossible([*k]).is_empty(),
                "{k} rules out nothing"
            );
        }
    }
}
