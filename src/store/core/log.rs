//! The in-memory replicated log: entries after the last snapshot.
//!
//! Invariant: `entries[i].index == snap_index + 1 + i`; terms never decrease.

use super::types::Entry;

#[derive(Clone, Debug, Default)]
pub struct Log {
    pub snap_index: u64,
    pub snap_term: u64,
    pub entries: Vec<Entry>,
}

impl Log {
    pub fn last_index(&self) -> u64 {
        self.snap_index + self.entries.len() as u64
    }

    pub fn last_term(&self) -> u64 {
        self.entries.last().map_or(self.snap_term, |e| e.term)
    }

    /// The term of the entry at `i`; `None` if compacted away (below the snapshot) or absent.
    pub fn term_at(&self, i: u64) -> Option<u64> {
        if i == self.snap_index {
            Some(self.snap_term)
        } else {
            self.get(i).map(|e| e.term)
        }
    }

    pub fn get(&self, i: u64) -> Option<&Entry> {
        if i <= self.snap_index {
            return None;
        }
        self.entries.get((i - self.snap_index - 1) as usize)
    }

    pub fn push(&mut self, e: Entry) {
        debug_assert_eq!(e.index, self.last_index() + 1);
        self.entries.push(e);
    }

    /// Up to `max` entries starting at `from` (which must be above the snapshot).
    pub fn slice(&self, from: u64, max: usize) -> Vec<Entry> {
        if from <= self.snap_index {
            return Vec::new();
        }
        let start = (from - self.snap_index - 1) as usize;
        let end = (start + max).min(self.entries.len());
        self.entries
            .get(start..end)
            .map(<[Entry]>::to_vec)
            .unwrap_or_default()
    }

    /// Removes and returns every entry at or after `from`.
    pub fn truncate_from(&mut self, from: u64) -> Vec<Entry> {
        let keep = from.saturating_sub(self.snap_index + 1) as usize;
        if keep >= self.entries.len() {
            return Vec::new();
        }
        self.entries.split_off(keep)
    }

    /// Forgets entries up to `index` (covered by a snapshot whose last entry had `term`).
    pub fn compact(&mut self, index: u64, term: u64) {
        if index <= self.snap_index {
            return;
        }
        let drop = ((index - self.snap_index) as usize).min(self.entries.len());
        self.entries.drain(..drop);
        self.snap_index = index;
        self.snap_term = term;
    }

    /// The first index of the run of entries with the same term as the entry at `i`,
    /// not going below `floor`: where a leader should retry after a conflict at `i`.
    pub fn term_start(&self, i: u64, floor: u64) -> u64 {
        let Some(t) = self.term_at(i) else { return i };
        let mut j = i;
        while j > floor + 1 && j > self.snap_index + 1 && self.term_at(j - 1) == Some(t) {
            j -= 1;
        }
        j
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::core::types::Command;

    fn e(term: u64, index: u64) -> Entry {
        Entry {
            term,
            index,
            cmd: Command::Noop,
        }
    }

    #[test]
    fn compact_truncate_and_lookup() {
        let mut l = Log::default();
        for i in 1..=6 {
            l.push(e(if i <= 3 { 1 } else { 2 }, i));
        }
        assert_eq!((l.last_index(), l.last_term()), (6, 2));
        assert_eq!(l.term_start(6, 0), 4);
        l.compact(2, 1);
        assert_eq!(l.term_at(2), Some(1));
        assert_eq!(l.term_at(1), None);
        assert_eq!(l.get(3).unwrap().index, 3);
        assert_eq!(
            l.slice(3, 2).iter().map(|e| e.index).collect::<Vec<_>>(),
            vec![3, 4]
        );
        let gone = l.truncate_from(5);
        assert_eq!(gone.len(), 2);
        assert_eq!(l.last_index(), 4);
        assert!(l.truncate_from(9).is_empty());
    }
}
