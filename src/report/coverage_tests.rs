use super::*;
use crate::checker::{Anomaly, Validity};
use crate::history::{Op, Process};
use serde_json::json;

fn nem(ty: OpType, f: &str, v: Value, t: u64) -> Op {
    Op::new(ty, Process::Nemesis, f, v).with_time(t)
}

fn client(f: &str, t: u64) -> [Op; 2] {
    [
        Op::new(OpType::Invoke, Process::Client(0), f, json!(1)).with_time(t),
        Op::new(OpType::Ok, Process::Client(0), f, json!(1)).with_time(t + 1),
    ]
}

fn history() -> History {
    let mut ops = Vec::new();
    ops.extend(client("add", 50));
    ops.push(nem(
        OpType::Invoke,
        "kill",
        json!({"action": "kill", "target": "leader"}),
        100,
    ));
    ops.push(nem(OpType::Info, "kill", json!({"hit": ["n1"]}), 110));
    ops.extend(client("read", 150));
    ops.push(nem(OpType::Invoke, "restart", json!({"action": "restart"}), 200));
    ops.push(nem(OpType::Info, "restart", json!(["n1"]), 210));
    ops.extend(client("read", 250));
    // A kill of a node already dead: fired, no effect.
    ops.push(nem(
        OpType::Invoke,
        "kill",
        json!({"action": "kill", "target": "one"}),
        300,
    ));
    ops.push(nem(OpType::Info, "kill", json!({"hit": []}), 310));
    ops.push(nem(OpType::Invoke, "restart", json!({"action": "restart"}), 400));
    ops.push(nem(OpType::Info, "restart", json!([]), 410));
    ops.push(nem(
        OpType::Invoke,
        "partition",
        json!({"action": "partition", "target": "majority"}),
        500,
    ));
    ops.push(nem(
        OpType::Info,
        "partition",
        json!({"hit": ["n1", "n2"], "grudge": {}}),
        510,
    ));
    let mut h = History::new(ops);
    h.reindex();
    h
}

fn verdict(anomalies: Vec<(&str, Vec<u64>)>) -> Verdict {
    let mut v = Verdict::new("set", Validity::Invalid, "x");
    v.anomalies = anomalies
        .into_iter()
        .map(|(k, ops)| Anomaly {
            kind: k.into(),
            explanation: String::new(),
            ops,
            data: Value::Null,
        })
        .collect();
    v
}

#[test]
fn counts_faults_by_kind_and_target_and_only_effective_ones_took_effect() {
    let h = history();
    let c = of(&h, &[]);
    let rows: Vec<(&str, &str, usize, usize)> = c
        .rows
        .iter()
        .map(|r| (r.kind.as_str(), r.target.as_str(), r.fired, r.took_effect))
        .collect();
    assert_eq!(
        rows,
        vec![
            ("kill", "leader", 1, 1),
            ("kill", "one", 1, 0),
            ("partition", "majority", 1, 1)
        ]
    );
    assert_eq!((c.faults[0].start, c.faults[0].end), (100, 210));
    // The partition is never healed: it lasts to the end of the history.
    assert_eq!(c.faults[2].end, 510);
}

#[test]
fn anomalies_are_placed_during_after_or_before_a_fault() {
    let h = history();
    // ops: 0,1 add@50; 4,5 read@150 (during the kill); 8,9 read@250 (after it).
    let v = verdict(vec![
        ("stale-read", vec![5]),
        ("stale-read", vec![9]),
        ("lost", vec![1]),
        ("G1c", vec![]),
    ]);
    let c = of(&h, &[v]);
    let kill = &c.rows[0];
    assert_eq!(
        kill.anomalies,
        BTreeMap::from([
            ("lost before".to_string(), 1),
            ("stale-read after".to_string(), 1),
            ("stale-read during".to_string(), 1)
        ])
    );
    assert_eq!(c.unplaced, BTreeMap::from([("G1c".to_string(), 1)]));
    // The kill that took no effect gets nothing, though the read at 250 follows it in time order.
    assert!(c.rows[1].anomalies.is_empty());
}

#[test]
fn the_section_lists_every_row_and_escapes() {
    let h = history();
    let c = of(&h, &[verdict(vec![("<b>", vec![5])])]);
    let mut b = String::new();
    section(&mut b, &c);
    assert!(b.contains("Fault coverage"), "{b}");
    assert!(
        b.contains("<td>kill</td><td>leader</td><td>1</td><td>1</td><td>&lt;b&gt; during</td>"),
        "{b}"
    );
    assert!(b.contains("<td>kill</td><td>one</td><td>1</td><td>0</td>"), "{b}");
    let mut empty = String::new();
    section(&mut empty, &Coverage::default());
    assert!(empty.is_empty());
}

#[test]
fn report_html_shows_the_coverage_table_of_a_run() {
    let h = history();
    let mut results = crate::report::example::failing_run(20, 1, 1).1;
    results.results = vec![verdict(vec![("lost", vec![1])])];
    let page = crate::report::html::render(&h, &results);
    assert!(
        page.contains(r#"<section id="coverage"><h2>Fault coverage</h2>"#),
        "no coverage section"
    );
    assert!(page.contains("<td>kill</td><td>leader</td><td>1</td><td>1</td><td>lost before</td>"));
    assert!(page.contains("<td>partition</td><td>majority</td><td>1</td><td>1</td><td>—</td>"));
}

#[test]
fn a_rebalance_is_a_fault_of_its_own_lasting_as_long_as_it_ran() {
    let mut ops = Vec::new();
    ops.push(nem(
        OpType::Invoke,
        "rebalance",
        json!({"action": "rebalance", "seed": 1}),
        100,
    ));
    ops.push(nem(
        OpType::Info,
        "rebalance",
        json!({"target": "all", "hit": ["router", "n1"], "epoch": 2, "moved": true}),
        130,
    ));
    ops.extend(client("add", 500));
    let mut h = History::new(ops);
    h.reindex();
    let f = faults(&h);
    assert_eq!(f.len(), 1);
    assert_eq!((f[0].kind.as_str(), f[0].target.as_str()), ("rebalance", "all"));
    assert_eq!((f[0].start, f[0].end, f[0].took_effect), (100, 130, true));
}

#[test]
fn a_group_added_and_a_range_moved_are_counted_apart() {
    let mut ops = Vec::new();
    for (i, action) in ["add", "move", "add"].iter().enumerate() {
        let t = 100 + 100 * i as u64;
        ops.push(nem(
            OpType::Invoke,
            "rebalance",
            json!({"action": "rebalance", "seed": 1}),
            t,
        ));
        ops.push(nem(
            OpType::Info,
            "rebalance",
            json!({"target": "all", "action": action, "hit": ["router", "n4"], "epoch": 2 + i}),
            t + 50,
        ));
    }
    ops.extend(client("add", 500));
    let mut h = History::new(ops);
    h.reindex();
    let f = faults(&h);
    let aims: Vec<(&str, &str)> = f.iter().map(|f| (f.kind.as_str(), f.target.as_str())).collect();
    assert_eq!(
        aims,
        [("rebalance", "add"), ("rebalance", "move"), ("rebalance", "add")]
    );
    assert!(f.iter().all(|f| f.took_effect));
}
