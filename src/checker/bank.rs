//! Bank: transfers between accounts must conserve money.
//!
//! Every ok `read` (value `{account: balance}`) must sum to the total
//! (`params.total`, else inferred from the first ok read, and the summary says
//! so), hold every account (`params.accounts`, else the first ok read's), and
//! hold no negative balance unless `params.negative_allowed` is true.

use super::span::{spans, Outcome, Span};
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

/// Balances of one read, or `None` when it is not a map of integer balances.
fn balances(v: &Value) -> Option<(i128, Vec<(String, i64)>)> {
    let map = v.as_object()?;
    let mut sum: i128 = 0;
    let mut out = Vec::new();
    for (acct, bal) in map {
        let b = bal.as_i64()?;
        sum += i128::from(b);
        out.push((acct.clone(), b));
    }
    Some((sum, out))
}

/// What every read is held to, given or inferred from the first ok read, and what was found.
struct Ledger {
    total: Option<i128>,
    accounts: Option<BTreeSet<String>>,
    negative_allowed: bool,
    notes: Vec<String>,
    v: Verdict,
    bad: usize,
}

impl Ledger {
    fn new(params: &Value) -> Ledger {
        Ledger {
            total: params.get("total").and_then(Value::as_i64).map(i128::from),
            accounts: params
                .get("accounts")
                .and_then(Value::as_array)
                .map(|a| a.iter().map(account_name).collect()),
            negative_allowed: params
                .get("negative_allowed")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            notes: Vec::new(),
            v: Verdict::valid("bank", ""),
            bad: 0,
        }
    }

    fn push(&mut self, a: Anomaly) {
        self.bad += 1;
        if self.bad <= MAX_LISTED {
            self.v.push_anomaly(a);
        } else {
            self.v.valid = super::Validity::Invalid;
        }
    }

    /// Holds one well-formed read (its balances summing to `sum`) to the total, the sign
    /// rule and the account list.
    fn read(&mut self, r: &Span, sum: i128, balances: &[(String, i64)]) {
        let Some(map) = r.value.as_object() else { return };
        let notes = &mut self.notes;
        let total = *self.total.get_or_insert_with(|| {
            notes.push(format!("total inferred as {sum} from read {}", r.inv));
            sum
        });
        let accts = self.accounts.get_or_insert_with(|| {
            notes.push(format!("accounts inferred from read {}", r.inv));
            map.keys().cloned().collect()
        });
        let missing: Vec<String> = accts.iter().filter(|a| !map.contains_key(*a)).cloned().collect();
        if sum != total {
            self.push(Anomaly {
                kind: "wrong-total".into(),
                explanation: format!(
                    "Read {} saw balances summing to {sum}, not the total {total}.",
                    r.inv
                ),
                ops: r.ops(),
                data: json!({"sum": sum as i64, "total": total as i64, "balances": r.value}),
            });
        }
        if !self.negative_allowed {
            for (a, b) in balances.iter().filter(|(_, b)| *b < 0) {
                self.push(Anomaly {
                    kind: "negative-balance".into(),
                    explanation: format!(
                        "Read {} saw account {a} at {b}, and negative balances are not allowed.",
                        r.inv
                    ),
                    ops: r.ops(),
                    data: json!({"account": a, "balance": b}),
                });
            }
        }
        if !missing.is_empty() {
            self.push(Anomaly {
                kind: "missing-account".into(),
                explanation: format!("Read {} lacks account(s) {missing:?}.", r.inv),
                ops: r.ops(),
                data: json!({"missing": missing}),
            });
        }
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
        let mut l = Ledger::new(&opts.params);
        let (mut checked, mut malformed) = (0usize, 0usize);
        for r in all.iter().filter(|s| s.f == "read" && s.outcome == Outcome::Ok) {
            let Some((sum, balances)) = balances(r.value) else {
                malformed += 1;
                continue;
            };
            checked += 1;
            l.read(r, sum, &balances);
        }
        let Ledger {
            total,
            accounts,
            notes,
            mut v,
            bad,
            ..
        } = l;
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
