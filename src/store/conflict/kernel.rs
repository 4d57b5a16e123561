//! The dot kernel: values tagged with the dot of the update that made them,
//! plus the causal context of everything seen. The join keeps a value unless
//! the other side has seen its dot and dropped it; that one rule gives the
//! multi-value register (siblings) and the add-wins observed-remove set.
//!
//! Invariant: a dot names one value everywhere (dots are minted once, by the
//! node they name, from a context that holds all its earlier dots), and every
//! entry's dot is in the context.

use super::context::CausalContext;
use super::lattice::Lattice;
use super::vv::Dot;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DotKernel<T> {
    pub entries: BTreeMap<Dot, T>,
    pub ctx: CausalContext,
}

impl<T> Default for DotKernel<T> {
    fn default() -> Self {
        DotKernel {
            entries: BTreeMap::new(),
            ctx: CausalContext::new(),
        }
    }
}

impl<T: Clone> DotKernel<T> {
    /// A kernel holding one new value whose update had seen `seen`.
    pub fn single(dot: Dot, value: T, seen: &CausalContext) -> DotKernel<T> {
        let mut ctx = seen.clone();
        ctx.insert(dot.clone());
        DotKernel {
            entries: BTreeMap::from([(dot, value)]),
            ctx,
        }
    }

    /// Drops the entries `remove` selects; their dots stay in the context so
    /// the removal wins over any copy that has not seen a newer update.
    pub fn remove_where(&mut self, mut remove: impl FnMut(&T) -> bool) {
        self.entries.retain(|_, v| !remove(v));
    }

    /// The dots of the entries `select` picks.
    pub fn dots_where(&self, mut select: impl FnMut(&T) -> bool) -> Vec<Dot> {
        self.entries
            .iter()
            .filter(|(_, v)| select(v))
            .map(|(d, _)| d.clone())
            .collect()
    }

    pub fn values(&self) -> impl Iterator<Item = &T> {
        self.entries.values()
    }
}

impl<T: Clone> Lattice for DotKernel<T> {
    /// The causal join: `(A ∩ B) ∪ (A \ ctx_B) ∪ (B \ ctx_A)`, contexts united.
    /// Commutative, associative and idempotent given the invariant above.
    fn join(&mut self, other: &DotKernel<T>) {
        let theirs = &other.entries;
        let their_ctx = &other.ctx;
        self.entries
            .retain(|d, _| theirs.contains_key(d) || !their_ctx.contains(d));
        for (d, v) in theirs {
            if !self.ctx.contains(d) {
                self.entries.insert(d.clone(), v.clone());
            }
        }
        self.ctx.join(their_ctx);
    }
}

/// JSON maps need string keys, so entries travel as `[[dot, value], ...]`.
#[derive(Serialize, Deserialize)]
struct Wire<T> {
    entries: Vec<(Dot, T)>,
    ctx: CausalContext,
}

impl<T: Serialize + Clone> Serialize for DotKernel<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Wire {
            entries: self.entries.iter().map(|(d, v)| (d.clone(), v.clone())).collect(),
            ctx: self.ctx.clone(),
        }
        .serialize(s)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for DotKernel<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = Wire::<T>::deserialize(d)?;
        let mut ctx = w.ctx;
        for (dot, _) in &w.entries {
            // Restore the invariant for hand-written input: entries are seen.
            ctx.insert(dot.clone());
        }
        Ok(DotKernel {
            entries: w.entries.into_iter().collect(),
            ctx,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::store::conflict::context::tests::arb_dots;
    use proptest::prelude::*;

    /// A kernel that obeys the invariant: the value of a dot is a function of
    /// the dot, entries are a subset of the context.
    pub fn arb_kernel() -> impl Strategy<Value = DotKernel<u64>> {
        (arb_dots(), arb_dots()).prop_map(|(seen, live)| {
            let mut ctx: CausalContext = seen.into_iter().collect();
            let mut entries = BTreeMap::new();
            for d in live {
                ctx.insert(d.clone());
                entries.insert(d.clone(), d.counter * 10 + d.node.len() as u64);
            }
            DotKernel { entries, ctx }
        })
    }

    proptest! {
        #[test]
        fn join_is_commutative_associative_idempotent(a in arb_kernel(), b in arb_kernel(), c in arb_kernel()) {
            crate::store::conflict::lattice::laws::check(&a, &b, &c)?;
        }

        /// Oracle: an entry survives iff some side holds it and no side has
        /// seen its dot without holding it.
        #[test]
        fn join_keeps_exactly_the_unobserved_entries(a in arb_kernel(), b in arb_kernel()) {
            let j = a.joined(&b);
            for (d, v) in a.entries.iter().chain(b.entries.iter()) {
                let dropped = (a.ctx.contains(d) && !a.entries.contains_key(d))
                    || (b.ctx.contains(d) && !b.entries.contains_key(d));
                prop_assert_eq!(j.entries.get(d), (!dropped).then_some(v));
            }
            prop_assert!(j.entries.keys().all(|d| a.entries.contains_key(d) || b.entries.contains_key(d)));
        }
    }

    #[test]
    fn wire_format_round_trips() {
        let k = DotKernel::single(Dot::new("n1", 1), 7u64, &CausalContext::new());
        let s = serde_json::to_string(&k).unwrap();
        assert_eq!(s, r#"{"entries":[[["n1",1],7]],"ctx":{"vv":{"n1":1}}}"#);
        assert_eq!(serde_json::from_str::<DotKernel<u64>>(&s).unwrap(), k);
    }
}
