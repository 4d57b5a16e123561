//! The memo of visited (linearized set, model state) pairs.
//!
//! Keys are hashed by the caller (a Zobrist hash of the linearized set, kept
//! incrementally, mixed with the state's hash), so a lookup costs one hash of
//! the state plus equality checks on a short collision chain. Entries live in
//! an arena; the map only holds chain heads.

use crate::util::hash::IdentityBuildHasher;
use fixedbitset::FixedBitSet;
use std::collections::hash_map::Entry;
use std::collections::HashMap;

/// The per-op random words of the Zobrist hash.
pub fn zobrist(n: usize) -> Vec<u64> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|_| {
            // splitmix64
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        })
        .collect()
}

const NONE: u32 = u32::MAX;

/// Set of (linearized, state) with caller-supplied hashes. The linearized
/// sets live back to back in one flat arena of blocks (no allocation per
/// entry); `words` is the block count of every set. The cache owns every
/// state the search reaches: the search refers to them by index, so a state
/// is never cloned (invariant: indices handed out stay valid for the
/// cache's life).
pub struct Cache<S> {
    heads: HashMap<u64, u32, IdentityBuildHasher>,
    words: usize,
    sets: Vec<usize>,
    entries: Vec<(S, u32)>,
}

impl<S: Eq> Cache<S> {
    pub fn new() -> Self {
        Cache {
            heads: HashMap::default(),
            words: 0,
            sets: Vec::new(),
            entries: Vec::new(),
        }
    }

    /// Looks up (set, state) and inserts it when absent, with one probe of
    /// the hash table: `Some(index)` of the new entry, `None` when it was
    /// there already (`state` is dropped). Every set given to one cache must
    /// have the same capacity.
    pub fn insert(&mut self, hash: u64, set: &FixedBitSet, state: S) -> Option<u32> {
        let blocks = set.as_slice();
        if self.entries.is_empty() {
            self.words = blocks.len();
        }
        let w = self.words;
        let id = self.entries.len() as u32;
        match self.heads.entry(hash) {
            Entry::Occupied(mut o) => {
                let mut at = *o.get();
                while at != NONE {
                    let (st, next) = &self.entries[at as usize];
                    let i = at as usize * w;
                    if *st == state && self.sets[i..i + w] == *blocks {
                        return None;
                    }
                    at = *next;
                }
                self.entries.push((state, *o.get()));
                o.insert(id);
            }
            Entry::Vacant(v) => {
                self.entries.push((state, NONE));
                v.insert(id);
            }
        }
        self.sets.extend_from_slice(blocks);
        Some(id)
    }

    /// The state of an entry.
    pub fn state(&self, id: u32) -> &S {
        &self.entries[id as usize].0
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedups_on_equal_keys_even_with_colliding_hashes() {
        let mut c = Cache::new();
        let mut a = FixedBitSet::with_capacity(4);
        a.insert(1);
        let b = FixedBitSet::with_capacity(4);
        assert_eq!(c.insert(7, &a, 1u32), Some(0));
        assert_eq!(c.insert(7, &a, 1u32), None);
        assert_eq!(c.insert(7, &b, 1u32), Some(1));
        assert_eq!(c.insert(7, &a, 2u32), Some(2));
        assert_eq!(c.insert(8, &a, 2u32), Some(3));
        assert_eq!(c.insert(8, &a, 2u32), None);
        assert_eq!(c.len(), 4);
        assert_eq!(*c.state(2), 2);
        let z = zobrist(3);
        assert!(z[0] != z[1] && z[1] != z[2]);
    }
}
