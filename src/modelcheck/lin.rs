//! Linearizability of the clients' register ops, kept as a frontier instead of
//! a history: the set of presents the register can be in, given everything
//! invoked and returned so far (just-in-time linearization).
//!
//! A present is the register's value plus which ops in flight have already
//! taken effect (a read: with the value it saw). Two histories with the same
//! frontier and the same ops in flight have the same future verdicts, so the
//! search may merge them; a history, as stateright's tester keeps it, tells
//! every interleaving of invokes and returns apart and keeps such states
//! apart. The history is linearizable iff the frontier is not empty.
//!
//! Invariant: `presents` is closed under "one op in flight, not yet taken
//! effect, takes effect now".

use std::collections::{BTreeMap, BTreeSet};

/// The register's value: `None` is the initial null.
pub type Val = Option<u64>;

/// A register op in flight.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, PartialOrd, Ord)]
pub enum LinOp {
    Write(u64),
    Read,
}

/// What a returned op answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinRet {
    WriteOk,
    ReadOk(Val),
}

/// One possible present: the value, and the ops in flight that took effect
/// already (reads with the value they saw, writes with `None`).
type Present = (Val, BTreeMap<u64, Option<Val>>);

#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct Frontier {
    /// Ops invoked and not returned, by request id.
    pending: BTreeMap<u64, LinOp>,
    presents: BTreeSet<Present>,
}

impl Default for Frontier {
    fn default() -> Frontier {
        Frontier {
            pending: BTreeMap::new(),
            presents: BTreeSet::from([(None, BTreeMap::new())]),
        }
    }
}

impl Frontier {
    pub fn is_consistent(&self) -> bool {
        !self.presents.is_empty()
    }

    pub fn invoke(&mut self, req: u64, op: LinOp) {
        self.pending.insert(req, op);
        self.close();
    }

    /// The op returned `ret`: keep the presents where it took effect with that
    /// answer, or where it can take effect now with it.
    pub fn ret(&mut self, req: u64, ret: LinRet) {
        let Some(op) = self.pending.remove(&req) else {
            return;
        };
        let old = std::mem::take(&mut self.presents);
        for (value, mut done) in old {
            let ok = match (done.remove(&req), op, ret) {
                (Some(seen), LinOp::Read, LinRet::ReadOk(r)) => seen == Some(r),
                (Some(_), LinOp::Write(_), LinRet::WriteOk) => true,
                (None, LinOp::Read, LinRet::ReadOk(r)) => value == r,
                (None, LinOp::Write(v), LinRet::WriteOk) => {
                    self.presents.insert((Some(v), done));
                    continue;
                }
                _ => false,
            };
            if ok {
                self.presents.insert((value, done));
            }
        }
        self.close();
    }

    /// The op will never return (its outcome is unknown). A read that never
    /// returns constrains nothing and is forgotten; a write stays in flight.
    pub fn abandon(&mut self, req: u64) {
        if self.pending.get(&req) != Some(&LinOp::Read) {
            return;
        }
        self.pending.remove(&req);
        let old = std::mem::take(&mut self.presents);
        self.presents = old
            .into_iter()
            .map(|(v, mut done)| {
                done.remove(&req);
                (v, done)
            })
            .collect();
    }

    /// Restores the invariant: adds every present reachable by letting ops
    /// in flight take effect one at a time.
    fn close(&mut self) {
        let mut todo: Vec<Present> = self.presents.iter().cloned().collect();
        while let Some((value, done)) = todo.pop() {
            for (&req, &op) in &self.pending {
                if done.contains_key(&req) {
                    continue;
                }
                let mut d = done.clone();
                let next = match op {
                    LinOp::Write(v) => {
                        d.insert(req, None);
                        (Some(v), d)
                    }
                    LinOp::Read => {
                        d.insert(req, Some(value));
                        (value, d)
                    }
                };
                if self.presents.insert(next.clone()) {
                    todo.push(next);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use stateright::semantics::register::{Register, RegisterOp, RegisterRet};
    use stateright::semantics::{ConsistencyTester, LinearizabilityTester};

    #[test]
    fn a_read_of_an_overwritten_value_after_the_write_returned_is_not_linearizable() {
        let mut f = Frontier::default();
        f.invoke(1, LinOp::Write(5));
        f.ret(1, LinRet::WriteOk);
        f.invoke(2, LinOp::Write(6));
        f.ret(2, LinRet::WriteOk);
        f.invoke(3, LinOp::Read);
        assert!(f.is_consistent());
        f.ret(3, LinRet::ReadOk(Some(5)));
        assert!(!f.is_consistent());
    }

    #[test]
    fn concurrent_ops_may_take_effect_in_either_order_and_the_frontier_forgets_the_order() {
        let run = |first: u64| {
            let mut f = Frontier::default();
            f.invoke(1, LinOp::Write(5));
            f.invoke(2, LinOp::Read);
            f.ret(
                first,
                if first == 1 {
                    LinRet::WriteOk
                } else {
                    LinRet::ReadOk(None)
                },
            );
            let other = 3 - first;
            f.ret(
                other,
                if other == 1 {
                    LinRet::WriteOk
                } else {
                    LinRet::ReadOk(None)
                },
            );
            f
        };
        let (a, b) = (run(1), run(2));
        assert!(a.is_consistent() && b.is_consistent());
        assert_eq!(a, b, "the same future: merged");
    }

    #[test]
    fn an_unknown_write_may_or_may_not_have_happened() {
        for seen in [None, Some(7)] {
            let mut f = Frontier::default();
            f.invoke(1, LinOp::Write(7)); // never returns
            f.invoke(2, LinOp::Read);
            f.ret(2, LinRet::ReadOk(seen));
            assert!(f.is_consistent(), "{seen:?}");
        }
        let mut f = Frontier::default();
        f.invoke(1, LinOp::Write(7));
        f.invoke(2, LinOp::Read);
        f.ret(2, LinRet::ReadOk(Some(7)));
        f.invoke(3, LinOp::Read);
        f.ret(3, LinRet::ReadOk(None)); // 7 took effect before read 2 ended: no going back
        assert!(!f.is_consistent());
    }

    /// An event of a random register history: invoke `op` as request `req`,
    /// or return request `req` (a read returns `seen`), or abandon it.
    #[derive(Clone, Debug)]
    enum Ev {
        Invoke(u64, LinOp),
        Return(u64, Val),
        Abandon(u64),
    }

    fn history() -> impl Strategy<Value = Vec<Ev>> {
        // Up to 3 clients x 2 ops; values from a small set so reads can match.
        proptest::collection::vec((0u64..3, 0u8..4, prop::option::of(1u64..4)), 1..14).prop_map(|raw| {
            let mut out = Vec::new();
            let mut next_req = [0u64; 3];
            let mut open: [Option<(u64, LinOp)>; 3] = [None; 3];
            for (c, what, v) in raw {
                let c = c as usize;
                match (open[c], what) {
                    (None, _) if next_req[c] < 2 => {
                        let req = (c as u64) << 8 | next_req[c];
                        next_req[c] += 1;
                        let op = match v {
                            Some(v) if what % 2 == 0 => LinOp::Write(c as u64 * 10 + v),
                            _ => LinOp::Read,
                        };
                        open[c] = Some((req, op));
                        out.push(Ev::Invoke(req, op));
                    }
                    (Some((req, _)), 3) => {
                        open[c] = None;
                        out.push(Ev::Abandon(req));
                    }
                    (Some((req, _)), _) => {
                        open[c] = None;
                        out.push(Ev::Return(req, v.map(|x| (x - 1) * 10 + x)));
                    }
                    _ => {}
                }
            }
            out
        })
    }

    proptest! {
        /// The oracle is stateright's history-keeping tester: after every
        /// event both give the same verdict.
        #[test]
        fn agrees_with_the_history_tester(h in history()) {
            let mut f = Frontier::default();
            let mut t = LinearizabilityTester::new(Register(None::<u64>));
            let mut ops = BTreeMap::new();
            for ev in h {
                match ev {
                    Ev::Invoke(req, op) => {
                        ops.insert(req, op);
                        f.invoke(req, op);
                        let rop = match op {
                            LinOp::Write(v) => RegisterOp::Write(Some(v)),
                            LinOp::Read => RegisterOp::Read,
                        };
                        let _ = t.on_invoke(req, rop);
                    }
                    Ev::Return(req, seen) => {
                        let (lr, rr) = match ops[&req] {
                            LinOp::Write(_) => (LinRet::WriteOk, RegisterRet::WriteOk),
                            LinOp::Read => (LinRet::ReadOk(seen), RegisterRet::ReadOk(seen)),
                        };
                        f.ret(req, lr);
                        let _ = t.on_return(req, rr);
                    }
                    Ev::Abandon(req) => f.abandon(req),
                }
                prop_assert_eq!(f.is_consistent(), t.is_consistent());
            }
        }
    }
}
