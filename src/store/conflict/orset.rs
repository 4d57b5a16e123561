//! The observed-remove set (add-wins): each add is a dot-tagged entry; a
//! remove drops the dots it observed, so an add it did not see survives.
//! Adds by different nodes never overwrite each other, which is why the set
//! workload loses nothing in `crdt` mode.

use super::context::CausalContext;
use super::kernel::DotKernel;
use super::lattice::Lattice;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::cmp::Ordering;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OrSet(pub DotKernel<Value>);

/// Sets sort numbers numerically and anything else by its JSON text.
pub fn value_order(a: &Value, b: &Value) -> Ordering {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.to_string().cmp(&b.to_string()),
    }
}

impl OrSet {
    /// The delta of `node` adding `elem`: a fresh dot, superseding the dots
    /// of `elem` that `local` holds (re-adding does not grow the set).
    pub fn add_delta(local: &OrSet, node: &str, elem: Value) -> OrSet {
        let dot = local.0.ctx.next_dot(node);
        let seen: CausalContext = local.0.dots_where(|v| *v == elem).into_iter().collect();
        OrSet(DotKernel::single(dot, elem, &seen))
    }

    /// The delta removing every copy of `elem` that `local` has observed.
    pub fn remove_delta(local: &OrSet, elem: &Value) -> OrSet {
        let seen: CausalContext = local.0.dots_where(|v| v == elem).into_iter().collect();
        OrSet(DotKernel {
            entries: Default::default(),
            ctx: seen,
        })
    }

    /// The members, sorted, each once.
    pub fn elements(&self) -> Vec<Value> {
        let mut v: Vec<Value> = self.0.values().cloned().collect();
        v.sort_by(value_order);
        v.dedup();
        v
    }
}

impl Lattice for OrSet {
    fn join(&mut self, other: &OrSet) {
        self.0.join(&other.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;
    use std::collections::BTreeSet;

    #[test]
    fn concurrent_add_beats_a_remove_that_did_not_see_it() {
        let (mut a, mut b) = (OrSet::default(), OrSet::default());
        let add1 = OrSet::add_delta(&a, "n1", json!(1));
        a.join(&add1);
        b.join(&add1);
        // n2 re-adds 1 while n1 removes the copy it saw.
        let readd = OrSet::add_delta(&b, "n2", json!(1));
        b.join(&readd);
        let rm = OrSet::remove_delta(&a, &json!(1));
        a.join(&rm);
        assert_eq!(a.elements(), Vec::<Value>::new());
        a.join(&readd);
        b.join(&rm);
        assert_eq!(a, b);
        assert_eq!(
            a.elements(),
            vec![json!(1)],
            "add wins over the concurrent remove"
        );
    }

    proptest! {
        /// Oracle: with adds only, every replica that received every delta (in
        /// any order, duplicated) holds exactly the union of the adds.
        #[test]
        fn adds_from_many_nodes_are_never_lost(adds in proptest::collection::vec((0usize..3, 0u8..20), 0..30), rot in 0usize..30) {
            let ids = ["n1", "n2", "n3"];
            let mut own = vec![OrSet::default(); 3];
            let mut deltas = Vec::new();
            for (who, e) in &adds {
                let d = OrSet::add_delta(&own[*who], ids[*who], json!(e));
                own[*who].join(&d);
                deltas.push(d);
            }
            let k = if deltas.is_empty() { 0 } else { rot % deltas.len() };
            deltas.rotate_left(k);
            let mut r = OrSet::default();
            for d in deltas.iter().chain(deltas.iter()) {
                r.join(d);
            }
            let expect: BTreeSet<u8> = adds.iter().map(|(_, e)| *e).collect();
            let got: Vec<Value> = expect.iter().map(|e| json!(e)).collect();
            prop_assert_eq!(r.elements(), got);
        }
    }
}
