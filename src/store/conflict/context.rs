//! Causal contexts: the exact set of updates a replica (or a client) has seen.
//!
//! A version vector alone cannot say "saw (n1, 4) but not (n1, 3)", and
//! claiming (n1, 3) when it was never seen would let a later write discard an
//! update nobody read. So a context is a vector (the contiguous prefix per
//! node) plus a *cloud* of dots beyond a gap.
//! Invariant (kept by [`CausalContext::compact`]): no cloud dot is covered by
//! the vector or directly follows it, so equal dot sets compare equal.

use super::lattice::Lattice;
use super::vv::{Causality, Dot, NodeId, VersionVector};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CausalContext {
    pub vv: VersionVector,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub cloud: BTreeSet<Dot>,
}

impl CausalContext {
    pub fn new() -> CausalContext {
        CausalContext::default()
    }

    pub fn contains(&self, dot: &Dot) -> bool {
        self.vv.contains(dot) || self.cloud.contains(dot)
    }

    pub fn insert(&mut self, dot: Dot) {
        if !self.vv.contains(&dot) {
            self.cloud.insert(dot);
            self.compact();
        }
    }

    /// Moves cloud dots that extend the vector into it and drops covered ones.
    pub fn compact(&mut self) {
        // Sorted by (node, counter): each node's dots come in ascending order,
        // so one pass extends every prefix as far as it goes.
        let cloud = std::mem::take(&mut self.cloud);
        for d in cloud {
            let have = self.vv.get(&d.node);
            if d.counter == have + 1 {
                self.vv.raise(&d.node, d.counter);
            } else if d.counter > have {
                self.cloud.insert(d);
            }
        }
    }

    /// The highest counter of `node` seen here (vector or cloud).
    pub fn max_counter(&self, node: &str) -> u64 {
        let in_cloud = self
            .cloud
            .iter()
            .filter(|d| d.node == node)
            .map(|d| d.counter)
            .max()
            .unwrap_or(0);
        self.vv.get(node).max(in_cloud)
    }

    /// A dot `node` has never used in this history: above everything seen.
    pub fn next_dot(&self, node: &str) -> Dot {
        Dot::new(node, self.max_counter(node) + 1)
    }

    /// True when every dot of `self` is in `other`.
    pub fn is_subset(&self, other: &CausalContext) -> bool {
        // After compaction other's cloud starts above other.vv + 1, so a
        // prefix (n, 1..=k) is inside other only if other.vv covers it.
        self.vv.iter().all(|(n, c)| c <= other.vv.get(n)) && self.cloud.iter().all(|d| other.contains(d))
    }

    /// How this history relates to `other` (as sets of dots).
    pub fn compare(&self, other: &CausalContext) -> Causality {
        Causality::from_flags(!other.is_subset(self), !self.is_subset(other))
    }

    pub fn is_empty(&self) -> bool {
        self.vv.is_empty() && self.cloud.is_empty()
    }

    /// Every node that has a dot in this context.
    pub fn nodes(&self) -> BTreeSet<NodeId> {
        self.vv
            .iter()
            .map(|(n, _)| n.clone())
            .chain(self.cloud.iter().map(|d| d.node.clone()))
            .collect()
    }
}

impl Lattice for CausalContext {
    /// The union of both dot sets.
    fn join(&mut self, other: &CausalContext) {
        self.vv.join(&other.vv);
        self.cloud.extend(other.cloud.iter().cloned());
        self.compact();
    }
}

impl FromIterator<Dot> for CausalContext {
    fn from_iter<I: IntoIterator<Item = Dot>>(it: I) -> CausalContext {
        let mut c = CausalContext::new();
        c.cloud.extend(it);
        c.compact();
        c
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    pub fn arb_dots() -> impl Strategy<Value = BTreeSet<Dot>> {
        proptest::collection::btree_set(("n[1-3]", 1u64..7).prop_map(|(n, c)| Dot::new(&n, c)), 0..10)
    }

    fn explicit(c: &CausalContext) -> BTreeSet<Dot> {
        c.vv.iter()
            .flat_map(|(n, k)| (1..=k).map(move |i| Dot::new(n, i)))
            .chain(c.cloud.iter().cloned())
            .collect()
    }

    #[test]
    fn a_gap_stays_in_the_cloud_until_filled() {
        let mut c: CausalContext = [Dot::new("a", 1), Dot::new("a", 3)].into_iter().collect();
        assert_eq!(c.vv.get("a"), 1);
        assert!(c.contains(&Dot::new("a", 3)) && !c.contains(&Dot::new("a", 2)));
        assert_eq!(c.next_dot("a"), Dot::new("a", 4));
        c.insert(Dot::new("a", 2));
        assert_eq!((c.vv.get("a"), c.cloud.len()), (3, 0));
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(json, r#"{"vv":{"a":3}}"#);
        let back: CausalContext = serde_json::from_str(r#"{"vv":{"a":1},"cloud":[["a",3]]}"#).unwrap();
        assert!(back.contains(&Dot::new("a", 3)));
    }

    proptest! {
        /// Against the oracle of explicit dot sets: membership, join, subset, compare.
        #[test]
        fn context_is_an_exact_dot_set(a in arb_dots(), b in arb_dots()) {
            let ca: CausalContext = a.iter().cloned().collect();
            let cb: CausalContext = b.iter().cloned().collect();
            prop_assert_eq!(explicit(&ca), a.clone());
            let mut j = ca.clone();
            j.join(&cb);
            let union: BTreeSet<Dot> = a.union(&b).cloned().collect();
            prop_assert_eq!(explicit(&j), union.clone());
            prop_assert_eq!(&j, &union.iter().cloned().collect::<CausalContext>(), "canonical form");
            prop_assert_eq!(ca.is_subset(&cb), a.is_subset(&b));
            let expect = Causality::from_flags(!b.is_subset(&a), !a.is_subset(&b));
            prop_assert_eq!(ca.compare(&cb), expect);
            for d in a.iter() {
                prop_assert!(ca.max_counter(&d.node) >= d.counter);
            }
        }
    }
}
