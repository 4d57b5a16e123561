//! Focused cycles: a network fault aimed at the nodes its cycle's clock fault
//! hit.
//!
//! Why: a clock fault alone rarely shows anything. A node whose clock runs
//! slow or jumps matters when it must act on that clock: a leader serving
//! reads under a lease while the others, cut off from it, elect a successor;
//! a node judging a peer dead by a timeout. Those bugs need two faults on the
//! same node at once. Drawn independently (a target each from five), the
//! conjunction "the leader's clock drifts and the leader is cut off" came up
//! in about one cycle in sixty, and the default mix found the lease bug in
//! 27 of 1,000 seeds. Real incidents correlate the same way (one sick host
//! with a bad clock and a bad link), and Jepsen's targeted nemeses combine
//! faults on the primaries for the same reason.
//!
//! The rule: in a cycle whose clock fault hit fewer than all nodes, the
//! network stream's fault is a partition that cuts exactly those nodes off
//! (the leader: whoever leads when it runs, the node the clock fault found
//! unless leadership moved in between). After a bump or strobe that happens
//! with probability [`FOCUS`], one-way as often as any partition. After a
//! drift it always happens, and the cut is two-way: a drift alone harms
//! nothing (a slow leader that still hears its followers is a fine leader),
//! and a one-way cut ends the drifted leader's term at once (it hears its
//! successor, or its followers keep hearing it), so either would waste the
//! drift. In a drift's focused cycle the process stream defers its fault to
//! the partition's heal ([`DEFER_THIRDS`]): a drift acts over the seconds the
//! cut lasts (a lease outliving its term needs the rest of the cluster whole
//! meanwhile, to elect a successor and commit what the victim then misses;
//! in the simulator a kill of a majority in the same cycle cut the lease
//! bug's detection to nothing), while a bump acts at once. Skipping the
//! process fault instead cost too many kills (fsync-never under the default
//! mix fell from 191 to 154 of 200 seeds; deferred: 199).
//! Other cycles draw as before, so every kind and target still comes up in a
//! short run.

use super::aim::{Aim, Victims};
use crate::net::Shape;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// How often a cycle whose clock fault is a bump or strobe focuses its
/// network fault (a drift's always does).
pub const FOCUS: f64 = 1.0 / 3.0;

/// A deferred process fault starts this many thirds of an interval after its
/// planned start (when the focused partition heals) and lasts as long, so it
/// is undone before the stream's next fault.
pub const DEFER_THIRDS: u64 = 2;

/// What a clock fault of one cycle hit: its target and victims (`None`: the
/// cycle had no clock fault, or one that hit every node).
pub type Hit = Option<(Aim, Victims)>;

/// What the streams of one schedule tell each other, cycle by cycle (streams
/// share their period, so cycle k of each is the k-th fault of each).
#[derive(Debug, Default)]
pub struct Cycles {
    /// The clock stream's: what each cycle's clock fault hit, and whether it
    /// is a drift.
    pub clock: Vec<(Hit, bool)>,
    /// The network stream's: the cycles whose process fault waits for the
    /// partition's heal (it focused on a drift).
    pub defer: Vec<bool>,
}

impl Cycles {
    pub fn hit(&self, k: usize) -> Option<&Hit> {
        self.clock.get(k).map(|c| &c.0)
    }

    pub fn defers(&self, k: usize) -> bool {
        self.defer.get(k).copied().unwrap_or(false)
    }

    pub fn drift(&self, k: usize) -> bool {
        self.clock.get(k).is_some_and(|c| c.1)
    }
}

/// Whether this cycle focuses on `hit` (a `drift`'s always; else drawn from
/// `rng`; `None`: it does not, or `hit` names no proper subset of the `n`
/// nodes). The schedule then builds the partition ([`super::schedule`]); its
/// nodes are `Some` exactly, `None` for the leader.
pub fn draw(hit: &Hit, drift: bool, rng: &mut ChaCha8Rng, n: usize) -> Option<(Aim, Option<Vec<usize>>)> {
    let (target, victims) = hit.as_ref()?;
    if !drift && !rng.gen_bool(FOCUS) {
        return None;
    }
    match victims {
        Victims::Leader => Some((*target, None)),
        Victims::Nodes(v) if v.is_empty() || v.len() >= n => None,
        Victims::Nodes(v) => Some((*target, Some(v.clone()))),
    }
}

/// The shape a focused partition is named by in the history: the leader's, or
/// by the size `k` of its cut-off side of `n` (`drawn`: the shape its target
/// would have drawn, which says whether it is a datacenter's).
pub fn side_shape(drawn: Shape, nodes: Option<&[usize]>, n: usize) -> Shape {
    let Some(v) = nodes else {
        return Shape::Leader;
    };
    match drawn {
        Shape::Dc | Shape::DcAll => Shape::Dc,
        _ if v.len() == 1 => Shape::One,
        _ if 2 * v.len() < n => Shape::MinorityThird,
        _ => Shape::Halves,
    }
}
