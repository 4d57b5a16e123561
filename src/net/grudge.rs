//! Grudges as plain data: node → the nodes it drops traffic from (Jepsen's
//! shape). Every constructor here but [`Grudge::one_way`] and the three-node
//! [`Grudge::majorities_ring`] is symmetric (if a drops b, b drops a); both back
//! ends enforce one-way grudges too.

use rand::seq::SliceRandom;
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// `{"n1": ["n3","n4"], ...}`; nodes with no grudge are absent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Grudge(pub BTreeMap<String, BTreeSet<String>>);

impl Grudge {
    /// Every node in `a` drops every node in `b` and vice versa.
    pub fn split(a: &[String], b: &[String]) -> Grudge {
        let mut g = Grudge::default();
        for x in a {
            for y in b {
                g.drop_both(x, y);
            }
        }
        g
    }

    /// Every node in `to` drops traffic from every node in `from`; not the reverse.
    pub fn one_way(to: &[String], from: &[String]) -> Grudge {
        let mut g = Grudge::default();
        for x in to {
            for y in from.iter().filter(|y| *y != x) {
                g.0.entry(x.clone()).or_default().insert(y.clone());
            }
        }
        g
    }

    fn drop_both(&mut self, x: &str, y: &str) {
        if x == y {
            return;
        }
        self.0.entry(x.to_string()).or_default().insert(y.to_string());
        self.0.entry(y.to_string()).or_default().insert(x.to_string());
    }

    /// Random halves: the smaller side first (⌊n/2⌋ nodes), cut from the rest.
    pub fn random_halves<R: Rng>(nodes: &[String], rng: &mut R) -> Grudge {
        let mut v = nodes.to_vec();
        v.shuffle(rng);
        let (a, b) = v.split_at(v.len() / 2);
        Grudge::split(a, b)
    }

    /// `victim` alone on one side.
    pub fn isolate(nodes: &[String], victim: &str) -> Grudge {
        let rest: Vec<String> = nodes.iter().filter(|n| *n != victim).cloned().collect();
        Grudge::split(&[victim.to_string()], &rest)
    }

    /// Nodes on a shuffled ring each see themselves and their nearest
    /// neighbours, a majority in all, but no two nodes see the same majority.
    ///
    /// Three nodes have no such symmetric cut (a node hearing one other is a
    /// matching, which three nodes cannot form), so there the ring is one-way, as
    /// Jepsen's is: each node hears itself and its successor and drops its
    /// predecessor. A symmetric ring would cut nothing at all.
    pub fn majorities_ring<R: Rng>(nodes: &[String], rng: &mut R) -> Grudge {
        let mut v = nodes.to_vec();
        v.shuffle(rng);
        let n = v.len();
        if n == 3 {
            let mut g = Grudge::default();
            for i in 0..n {
                let pred = v[(i + n - 1) % n].clone();
                g.0.entry(v[i].clone()).or_default().insert(pred);
            }
            return g;
        }
        let k = (n / 2).div_ceil(2);
        let mut g = Grudge::default();
        for i in 0..n {
            for j in 0..n {
                let d = (i + n - j) % n;
                let dist = d.min(n - d);
                if dist > k.max(1) {
                    g.0.entry(v[i].clone()).or_default().insert(v[j].clone());
                }
            }
        }
        g
    }

    /// Two halves that cannot see each other, and one bridge node seeing both.
    pub fn bridge<R: Rng>(nodes: &[String], rng: &mut R) -> Grudge {
        let mut v = nodes.to_vec();
        v.shuffle(rng);
        if v.len() < 3 {
            return Grudge::random_halves(&v, rng);
        }
        let mid = v.len() / 2;
        let (a, rest) = v.split_at(mid);
        Grudge::split(a, &rest[1..])
    }

    /// Every group cut from every other group (both ways); links inside a group stay.
    pub fn between_groups(groups: &[Vec<String>]) -> Grudge {
        let mut g = Grudge::default();
        for (i, a) in groups.iter().enumerate() {
            for b in &groups[i + 1..] {
                for x in a {
                    for y in b {
                        g.drop_both(x, y);
                    }
                }
            }
        }
        g
    }

    pub fn is_empty(&self) -> bool {
        self.0.values().all(|s| s.is_empty())
    }

    /// True when `to` drops traffic from `from`.
    pub fn drops(&self, to: &str, from: &str) -> bool {
        self.0.get(to).is_some_and(|s| s.contains(from))
    }

    /// True when the link between `a` and `b` is cut in either direction.
    pub fn cut(&self, a: &str, b: &str) -> bool {
        self.drops(a, b) || self.drops(b, a)
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn nodes(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("n{i}")).collect()
    }

    fn symmetric(g: &Grudge) -> bool {
        g.0.iter().all(|(a, bs)| bs.iter().all(|b| g.drops(b, a)))
    }

    /// Connected component sizes when cut links are removed (brute force).
    fn sees(g: &Grudge, ns: &[String], a: &str) -> usize {
        ns.iter().filter(|b| !g.cut(a, b)).count()
    }

    #[test]
    fn halves_and_isolate() {
        let ns = nodes(5);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let g = Grudge::random_halves(&ns, &mut rng);
        assert!(symmetric(&g));
        let mut counts: Vec<usize> = ns.iter().map(|n| sees(&g, &ns, n)).collect();
        counts.sort();
        assert_eq!(counts, vec![2, 2, 3, 3, 3]);
        let g = Grudge::isolate(&ns, "n3");
        assert_eq!(sees(&g, &ns, "n3"), 1);
        assert_eq!(sees(&g, &ns, "n1"), 4);
        assert_eq!(
            serde_json::to_string(&Grudge::isolate(&nodes(2), "n1")).unwrap(),
            r#"{"n1":["n2"],"n2":["n1"]}"#
        );
    }

    #[test]
    fn ring_gives_everyone_a_distinct_majority() {
        for n in [3usize, 4, 5, 7] {
            for seed in 0..6 {
                let ns = nodes(n);
                let g = Grudge::majorities_ring(&ns, &mut ChaCha8Rng::seed_from_u64(seed));
                // Symmetric from four nodes on; on three, one-way (no symmetric cut exists).
                assert_eq!(symmetric(&g), n != 3, "{g:?}");
                let mut views = BTreeSet::new();
                for a in &ns {
                    // What `a` hears: itself and every node it does not drop.
                    let v: Vec<&String> = ns.iter().filter(|b| *b == a || !g.drops(a, b)).collect();
                    assert!(v.len() > n / 2, "{a} hears a minority in {g:?}");
                    views.insert(v);
                }
                assert_eq!(views.len(), n, "two nodes hear the same majority in {g:?}");
            }
        }
    }

    #[test]
    fn bridge_node_sees_all() {
        let ns = nodes(5);
        let g = Grudge::bridge(&ns, &mut ChaCha8Rng::seed_from_u64(3));
        assert!(symmetric(&g));
        let full: Vec<&String> = ns.iter().filter(|a| sees(&g, &ns, a) == 5).collect();
        assert_eq!(full.len(), 1);
    }
}
