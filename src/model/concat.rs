//! `Concats`: canonical `u32` ids for the strings a kv value passes through
//! while the checker appends pieces to it, without building those strings.
//!
//! A value is a node of a trie: the empty string, or (parent node, piece).
//! Appending computes the result's length and polynomial rolling hash
//! (mod 2^61 - 1) from the parent's in O(1) and probes one table keyed by
//! them: a node with the same (parent, piece) is the answer; a new node is
//! added in the same probe. Ids are canonical: before a node is created,
//! every node with the same length and hash is compared by text, and an
//! equal one is reused (and remembered in a small alias table). So two ids are equal iff
//! their texts are (invariant), which keeps the checker's memo of
//! (linearized set, state) exact: equal values reached by different append
//! orders ("a"+"bc", "ab"+"c") meet in one state. Texts are only built to
//! confirm a hash match, and a match is, short of a collision, a true one.

use super::strings::Strings;
use crate::util::hash::FxHashMap;
use std::collections::hash_map::Entry;

const NONE: u32 = u32::MAX;
const P: u64 = (1 << 61) - 1;
const BASE: u64 = 0x0F3A_9C2B_51D7_6E45 % P;

fn mulmod(a: u64, b: u64) -> u64 {
    let x = a as u128 * b as u128;
    let r = (x as u64 & P) + (x >> 61) as u64;
    if r >= P {
        r - P
    } else {
        r
    }
}

fn addmod(a: u64, b: u64) -> u64 {
    let r = a + b;
    if r >= P {
        r - P
    } else {
        r
    }
}

#[derive(Clone, Copy, Debug)]
struct Node {
    parent: u32,
    piece: u32,
    /// Next older node in the same (length, hash) bucket.
    same: u32,
    len: u64,
    hash: u64,
}

#[derive(Clone, Copy, Debug)]
struct Piece {
    hash: u64,
    /// BASE^len, to shift a prefix's hash past this piece.
    pow: u64,
    len: u64,
    /// The node whose text equals this piece, once one was seen (canonical,
    /// so there is at most one).
    equal: u32,
    /// Start in `prefixes` of the hashes of this piece's prefixes (lengths
    /// 0..=len), for pieces a get returned; NONE otherwise.
    prefixes: u32,
}

/// The canonical value table of one kv key (or of all, behind `Keyed`).
#[derive(Debug, Clone)]
pub struct Concats {
    pieces: Strings,
    meta: Vec<Piece>,
    nodes: Vec<Node>,
    /// (length, hash) bucket -> newest node in it; older ones via `same`.
    buckets: FxHashMap<u64, u32>,
    /// (node, piece) -> canonical node, only where the concatenation equals
    /// a node built another way (rare: "a"+"bc" after "ab"+"c").
    aliases: FxHashMap<(u32, u32), u32>,
    prefixes: Vec<u64>,
}

impl Default for Concats {
    fn default() -> Self {
        let mut c = Concats {
            pieces: Strings::default(),
            meta: Vec::new(),
            nodes: vec![Node {
                parent: NONE,
                piece: NONE,
                same: NONE,
                len: 0,
                hash: 0,
            }],
            buckets: FxHashMap::default(),
            aliases: FxHashMap::default(),
            prefixes: Vec::new(),
        };
        c.buckets.insert(bucket(0, 0), Concats::EMPTY);
        c.piece(""); // piece 0 is "", like the interner's id 0
        c
    }
}

fn bucket(len: u64, hash: u64) -> u64 {
    hash ^ len.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

impl Concats {
    /// The node of the empty string.
    pub const EMPTY: u32 = 0;

    /// Interns a piece (an appended string, a put's value, a get's result).
    pub fn piece(&mut self, s: &str) -> u32 {
        let id = self.pieces.intern(s);
        if id as usize == self.meta.len() {
            let (mut hash, mut pow) = (0, 1);
            for &b in s.as_bytes() {
                hash = addmod(mulmod(hash, BASE), b as u64 + 1);
                pow = mulmod(pow, BASE);
            }
            self.meta.push(Piece {
                hash,
                pow,
                len: s.len() as u64,
                equal: NONE,
                prefixes: NONE,
            });
        }
        id
    }

    /// Records the hashes of `piece`'s prefixes, for [`Concats::may_prefix`].
    pub fn track_prefixes(&mut self, piece: u32) {
        let room = (NONE as usize).saturating_sub(self.prefixes.len());
        if self.meta[piece as usize].prefixes != NONE || room <= self.pieces.get(piece).len() + 1 {
            return; // tracked already, or no room: `may_prefix` stays "maybe"
        }
        self.meta[piece as usize].prefixes = self.prefixes.len() as u32;
        let mut hash = 0;
        self.prefixes.push(hash);
        for &b in self.pieces.get(piece).as_bytes() {
            hash = addmod(mulmod(hash, BASE), b as u64 + 1);
            self.prefixes.push(hash);
        }
    }

    /// False only when `text(node)` is certainly not a prefix of `piece`
    /// (lengths or prefix hashes differ); `piece` must be tracked, else true.
    pub fn may_prefix(&self, node: u32, piece: u32) -> bool {
        let (n, pm) = (self.nodes[node as usize], self.meta[piece as usize]);
        if pm.prefixes == NONE {
            return true;
        }
        n.len <= pm.len && self.prefixes[pm.prefixes as usize + n.len as usize] == n.hash
    }

    pub fn piece_text(&self, piece: u32) -> &str {
        self.pieces.get(piece)
    }

    /// The node of `text(node) + piece`.
    pub fn append(&mut self, node: u32, piece: u32) -> u32 {
        let pm = self.meta[piece as usize];
        if pm.len == 0 {
            return node;
        }
        let nd = self.nodes[node as usize];
        let len = nd.len + pm.len;
        let hash = addmod(mulmod(nd.hash, pm.pow), pm.hash);
        let next = self.nodes.len() as u32;
        let head = match self.buckets.entry(bucket(len, hash)) {
            Entry::Vacant(v) => {
                v.insert(next);
                NONE
            }
            Entry::Occupied(o) => {
                let head = *o.get();
                let mut at = head;
                let mut text_match = false;
                while at != NONE {
                    let c = self.nodes[at as usize];
                    if c.parent == node && c.piece == piece {
                        return at;
                    }
                    text_match |= c.len == len && c.hash == hash;
                    at = c.same;
                }
                if text_match {
                    if let Some(&a) = self.aliases.get(&(node, piece)) {
                        return a;
                    }
                    if let Some(a) = self.equal_in_bucket(head, len, hash, node, piece) {
                        self.aliases.insert((node, piece), a);
                        return a;
                    }
                }
                // The entry is gone (borrow of `self.nodes` above): re-probe
                // only on this rare path of a new node in a used bucket.
                self.buckets.insert(bucket(len, hash), next);
                head
            }
        };
        self.nodes.push(Node {
            parent: node,
            piece,
            same: head,
            len,
            hash,
        });
        next
    }

    /// A node in the bucket chain from `head` whose text is `text(node) + piece`.
    fn equal_in_bucket(&self, head: u32, len: u64, hash: u64, node: u32, piece: u32) -> Option<u32> {
        let mut at = head;
        while at != NONE {
            let c = self.nodes[at as usize];
            if c.len == len && c.hash == hash && self.is_concat(at, node, piece) {
                return Some(at);
            }
            at = c.same;
        }
        None
    }

    /// Whether `text(node) == piece` (a get's check).
    pub fn equals(&mut self, node: u32, piece: u32) -> bool {
        let pm = self.meta[piece as usize];
        if pm.equal != NONE {
            return pm.equal == node;
        }
        let nd = self.nodes[node as usize];
        if nd.len != pm.len || nd.hash != pm.hash || self.text(node) != self.pieces.get(piece) {
            return false;
        }
        self.meta[piece as usize].equal = node;
        true
    }

    /// The text of a node (built by walking to the root: O(length)).
    pub fn text(&self, node: u32) -> String {
        let mut parts = Vec::new();
        let mut at = node;
        while at != Self::EMPTY {
            let n = self.nodes[at as usize];
            parts.push(n.piece);
            at = n.parent;
        }
        let mut s = String::with_capacity(self.nodes[node as usize].len as usize);
        for &p in parts.iter().rev() {
            s.push_str(self.pieces.get(p));
        }
        s
    }

    /// Whether `text(candidate) == text(node) + piece`.
    fn is_concat(&self, candidate: u32, node: u32, piece: u32) -> bool {
        let t = self.text(candidate);
        let p = self.pieces.get(piece);
        t.len() >= p.len()
            && t.ends_with(p)
            && t.is_char_boundary(t.len() - p.len())
            && t[..t.len() - p.len()] == self.text(node)
    }

    /// Heap bytes held, for memory budgets.
    pub fn heap_bytes(&self) -> usize {
        self.pieces.heap_bytes()
            + self.meta.capacity() * std::mem::size_of::<Piece>()
            + self.nodes.capacity() * std::mem::size_of::<Node>()
            + self.prefixes.capacity() * 8
            + (self.buckets.capacity() + self.aliases.capacity()) * 16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_texts_get_equal_ids_whatever_the_append_order() {
        let mut c = Concats::default();
        let (a, b, bc, ab, cc, abc, e) = (
            c.piece("a"),
            c.piece("b"),
            c.piece("bc"),
            c.piece("ab"),
            c.piece("c"),
            c.piece("abc"),
            c.piece(""),
        );
        let x = c.append(Concats::EMPTY, a);
        let x = c.append(x, bc);
        let y = c.append(Concats::EMPTY, ab);
        let y = c.append(y, cc);
        assert_eq!(x, y);
        assert_eq!(c.append(x, e), x);
        assert_eq!(c.text(x), "abc");
        assert!(c.equals(x, abc));
        let bn = c.append(Concats::EMPTY, b);
        assert!(!c.equals(bn, abc));
        assert!(c.equals(Concats::EMPTY, e));
        assert!(!c.equals(x, a));
        c.track_prefixes(abc);
        assert!(c.may_prefix(Concats::EMPTY, abc));
        let an = c.append(Concats::EMPTY, a);
        assert!(c.may_prefix(an, abc));
        assert!(c.may_prefix(x, abc));
        assert!(!c.may_prefix(bn, abc));
        let longer = c.append(x, a);
        assert!(!c.may_prefix(longer, abc));
        // Untracked pieces never claim "certainly not".
        assert!(c.may_prefix(bn, a));
    }
}
