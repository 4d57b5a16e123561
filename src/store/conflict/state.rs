//! The replicated state of one key, whatever the conflict mode, and the one
//! operation replicas ever apply to it: the join.
//!
//! Invariant: [`KeyState::join`] is commutative, associative and idempotent,
//! so replicas that have received the same updates in any order, any number
//! of times, hold equal states (and equal [`KeyState::digest`]s).

use super::lattice::Lattice;
use super::lww::LwwRegister;
use super::orset::OrSet;
use super::pncounter::PnCounter;
use super::siblings::Siblings;
use super::ConflictMode;
use crate::util::hash::hash_of;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyState {
    Lww(LwwRegister),
    Siblings(Siblings),
    Set(OrSet),
    Counter(PnCounter),
}

impl KeyState {
    pub fn kind(&self) -> &'static str {
        match self {
            KeyState::Lww(_) => "lww register",
            KeyState::Siblings(_) => "siblings register",
            KeyState::Set(_) => "set",
            KeyState::Counter(_) => "counter",
        }
    }

    fn rank(&self) -> u8 {
        match self {
            KeyState::Lww(_) => 0,
            KeyState::Siblings(_) => 1,
            KeyState::Set(_) => 2,
            KeyState::Counter(_) => 3,
        }
    }

    /// Joins `other` into an optional state.
    pub fn join_into(slot: &mut Option<KeyState>, other: &KeyState) {
        match slot {
            Some(s) => s.join(other),
            None => *slot = Some(other.clone()),
        }
    }

    /// A stable fingerprint (equal states, equal digests, across processes).
    pub fn digest(&self) -> u64 {
        // Every map inside is ordered, so the JSON text is canonical.
        hash_of(serde_json::to_string(self).unwrap_or_default().as_bytes())
    }

    /// The JSON encoding's length: what shipping this state costs.
    pub fn wire_bytes(&self) -> usize {
        serde_json::to_vec(self).map(|v| v.len()).unwrap_or(0)
    }
}

impl Lattice for KeyState {
    /// States of different types only meet when a key was misused
    /// (coordinators refuse such writes); the higher-ranked type then wins so
    /// that the join stays a semilattice and replicas still converge.
    fn join(&mut self, other: &KeyState) {
        match (&mut *self, other) {
            (KeyState::Lww(a), KeyState::Lww(b)) => a.join(b),
            (KeyState::Siblings(a), KeyState::Siblings(b)) => a.join(b),
            (KeyState::Set(a), KeyState::Set(b)) => a.join(b),
            (KeyState::Counter(a), KeyState::Counter(b)) => a.join(b),
            (a, b) => {
                if b.rank() > a.rank() {
                    *a = b.clone();
                }
            }
        }
    }
}

/// What a read returns to the client (the documented shapes):
/// - registers (`lww`, `siblings`, and `crdt` writes): `{"values": [...],
///   "context": C}`: every sibling (one at most under `lww`) and the causal
///   context to send back with the next write (`null` under `lww` and for an
///   absent key);
/// - a set: its sorted elements; a counter: its integer value;
/// - an absent key under `crdt`: `null` (the reader does not know its type).
pub fn read_value(state: Option<&KeyState>, mode: ConflictMode) -> Value {
    match state {
        None if mode == ConflictMode::Crdt => Value::Null,
        None => json!({"values": [], "context": null}),
        Some(KeyState::Lww(r)) => json!({"values": [r.value], "context": null}),
        Some(KeyState::Siblings(s)) => json!({"values": s.values(), "context": s.context()}),
        Some(KeyState::Set(s)) => Value::Array(s.elements()),
        Some(KeyState::Counter(c)) => json!(c.value()),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::store::conflict::kernel::tests::arb_kernel;
    use crate::store::conflict::kernel::DotKernel;
    use proptest::prelude::*;

    /// Any state of any type, each obeying its type's invariants.
    pub fn arb_state() -> impl Strategy<Value = KeyState> {
        let to_json = |k: DotKernel<u64>| DotKernel {
            entries: k.entries.into_iter().map(|(d, v)| (d, json!(v))).collect(),
            ctx: k.ctx,
        };
        prop_oneof![
            (0u64..3, "n[1-3]", 0i64..3).prop_map(|(t, n, v)| KeyState::Lww(LwwRegister::new(
                t,
                &n,
                json!(v)
            ))),
            arb_kernel().prop_map(move |k| KeyState::Siblings(Siblings(to_json(k)))),
            arb_kernel().prop_map(move |k| KeyState::Set(OrSet(to_json(k)))),
            proptest::collection::btree_map("n[1-3]", 0u64..5, 0..3).prop_map(|p| KeyState::Counter(
                PnCounter {
                    p,
                    n: Default::default()
                }
            )),
        ]
    }

    proptest! {
        #[test]
        fn join_is_a_semilattice_across_types(a in arb_state(), b in arb_state(), c in arb_state()) {
            crate::store::conflict::lattice::laws::check(&a, &b, &c)?;
            prop_assert_eq!(a.joined(&b).digest(), b.joined(&a).digest());
        }

        #[test]
        fn states_survive_the_wire(a in arb_state()) {
            let s = serde_json::to_string(&a).unwrap();
            prop_assert_eq!(serde_json::from_str::<KeyState>(&s).unwrap(), a);
        }
    }

    #[test]
    fn read_shapes_are_the_documented_ones() {
        use crate::store::conflict::{CausalContext, Siblings};
        assert_eq!(
            read_value(None, ConflictMode::Lww),
            json!({"values": [], "context": null})
        );
        assert_eq!(read_value(None, ConflictMode::Crdt), Value::Null);
        let l = KeyState::Lww(LwwRegister::new(1, "n1", json!(5)));
        assert_eq!(
            read_value(Some(&l), ConflictMode::Lww),
            json!({"values": [5], "context": null})
        );
        let s = Siblings::write_delta(&Siblings::default(), "n1", json!(5), &CausalContext::new());
        assert_eq!(
            read_value(Some(&KeyState::Siblings(s)), ConflictMode::Siblings),
            json!({"values": [5], "context": {"vv": {"n1": 1}}})
        );
        let set = OrSet::add_delta(&OrSet::default(), "n1", json!(3));
        assert_eq!(
            read_value(Some(&KeyState::Set(set)), ConflictMode::Crdt),
            json!([3])
        );
    }
}
