//! Partition shapes as data (Jepsen's): which nodes are cut from which, and in
//! which direction. A [`Shape`] plus the live leader and a seed give a
//! [`Grudge`]; both back ends enforce any grudge, one-way cuts included.

use super::Grudge;
use rand::seq::SliceRandom;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// The partition shapes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Shape {
    /// Random halves: ⌊n/2⌋ nodes cut from the rest.
    Halves,
    /// One random node alone.
    One,
    /// The current leader alone.
    Leader,
    /// Every node sees a majority, no two the same one.
    MajoritiesRing,
    /// A random ⌈n/3⌉ nodes cut from the rest.
    MinorityThird,
    /// Two halves joined only through one bridge node.
    Bridge,
}

/// Which way a cut drops traffic. `Deaf` and `Mute` are one-way: the cut-off
/// side (the first side of the split: the lone node, the minority) hears
/// nothing, or is heard by nobody. Shapes without a cut-off side (the ring)
/// are always cut both ways.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cut {
    Both,
    Deaf,
    Mute,
}

/// The two sides of a split shape, the cut-off side first; `None` for the ring.
fn sides<R: Rng>(
    shape: Shape,
    nodes: &[String],
    leader: &str,
    rng: &mut R,
) -> Option<(Vec<String>, Vec<String>)> {
    let mut v = nodes.to_vec();
    v.shuffle(rng);
    let split = |v: Vec<String>, k: usize| {
        let (a, b) = v.split_at(k.min(v.len()));
        Some((a.to_vec(), b.to_vec()))
    };
    match shape {
        Shape::Halves => {
            let k = v.len() / 2;
            split(v, k)
        }
        Shape::One => split(v, 1),
        Shape::Leader => {
            let rest = nodes.iter().filter(|n| *n != leader).cloned().collect();
            Some((vec![leader.to_string()], rest))
        }
        Shape::MinorityThird => {
            let k = v.len().div_ceil(3).min(v.len().saturating_sub(1) / 2).max(1);
            split(v, k)
        }
        Shape::Bridge => None,
        Shape::MajoritiesRing => None,
    }
}

/// The grudge for `shape` over `nodes` (sorted ids), cut in direction `cut`.
/// `leader` is whoever leads now (used by [`Shape::Leader`] only).
pub fn grudge<R: Rng>(shape: Shape, cut: Cut, nodes: &[String], leader: &str, rng: &mut R) -> Grudge {
    match sides(shape, nodes, leader, rng) {
        Some((a, b)) => match cut {
            Cut::Both => Grudge::split(&a, &b),
            Cut::Deaf => Grudge::one_way(&a, &b),
            Cut::Mute => Grudge::one_way(&b, &a),
        },
        None if shape == Shape::Bridge => Grudge::bridge(nodes, rng),
        None => Grudge::majorities_ring(nodes, rng),
    }
}

/// Whether `shape` has a cut-off side, so a one-way cut means something.
pub fn has_side(shape: Shape) -> bool {
    !matches!(shape, Shape::MajoritiesRing | Shape::Bridge)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn nodes(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("n{i}")).collect()
    }

    /// Nodes `a` hears from (brute force over the grudge).
    fn hears(g: &Grudge, ns: &[String], a: &str) -> usize {
        ns.iter().filter(|b| *b != a && !g.drops(a, b)).count()
    }

    #[test]
    fn every_shape_cuts_what_it_says() {
        let ns = nodes(5);
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let g = grudge(Shape::Leader, Cut::Both, &ns, "n4", &mut rng);
        assert_eq!(hears(&g, &ns, "n4"), 0);
        assert_eq!(hears(&g, &ns, "n1"), 3);
        let g = grudge(Shape::MinorityThird, Cut::Both, &ns, "n1", &mut rng);
        let mut counts: Vec<usize> = ns.iter().map(|a| hears(&g, &ns, a)).collect();
        counts.sort();
        assert_eq!(counts, vec![1, 1, 2, 2, 2], "two cut from three: {g:?}");
        let g = grudge(Shape::One, Cut::Both, &ns, "n1", &mut rng);
        assert_eq!(ns.iter().filter(|a| hears(&g, &ns, a) == 0).count(), 1);
        let g = grudge(Shape::Halves, Cut::Both, &ns, "n1", &mut rng);
        assert_eq!(ns.iter().filter(|a| hears(&g, &ns, a) == 1).count(), 2);
        for s in [Shape::MajoritiesRing, Shape::Bridge] {
            assert!(!has_side(s));
            let g = grudge(s, Cut::Deaf, &ns, "n1", &mut rng);
            assert!(ns
                .iter()
                .all(|a| ns.iter().all(|b| g.drops(a, b) == g.drops(b, a))));
        }
        // Three nodes: the minority third is one node.
        let g = grudge(Shape::MinorityThird, Cut::Both, &nodes(3), "n1", &mut rng);
        assert_eq!(g.0.values().filter(|s| s.len() == 2).count(), 1, "{g:?}");
    }

    #[test]
    fn one_way_cuts_drop_one_direction_only() {
        let ns = nodes(5);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let deaf = grudge(Shape::Leader, Cut::Deaf, &ns, "n2", &mut rng);
        assert_eq!(hears(&deaf, &ns, "n2"), 0);
        assert!(ns.iter().filter(|a| *a != "n2").all(|a| !deaf.drops(a, "n2")));
        let mute = grudge(Shape::Leader, Cut::Mute, &ns, "n2", &mut rng);
        assert_eq!(hears(&mute, &ns, "n2"), 4);
        assert!(ns.iter().filter(|a| *a != "n2").all(|a| mute.drops(a, "n2")));
        assert!(mute.cut("n1", "n2") && deaf.cut("n1", "n2"));
    }
}
