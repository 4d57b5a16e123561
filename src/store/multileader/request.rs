//! What the multi-leader store makes of each client op, and the delta a
//! home leader originates under `--conflict avoid`.
//!
//! - `read` -> the local copy of the node the client reached (no quorum:
//!   multi-leader reads are local to the datacenter);
//! - `write` -> a register write with the request's causal context;
//! - `append` -> a set add (`crdt`: OR-set; `avoid`: the home leader adds
//!   to the stored array itself, so adds never race);
//! - `txn` with one `["incr", k, d]` -> a counter increment (`crdt`, `avoid`);
//! - `cas`, `transfer`, other transactions -> `fail`.

use crate::store::conflict::{originate, ConflictError, ConflictMode, KeyState, LwwRegister, Update};
use crate::store::leaderless::RequestOpts;
use crate::store::ops::{key_str, ClientOp, Outcome};
use serde_json::{json, Value};

#[derive(Clone, Debug, PartialEq)]
pub enum Plan {
    Read { key: String },
    Write { key: String, update: Update },
}

fn fail(reason: impl Into<String>) -> Outcome {
    Outcome::Fail {
        reason: reason.into(),
    }
}

pub fn plan(op: &ClientOp, opts: &RequestOpts) -> Result<Plan, Outcome> {
    match op {
        ClientOp::Read { key } => Ok(Plan::Read { key: key_str(key) }),
        ClientOp::Write { key, value } => Ok(Plan::Write {
            key: key_str(key),
            update: Update::Put {
                value: value.clone(),
                context: opts.context.clone().unwrap_or_default(),
            },
        }),
        ClientOp::Append { key, value } => Ok(Plan::Write {
            key: key_str(key),
            update: Update::Add { elem: value.clone() },
        }),
        ClientOp::Txn { ops } => match ops.as_slice() {
            [(f, key, delta)] if f == "incr" => match delta.as_i64() {
                Some(delta) => Ok(Plan::Write {
                    key: key_str(key),
                    update: Update::Incr { delta },
                }),
                None => Err(fail(format!("incr of {key}: delta {delta} is not an integer"))),
            },
            _ => Err(fail(
                "the multi-leader store has no transactions (only a single incr)",
            )),
        },
        ClientOp::Cas { .. } => Err(fail(
            "cas is not supported by the multi-leader store: each datacenter accepts writes on its own",
        )),
        ClientOp::Transfer { .. } => Err(fail("the multi-leader store has no multi-key transfer")),
    }
}

/// The delta for `update` accepted by `node`. Under `avoid` only the key's
/// home leader accepts writes, so it stamps them in one order per key (its
/// wall clock, but always above the stamp it holds: a clock stepped back
/// cannot lose a write) and applies adds and increments to the value itself.
pub fn delta(
    mode: ConflictMode,
    local: Option<&KeyState>,
    node: &str,
    wall_ns: u64,
    update: Update,
) -> Result<KeyState, ConflictError> {
    if mode != ConflictMode::Avoid {
        return originate(mode, local, node, wall_ns, update);
    }
    let cur = match local {
        None => None,
        Some(KeyState::Lww(r)) => Some(r),
        Some(other) => {
            return Err(ConflictError::TypeMismatch {
                have: other.kind(),
                want: "lww register",
            })
        }
    };
    let stamp = cur.map_or(wall_ns, |r| wall_ns.max(r.stamp.wall_ns + 1));
    let old = cur.map(|r| r.value.clone()).unwrap_or(Value::Null);
    let value = match update {
        Update::Put { value, .. } => value,
        Update::Add { elem } => {
            let mut a = old.as_array().cloned().unwrap_or_default();
            if !a.contains(&elem) {
                a.push(elem);
            }
            Value::Array(a)
        }
        Update::Remove { elem } => {
            let a = old.as_array().cloned().unwrap_or_default();
            Value::Array(a.into_iter().filter(|x| *x != elem).collect())
        }
        Update::Incr { delta } => json!(old.as_i64().unwrap_or(0) + delta),
    };
    Ok(KeyState::Lww(LwwRegister::new(stamp, node, value)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::conflict::read_value;

    fn apply(st: &mut Option<KeyState>, wall: u64, u: Update) {
        let d = delta(ConflictMode::Avoid, st.as_ref(), "n1", wall, u).unwrap();
        KeyState::join_into(st, &d);
    }

    #[test]
    fn avoid_orders_a_keys_writes_even_when_the_clock_steps_back() {
        let mut st = None;
        apply(&mut st, 100, Update::Add { elem: json!(1) });
        apply(&mut st, 50, Update::Add { elem: json!(2) });
        apply(&mut st, 10, Update::Add { elem: json!(2) });
        assert_eq!(
            read_value(st.as_ref(), ConflictMode::Avoid)["values"],
            json!([[1, 2]])
        );
        let mut c = None;
        apply(&mut c, 9, Update::Incr { delta: 3 });
        apply(&mut c, 1, Update::Incr { delta: -1 });
        assert_eq!(read_value(c.as_ref(), ConflictMode::Avoid)["values"], json!([2]));
    }

    #[test]
    fn adds_need_crdt_or_avoid_and_cas_is_refused() {
        let add = Update::Add { elem: json!(1) };
        let e = delta(ConflictMode::Lww, None, "n1", 1, add).unwrap_err();
        assert!(e.to_string().contains("--conflict crdt"), "{e}");
        let cas = ClientOp::Cas {
            key: json!("k"),
            old: json!(1),
            new: json!(2),
        };
        assert!(matches!(
            plan(&cas, &RequestOpts::default()),
            Err(Outcome::Fail { .. })
        ));
    }
}
