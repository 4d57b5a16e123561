//! Last-write-wins registers: every write is stamped with the coordinator's
//! wall clock and node id, and the highest stamp wins everywhere.
//!
//! Unsafe by design (the seed notes' and Jepsen's point): of two concurrent
//! writes one is silently dropped, and a node whose clock runs behind loses
//! writes that happened after the ones that beat it.
//! Invariant: the order is total (wall clock, then node id, then the value's
//! JSON text), so replicas converge whatever order writes arrive in.

use super::lattice::Lattice;
use super::vv::NodeId;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::cmp::Ordering;

/// When and where a write was coordinated.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Stamp {
    /// The coordinator's wall clock (ns since the epoch, as skewed as it is).
    pub wall_ns: u64,
    /// Tie-break between equal clocks: the greater node id wins.
    pub node: NodeId,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LwwRegister {
    pub stamp: Stamp,
    pub value: Value,
}

impl LwwRegister {
    pub fn new(wall_ns: u64, node: &str, value: Value) -> LwwRegister {
        LwwRegister {
            stamp: Stamp {
                wall_ns,
                node: node.to_string(),
            },
            value,
        }
    }

    /// The total order writes are ranked by.
    pub fn rank(&self, other: &LwwRegister) -> Ordering {
        self.stamp
            .cmp(&other.stamp)
            .then_with(|| self.value.to_string().cmp(&other.value.to_string()))
    }
}

impl Lattice for LwwRegister {
    /// Keeps the higher-ranked write; the other is gone for good.
    fn join(&mut self, other: &LwwRegister) {
        if other.rank(self) == Ordering::Greater {
            *self = other.clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn join(a: &LwwRegister, b: &LwwRegister) -> LwwRegister {
        a.joined(b)
    }

    #[test]
    fn higher_clock_wins_then_node_id_breaks_ties() {
        let early = LwwRegister::new(100, "n9", json!(1));
        let late = LwwRegister::new(200, "n1", json!(2));
        assert_eq!(join(&early, &late).value, json!(2));
        assert_eq!(join(&late, &early).value, json!(2));
        let a = LwwRegister::new(100, "n1", json!("a"));
        let b = LwwRegister::new(100, "n2", json!("b"));
        assert_eq!(
            join(&a, &b).value,
            json!("b"),
            "same clock: the greater node id wins"
        );
        assert_eq!(join(&b, &a).value, json!("b"));
        let c = LwwRegister::new(100, "n2", json!("c"));
        assert_eq!(
            join(&b, &c),
            join(&c, &b),
            "same stamp: still one deterministic winner"
        );
    }

    #[test]
    fn a_clock_behind_silently_loses_the_later_write() {
        // n2's clock is 5 s behind: its write, made after n1's, is dropped.
        let first = LwwRegister::new(10_000_000_000, "n1", json!("first"));
        let second_but_skewed = LwwRegister::new(5_000_000_000, "n2", json!("second"));
        assert_eq!(join(&first, &second_but_skewed).value, json!("first"));
    }

    fn arb() -> impl Strategy<Value = LwwRegister> {
        (0u64..4, "n[1-3]", 0i64..3).prop_map(|(t, n, v)| LwwRegister::new(t, &n, json!(v)))
    }

    proptest! {
        #[test]
        fn join_is_a_semilattice(a in arb(), b in arb(), c in arb()) {
            crate::store::conflict::lattice::laws::check(&a, &b, &c)?;
            // The winner is the maximum by (wall, node, value).
            let best = [&a, &b, &c].into_iter().max_by(|x, y| x.rank(y)).unwrap().clone();
            prop_assert_eq!(join(&join(&a, &b), &c), best);
        }
    }
}
