//! Delta debugging (Zeller and Hildebrandt's ddmin) and a numeric descent: the two
//! searches the shrinker runs. Both take a `fails` predicate (here: "the simulation still
//! shows the same anomaly") and a `first` chooser that evaluates a round's candidates, in
//! order, and says which is the first that fails, so candidates of one round can be
//! simulated side by side while the result stays the one a sequential search would find.

/// Evaluates candidates in order; returns the index of the first for which `fails` holds.
pub trait First {
    fn first<C: Sync>(&self, cands: &[C], fails: &(dyn Fn(&C) -> bool + Sync)) -> Option<usize>;
}

/// One after the other.
pub struct Sequential;

impl First for Sequential {
    fn first<C: Sync>(&self, cands: &[C], fails: &(dyn Fn(&C) -> bool + Sync)) -> Option<usize> {
        cands.iter().position(fails)
    }
}

/// On a rayon pool; the first failing candidate in order, whatever finishes first.
pub struct Parallel<'a>(pub &'a rayon::ThreadPool);

impl First for Parallel<'_> {
    fn first<C: Sync>(&self, cands: &[C], fails: &(dyn Fn(&C) -> bool + Sync)) -> Option<usize> {
        use rayon::prelude::*;
        self.0.install(|| cands.par_iter().position_first(fails))
    }
}

/// A 1-minimal sublist of `items` for which `fails` holds, assuming it holds for `items`:
/// removing any single item of the result makes it pass. Order is kept.
pub fn ddmin<T: Clone + Sync>(
    items: Vec<T>,
    fails: &(dyn Fn(&[T]) -> bool + Sync),
    first: &impl First,
) -> Vec<T> {
    let mut cur = items;
    let mut n = 2usize;
    while cur.len() >= 2 {
        let chunks = split(&cur, n);
        let mut cands: Vec<Vec<T>> = chunks.clone();
        if n > 2 {
            // Complements: everything but one chunk.
            cands.extend((0..chunks.len()).map(|i| {
                chunks
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .flat_map(|(_, c)| c.iter().cloned())
                    .collect()
            }));
        }
        match first.first(&cands, &|c: &Vec<T>| fails(c)) {
            Some(i) if i < chunks.len() => {
                cur = cands.swap_remove(i);
                n = 2;
            }
            Some(i) => {
                cur = cands.swap_remove(i);
                n = (n - 1).max(2);
            }
            None if n >= cur.len() => break,
            None => n = (n * 2).min(cur.len()),
        }
    }
    if cur.len() == 1 && fails(&[]) {
        return Vec::new();
    }
    cur
}

/// `items` in `n` nearly equal consecutive chunks.
fn split<T: Clone>(items: &[T], n: usize) -> Vec<Vec<T>> {
    let mut out = Vec::with_capacity(n);
    let mut start = 0;
    for i in 0..n {
        let end = start + (items.len() - start) / (n - i);
        out.push(items[start..end].to_vec());
        start = end;
    }
    out.retain(|c| !c.is_empty());
    out
}

/// The smallest value from `cur` down to `floor` that a descent finds failing: each round
/// tries cutting (cur - floor) / 2, / 4, ..., 1 off `cur` and moves to the first that
/// fails; it ends when no cut fails. `fails(cur)` is assumed.
pub fn descend(cur: u64, floor: u64, fails: &(dyn Fn(&u64) -> bool + Sync), first: &impl First) -> u64 {
    let mut cur = cur;
    while cur > floor {
        let mut cands = Vec::new();
        let mut cut = (cur - floor).div_ceil(2);
        loop {
            cands.push(cur - cut);
            if cut == 1 {
                break;
            }
            cut /= 2;
        }
        match first.first(&cands, fails) {
            Some(i) => cur = cands[i],
            None => break,
        }
    }
    cur
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Against a brute-force oracle: the failure is "the list holds every item of
        /// `need`"; ddmin must return exactly `need` (the unique minimum), in order.
        #[test]
        fn ddmin_finds_the_items_a_failure_needs(len in 1usize..40, need in proptest::collection::btree_set(0usize..40, 0..5)) {
            let need: Vec<usize> = need.into_iter().filter(|x| *x < len).collect();
            let items: Vec<usize> = (0..len).collect();
            let fails = |c: &[usize]| need.iter().all(|x| c.contains(x));
            let got = ddmin(items.clone(), &fails, &Sequential);
            prop_assert_eq!(&got, &need);
            let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
            prop_assert_eq!(ddmin(items, &fails, &Parallel(&pool)), got);
        }

        /// A monotone failure (fails from some threshold up): the descent finds the threshold.
        #[test]
        fn descend_finds_the_threshold(cur in 1u64..100_000, t in 0u64..100_000) {
            let t = t.min(cur);
            let got = descend(cur, 0, &|v: &u64| *v >= t, &Sequential);
            prop_assert_eq!(got, t);
        }
    }

    #[test]
    fn ddmin_results_are_one_minimal_for_non_monotone_failures() {
        // Fails when the list holds an even count of multiples of 3, and at least one.
        let fails = |c: &[u32]| {
            let k = c.iter().filter(|x| *x % 3 == 0).count();
            k > 0 && k % 2 == 0
        };
        let items: Vec<u32> = (0..30).collect();
        let got = ddmin(items, &fails, &Sequential);
        assert!(fails(&got), "{got:?}");
        for i in 0..got.len() {
            let mut less = got.clone();
            less.remove(i);
            assert!(!fails(&less), "{got:?} minus {i} still fails");
        }
        assert_eq!(got.len(), 2);
        // The empty list, when it fails too.
        assert!(ddmin(vec![1, 2, 3], &|_: &[i32]| true, &Sequential).is_empty());
    }
}
