//! A fast non-cryptographic hasher (FxHash-style: rotate, xor, multiply) for
//! tables keyed by our own ids and strings. It is not DoS resistant, which is
//! fine: inputs are histories the user asked us to check, and every table
//! that uses it still compares keys for equality, so a collision only costs
//! time, never a wrong answer.

use std::hash::{BuildHasherDefault, Hash, Hasher};

/// Fx-style hasher state.
#[derive(Default, Clone, Copy)]
pub struct FxHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl Hasher for FxHasher {
    fn finish(&self) -> u64 {
        // One final avalanche step: hashbrown takes its control bits from the
        // top of the hash, and a bare multiply leaves them weak for small ids.
        let x = self.0;
        (x ^ (x >> 29)).wrapping_mul(0xBF58_476D_1CE4_E5B9) ^ (x >> 32)
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.write_u64(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.write_u64(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 56));
        }
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(SEED);
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

/// `BuildHasher` for `HashMap<K, V, FxBuildHasher>`.
pub type FxBuildHasher = BuildHasherDefault<FxHasher>;

/// A `HashMap` with the Fx hasher.
pub type FxHashMap<K, V> = std::collections::HashMap<K, V, FxBuildHasher>;

/// The Fx hash of one value.
pub fn hash_of<T: Hash + ?Sized>(t: &T) -> u64 {
    let mut h = FxHasher::default();
    t.hash(&mut h);
    h.finish()
}

/// A hasher for keys that already are good hashes (`u64` only).
#[derive(Default, Clone, Copy)]
pub struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Not reached for u64 keys; fold anything else in rather than panic.
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ b as u64).wrapping_mul(SEED);
        }
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = i;
    }
}

/// `BuildHasher` for maps keyed by precomputed hashes.
pub type IdentityBuildHasher = BuildHasherDefault<IdentityHasher>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_values_hash_equal_and_small_ids_spread() {
        assert_eq!(hash_of("abc"), hash_of(&"abc".to_string()));
        assert_ne!(hash_of("abc"), hash_of("abd"));
        // Tails of different lengths must not collide by zero padding.
        assert_ne!(hash_of(&b"a"[..]), hash_of(&b"a\0"[..]));
        let tops: std::collections::HashSet<u64> = (0u32..64).map(|i| hash_of(&i) >> 57).collect();
        assert!(
            tops.len() > 16,
            "top 7 bits of small ids: only {} distinct",
            tops.len()
        );
    }
}
