//! The PN-counter: per node, the total of its increments and of its
//! decrements; the value is the difference of the sums. Each node only ever
//! raises its own entries, so the pointwise maximum loses nothing.
//!
//! Invariant: only node `n` raises `p[n]`/`n[n]`, from its own latest entry,
//! which it keeps durably (a replica coordinating or a restarted node reads it
//! back from its own state).

use super::lattice::Lattice;
use super::vv::NodeId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PnCounter {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub p: BTreeMap<NodeId, u64>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub n: BTreeMap<NodeId, u64>,
}

fn max_into(into: &mut BTreeMap<NodeId, u64>, from: &BTreeMap<NodeId, u64>) {
    for (k, &v) in from {
        let e = into.entry(k.clone()).or_insert(0);
        *e = (*e).max(v);
    }
}

impl PnCounter {
    /// The delta for `node` adding `delta` on top of `local` (its own state).
    pub fn incr_delta(local: &PnCounter, node: &str, delta: i64) -> PnCounter {
        let mut d = PnCounter::default();
        let (side, from) = if delta >= 0 {
            (&mut d.p, &local.p)
        } else {
            (&mut d.n, &local.n)
        };
        let cur = from.get(node).copied().unwrap_or(0);
        side.insert(node.to_string(), cur.saturating_add(delta.unsigned_abs()));
        d
    }

    pub fn value(&self) -> i64 {
        let p: i128 = self.p.values().map(|&v| v as i128).sum();
        let n: i128 = self.n.values().map(|&v| v as i128).sum();
        (p - n).clamp(i64::MIN as i128, i64::MAX as i128) as i64
    }
}

impl Lattice for PnCounter {
    fn join(&mut self, other: &PnCounter) {
        max_into(&mut self.p, &other.p);
        max_into(&mut self.n, &other.n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn join(a: &PnCounter, b: &PnCounter) -> PnCounter {
        a.joined(b)
    }

    #[test]
    fn concurrent_increments_all_count() {
        let mut a = PnCounter::default();
        let mut b = PnCounter::default();
        a.join(&PnCounter::incr_delta(&a, "n1", 3));
        b.join(&PnCounter::incr_delta(&b, "n2", 4));
        b.join(&PnCounter::incr_delta(&b, "n2", -1));
        assert_eq!(join(&a, &b).value(), 6);
        // Re-delivering an old delta changes nothing.
        let mut again = join(&a, &b);
        again.join(&PnCounter::incr_delta(&PnCounter::default(), "n1", 3));
        assert_eq!(again.value(), 6);
    }

    fn arb() -> impl Strategy<Value = PnCounter> {
        let side = || proptest::collection::btree_map("n[1-3]", 0u64..9, 0..3);
        (side(), side()).prop_map(|(p, n)| PnCounter { p, n })
    }

    proptest! {
        #[test]
        fn join_is_a_semilattice(a in arb(), b in arb(), c in arb()) {
            crate::store::conflict::lattice::laws::check(&a, &b, &c)?;
        }

        /// Oracle: nodes each apply their own increments; any delivery order
        /// and duplication of the deltas ends at the plain sum.
        #[test]
        fn any_delivery_order_sums_every_increment(ops in proptest::collection::vec((0usize..3, -5i64..6), 0..20), rot in 0usize..20) {
            let ids = ["n1", "n2", "n3"];
            let mut own = vec![PnCounter::default(); 3];
            let mut deltas = Vec::new();
            for (who, d) in &ops {
                let delta = PnCounter::incr_delta(&own[*who], ids[*who], *d);
                own[*who].join(&delta);
                deltas.push(delta);
            }
            let mut at_replica = PnCounter::default();
            let k = if deltas.is_empty() { 0 } else { rot % deltas.len() };
            deltas.rotate_left(k);
            for d in deltas.iter().chain(deltas.iter().rev()) {
                at_replica.join(d);
            }
            prop_assert_eq!(at_replica.value(), ops.iter().map(|(_, d)| d).sum::<i64>());
        }
    }
}
