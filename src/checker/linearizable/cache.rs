//! The memo of visited (linearized set, model state) pairs.
//!
//! Keys are hashed by the caller (a Zobrist hash of the linearized set, kept
//! incrementally, mixed with the state's hash), so a lookup costs one hash of
//! the state plus equality checks on a short collision chain. Entries live in
//! an arena; the map only holds chain heads.

use fixedbitset::FixedBitSet;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

/// FxHash-style hasher: fast, not DoS resistant (inputs are our own ids).
#[derive(Default, Clone, Copy)]
pub struct Fx(u64);

impl Hasher for Fx {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(w));
        }
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_u32(&mut self, i: u32) {
        self.write_u64(i as u64)
    }
    fn write_u8(&mut self, i: u8) {
        self.write_u64(i as u64)
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64)
    }
}

/// A hasher for keys that are already hashes.
#[derive(Default, Clone, Copy)]
pub struct Identity(u64);

impl Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, _: &[u8]) {
        unreachable!("Identity only hashes u64 keys")
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = i;
    }
}

pub fn hash_of<T: Hash>(t: &T) -> u64 {
    let mut h = Fx::default();
    t.hash(&mut h);
    h.finish()
}

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
/// entry); `words` is the block count of every set.
pub struct Cache<S> {
    heads: HashMap<u64, u32, BuildHasherDefault<Identity>>,
    words: usize,
    sets: Vec<usize>,
    entries: Vec<(S, u32)>,
}

impl<S: Eq + Clone> Cache<S> {
    pub fn new() -> Self {
        Cache {
            heads: HashMap::default(),
            words: 0,
            sets: Vec::new(),
            entries: Vec::new(),
        }
    }

    /// Inserts unless present; true when it was new. Every set given to one
    /// cache must have the same capacity.
    pub fn insert(&mut self, hash: u64, set: &FixedBitSet, state: &S) -> bool {
        let blocks = set.as_slice();
        if self.entries.is_empty() {
            self.words = blocks.len();
        }
        let w = self.words;
        let head = self.heads.get(&hash).copied().unwrap_or(NONE);
        let mut at = head;
        while at != NONE {
            let (st, next) = &self.entries[at as usize];
            let i = at as usize * w;
            if st == state && &self.sets[i..i + w] == blocks {
                return false;
            }
            at = *next;
        }
        self.sets.extend_from_slice(blocks);
        self.entries.push((state.clone(), head));
        self.heads.insert(hash, (self.entries.len() - 1) as u32);
        true
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
        assert!(c.insert(7, &a, &1u32));
        assert!(!c.insert(7, &a, &1u32));
        assert!(c.insert(7, &b, &1u32));
        assert!(c.insert(7, &a, &2u32));
        assert_eq!(c.len(), 3);
        assert_ne!(hash_of(&1u32), hash_of(&2u32));
        let z = zobrist(3);
        assert!(z[0] != z[1] && z[1] != z[2]);
    }
}
