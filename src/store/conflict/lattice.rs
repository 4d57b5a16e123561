//! Join-semilattices: the one shape every replicated state here has. A
//! replica only ever joins what it receives into what it holds, so message
//! order, duplication and the path an update took cannot matter.

/// A state with a least-upper-bound merge.
pub trait Lattice: Clone {
    /// Merges `other` in. Must be commutative, associative and idempotent.
    fn join(&mut self, other: &Self);

    /// `self ⊔ other` as a new value.
    fn joined(&self, other: &Self) -> Self {
        let mut j = self.clone();
        j.join(other);
        j
    }
}

#[cfg(test)]
pub(crate) mod laws {
    use super::Lattice;
    use proptest::prelude::*;
    use std::fmt::Debug;

    /// The three semilattice laws on one triple (for proptests).
    pub fn check<T: Lattice + PartialEq + Debug>(a: &T, b: &T, c: &T) -> Result<(), TestCaseError> {
        prop_assert_eq!(a.joined(b), b.joined(a), "commutative");
        prop_assert_eq!(a.joined(b).joined(c), a.joined(&b.joined(c)), "associative");
        prop_assert_eq!(a.joined(a), a.clone(), "idempotent");
        Ok(())
    }
}
