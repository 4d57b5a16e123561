//! Naming anomalies and the consistency models they rule out.
//!
//! The table follows Elle's (Kingsbury & Alvaro) reading of Adya: a model is
//! ruled out when the history holds an anomaly the model prohibits; stronger
//! models prohibit everything weaker ones do.

use super::graph::{Edge, PROCESS, REALTIME, RW, WR};
use crate::checker::Anomaly;
use serde_json::Value;
use std::collections::BTreeMap;

/// Models from weakest to strongest (a partial order flattened; each entry's
/// prohibitions are listed in [`ruled_out`]).
pub const MODELS: &[&str] = &[
    "read-uncommitted",
    "read-committed",
    "monotonic-atomic-view",
    "snapshot-isolation",
    "repeatable-read",
    "serializable",
    "strong-session-snapshot-isolation",
    "strong-session-serializable",
    "strong-snapshot-isolation",
    "strict-serializable",
];

/// Every kind this checker can report, weakest cycle first.
pub const KINDS: &[&str] = &[
    "G0",
    "G1a",
    "G1b",
    "G1c",
    "G-single",
    "G2-item",
    "G0-process",
    "G1c-process",
    "G-single-process",
    "G2-item-process",
    "G0-realtime",
    "G1c-realtime",
    "G-single-realtime",
    "G2-item-realtime",
    "internal",
    "duplicate-elements",
    "incompatible-order",
];

/// The models an anomaly kind rules out. Data corruption (`duplicate-elements`,
/// `incompatible-order`) is treated as ruling out every model, as `internal`
/// rules out read-committed and up.
pub fn ruled_out(kind: &str) -> &'static [&'static str] {
    match kind {
        "G0" | "duplicate-elements" | "incompatible-order" => MODELS,
        "G1a" | "G1b" | "G1c" | "internal" => &MODELS[1..],
        "G-single" => &[
            "snapshot-isolation",
            "repeatable-read",
            "serializable",
            "strong-session-snapshot-isolation",
            "strong-session-serializable",
            "strong-snapshot-isolation",
            "strict-serializable",
        ],
        "G2-item" => &[
            "repeatable-read",
            "serializable",
            "strong-session-serializable",
            "strict-serializable",
        ],
        "G0-process" | "G1c-process" | "G-single-process" => &[
            "strong-session-snapshot-isolation",
            "strong-session-serializable",
            "strong-snapshot-isolation",
            "strict-serializable",
        ],
        "G2-item-process" => &["strong-session-serializable", "strict-serializable"],
        "G0-realtime" | "G1c-realtime" | "G-single-realtime" => {
            &["strong-snapshot-isolation", "strict-serializable"]
        }
        "G2-item-realtime" => &["strict-serializable"],
        _ => &[],
    }
}

/// The union of models ruled out by `kinds`, in [`MODELS`] order.
pub fn models_ruled_out<'a>(kinds: impl Iterator<Item = &'a str>) -> Vec<&'static str> {
    let mut out = vec![false; MODELS.len()];
    for k in kinds {
        for m in ruled_out(k) {
            if let Some(i) = MODELS.iter().position(|x| x == m) {
                out[i] = true;
            }
        }
    }
    MODELS
        .iter()
        .zip(out)
        .filter(|(_, b)| *b)
        .map(|(m, _)| *m)
        .collect()
}

/// Names a cycle by its edges: the data part picks G0 / G1c / G-single /
/// G2-item; a real-time edge adds `-realtime`, else a process edge `-process`.
pub fn classify_cycle(cycle: &[Edge]) -> String {
    let rw = cycle.iter().filter(|e| e.kind == RW).count();
    let wr = cycle.iter().any(|e| e.kind == WR);
    let base = match rw {
        0 if wr => "G1c",
        0 => "G0",
        1 => "G-single",
        _ => "G2-item",
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
        assert_eq!(classify_cycle(&[e(RW), e(PROCESS)]), "G-single-process");
        assert_eq!(classify_cycle(&[e(WR), e(PROCESS), e(REALTIME)]), "G1c-realtime");
    }

    #[test]
    fn models_accumulate_in_order() {
        assert_eq!(
            models_ruled_out(["G2-item-realtime"].into_iter()),
            vec!["strict-serializable"]
        );
        let m = models_ruled_out(["G-single", "G0"].into_iter());
        assert_eq!(m.len(), MODELS.len());
        assert!(models_ruled_out(["G1c"].into_iter()).contains(&"read-committed"));
        assert!(!models_ruled_out(["G1c"].into_iter()).contains(&"read-uncommitted"));
        for k in KINDS {
            assert!(!ruled_out(k).is_empty(), "{k} rules out nothing");
        }
    }
}
