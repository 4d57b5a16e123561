//! A digest of everything that happens in a simulation, event by event, so two
//! runs of one seed can be compared (`--check-determinism`) and the first
//! event where they part named.

use crate::util::hash::FxHasher;
use std::hash::{Hash, Hasher};

/// A running digest; with `trail` on it also keeps each event's own hash.
#[derive(Clone, Debug, Default)]
pub struct Digest {
    total: u64,
    events: u64,
    trail: Option<Vec<(u64, u64)>>,
}

impl Digest {
    /// `trail`: keep (time, hash) per event, to find where two runs part.
    pub fn new(trail: bool) -> Digest {
        Digest {
            total: 0,
            events: 0,
            trail: trail.then(Vec::new),
        }
    }

    /// Folds in one event at simulated time `at`.
    pub fn add(&mut self, at: u64, event: impl Hash) {
        let mut h = FxHasher::default();
        at.hash(&mut h);
        event.hash(&mut h);
        let x = h.finish();
        self.total = (self.total.rotate_left(17) ^ x).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.events += 1;
        if let Some(t) = self.trail.as_mut() {
            t.push((at, x));
        }
    }

    pub fn value(&self) -> u64 {
        self.total
    }

    pub fn events(&self) -> u64 {
        self.events
    }

    /// The first event (number and the time in each run) where `self` and
    /// `other` differ, `None` when they agree throughout (both need trails).
    pub fn first_difference(&self, other: &Digest) -> Option<(usize, Option<u64>, Option<u64>)> {
        let (a, b) = (self.trail.as_deref()?, other.trail.as_deref()?);
        let n = a.len().max(b.len());
        (0..n)
            .find(|&i| a.get(i) != b.get(i))
            .map(|i| (i, a.get(i).map(|e| e.0), b.get(i).map(|e| e.0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_and_content_matter_and_the_first_difference_is_named() {
        let run = |events: &[(u64, &str)]| {
            let mut d = Digest::new(true);
            events.iter().for_each(|(t, e)| d.add(*t, e));
            d
        };
        let a = run(&[(1, "x"), (2, "y"), (3, "z")]);
        let b = run(&[(1, "x"), (2, "y"), (3, "z")]);
        assert_eq!((a.value(), a.first_difference(&b)), (b.value(), None));
        let c = run(&[(1, "x"), (2, "z"), (3, "y")]);
        assert_ne!(a.value(), c.value());
        assert_eq!(a.first_difference(&c), Some((1, Some(2), Some(2))));
        let d = run(&[(1, "x"), (2, "y")]);
        assert_eq!(a.first_difference(&d), Some((2, Some(3), None)));
        assert_eq!(a.events(), 3);
    }
}
