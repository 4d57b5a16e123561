//! Which received changes a node may apply, and when.
//!
//! Every change is applied at most once (by its dot). Under siblings/crdt a
//! change carries the context its origin had applied (`deps`) and waits in
//! a buffer until this node has applied all of it: causal delivery, so a
//! reader never sees an update before one it depends on. Without `deps`
//! (lww, avoid) a change is applied on arrival, whatever overtook what.

use super::types::Change;
use crate::store::conflict::CausalContext;

#[derive(Clone, Debug, Default)]
pub struct Delivery {
    seen: CausalContext,
    pending: Vec<Change>,
}

impl Delivery {
    /// Every change applied so far.
    pub fn seen(&self) -> &CausalContext {
        &self.seen
    }

    /// Changes waiting for their dependencies.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// True when `c` was applied or is buffered already.
    pub fn knows(&self, c: &Change) -> bool {
        self.seen.contains(&c.dot) || self.pending.iter().any(|p| p.dot == c.dot)
    }

    /// Offers a change; returns the changes to apply now, in order (it and
    /// any buffered ones it unblocked). Duplicates return nothing.
    pub fn offer(&mut self, c: Change) -> Vec<Change> {
        if self.knows(&c) {
            return Vec::new();
        }
        if !self.ready(&c) {
            self.pending.push(c);
            return Vec::new();
        }
        self.seen.insert(c.dot.clone());
        let mut out = vec![c];
        while let Some(i) = self.pending.iter().position(|p| self.ready(p)) {
            let p = self.pending.remove(i);
            self.seen.insert(p.dot.clone());
            out.push(p);
        }
        out
    }

    fn ready(&self, c: &Change) -> bool {
        c.deps.as_ref().is_none_or(|d| d.is_subset(&self.seen))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::conflict::{Dot, KeyState, LwwRegister};
    use proptest::prelude::*;
    use serde_json::json;

    fn change(node: &str, n: u64, deps: Option<&[(&str, u64)]>) -> Change {
        Change {
            dot: Dot::new(node, n),
            key: "k".into(),
            delta: KeyState::Lww(LwwRegister::new(n, node, json!(n))),
            deps: deps.map(|d| d.iter().map(|(x, c)| Dot::new(x, *c)).collect()),
            path: vec![0],
        }
    }

    #[test]
    fn a_change_waits_for_what_its_origin_had_applied() {
        let mut d = Delivery::default();
        let x = change("a", 1, Some(&[]));
        let y = change("b", 1, Some(&[("a", 1)]));
        assert!(d.offer(y.clone()).is_empty(), "y depends on x");
        assert_eq!(d.pending(), 1);
        let out = d.offer(x.clone());
        assert_eq!(out, vec![x.clone(), y.clone()]);
        assert!(d.offer(y).is_empty() && d.offer(x).is_empty(), "applied once");
    }

    #[test]
    fn without_dependencies_a_later_change_is_applied_first() {
        let mut d = Delivery::default();
        let y = change("b", 1, None);
        assert_eq!(d.offer(y.clone()), vec![y]);
    }

    proptest! {
        /// Changes of a causal history delivered in any order, duplicated,
        /// are applied exactly once each and never before a dependency.
        #[test]
        fn causal_delivery_respects_dependencies(order in proptest::collection::vec(0usize..12, 0..40)) {
            // Three origins; each change depends on all earlier ones (a chain
            // through the origins, as sessions reading before writing make).
            let nodes = ["a", "b", "c"];
            let mut all = Vec::new();
            let mut ctx = CausalContext::new();
            for i in 0..12 {
                let node = nodes[i % 3];
                let dot = Dot::new(node, (i / 3 + 1) as u64);
                all.push(Change { dot: dot.clone(), key: "k".into(),
                    delta: KeyState::Lww(LwwRegister::new(i as u64, node, json!(i))),
                    deps: Some(ctx.clone()), path: vec![0] });
                ctx.insert(dot);
            }
            let mut d = Delivery::default();
            let mut applied = Vec::new();
            for i in order.into_iter().chain(0..12) {
                applied.extend(d.offer(all[i].clone()));
            }
            prop_assert_eq!(applied, all);
        }
    }
}
