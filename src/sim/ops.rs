//! How a simulated client speaks a topology: the store request(s) of a
//! history op and what each answer means. One impl per topology, the same
//! mapping its real client uses: the single-leader store's is
//! [`OpMap`] (one request, one redirect to a named leader); the leaderless
//! store's ([`super::leaderless`]) reads before it writes where its real
//! client does, so one op may be two requests within one timeout.

use crate::client::Completion;
use crate::history::Op;
use crate::store::ops::{ClientOp, Outcome};
use crate::system::builtin_ops::{Answer, OpMap};

/// What a client does after an answer.
pub enum Next<O> {
    /// The op is over.
    Done(Completion),
    /// Not the leader: ask this node instead (a client does so at most once).
    Redirect(String),
    /// The op's next request (a read-modify-write's write), sent to the same
    /// node within what is left of the op's timeout.
    Then(ClientOp, O),
}

/// A topology's client mapping.
pub trait SimOps<O>: Send {
    /// The first request of `inv`, or why the store cannot express it.
    fn first(&self, inv: &Op) -> Result<(ClientOp, O), String>;

    /// What `node`'s answer `outcome` to request `stage` (0: the first) of
    /// `inv` means; `known` says whether a node name exists.
    fn answer(
        &self,
        inv: &Op,
        stage: u32,
        node: &str,
        outcome: Outcome,
        known: &dyn Fn(&str) -> bool,
    ) -> Next<O>;

    /// True when request `stage` of `inv` changes nothing (a read-modify-write's
    /// read), so a timeout or lost connection during it is `fail`, not `info`.
    fn harmless(&self, _inv: &Op, _stage: u32) -> bool {
        false
    }

    /// A client that cannot connect to its node moves on to the next one.
    fn moves_on_refusal(&self) -> bool {
        false
    }
}

/// The single-leader store: [`OpMap`], requests without options.
impl<O: Default> SimOps<O> for OpMap {
    fn first(&self, inv: &Op) -> Result<(ClientOp, O), String> {
        Ok((self.translate(inv)?, O::default()))
    }

    fn answer(
        &self,
        inv: &Op,
        _stage: u32,
        node: &str,
        outcome: Outcome,
        known: &dyn Fn(&str) -> bool,
    ) -> Next<O> {
        match OpMap::answer(self, inv, node, outcome, known) {
            Answer::Done(c) => Next::Done(c),
            Answer::Redirect(l) => Next::Redirect(l),
        }
    }
}
