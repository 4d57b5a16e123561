//! Sound reductions before the linearizability search ([`super::Model::droppable`]).
//!
//! An `info` op may always be taken as never having happened. So an
//! indeterminate op `w` can be left out when no *other* op could ever see
//! its effect: take any linearization that contains `w`; the op right after
//! `w` runs in the state `w` made, so it must be one that cannot tell that
//! state apart (a blind write, a put, an enqueue at the tail ...), and from
//! there on the state is what it would have been without `w`. Dropping `w`
//! from the linearization therefore leaves a linearization of the rest, and
//! the converse (add `w` back, or not) holds because `w` is indeterminate.
//!
//! "Could see" is per model (a read of `w`'s value, a cas expecting it, a
//! get whose value starts with a put's string, a read containing an added
//! element, a dequeue of an enqueued value) and only counts ops that may
//! take effect after `w` was invoked: an op that returned before `w`'s
//! invocation is linearized before `w`. Each model documents its rule next
//! to its code; every rule is checked against a brute-force oracle
//! (tests/lin/reduce.rs).

use std::collections::HashMap;
use std::hash::Hash;

/// One compiled op with its real-time interval (history positions).
#[derive(Clone, Copy, Debug)]
pub struct Timed<'a, O> {
    pub op: &'a O,
    pub call: usize,
    /// `None`: indeterminate (`info` or pending).
    pub ret: Option<usize>,
}

impl<O> Timed<'_, O> {
    /// The last position at which this op can take effect.
    pub fn latest(&self) -> usize {
        self.ret.unwrap_or(usize::MAX)
    }
}

/// Drops indeterminate writers whose value no remaining observer returned
/// after the writer's invocation, to a fixpoint (dropping a writer can drop
/// its own observations, as a cas's expected value).
///
/// `effect(op)`: the value an op leaves behind (`None` for pure ops);
/// `observes(op, see)`: calls `see` with every value the op can only succeed
/// on (or that it would show). Rounds are capped: keeping an op is always
/// sound, so the cap only costs speed.
pub fn drop_unobserved<O, V: Copy + Eq + Hash>(
    ops: &[Timed<'_, O>],
    effect: impl Fn(&O) -> Option<V>,
    observes: impl Fn(&O, &mut dyn FnMut(V)),
) -> Vec<bool> {
    const MAX_ROUNDS: usize = 32;
    let mut drop = vec![false; ops.len()];
    for _ in 0..MAX_ROUNDS {
        // Per value: the latest position at which some kept op observing it ends.
        let mut latest: HashMap<V, usize> = HashMap::new();
        for (t, _) in ops.iter().zip(&drop).filter(|(_, d)| !**d) {
            observes(t.op, &mut |v| {
                let l = latest.entry(v).or_insert(0);
                *l = (*l).max(t.latest());
            });
        }
        let mut changed = false;
        for (i, t) in ops.iter().enumerate() {
            if drop[i] || t.ret.is_some() {
                continue;
            }
            let Some(v) = effect(t.op) else { continue };
            // An op that observes its own effect (cas [v v]) keeps itself: conservative.
            if latest.get(&v).is_none_or(|&l| l < t.call) {
                drop[i] = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    drop
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (effect, observed) pairs standing for writes and reads.
    #[test]
    fn drops_only_indeterminate_unobserved_writers() {
        // 0: info write 1; 1: info write 2; 2: ok read 2 (ret 5); 3: info write 3 after the read returned.
        let ops = [(Some(1), None), (Some(2), None), (None, Some(2)), (Some(2), None)];
        let t = [
            Timed {
                op: &ops[0],
                call: 0,
                ret: None,
            },
            Timed {
                op: &ops[1],
                call: 1,
                ret: None,
            },
            Timed {
                op: &ops[2],
                call: 2,
                ret: Some(5),
            },
            Timed {
                op: &ops[3],
                call: 6,
                ret: None,
            },
        ];
        let d = drop_unobserved(&t, |o| o.0, |o, see| o.1.into_iter().for_each(see));
        assert_eq!(d, vec![true, false, false, true]);
    }
}
