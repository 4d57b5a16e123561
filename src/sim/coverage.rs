//! "Sometimes" counters: how often a simulated run reached each interesting state (a leader
//! elected while a write was pending, a read served by a leader after a newer term began, a
//! snapshot installed, a hint delivered, siblings read, a failed sync, a heal with a write
//! pending, ...). A sweep sums them over its seeds and names each counter never reached, so
//! a sweep that never gets where bugs live says so (as FoundationDB's `TEST(...)` coverage
//! and Antithesis's "sometimes" assertions do).
//!
//! The counters are plain values the simulator fills in from what the cores already output
//! (node events, replies, messages: see [`super::SimProtocol`]) and from its own state; the
//! cores stay pure and know nothing of them.

use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Every counter: its name and what it counts. A counter not listed here is refused.
pub const COUNTERS: &[(&str, &str)] = &[
    ("leader-elected", "a node became leader (single-leader)"),
    (
        "leader-elected-with-write-pending",
        "a node became leader while a client write was in flight",
    ),
    ("step-down", "a leader stepped down (a newer term appeared)"),
    (
        "entries-discarded",
        "a follower discarded log entries of an older term",
    ),
    (
        "stale-leader-read",
        "a leader answered a read while a newer term's leader existed elsewhere",
    ),
    (
        "snapshot-install",
        "a leader sent a follower its snapshot (catch-up from far behind)",
    ),
    (
        "hint-stored",
        "a fallback node stored a hint for an unreachable home (sloppy quorum)",
    ),
    ("hint-delivered", "a hint was handed off to its home node"),
    (
        "siblings-read",
        "a read returned concurrent siblings (leaderless)",
    ),
    ("read-repair", "a read repaired a replica"),
    ("anti-entropy-repair", "anti-entropy repaired a replica"),
    ("fsync-failure", "a disk sync failed and its node exited"),
    ("crash-lost-unsynced", "a crash lost writes not yet synced"),
    (
        "heal-with-write-pending",
        "a partition healed while a client write was in flight",
    ),
];

/// Counts per counter of [`COUNTERS`], and (for a sum) in how many runs each was reached.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Coverage {
    counts: BTreeMap<&'static str, u64>,
    runs_reaching: BTreeMap<&'static str, u64>,
    runs: u64,
}

/// The listed name of counter `name`; panics on a name not in [`COUNTERS`] (a simulator bug).
fn listed(name: &str) -> &'static str {
    COUNTERS
        .iter()
        .find(|c| c.0 == name)
        .map(|c| c.0)
        .unwrap_or_else(|| panic!("coverage counter `{name}` is not in COUNTERS"))
}

impl Coverage {
    /// One more of `name` in this run.
    pub fn hit(&mut self, name: &str) {
        *self.counts.entry(listed(name)).or_default() += 1;
    }

    /// How often `name` was reached.
    pub fn get(&self, name: &str) -> u64 {
        self.counts.get(name).copied().unwrap_or(0)
    }

    /// In how many of the summed runs `name` was reached.
    pub fn runs_reaching(&self, name: &str) -> u64 {
        self.runs_reaching.get(name).copied().unwrap_or(0)
    }

    /// Runs summed so far.
    pub fn runs(&self) -> u64 {
        self.runs
    }

    /// Adds one run's counters.
    pub fn add_run(&mut self, run: &Coverage) {
        self.runs += run.runs.max(1);
        for (k, v) in &run.counts {
            *self.counts.entry(k).or_default() += v;
            let reaching = run.runs_reaching.get(k).copied().unwrap_or(1);
            *self.runs_reaching.entry(k).or_default() += reaching;
        }
    }

    /// Counters never reached.
    pub fn never_reached(&self) -> Vec<&'static str> {
        COUNTERS
            .iter()
            .map(|c| c.0)
            .filter(|n| self.get(n) == 0)
            .collect()
    }

    /// One line per counter: count and runs reaching it, or "never reached".
    pub fn lines(&self) -> Vec<String> {
        COUNTERS
            .iter()
            .map(|(name, _)| match self.get(name) {
                0 => format!("{name:<36} never reached"),
                n => format!(
                    "{name:<36} {n} ({} of {} runs)",
                    self.runs_reaching(name),
                    self.runs.max(1)
                ),
            })
            .collect()
    }

    /// `{"name": {"count": n, "runs": r}, ...}` over every counter.
    pub fn to_json(&self) -> Value {
        let m: serde_json::Map<String, Value> = COUNTERS
            .iter()
            .map(|(n, _)| {
                (
                    n.to_string(),
                    json!({"count": self.get(n), "runs": self.runs_reaching(n)}),
                )
            })
            .collect();
        Value::Object(m)
    }
}

impl<P: super::SimProtocol> super::Sim<P> {
    /// A node event (as the core output it) reaches its counter.
    pub(crate) fn cover_event(&mut self, kind: &str) {
        let name = match kind {
            "leader" => {
                if self.write_pending() {
                    self.coverage.hit("leader-elected-with-write-pending");
                }
                "leader-elected"
            }
            "step-down" => "step-down",
            "discard" => "entries-discarded",
            "hint-stored" => "hint-stored",
            "hint-delivered" => "hint-delivered",
            "read-repair" => "read-repair",
            "ae-repair" => "anti-entropy-repair",
            _ => return,
        };
        self.coverage.hit(name);
    }

    /// Node `i` answers `client`: a read a leader answers while another node already
    /// leads a newer term (a stale leader still serving: a candidate's newer term alone
    /// does not count, nothing can have been written there yet), and what the topology counts in replies.
    pub(crate) fn cover_reply(&mut self, i: usize, client: usize, outcome: &crate::store::ops::Outcome) {
        if let Some(c) = P::reply_coverage(outcome) {
            self.coverage.hit(c);
        }
        let ok = matches!(outcome, crate::store::ops::Outcome::Ok { .. });
        if !ok || !self.reading(client) {
            return;
        }
        let Some(me) = self
            .status(i)
            .filter(|s| s.role == crate::store::seam::Role::Leader)
        else {
            return;
        };
        let newer = (0..self.nodes.len()).any(|j| {
            j != i
                && self
                    .status(j)
                    .is_some_and(|s| s.term > me.term && s.role == crate::store::seam::Role::Leader)
        });
        if newer {
            self.coverage.hit("stale-leader-read");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_count_runs_and_name_what_was_never_reached() {
        let mut a = Coverage::default();
        a.hit("hint-delivered");
        a.hit("hint-delivered");
        let mut b = Coverage::default();
        b.hit("hint-delivered");
        b.hit("step-down");
        let mut sum = Coverage::default();
        sum.add_run(&a);
        sum.add_run(&b);
        sum.add_run(&Coverage::default());
        assert_eq!(sum.runs(), 3);
        assert_eq!(
            (sum.get("hint-delivered"), sum.runs_reaching("hint-delivered")),
            (3, 2)
        );
        assert_eq!((sum.get("step-down"), sum.runs_reaching("step-down")), (1, 1));
        let never = sum.never_reached();
        assert!(never.contains(&"siblings-read") && !never.contains(&"step-down"));
        assert_eq!(never.len(), COUNTERS.len() - 2);
        let lines = sum.lines();
        assert!(lines
            .iter()
            .any(|l| l.starts_with("siblings-read") && l.ends_with("never reached")));
        assert!(lines
            .iter()
            .any(|l| l.starts_with("hint-delivered") && l.contains("3 (2 of 3 runs)")));
        assert_eq!(sum.to_json()["hint-delivered"]["count"], 3);
        // A sum of sums keeps the run counts.
        let mut all = Coverage::default();
        all.add_run(&sum);
        assert_eq!((all.runs(), all.runs_reaching("hint-delivered")), (3, 2));
    }

    #[test]
    #[should_panic(expected = "not in COUNTERS")]
    fn an_unlisted_counter_is_a_bug() {
        Coverage::default().hit("made-up");
    }
}
