//! Rebalancing cost: the share of keys whose owner changes when a group is
//! added (K -> K+1), measured over a key set and in theory, per partitioner.
//!
//! Theory, for keys spread uniformly (as [`uniform_keys`] makes them):
//! - hash modulo K: a key stays only if `h mod K == h mod (K+1)`, which holds
//!   for 1/(K+1) of hashes: K/(K+1) of the keys move.
//! - consistent hashing: the new group's tokens take 1/(K+1) of the ring, and
//!   only those keys move (in expectation; virtual nodes bound the spread).
//! - range, split the widest range: half of one range of K, 1/(2K), moves.
//! - range, re-divided into K+1 even ranges: range i keeps the overlap of
//!   [i/(K+1), (i+1)/(K+1)) with [i/K, (i+1)/K), (K-i)/(K(K+1)); summed over i that
//!   is 1/2, so half of the keys move whatever K is.

use super::partition::{Partitioner, PartitionerKind};

/// One measured row.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Row {
    pub scheme: &'static str,
    pub groups: usize,
    pub keys: usize,
    pub moved: usize,
    pub theory: f64,
    pub why: &'static str,
}

impl Row {
    pub fn share(&self) -> f64 {
        self.moved as f64 / self.keys.max(1) as f64
    }
}

/// How many of `keys` change owner between `a` and `b`.
pub fn moved(a: &Partitioner, b: &Partitioner, keys: &[String]) -> usize {
    keys.iter().filter(|k| a.owner(k) != b.owner(k)).count()
}

/// `n` keys of 8 letters `a`..`z`, uniform, from `seed` (splitmix64).
pub fn uniform_keys(n: usize, seed: u64) -> Vec<String> {
    let mut s = seed;
    let mut next = move || {
        s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    (0..n)
        .map(|_| {
            let mut x = next();
            (0..8)
                .map(|_| {
                    let c = (b'a' + (x % 26) as u8) as char;
                    x /= 26;
                    c
                })
                .collect()
        })
        .collect()
}

/// Every scheme's row for K -> K+1 over `keys` (assumes `k >= 1`).
pub fn table(k: usize, keys: &[String]) -> Vec<Row> {
    let kf = k as f64;
    let new = |kind| Partitioner::new(kind, k).expect("k >= 1");
    let row = |scheme, a: &Partitioner, b: &Partitioner, theory, why| Row {
        scheme,
        groups: k,
        keys: keys.len(),
        moved: moved(a, b, keys),
        theory,
        why,
    };
    let hash = new(PartitionerKind::Hash);
    let cons = new(PartitionerKind::Consistent);
    let range = new(PartitionerKind::Range);
    let even = Partitioner::new(PartitionerKind::Range, k + 1).expect("k + 1 >= 1");
    vec![
        row("hash mod K", &hash, &hash.grow(), kf / (kf + 1.0), "K/(K+1)"),
        row("consistent", &cons, &cons.grow(), 1.0 / (kf + 1.0), "1/(K+1)"),
        row(
            "range, split widest",
            &range,
            &range.grow(),
            1.0 / (2.0 * kf),
            "1/(2K)",
        ),
        row("range, re-divided", &range, &even, 0.5, "1/2"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measured_shares_match_theory_on_uniform_keys() {
        let keys = uniform_keys(40_000, 7);
        assert_eq!(keys, uniform_keys(40_000, 7), "seeded");
        for k in [1, 3, 4, 8] {
            for r in table(k, &keys) {
                // Consistent hashing with 64 virtual nodes per group is within a few
                // points; the others are exact up to sampling noise.
                let slack = if r.scheme == "consistent" { 0.06 } else { 0.015 };
                assert!(
                    (r.share() - r.theory).abs() < slack,
                    "K={k} {}: {:.4} vs {:.4}",
                    r.scheme,
                    r.share(),
                    r.theory
                );
            }
        }
    }
}
