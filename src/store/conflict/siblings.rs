//! Siblings: a multi-value register over dotted versions (Riak's
//! `allow_mult` with dotted version vectors).
//!
//! A write carries the causal context its client read; it supersedes exactly
//! the versions in that context and nothing else, so writes made without
//! seeing each other are all kept as siblings until a client that has read
//! them all writes a merged value back. Nothing acknowledged is dropped.

use super::context::CausalContext;
use super::kernel::DotKernel;
use super::lattice::Lattice;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Siblings(pub DotKernel<Value>);

impl Siblings {
    /// The delta of `node` writing `value` after reading `seen`; `local` is
    /// the coordinator's own state (it holds every dot `node` ever minted, so
    /// the new dot is fresh).
    pub fn write_delta(local: &Siblings, node: &str, value: Value, seen: &CausalContext) -> Siblings {
        let counter = local.0.ctx.max_counter(node).max(seen.max_counter(node)) + 1;
        let dot = super::vv::Dot::new(node, counter);
        Siblings(DotKernel::single(dot, value, seen))
    }

    /// Every concurrent value, in dot order.
    pub fn values(&self) -> Vec<Value> {
        self.0.values().cloned().collect()
    }

    /// What a client must send back with its next write to supersede these.
    pub fn context(&self) -> &CausalContext {
        &self.0.ctx
    }
}

impl Lattice for Siblings {
    fn join(&mut self, other: &Siblings) {
        self.0.join(&other.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn write(replica: &mut Siblings, node: &str, v: i64, seen: &CausalContext) -> Siblings {
        let d = Siblings::write_delta(replica, node, json!(v), seen);
        replica.join(&d);
        d
    }

    #[test]
    fn blind_concurrent_writes_become_siblings_and_a_read_write_merges_them() {
        let (mut a, mut b) = (Siblings::default(), Siblings::default());
        let none = CausalContext::new();
        let da = write(&mut a, "n1", 1, &none);
        let db = write(&mut b, "n2", 2, &none);
        a.join(&db);
        b.join(&da);
        assert_eq!(a, b);
        assert_eq!(a.values(), vec![json!(1), json!(2)]);
        // A client read both and writes 3 with that context: one value left.
        let ctx = a.context().clone();
        let d3 = write(&mut a, "n1", 3, &ctx);
        b.join(&d3);
        assert_eq!((a.values(), b.values()), (vec![json!(3)], vec![json!(3)]));
    }

    #[test]
    fn a_write_supersedes_only_what_its_client_saw() {
        let mut r = Siblings::default();
        let none = CausalContext::new();
        write(&mut r, "n1", 1, &none);
        let saw_one = r.context().clone();
        // Another client's write lands at the same coordinator meanwhile.
        write(&mut r, "n1", 2, &none);
        write(&mut r, "n1", 3, &saw_one);
        assert_eq!(
            r.values(),
            vec![json!(2), json!(3)],
            "2 was not seen, so it survives"
        );
        // Old deltas arriving again change nothing.
        let before = r.clone();
        r.join(&Siblings::write_delta(
            &Siblings::default(),
            "n2",
            json!(9),
            &before.context().clone(),
        ));
        assert_eq!(r.values(), vec![json!(9)]);
        let mut again = r.clone();
        again.join(&before);
        assert_eq!(again, r, "the superseded versions do not come back");
    }
}
