//! A Merkle tree over one key range: 16-way, `depth` levels below the root,
//! keys placed in leaves by a hash of the key. A leaf's hash covers its
//! `(key, state digest)` pairs; an inner node's covers its children's. Two
//! replicas compare roots, then only the children of nodes that differ, down
//! to the leaves, and finally the keys of differing leaves: the bytes
//! exchanged grow with the number of differences, not with the data.
//!
//! A leaf keeps the XOR of its pairs' hashes, so a write updates it in O(1);
//! inner nodes above changed leaves are recomputed when next read.
//! Invariants: an empty subtree hashes to 0 and a non-empty one never does;
//! equal `(key, digest)` sets give equal trees on every node.

use crate::util::hash::{hash_of, FxHasher};
use std::collections::{BTreeMap, BTreeSet};
use std::hash::Hasher;

pub const FANOUT: u32 = 16;

#[derive(Clone, Debug, Default)]
struct Leaf {
    keys: BTreeMap<String, u64>,
    /// XOR of `pair_hash` over `keys`.
    acc: u64,
}

impl Leaf {
    fn hash(&self) -> u64 {
        if self.keys.is_empty() {
            0
        } else {
            nonzero(hash_of(&(self.acc, self.keys.len())))
        }
    }
}

#[derive(Clone, Debug)]
pub struct MerkleTree {
    depth: u32,
    /// Only non-empty leaves.
    leaves: BTreeMap<u32, Leaf>,
    /// `levels[l]`: the non-zero hashes at level `l` (0 = root), current
    /// except above the `dirty` leaves.
    levels: Vec<BTreeMap<u32, u64>>,
    dirty: BTreeSet<u32>,
}

fn nonzero(h: u64) -> u64 {
    if h == 0 {
        1
    } else {
        h
    }
}

fn pair_hash(key: &str, digest: u64) -> u64 {
    hash_of(&(key.as_bytes(), digest))
}

impl MerkleTree {
    pub fn new(depth: u32) -> MerkleTree {
        MerkleTree {
            depth,
            leaves: BTreeMap::new(),
            levels: vec![BTreeMap::new(); depth as usize + 1],
            dirty: BTreeSet::new(),
        }
    }

    pub fn depth(&self) -> u32 {
        self.depth
    }

    /// The leaf a key lives in (a hash independent of the ring position, so
    /// the keys of one arc spread over all leaves).
    pub fn leaf_of(&self, key: &str) -> u32 {
        if self.depth == 0 {
            return 0;
        }
        let h = hash_of(&(key.as_bytes(), 0x6d65_726b_u32));
        (h >> (64 - 4 * self.depth)) as u32
    }

    /// Records `key`'s current digest.
    pub fn set(&mut self, key: &str, digest: u64) {
        let idx = self.leaf_of(key);
        let leaf = self.leaves.entry(idx).or_default();
        match leaf.keys.get_mut(key) {
            Some(d) if *d == digest => return,
            Some(d) => {
                leaf.acc ^= pair_hash(key, *d) ^ pair_hash(key, digest);
                *d = digest;
            }
            None => {
                leaf.acc ^= pair_hash(key, digest);
                leaf.keys.insert(key.to_string(), digest);
            }
        }
        self.dirty.insert(idx);
    }

    pub fn len(&self) -> usize {
        self.leaves.values().map(|l| l.keys.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.leaves.is_empty()
    }

    /// The keys and digests of one leaf.
    pub fn leaf_keys(&self, leaf: u32) -> Vec<(String, u64)> {
        self.leaves
            .get(&leaf)
            .map(|l| l.keys.iter().map(|(k, d)| (k.clone(), *d)).collect())
            .unwrap_or_default()
    }

    /// Recomputes the nodes above the leaves changed since the last read.
    fn rebuild(&mut self) {
        if self.dirty.is_empty() {
            return;
        }
        let d = self.depth as usize;
        let mut changed = std::mem::take(&mut self.dirty);
        for &i in &changed {
            match self.leaves.get(&i).map(Leaf::hash).unwrap_or(0) {
                0 => self.levels[d].remove(&i),
                h => self.levels[d].insert(i, h),
            };
        }
        for l in (0..d).rev() {
            let parents: BTreeSet<u32> = changed.iter().map(|i| i / FANOUT).collect();
            for &p in &parents {
                let mut h = FxHasher::default();
                let mut any = false;
                for (&i, &c) in self.levels[l + 1].range(p * FANOUT..(p + 1) * FANOUT) {
                    h.write_u32(i % FANOUT);
                    h.write_u64(c);
                    any = true;
                }
                if any {
                    self.levels[l].insert(p, nonzero(h.finish()));
                } else {
                    self.levels[l].remove(&p);
                }
            }
            changed = parents;
        }
    }

    /// The hash of node `idx` at `level` (0 if empty or out of range).
    pub fn hash(&mut self, level: u32, idx: u32) -> u64 {
        self.rebuild();
        self.levels
            .get(level as usize)
            .and_then(|m| m.get(&idx))
            .copied()
            .unwrap_or(0)
    }

    pub fn root(&mut self) -> u64 {
        self.hash(0, 0)
    }

    /// The non-zero children of node `idx` at `level`, by slot.
    pub fn children(&mut self, level: u32, idx: u32) -> Vec<(u8, u64)> {
        if level >= self.depth {
            return Vec::new();
        }
        self.rebuild();
        let lower = &self.levels[level as usize + 1];
        let first = idx * FANOUT;
        lower
            .range(first..first + FANOUT)
            .map(|(&i, &h)| ((i - first) as u8, h))
            .collect()
    }
}

/// The slots where two sparse hash lists differ (absent = 0).
pub fn differing_slots(mine: &[(u8, u64)], theirs: &[(u8, u64)]) -> Vec<u8> {
    let a: BTreeMap<u8, u64> = mine.iter().copied().collect();
    let b: BTreeMap<u8, u64> = theirs.iter().copied().collect();
    let mut out: Vec<u8> = a
        .keys()
        .chain(b.keys())
        .copied()
        .filter(|s| a.get(s) != b.get(s))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The keys where two `(key, digest)` lists differ (absent on one side included).
pub fn differing_keys(mine: &[(String, u64)], theirs: &[(String, u64)]) -> Vec<String> {
    let a: BTreeMap<&str, u64> = mine.iter().map(|(k, d)| (k.as_str(), *d)).collect();
    let b: BTreeMap<&str, u64> = theirs.iter().map(|(k, d)| (k.as_str(), *d)).collect();
    let mut out: Vec<String> = a
        .keys()
        .chain(b.keys())
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| k.to_string())
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// Walks two trees the way the anti-entropy protocol does and returns the
    /// keys found to differ.
    fn diff(a: &mut MerkleTree, b: &mut MerkleTree) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        if a.root() == b.root() {
            return out;
        }
        let mut frontier = vec![0u32];
        for level in 0..a.depth() {
            let mut next = Vec::new();
            for p in frontier {
                for s in differing_slots(&a.children(level, p), &b.children(level, p)) {
                    next.push(p * FANOUT + s as u32);
                }
            }
            frontier = next;
        }
        for leaf in frontier {
            out.extend(differing_keys(&a.leaf_keys(leaf), &b.leaf_keys(leaf)));
        }
        out
    }

    #[test]
    fn the_walk_finds_exactly_the_differing_keys() {
        for depth in [0, 1, 2, 4] {
            let (mut a, mut b) = (MerkleTree::new(depth), MerkleTree::new(depth));
            for i in 0..3000u64 {
                a.set(&format!("k{i}"), i);
                b.set(&format!("k{i}"), i);
            }
            assert_eq!(a.root(), b.root());
            assert!(diff(&mut a, &mut b).is_empty());
            let mut expect = BTreeSet::new();
            for i in (0..3000u64).step_by(97) {
                b.set(&format!("k{i}"), i + 1);
                expect.insert(format!("k{i}"));
            }
            a.set("only-a", 5);
            expect.insert("only-a".to_string());
            assert_ne!(a.root(), b.root());
            assert_eq!(diff(&mut a, &mut b), expect, "depth {depth}");
            assert_eq!(diff(&mut b, &mut a), expect);
        }
    }

    #[test]
    fn incremental_updates_equal_a_tree_built_from_scratch() {
        let mut inc = MerkleTree::new(2);
        for i in 0..500u64 {
            inc.set(&format!("k{i}"), i);
        }
        inc.root();
        for i in (0..500u64).step_by(7) {
            inc.set(&format!("k{i}"), i * 3);
        }
        let mut fresh = MerkleTree::new(2);
        for i in 0..500u64 {
            let d = if i % 7 == 0 { i * 3 } else { i };
            fresh.set(&format!("k{i}"), d);
        }
        assert_eq!(inc.root(), fresh.root());
        for idx in 0..16 {
            assert_eq!(inc.children(1, idx), fresh.children(1, idx));
        }
        // Back to the old digests: back to the old root.
        let mut back = MerkleTree::new(2);
        for i in 0..500u64 {
            back.set(&format!("k{i}"), i);
        }
        let old_root = back.root();
        for i in (0..500u64).step_by(7) {
            inc.set(&format!("k{i}"), i);
        }
        assert_eq!(inc.root(), old_root);
    }

    #[test]
    fn empty_is_zero_and_order_of_insertion_does_not_matter() {
        let mut t = MerkleTree::new(3);
        assert_eq!(t.root(), 0);
        assert!(t.children(0, 0).is_empty());
        let mut u = MerkleTree::new(3);
        for i in 0..100u64 {
            t.set(&format!("k{i}"), i);
        }
        for i in (0..100u64).rev() {
            u.set(&format!("k{i}"), i);
        }
        assert_eq!(t.root(), u.root());
        assert_ne!(t.root(), 0);
        assert_eq!(t.len(), 100);
        // Leaves stay in range.
        assert!((0..100).all(|i| t.leaf_of(&format!("k{i}")) < 16u32.pow(3)));
    }
}
