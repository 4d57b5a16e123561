//! `--cross-shard split` (unsafe): a transaction whose keys span groups is cut
//! into one transaction per group, sent one after the other, each applied by
//! its group on its own. No atomicity and no isolation across the parts:
//! another client can see one part's writes and not the other's (read skew),
//! which is what Elle must find. The answer puts each part's results back in
//! the original order.
//!
//! Invariant: the answer is `ok` only if every part was; `fail` only if no
//! part may have taken effect; otherwise `unknown` (some part applied, some
//! not, or unknown).

use crate::store::ops::{ClientOp, MicroOp, Outcome};
use crate::store::shard::{GroupId, RoutingTable};
use serde_json::Value;

/// The parts of `ops` per group, in the order their groups first appear,
/// each with the positions of its micro-ops in `ops`.
pub fn parts(table: &RoutingTable, ops: &[MicroOp]) -> Vec<(GroupId, Vec<usize>)> {
    let mut out: Vec<(GroupId, Vec<usize>)> = Vec::new();
    for (i, (_, k, _)) in ops.iter().enumerate() {
        let g = table.owner(&crate::store::ops::key_str(k));
        match out.iter_mut().find(|(h, _)| *h == g) {
            Some((_, v)) => v.push(i),
            None => out.push((g, vec![i])),
        }
    }
    out
}

/// Runs `ops` as per-group parts through `send` (group, part -> outcome).
pub fn run(
    table: &RoutingTable,
    ops: &[MicroOp],
    mut send: impl FnMut(GroupId, &ClientOp) -> Outcome,
) -> Outcome {
    let mut results: Vec<Option<Value>> = vec![None; ops.len()];
    let mut applied = 0;
    for (g, idx) in parts(table, ops) {
        let part = ClientOp::Txn {
            ops: idx.iter().map(|&i| ops[i].clone()).collect(),
        };
        match send(g, &part) {
            Outcome::Ok { value } => {
                applied += 1;
                let vals = value.as_array().cloned().unwrap_or_default();
                for (j, &i) in idx.iter().enumerate() {
                    results[i] = vals.get(j).cloned();
                }
            }
            Outcome::Fail { reason } if applied == 0 => {
                return Outcome::Fail {
                    reason: format!("split txn, group {g}: {reason}"),
                }
            }
            other => {
                return Outcome::Unknown {
                    reason: format!(
                        "split txn: group {g} answered {other:?} after {applied} part(s) applied"
                    ),
                }
            }
        }
    }
    let value = results
        .into_iter()
        .zip(ops)
        .map(|(r, (f, k, v))| r.unwrap_or_else(|| serde_json::json!([f, k, v])))
        .collect();
    Outcome::Ok {
        value: Value::Array(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ops::KvState;
    use crate::store::shard::PartitionerKind;
    use serde_json::json;

    fn mop(f: &str, k: &str, v: Value) -> MicroOp {
        (f.into(), json!(k), v)
    }

    #[test]
    fn a_split_txn_runs_per_group_and_answers_in_the_original_order() {
        let t = RoutingTable::new(PartitionerKind::Range, 3).unwrap();
        // apple: group 0, k1: group 1, zoo: group 2.
        let ops = vec![
            mop("append", "k1", json!(1)),
            mop("r", "apple", json!(null)),
            mop("append", "zoo", json!(2)),
            mop("r", "k1", json!(null)),
        ];
        assert_eq!(parts(&t, &ops), vec![(1, vec![0, 3]), (0, vec![1]), (2, vec![2])]);
        let mut groups = vec![KvState::default(); 3];
        let mut sent = Vec::new();
        let out = run(&t, &ops, |g, op| {
            sent.push(g);
            groups[g].apply(op)
        });
        assert_eq!(sent, [1, 0, 2]);
        assert_eq!(
            out,
            Outcome::Ok {
                value: json!([
                    ["append", "k1", 1],
                    ["r", "apple", null],
                    ["append", "zoo", 2],
                    ["r", "k1", [1]]
                ])
            }
        );
        // A later part failing after an earlier one applied: unknown, and the first part stays applied.
        let bad = vec![mop("append", "k1", json!(3)), mop("incr", "zoo", json!(1))];
        let out = run(&t, &bad, |g, op| groups[g].apply(op));
        assert!(matches!(out, Outcome::Unknown { .. }), "{out:?}");
        assert_eq!(
            groups[1].get(&json!("k1")),
            json!([1, 3]),
            "no atomicity across groups"
        );
        // The first part failing: nothing applied, a clean fail.
        let first = vec![mop("incr", "zoo", json!(1)), mop("append", "k1", json!(4))];
        assert!(matches!(
            run(&t, &first, |g, op| groups[g].apply(op)),
            Outcome::Fail { .. }
        ));
    }
}
