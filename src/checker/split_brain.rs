//! Split brain: two nodes acting as leader at once.
//!
//! With node events (`opts.node_events`, parsed from the event lines per
//! [`crate::history::node_event`]) the evidence is the nodes' own word:
//! - `two-leaders-one-term`: two nodes announced leadership of the same term;
//! - `split-brain`: two nodes' *acting* windows overlap, where a node acts as
//!   leader of a term from its `leader` event to its last `ack` in that term
//!   (a window with no ack does not count), and a write acknowledged inside the
//!   window was later discarded or cannot stand beside the newer leader's (an
//!   older-term ack at a log index the newer leader already used). Listed: the
//!   window, the nodes, the writes each acknowledged inside it (matched to
//!   history ops by f, key and value) and the acknowledged writes later
//!   discarded. An overlap that loses nothing is a deposed leader confirming
//!   entries a majority already held (legal in Raft): kept in
//!   `details.windows`, not an anomaly;
//! - `discarded-acknowledged-write`: a write a node acknowledged was later
//!   discarded (by the same term and log index), split brain or not.
//!
//! A sharded store's replica groups (`params.replica_groups`: node names per group, as
//! the runner passes them and `faultline check --param` takes them) elect their own
//! leaders in their own terms: each group is judged on its own events, and every
//! anomaly names its group.
//!
//! Without logs, only the history's `node` field is left. Writes acknowledged
//! by different nodes interleaving in time (A, B, A) are reported in
//! `details.suspected` but yield `unknown`: forwarding or leadership changes
//! look the same from the client side. Never interleaving: `valid` (clients saw
//! one acknowledging node at a time). No `node` field at all: `unknown`.

use super::span::{ms, spans, Outcome, Span};
use super::{Anomaly, CheckOptions, Checker, Validity, Verdict};
use crate::history::node_event::NodeEvent;
use crate::history::History;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};

pub struct SplitBrain;

/// The `params` key naming the replica groups (`[["n1","n2","n3"],["n4",...]]`).
pub const GROUPS_PARAM: &str = "replica_groups";

/// The replica groups in `params`, when given.
fn groups(params: &Value) -> Option<Vec<Vec<String>>> {
    serde_json::from_value(params.get(GROUPS_PARAM)?.clone()).ok()
}

/// Fs that read without writing; every other f acknowledged by a node counts as a write.
const READ_FS: &[&str] = &["read"];

/// One node's tenure of one term.
#[derive(Clone, Debug)]
struct Tenure {
    node: String,
    term: u64,
    from: u64,
    last_ack: Option<u64>,
    acks: Vec<NodeEvent>,
}

impl Tenure {
    fn starting(e: &NodeEvent) -> Tenure {
        Tenure {
            node: e.node.clone(),
            term: e.term,
            from: e.time,
            last_ack: None,
            acks: vec![],
        }
    }
}

impl Tenure {
    /// The acks of this tenure between `lo` and `hi` (inclusive).
    fn acks_in(&self, lo: u64, hi: u64) -> impl Iterator<Item = &NodeEvent> {
        self.acks.iter().filter(move |e| e.time >= lo && e.time <= hi)
    }
}

/// Starts `e.node`'s tenure of `e.term` at `e.time` and makes it the node's open one.
fn open_tenure(tenures: &mut Vec<Tenure>, open: &mut HashMap<String, usize>, e: &NodeEvent) -> usize {
    tenures.push(Tenure::starting(e));
    open.insert(e.node.clone(), tenures.len() - 1);
    tenures.len() - 1
}

impl Checker for SplitBrain {
    fn name(&self) -> &str {
        "split_brain"
    }

    fn check(&self, h: &History, opts: &CheckOptions) -> Verdict {
        let all = match spans(h) {
            Ok(s) => s,
            Err(e) => return Verdict::unknown("split_brain", format!("history cannot be paired: {e}")),
        };
        let Some(ev) = &opts.node_events else {
            return from_history(&all);
        };
        if let Some(bad) = ev.unreadable() {
            let e = bad.error.as_deref().unwrap_or_default();
            return Verdict::unknown(
                "split_brain",
                format!("cannot read node log {}: {e}", bad.path.display()),
            );
        }
        match groups(&opts.params) {
            Some(g) => per_group(&ev.events, &all, &g),
            None => from_events(&ev.events, &all),
        }
    }
}

/// Each replica group judged on its own nodes' events; anomalies name their group.
fn per_group(events: &[NodeEvent], all: &[Span], groups: &[Vec<String>]) -> Verdict {
    let mut v = Verdict::valid("split_brain", "");
    let (mut lines, mut details) = (Vec::new(), Vec::new());
    for (i, g) in groups.iter().enumerate() {
        let mine: Vec<NodeEvent> = events.iter().filter(|e| g.contains(&e.node)).cloned().collect();
        let gv = from_events(&mine, all);
        for mut a in gv.anomalies {
            a.explanation = format!("Group {} ({}): {}", i + 1, g.join(" "), a.explanation);
            if let Some(o) = a.data.as_object_mut() {
                o.insert("group".into(), json!(i + 1));
            }
            v.push_anomaly(a);
        }
        lines.push(format!("group {}: {}", i + 1, gv.summary));
        details.push(json!({"group": i + 1, "nodes": g, "details": gv.details}));
    }
    v.summary = lines.join("; ");
    v.with_details(json!({"source": "node-logs", "groups": details}))
}

/// The key of a write for matching acks to history ops.
fn write_id(f: &str, key: Option<&Value>, value: &Value) -> String {
    format!(
        "{f}\u{1}{}\u{1}{value}",
        key.map(|k| k.to_string()).unwrap_or_default()
    )
}

/// The acknowledged writes of the history, by [`write_id`], to match node acks to ops.
struct OkWrites<'s, 'h>(HashMap<String, Vec<&'s Span<'h>>>);

impl<'s, 'h> OkWrites<'s, 'h> {
    fn of(all: &'s [Span<'h>]) -> Self {
        let mut ok_writes: HashMap<String, Vec<&Span>> = HashMap::new();
        for s in all
            .iter()
            .filter(|s| s.outcome == Outcome::Ok && !READ_FS.contains(&s.f))
        {
            ok_writes
                .entry(write_id(s.f, s.key, s.value))
                .or_default()
                .push(s);
        }
        OkWrites(ok_writes)
    }

    /// The history ops of the write a node acknowledged (none when unmatched).
    fn ops(&self, e: &NodeEvent) -> Vec<u64> {
        let f = e.f.as_deref().unwrap_or("write");
        self.0
            .get(&write_id(f, e.key.as_ref(), &e.value))
            .map(|v| v.iter().flat_map(|s| s.ops()).collect())
            .unwrap_or_default()
    }
}

/// The node events, indexed: who announced leadership of each term, each node's
/// tenures (with the writes it acknowledged in them), and the discarded entries.
struct Evidence<'e> {
    leaders: BTreeMap<u64, Vec<(String, u64)>>,
    tenures: Vec<Tenure>,
    discards: HashMap<(u64, u64), Vec<&'e NodeEvent>>,
}

impl<'e> Evidence<'e> {
    /// `events` sorted by time.
    fn of(events: &'e [NodeEvent]) -> Self {
        let mut leaders: BTreeMap<u64, Vec<(String, u64)>> = BTreeMap::new();
        let mut tenures: Vec<Tenure> = Vec::new();
        let mut open: HashMap<String, usize> = HashMap::new();
        let mut discards: HashMap<(u64, u64), Vec<&NodeEvent>> = HashMap::new();
        for e in events {
            match e.event.as_str() {
                "leader" => {
                    let l = leaders.entry(e.term).or_default();
                    if !l.iter().any(|(n, _)| *n == e.node) {
                        l.push((e.node.clone(), e.time));
                    }
                    open_tenure(&mut tenures, &mut open, e);
                }
                "step-down" | "stop" => {
                    open.remove(&e.node);
                }
                "ack" => {
                    // An ack belongs to the node's tenure of that term; one without a
                    // `leader` event still proves the node acted as leader from then on.
                    let i = match open.get(&e.node) {
                        Some(&i) if tenures[i].term == e.term => i,
                        _ => open_tenure(&mut tenures, &mut open, e),
                    };
                    tenures[i].last_ack = Some(e.time);
                    tenures[i].acks.push(e.clone());
                }
                "discard" => {
                    if let Some(idx) = e.index {
                        discards.entry((e.term, idx)).or_default().push(e);
                    }
                }
                _ => {}
            }
        }
        Evidence {
            leaders,
            tenures,
            discards,
        }
    }

    /// `two-leaders-one-term`: terms whose leadership more than one node announced.
    fn two_leaders(&self, v: &mut Verdict) {
        for (term, l) in &self.leaders {
            if l.len() > 1 {
                v.push_anomaly(Anomaly {
                    kind: "two-leaders-one-term".into(),
                    explanation: format!(
                        "Nodes {} each announced leadership of term {term}.",
                        l.iter()
                            .map(|(n, t)| format!("{n} (at {:.3} ms)", ms(*t)))
                            .collect::<Vec<_>>()
                            .join(" and ")
                    ),
                    ops: vec![],
                    data: json!({"term": term, "nodes": l.iter().map(|x| &x.0).collect::<Vec<_>>()}),
                });
            }
        }
    }

    /// The writes `t` acknowledged between `lo` and `hi` whose entries were later discarded.
    fn discarded_of(&self, t: &Tenure, lo: u64, hi: u64) -> Vec<Value> {
        t.acks_in(lo, hi)
            .filter(|a| a.index.is_some_and(|i| self.discards.contains_key(&(a.term, i))))
            .map(
                |a| json!({"node": t.node, "term": a.term, "index": a.index, "key": a.key, "value": a.value}),
            )
            .collect()
    }

    /// Every pair of acting windows of different nodes that overlap (returned);
    /// those that lose a write are `split-brain` anomalies.
    fn overlaps(&self, writes: &OkWrites, v: &mut Verdict) -> Vec<Value> {
        let acting: Vec<&Tenure> = self.tenures.iter().filter(|t| t.last_ack.is_some()).collect();
        let mut windows = Vec::new();
        for (i, a) in acting.iter().enumerate() {
            for b in &acting[i + 1..] {
                if a.node == b.node {
                    continue;
                }
                let lo = a.from.max(b.from);
                let hi = a.last_ack.unwrap_or(0).min(b.last_ack.unwrap_or(0));
                if lo > hi {
                    continue;
                }
                let acked = |t: &Tenure| -> Vec<Value> {
                    t.acks_in(lo, hi)
                        .map(|e| json!({"term": e.term, "index": e.index, "f": e.f, "key": e.key, "value": e.value, "ops": writes.ops(e)}))
                        .collect()
                };
                let mut ops: Vec<u64> = [a, b]
                    .iter()
                    .flat_map(|t| t.acks_in(lo, hi).flat_map(|e| writes.ops(e)))
                    .collect();
                ops.sort_unstable();
                ops.dedup();
                let mut discarded = self.discarded_of(a, lo, hi);
                discarded.extend(self.discarded_of(b, lo, hi));
                let window = json!({
                    "from_ms": ms(lo), "to_ms": ms(hi),
                    "nodes": [{"node": a.node, "term": a.term, "acked": acked(a)}, {"node": b.node, "term": b.term, "acked": acked(b)}],
                    "discarded": discarded,
                });
                windows.push(window.clone());
                // A deposed leader may still acknowledge entries of its term that a
                // majority stored before the new term began (leader completeness
                // keeps them): overlap alone loses nothing.
                if discarded.is_empty() && !conflicting(a, b) {
                    continue;
                }
                v.push_anomaly(Anomaly {
                    kind: "split-brain".into(),
                    explanation: format!(
                        "Nodes {} (term {}) and {} (term {}) both acknowledged writes as leader between {:.3} ms and {:.3} ms; {} of the writes acknowledged in that window were later discarded.",
                        a.node, a.term, b.node, b.term, ms(lo), ms(hi), discarded.len()
                    ),
                    ops,
                    data: window,
                });
            }
        }
        windows
    }

    /// `discarded-acknowledged-write`: acks whose entry a node later discarded; returns
    /// how many.
    fn discarded_acks(&self, writes: &OkWrites, v: &mut Verdict) -> usize {
        let mut lost = 0;
        for t in &self.tenures {
            for a in &t.acks {
                let Some(idx) = a.index else { continue };
                if let Some(d) = self.discards.get(&(a.term, idx)) {
                    lost += 1;
                    v.push_anomaly(Anomaly {
                        kind: "discarded-acknowledged-write".into(),
                        explanation: format!(
                            "Node {} acknowledged {} of key {} (term {}, index {idx}) at {:.3} ms; node {} later discarded that entry: an acknowledged write was lost.",
                            t.node, a.value, a.key.clone().unwrap_or(Value::Null), a.term, ms(a.time), d[0].node
                        ),
                        ops: writes.ops(a),
                        data: json!({"node": t.node, "term": a.term, "index": idx, "key": a.key, "value": a.value}),
                    });
                }
            }
        }
        lost
    }
}

/// Whether the older-term tenure acknowledged, after the newer-term tenure
/// began, a log index at or beyond one the newer tenure acknowledged in its own
/// term. A newer leader appends after every entry it inherited, so an older
/// entry it kept sits below its own: both acknowledgements cannot stand, even
/// if the logs end before either side discards anything.
fn conflicting(a: &Tenure, b: &Tenure) -> bool {
    let (old, new) = if a.term <= b.term { (a, b) } else { (b, a) };
    if old.term == new.term {
        return false;
    }
    let Some(first_new) = new.acks.iter().filter_map(|e| e.index).min() else {
        return false;
    };
    old.acks
        .iter()
        .filter(|e| e.time >= new.from)
        .any(|e| e.index.is_some_and(|i| i >= first_new))
}

/// The verdict from the nodes' own events, `events` sorted by time (as
/// [`crate::history::NodeEvents`] keeps them).
fn from_events(events: &[NodeEvent], all: &[Span]) -> Verdict {
    let writes = OkWrites::of(all);
    let ev = Evidence::of(events);
    let mut v = Verdict::valid("split_brain", "");
    ev.two_leaders(&mut v);
    let windows = ev.overlaps(&writes, &mut v);
    let lost = ev.discarded_acks(&writes, &mut v);
    let split = v.anomalies.iter().filter(|a| a.kind == "split-brain").count();
    v.summary = format!(
        "{} leader tenures from node logs: {} overlapping acting windows ({split} split brain), {} terms with two leaders, {} acknowledged writes discarded",
        ev.tenures.len(),
        windows.len(),
        ev.leaders.values().filter(|l| l.len() > 1).count(),
        lost
    );
    v.with_details(json!({"source": "node-logs", "tenures": ev.tenures.len(), "windows": windows, "discarded_acknowledged": lost}))
}

/// The weaker, history-only view.
fn from_history(all: &[Span]) -> Verdict {
    let mut acks: Vec<(u64, &str, u64)> = all
        .iter()
        .filter(|s| s.outcome == Outcome::Ok && !READ_FS.contains(&s.f))
        .filter_map(|s| s.node.map(|n| (s.end, n, s.inv)))
        .collect();
    if acks.is_empty() {
        return Verdict::unknown(
            "split_brain",
            "no node logs and no acknowledged write names its node: nothing can be concluded",
        );
    }
    acks.sort_unstable();
    // Runs of consecutive acks by one node, then A-B-A patterns between runs.
    let mut runs: Vec<(&str, u64, u64, Vec<u64>)> = Vec::new();
    for (t, n, inv) in &acks {
        match runs.last_mut() {
            Some(r) if r.0 == *n => {
                r.2 = *t;
                r.3.push(*inv);
            }
            _ => runs.push((n, *t, *t, vec![*inv])),
        }
    }
    let mut suspected = Vec::new();
    for w in runs.windows(3) {
        if w[0].0 == w[2].0 {
            suspected.push(json!({
                "from_ms": ms(w[0].1), "to_ms": ms(w[2].2), "nodes": [w[0].0, w[1].0],
                "ops": w.iter().flat_map(|r| r.3.iter().copied()).take(20).collect::<Vec<_>>(),
            }));
        }
    }
    let nodes: std::collections::BTreeSet<&str> = acks.iter().map(|a| a.1).collect();
    let details = json!({"source": "history", "nodes": nodes, "runs": runs.len(), "suspected": suspected});
    if suspected.is_empty() {
        Verdict::new(
            "split_brain",
            Validity::Valid,
            format!("no node logs; {} node(s) acknowledged writes in {} separate runs, never interleaved: no sign of split brain (weaker evidence than node logs)", nodes.len(), runs.len()),
        )
        .with_details(details)
    } else {
        Verdict::unknown(
            "split_brain",
            format!(
                "no node logs; writes acknowledged by different nodes interleave in {} window(s), which may be split brain or forwarding: see details.suspected",
                suspected.len()
            ),
        )
        .with_details(details)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{NodeEvents, Op, OpType, Process};
    use std::sync::Arc;

    fn ev(event: &str, node: &str, term: u64, time: u64) -> NodeEvent {
        NodeEvent::new(event, node, term, time)
    }

    fn one_write() -> History {
        let mut done = Op::new(OpType::Ok, Process::Client(0), "write", json!(1)).with_time(20);
        done.node = Some("n1".into());
        let mut h = History::new(vec![
            Op::new(OpType::Invoke, Process::Client(0), "write", json!(1)).with_time(10),
            done,
        ]);
        h.reindex();
        h
    }

    fn with(events: NodeEvents) -> CheckOptions {
        CheckOptions {
            node_events: Some(Arc::new(events)),
            ..CheckOptions::default()
        }
    }

    #[test]
    fn replica_groups_are_judged_each_on_its_own_terms() {
        let h = one_write();
        let events = || {
            NodeEvents::from_events(vec![
                ev("leader", "n1", 1, 5),
                ev("leader", "n4", 1, 6),
                ev("leader", "n5", 1, 7),
            ])
        };
        // One cluster: three leaders of term 1.
        let v = SplitBrain.check(&h, &with(events()));
        assert_eq!(v.valid, Validity::Invalid, "{v:?}");
        // Groups n1-n3 and n4-n6: group 1 is fine, group 2 has two leaders of its term 1.
        let mut opts = with(events());
        opts.params = json!({"replica_groups": [["n1", "n2", "n3"], ["n4", "n5", "n6"]]});
        let v = SplitBrain.check(&h, &opts);
        assert_eq!(v.valid, Validity::Invalid, "{v:?}");
        assert_eq!(v.anomalies.len(), 1, "{v:?}");
        assert!(
            v.anomalies[0]
                .explanation
                .starts_with("Group 2 (n4 n5 n6): Nodes n4"),
            "{v:?}"
        );
        assert_eq!(v.anomalies[0].data["group"], 2);
        assert!(v.summary.starts_with("group 1: "), "{}", v.summary);
        // One leader per group: valid.
        let mut opts = with(NodeEvents::from_events(vec![
            ev("leader", "n1", 1, 5),
            ev("leader", "n4", 1, 6),
        ]));
        opts.params = json!({"replica_groups": [["n1", "n2", "n3"], ["n4", "n5", "n6"]]});
        assert_eq!(SplitBrain.check(&h, &opts).valid, Validity::Valid);
    }

    #[test]
    fn node_events_arrive_as_data_and_an_unreadable_log_makes_the_verdict_unknown() {
        let h = one_write();
        // Out of time order on purpose: the events are sorted once, where they are parsed.
        let two = NodeEvents::from_events(vec![ev("leader", "n2", 1, 30), ev("leader", "n1", 1, 5)]);
        let v = SplitBrain.check(&h, &with(two));
        assert_eq!(v.valid, Validity::Invalid, "{v:?}");
        assert!(v.anomalies.iter().any(|a| a.kind == "two-leaders-one-term"));
        assert!(v.anomalies[0].explanation.starts_with("Nodes n1 (at"), "{v:?}");

        let dir = tempfile::tempdir().unwrap();
        let missing = NodeEvents::read(&[dir.path().join("n3.log")]);
        let v = SplitBrain.check(&h, &with(missing));
        assert_eq!(v.valid, Validity::Unknown);
        assert!(
            v.summary.contains("cannot read node log") && v.summary.contains("n3.log"),
            "{v:?}"
        );

        // No logs at all: the history's `node` field is all there is (one node, never
        // interleaving), which is not the same as logs that hold no events.
        let v = SplitBrain.check(&h, &CheckOptions::default());
        assert_eq!(v.details["source"], "history", "{v:?}");
        let v = SplitBrain.check(&h, &with(NodeEvents::default()));
        assert_eq!(v.details["source"], "node-logs", "{v:?}");
    }

    fn ack(node: &str, term: u64, time: u64, index: u64) -> NodeEvent {
        let mut e = ev("ack", node, term, time);
        e.index = Some(index);
        e
    }

    /// A deposed leader confirming, after the next leader's election, an entry a
    /// majority held (below the new leader's own entries) is legal; the same ack
    /// at an index the new leader reused, or of an entry later discarded, is not.
    #[test]
    fn a_late_ack_of_a_kept_entry_is_not_split_brain_but_a_clashing_one_is() {
        let h = one_write();
        let base = || {
            vec![
                ev("leader", "n1", 1, 0),
                ack("n1", 1, 10, 5),
                ev("leader", "n2", 2, 100),
                ack("n2", 2, 120, 7),
                ack("n2", 2, 200, 8),
            ]
        };
        let mut legal = base();
        legal.push(ack("n1", 1, 150, 6));
        let v = SplitBrain.check(&h, &with(NodeEvents::from_events(legal)));
        assert_eq!(v.valid, Validity::Valid, "{v:?}");
        assert_eq!(v.details["windows"].as_array().unwrap().len(), 1, "{v:?}");

        let mut clash = base();
        clash.push(ack("n1", 1, 150, 7));
        let v = SplitBrain.check(&h, &with(NodeEvents::from_events(clash)));
        assert!(v.anomalies.iter().any(|a| a.kind == "split-brain"), "{v:?}");

        let mut lost = base();
        lost.push(ack("n1", 1, 150, 6));
        let mut d = ev("discard", "n1", 1, 300);
        d.index = Some(6);
        lost.push(d);
        let v = SplitBrain.check(&h, &with(NodeEvents::from_events(lost)));
        assert!(v.anomalies.iter().any(|a| a.kind == "split-brain"), "{v:?}");
    }
}
