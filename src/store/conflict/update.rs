//! Originating an update: what the node that accepts a client write (a
//! leaderless coordinator, a multi-leader leader) turns it into. The result
//! is a *delta*, a small state that every replica (the origin included)
//! joins into its own.
//!
//! Invariant: the origin holds every update it ever originated for the key
//! in `local` (it joins each delta before shipping it), so the dots it mints
//! are fresh and its own counter entries are current.

use super::context::CausalContext;
use super::lww::LwwRegister;
use super::orset::OrSet;
use super::pncounter::PnCounter;
use super::siblings::Siblings;
use super::state::KeyState;
use super::ConflictMode;
use serde_json::Value;

/// A client's change to one key.
#[derive(Clone, Debug, PartialEq)]
pub enum Update {
    /// Register write; `context` is what the client read (empty = blind).
    Put { value: Value, context: CausalContext },
    /// Set add (`crdt` mode).
    Add { elem: Value },
    /// Set remove of the copies the origin has seen (`crdt` mode).
    Remove { elem: Value },
    /// Counter increment, negative to decrement (`crdt` mode).
    Incr { delta: i64 },
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConflictError {
    #[error(
        "{what} needs --conflict crdt (under {mode:?} a client reads, changes and writes back the value)"
    )]
    NeedsCrdt { what: &'static str, mode: ConflictMode },
    #[error("the key holds a {have}, not a {want}")]
    TypeMismatch { have: &'static str, want: &'static str },
}

/// The delta for `update` originated by `node` at wall-clock time `wall_ns`.
pub fn originate(
    mode: ConflictMode,
    local: Option<&KeyState>,
    node: &str,
    wall_ns: u64,
    update: Update,
) -> Result<KeyState, ConflictError> {
    let mismatch = |want: &'static str| ConflictError::TypeMismatch {
        have: local.map(KeyState::kind).unwrap_or("nothing"),
        want,
    };
    match (mode, update) {
        (ConflictMode::Lww | ConflictMode::Avoid, Update::Put { value, .. }) => match local {
            None | Some(KeyState::Lww(_)) => Ok(KeyState::Lww(LwwRegister::new(wall_ns, node, value))),
            Some(_) => Err(mismatch("lww register")),
        },
        (ConflictMode::Siblings | ConflictMode::Crdt, Update::Put { value, context }) => {
            let empty = Siblings::default();
            let cur = match local {
                None => &empty,
                Some(KeyState::Siblings(s)) => s,
                Some(_) => return Err(mismatch("siblings register")),
            };
            Ok(KeyState::Siblings(Siblings::write_delta(
                cur, node, value, &context,
            )))
        }
        (ConflictMode::Crdt, Update::Add { elem }) => {
            with_set(local, mismatch, |s| OrSet::add_delta(s, node, elem))
        }
        (ConflictMode::Crdt, Update::Remove { elem }) => {
            with_set(local, mismatch, |s| OrSet::remove_delta(s, &elem))
        }
        (ConflictMode::Crdt, Update::Incr { delta }) => match local {
            None => Ok(KeyState::Counter(PnCounter::incr_delta(
                &PnCounter::default(),
                node,
                delta,
            ))),
            Some(KeyState::Counter(c)) => Ok(KeyState::Counter(PnCounter::incr_delta(c, node, delta))),
            Some(_) => Err(mismatch("counter")),
        },
        (mode, Update::Add { .. }) => Err(ConflictError::NeedsCrdt {
            what: "set add",
            mode,
        }),
        (mode, Update::Remove { .. }) => Err(ConflictError::NeedsCrdt {
            what: "set remove",
            mode,
        }),
        (mode, Update::Incr { .. }) => Err(ConflictError::NeedsCrdt {
            what: "counter increment",
            mode,
        }),
    }
}

fn with_set(
    local: Option<&KeyState>,
    mismatch: impl Fn(&'static str) -> ConflictError,
    f: impl FnOnce(&OrSet) -> OrSet,
) -> Result<KeyState, ConflictError> {
    match local {
        None => Ok(KeyState::Set(f(&OrSet::default()))),
        Some(KeyState::Set(s)) => Ok(KeyState::Set(f(s))),
        Some(_) => Err(mismatch("set")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::conflict::read_value;
    use serde_json::json;

    fn apply(mode: ConflictMode, st: &mut Option<KeyState>, node: &str, wall: u64, u: Update) -> KeyState {
        let d = originate(mode, st.as_ref(), node, wall, u).unwrap();
        KeyState::join_into(st, &d);
        d
    }

    fn put(v: i64) -> Update {
        Update::Put {
            value: json!(v),
            context: CausalContext::new(),
        }
    }

    #[test]
    fn each_mode_builds_its_type_and_refuses_the_others() {
        let mut st = None;
        apply(ConflictMode::Lww, &mut st, "n1", 5, put(1));
        assert!(matches!(st, Some(KeyState::Lww(_))));
        let e = originate(
            ConflictMode::Lww,
            st.as_ref(),
            "n1",
            6,
            Update::Add { elem: json!(1) },
        )
        .unwrap_err();
        assert!(e.to_string().contains("--conflict crdt"), "{e}");
        let mut set = None;
        apply(
            ConflictMode::Crdt,
            &mut set,
            "n1",
            0,
            Update::Add { elem: json!(2) },
        );
        let e = originate(
            ConflictMode::Crdt,
            set.as_ref(),
            "n1",
            0,
            Update::Incr { delta: 1 },
        )
        .unwrap_err();
        assert_eq!(
            e,
            ConflictError::TypeMismatch {
                have: "set",
                want: "counter"
            }
        );
        let mut ctr = None;
        apply(ConflictMode::Crdt, &mut ctr, "n1", 0, Update::Incr { delta: 4 });
        apply(ConflictMode::Crdt, &mut ctr, "n1", 0, Update::Incr { delta: -1 });
        assert_eq!(read_value(ctr.as_ref(), ConflictMode::Crdt), json!(3));
    }

    #[test]
    fn lww_replicas_converge_on_the_highest_stamp_in_any_order() {
        let d1 = originate(ConflictMode::Lww, None, "n1", 100, put(1)).unwrap();
        let d2 = originate(ConflictMode::Lww, None, "n2", 90, put(2)).unwrap();
        let (mut a, mut b) = (None, None);
        KeyState::join_into(&mut a, &d1);
        KeyState::join_into(&mut a, &d2);
        KeyState::join_into(&mut b, &d2);
        KeyState::join_into(&mut b, &d1);
        assert_eq!(a, b);
        assert_eq!(read_value(a.as_ref(), ConflictMode::Lww)["values"], json!([1]));
    }
}
