//! Version vectors and dots: the logical clocks conflict resolution rests on.
//!
//! A [`Dot`] names one update: the node that made it and that node's counter
//! for it. A [`VersionVector`] `{n: k}` stands for the dots `(n, 1..=k)`.
//! Invariant: a vector never stores a zero entry, so equal histories compare
//! equal with `==`.

use super::lattice::Lattice;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// A node name (the same strings the store uses for its node ids).
pub type NodeId = String;

/// How two histories relate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Causality {
    Equal,
    /// The left history is contained in the right one (it happened before).
    Before,
    /// The left history contains the right one.
    After,
    /// Neither contains the other: concurrent updates.
    Concurrent,
}

impl Causality {
    /// Combines per-component orderings into the order of the whole.
    pub fn from_flags(less: bool, greater: bool) -> Causality {
        match (less, greater) {
            (false, false) => Causality::Equal,
            (true, false) => Causality::Before,
            (false, true) => Causality::After,
            (true, true) => Causality::Concurrent,
        }
    }
}

/// One update's identity: `(node, counter)`, serialized as `["n1", 3]`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(from = "(NodeId, u64)", into = "(NodeId, u64)")]
pub struct Dot {
    pub node: NodeId,
    pub counter: u64,
}

impl Dot {
    pub fn new(node: &str, counter: u64) -> Dot {
        Dot {
            node: node.to_string(),
            counter,
        }
    }
}

impl From<(NodeId, u64)> for Dot {
    fn from((node, counter): (NodeId, u64)) -> Dot {
        Dot { node, counter }
    }
}

impl From<Dot> for (NodeId, u64) {
    fn from(d: Dot) -> (NodeId, u64) {
        (d.node, d.counter)
    }
}

/// A version vector: per node, the highest counter whose whole prefix is known.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct VersionVector(BTreeMap<NodeId, u64>);

impl VersionVector {
    pub fn new() -> VersionVector {
        VersionVector::default()
    }

    /// The counter known for `node` (0 if none).
    pub fn get(&self, node: &str) -> u64 {
        self.0.get(node).copied().unwrap_or(0)
    }

    /// Raises `node`'s entry to at least `counter`.
    pub fn raise(&mut self, node: &str, counter: u64) {
        if counter > self.get(node) {
            self.0.insert(node.to_string(), counter);
        }
    }

    /// Counts one more update by `node` and returns its dot.
    pub fn increment(&mut self, node: &str) -> Dot {
        let c = self.get(node) + 1;
        self.0.insert(node.to_string(), c);
        Dot::new(node, c)
    }

    /// True when the dot is part of the history this vector stands for.
    pub fn contains(&self, dot: &Dot) -> bool {
        dot.counter <= self.get(&dot.node)
    }

    /// How this history relates to `other`'s.
    pub fn compare(&self, other: &VersionVector) -> Causality {
        let (mut less, mut greater) = (false, false);
        for n in self.0.keys().chain(other.0.keys()) {
            match self.get(n).cmp(&other.get(n)) {
                Ordering::Less => less = true,
                Ordering::Greater => greater = true,
                Ordering::Equal => {}
            }
        }
        Causality::from_flags(less, greater)
    }

    /// True when this history contains `other`'s (equal included).
    pub fn dominates(&self, other: &VersionVector) -> bool {
        matches!(self.compare(other), Causality::Equal | Causality::After)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&NodeId, u64)> {
        self.0.iter().map(|(n, &c)| (n, c))
    }
}

impl Lattice for VersionVector {
    /// Pointwise maximum (the least upper bound of the two histories).
    fn join(&mut self, other: &VersionVector) {
        for (n, &c) in &other.0 {
            self.raise(n, c);
        }
    }
}

impl FromIterator<(NodeId, u64)> for VersionVector {
    fn from_iter<I: IntoIterator<Item = (NodeId, u64)>>(it: I) -> VersionVector {
        let mut v = VersionVector::new();
        for (n, c) in it {
            v.raise(&n, c);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn vv(pairs: &[(&str, u64)]) -> VersionVector {
        pairs.iter().map(|(n, c)| (n.to_string(), *c)).collect()
    }

    #[test]
    fn dominance_and_concurrency() {
        let a = vv(&[("n1", 2), ("n2", 1)]);
        let b = vv(&[("n1", 1), ("n2", 1)]);
        let c = vv(&[("n1", 1), ("n2", 2)]);
        assert_eq!(a.compare(&b), Causality::After);
        assert_eq!(b.compare(&a), Causality::Before);
        assert_eq!(a.compare(&c), Causality::Concurrent);
        assert_eq!(a.compare(&a.clone()), Causality::Equal);
        assert!(a.dominates(&b) && !b.dominates(&a) && !a.dominates(&c));
        // A missing entry is a zero: {n1:1} is before {n1:1, n3:1}.
        assert_eq!(
            vv(&[("n1", 1)]).compare(&vv(&[("n1", 1), ("n3", 1)])),
            Causality::Before
        );
        assert_eq!(VersionVector::new().compare(&vv(&[("n1", 0)])), Causality::Equal);
    }

    #[test]
    fn increment_mints_the_next_dot_and_the_dot_is_contained() {
        let mut v = vv(&[("n1", 4)]);
        let d = v.increment("n1");
        assert_eq!(d, Dot::new("n1", 5));
        assert!(v.contains(&d) && !v.contains(&Dot::new("n1", 6)) && !v.contains(&Dot::new("n2", 1)));
        assert_eq!(serde_json::to_string(&d).unwrap(), r#"["n1",5]"#);
        assert_eq!(serde_json::to_string(&v).unwrap(), r#"{"n1":5}"#);
    }

    fn arb_vv() -> impl Strategy<Value = VersionVector> {
        proptest::collection::btree_map("n[1-4]", 0u64..5, 0..4).prop_map(|m| m.into_iter().collect())
    }

    /// The brute-force oracle: a vector as the explicit set of dots it stands for.
    fn dots(v: &VersionVector) -> std::collections::BTreeSet<Dot> {
        v.iter()
            .flat_map(|(n, c)| (1..=c).map(move |i| Dot::new(n, i)))
            .collect()
    }

    proptest! {
        #[test]
        fn join_is_a_semilattice(a in arb_vv(), b in arb_vv(), c in arb_vv()) {
            crate::store::conflict::lattice::laws::check(&a, &b, &c)?;
            prop_assert!(a.joined(&b).dominates(&a) && a.joined(&b).dominates(&b));
        }

        #[test]
        fn compare_matches_set_inclusion(a in arb_vv(), b in arb_vv()) {
            let (da, db) = (dots(&a), dots(&b));
            let expect = Causality::from_flags(!db.is_subset(&da), !da.is_subset(&db));
            // from_flags(less, greater): "less" = b has something a lacks.
            prop_assert_eq!(a.compare(&b), expect);
        }
    }
}
