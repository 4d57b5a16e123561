//! Bank: transfers between accounts must conserve money.
//!
//! Every ok `read` (value `{account: balance}`) must sum to the total
//! (`params.total`, else inferred from the first ok read, and the summary says
//! so), hold every account (`params.accounts`, else the first ok read's), and
//! hold no negative balance unless `params.negative_allowed` is true.

use super::span::{spans, Outcome};
use super::{Anomaly, CheckOptions, Checker, Verdict};
use crate::history::History;
use serde_json::{json, Value};
use std::collections::BTreeSet;

const MAX_LISTED: usize = 100;

pub struct Bank;

fn account_name(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl Checker for Bank {
    fn name(&self) -> &str {
        "bank"
    }

    fn check(&self, h: &History, opts: &CheckOptions) -> Verdict {
        let all = match spans(h) {
            Ok(s) => s,
            Err(e) => return Verdict::unknown("bank", format!("history cannot be paired: {e}")),
        };
        let reads: Vec<_> = all
            .iter()
            .filter(|s| s.f == "read" && s.outcome == Outcome::Ok)
            .collect();
        let negative_allowed = opts
            .params
            .get("negative_allowed")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let mut notes = Vec::new();
        let mut total = opts.params.get("total").and_then(Value::as_i64).map(i128::from);
        let mut accounts: Option<BTreeSet<String>> = opts
            .params
            .get("accounts")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(account_name).collect());
        let mut v = Verdict::valid("bank", "");
        let (mut checked, mut malformed, mut bad) = (0usize, 0usize, 0usize);
        let mut push = |v: &mut Verdict, a: Anomaly| {
            bad += 1;
            if bad <= MAX_LISTED {
                v.push_anomaly(a);
            } else {
                v.valid = super::Validity::Invalid;
            }
        };
        for r in reads {
            let Some(map) = r.value.as_object() else {
                malformed += 1;
                continue;
            };
            let mut sum: i128 = 0;
            let mut balances = Vec::new();
            let mut ok = true;
            for (acct, bal) in map {
                match bal.as_i64() {
                    Some(b) => {
                        sum += i128::from(b);
                        balances.push((acct.clone(), b));
                    }
                    None => ok = false,
                }
            }
            if !ok {
                malformed += 1;
                continue;
            }
            checked += 1;
            let total = *total.get_or_insert_with(|| {
                notes.push(format!("total inferred as {sum} from read {}", r.inv));
                sum
            });
            let accts = accounts.get_or_insert_with(|| {
                notes.push(format!("accounts inferred from read {}", r.inv));
                map.keys().cloned().collect()
            });
            if sum != total {
                push(
                    &mut v,
                    Anomaly {
                        kind: "wrong-total".into(),
                        explanation: format!(
                            "Read {} saw balances summing to {sum}, not the total {total}.",
                            r.inv
                        ),
                        ops: r.ops(),
                        data: json!({"sum": sum as i64, "total": total as i64, "balances": r.value}),
                    },
                );
            }
            if !negative_allowed {
                for (a, b) in balances.iter().filter(|(_, b)| *b < 0) {
                    push(
                        &mut v,
                        Anomaly {
                            kind: "negative-balance".into(),
                            explanation: format!(
                                "Read {} saw account {a} at {b}, and negative balances are not allowed.",
                                r.inv
                            ),
                            ops: r.ops(),
                            data: json!({"account": a, "balance": b}),
                        },
                    );
                }
            }
            let missing: Vec<&String> = accts.iter().filter(|a| !map.contains_key(*a)).collect();
            if !missing.is_empty() {
                push(
                    &mut v,
                    Anomaly {
                        kind: "missing-account".into(),
                        explanation: format!("Read {} lacks account(s) {missing:?}.", r.inv),
                        ops: r.ops(),
                        data: json!({"missing": missing}),
                    },
                );
            }
        }
        let transfers = all.iter().filter(|s| s.f == "transfer").count();
        v.summary = format!("{checked} reads checked, {bad} anomalies, {transfers} transfers");
        if !notes.is_empty() {
            v.summary.push_str(&format!(" ({})", notes.join("; ")));
        }
        if checked == 0 && v.valid == super::Validity::Valid {
            v.valid = super::Validity::Unknown;
            v.summary = "no ok read of the accounts: nothing can be concluded".into();
        }
        v.with_details(json!({
            "reads": checked, "malformed_reads": malformed, "anomalies": bad, "transfers": transfers,
            "total": total.map(|t| t as i64), "accounts": accounts, "notes": notes,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::Validity;
    use crate::history::{Op, OpType, Process};

    fn read(balances: Value) -> History {
        let mut h = History::new(vec![
            Op::new(OpType::Invoke, Process::Client(1), "read", Value::Null),
            Op::new(OpType::Ok, Process::Client(1), "read", balances),
        ]);
        h.reindex();
        h
    }

    #[test]
    fn invariants() {
        let opts = CheckOptions {
            params: json!({"total": 10, "accounts": ["a", "b"]}),
            ..Default::default()
        };
        let kinds = |b| {
            Bank.check(&read(b), &opts)
                .anomalies
                .into_iter()
                .map(|a| a.kind)
                .collect::<Vec<_>>()
        };
        assert!(kinds(json!({"a": 4, "b": 6})).is_empty());
        assert_eq!(kinds(json!({"a": 4, "b": 7})), vec!["wrong-total"]);
        assert_eq!(kinds(json!({"a": -1, "b": 11})), vec!["negative-balance"]);
        assert_eq!(kinds(json!({"a": 10})), vec!["missing-account"]);
        let inferred = Bank.check(&read(json!({"a": 1})), &CheckOptions::default());
        assert_eq!(inferred.valid, Validity::Valid);
        assert!(inferred.summary.contains("inferred"));
    }
}
