//! Reductions of an explicit fault list (a schedule's [`Step`]s): keep only some faults
//! (with the undos that still undo something), shorten one fault, start everything earlier.
//! Pure functions on lists; the shrinker decides which results to keep.

use crate::nemesis::Step;
use crate::runner::faults::{kind_of, undo_of};
use std::collections::BTreeMap;

/// Indices (into `steps`) of the steps that start a fault.
pub fn starts(steps: &[Step]) -> Vec<usize> {
    (0..steps.len())
        .filter(|i| kind_of(&steps[*i].action).is_some())
        .collect()
}

/// `steps` with only the fault starts in `keep` (indices into `steps`), and each undo only
/// if a fault it undoes is in place when it runs (an undo with nothing to undo is dropped,
/// so a dropped fault takes its undo with it; one undo that ends several faults stays while
/// any of them does).
pub fn keep_only(steps: &[Step], keep: &[usize]) -> Vec<Step> {
    let mut pending: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut out = Vec::new();
    for (i, s) in steps.iter().enumerate() {
        match undo_of(&s.action) {
            Some(undo) => {
                if keep.contains(&i) {
                    *pending.entry(undo).or_default() += 1;
                    out.push(s.clone());
                }
            }
            None => {
                if pending.remove(s.action.f()).is_some_and(|n| n > 0) {
                    out.push(s.clone());
                }
            }
        }
    }
    out
}

/// The index of the undo that ends the fault started at `start`: the first later step
/// that undoes its kind.
pub fn undo_index(steps: &[Step], start: usize) -> Option<usize> {
    let undo = undo_of(&steps[start].action)?;
    (start + 1..steps.len()).find(|j| steps[*j].action.f() == undo)
}

/// The fault started at `start` lasting `ms` (its undo moved to `start`'s offset + `ms`),
/// steps re-sorted by offset (stable); `None` if it has no undo or already lasts no longer.
pub fn shorten(steps: &[Step], start: usize, ms: u64) -> Option<Vec<Step>> {
    let j = undo_index(steps, start)?;
    let at = steps[start].at_ms + ms;
    if at >= steps[j].at_ms {
        return None;
    }
    let mut out = steps.to_vec();
    out[j].at_ms = at;
    out.sort_by_key(|s| s.at_ms);
    Some(out)
}

/// Every step `ms` earlier (never before 0).
pub fn earlier(steps: &[Step], ms: u64) -> Vec<Step> {
    steps
        .iter()
        .map(|s| Step {
            at_ms: s.at_ms.saturating_sub(ms),
            ..s.clone()
        })
        .collect()
}

/// The steps that run within a client phase of `limit_ms` (later ones never run), undos
/// with nothing to undo dropped.
pub fn within(steps: &[Step], limit_ms: u64) -> Vec<Step> {
    let kept: Vec<Step> = steps.iter().filter(|s| s.at_ms < limit_ms).cloned().collect();
    keep_only(&kept, &starts(&kept))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nemesis::Kinds;
    use crate::runner::faults::count;
    use std::time::Duration;

    fn schedule() -> Vec<Step> {
        crate::nemesis::plan(
            4,
            Kinds::all().faults(),
            5,
            Duration::from_secs(1),
            Duration::from_secs(20),
        )
    }

    #[test]
    fn keeping_some_faults_keeps_their_undos_and_drops_the_rest() {
        let steps = schedule();
        let all = starts(&steps);
        assert_eq!(
            keep_only(&steps, &all),
            steps,
            "keeping everything changes nothing"
        );
        assert!(keep_only(&steps, &[]).is_empty());
        let one = all[2];
        let kept = keep_only(&steps, &[one]);
        assert_eq!(count(&kept), 1);
        assert_eq!(kept.len(), 2, "the fault and its undo: {kept:?}");
        assert_eq!(kept[0], steps[one]);
        assert_eq!(Some(kept[1].action.f()), undo_of(&steps[one].action));
        // Every list kept this way passes the config's checks.
        let half: Vec<usize> = all.iter().copied().step_by(2).collect();
        let kept = keep_only(&steps, &half);
        assert!(crate::runner::faults::check(&kept, &Kinds::all(), 5).is_ok());
        assert_eq!(count(&kept), half.len());
    }

    #[test]
    fn shortening_moves_only_the_undo_and_earlier_and_within_keep_order() {
        let steps = keep_only(&schedule(), &[0]);
        let (a, b) = (steps[0].at_ms, steps[1].at_ms);
        let s = shorten(&steps, 0, 10).unwrap();
        assert_eq!((s[0].at_ms, s[1].at_ms), (a, a + 10));
        assert!(shorten(&steps, 0, b - a).is_none(), "no longer than it was");
        assert!(shorten(&steps, 1, 1).is_none(), "an undo has no undo");
        let e = earlier(&steps, a);
        assert_eq!((e[0].at_ms, e[1].at_ms), (0, b - a));
        assert_eq!(within(&steps, b).len(), 1, "the undo falls outside");
        assert!(within(&steps, a).is_empty());
    }
}
