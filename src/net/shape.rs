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
    /// One random datacenter cut from the others (multi-leader stores).
    Dc,
    /// Every datacenter cut from every other; each keeps its own links.
    DcAll,
}

/// Which way a cut drops traffic. `Deaf` and `Mute` are one-way: the cut-off
/// side (the first side of the split: the lone node, the minority) hears
/// nothing, or is heard by nobody. Shapes without a cut-off side (the ring)
/// ignore it (the ring is cut both ways, except on three nodes: see
/// [`Grudge::majorities_ring`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cut {
    Both,
    Deaf,
    Mute,
}

/// The two sides of a split shape, the cut-off side first; `None` for the ring.
/// `dcs` are the datacenters (groups of nodes) [`Shape::Dc`] picks from.
fn sides<R: Rng>(
    shape: Shape,
    nodes: &[String],
    leader: &str,
    dcs: &[Vec<String>],
    rng: &mut R,
) -> Option<(Vec<String>, Vec<String>)> {
    if shape == Shape::Dc {
        let i = rng.gen_range(0..dcs.len().max(1));
        let a = dcs.get(i).cloned().unwrap_or_default();
        let b = nodes.iter().filter(|n| !a.contains(n)).cloned().collect();
        return Some((a, b));
    }
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
        Shape::Bridge | Shape::MajoritiesRing | Shape::Dc | Shape::DcAll => None,
    }
}

/// The grudge for `shape` over `nodes` (sorted ids), cut in direction `cut`.
/// `leader` is whoever leads now (used by [`Shape::Leader`] only). The
/// datacenter shapes treat every node as its own datacenter here; see [`grudge_in`].
pub fn grudge<R: Rng>(shape: Shape, cut: Cut, nodes: &[String], leader: &str, rng: &mut R) -> Grudge {
    grudge_in(shape, cut, nodes, leader, &[], rng)
}

/// [`grudge`] in a cluster split into datacenters `dcs` (groups of `nodes`,
/// each node in one). Without datacenters (`dcs` empty) each node is one.
pub fn grudge_in<R: Rng>(
    shape: Shape,
    cut: Cut,
    nodes: &[String],
    leader: &str,
    dcs: &[Vec<String>],
    rng: &mut R,
) -> Grudge {
    let alone: Vec<Vec<String>>;
    let dcs = if dcs.is_empty() {
        alone = nodes.iter().map(|n| vec![n.clone()]).collect();
        &alone[..]
    } else {
        dcs
    };
    match sides(shape, nodes, leader, dcs, rng) {
        Some((a, b)) => match cut {
            Cut::Both => Grudge::split(&a, &b),
            Cut::Deaf => Grudge::one_way(&a, &b),
            Cut::Mute => Grudge::one_way(&b, &a),
        },
        None if shape == Shape::Bridge => Grudge::bridge(nodes, rng),
        None if shape == Shape::DcAll => Grudge::between_groups(dcs),
        None => Grudge::majorities_ring(nodes, rng),
    }
}

/// The grudge that cuts exactly the nodes `side` (indices into `nodes`; out of
/// range ones are ignored) from the rest, in direction `cut`: a partition aimed
/// at the nodes another fault hit (see `nemesis::focus`).
pub fn grudge_around(cut: Cut, nodes: &[String], side: &[usize]) -> Grudge {
    let a: Vec<String> = side.iter().filter_map(|&i| nodes.get(i).cloned()).collect();
    let b: Vec<String> = nodes.iter().filter(|n| !a.contains(n)).cloned().collect();
    match cut {
        Cut::Both => Grudge::split(&a, &b),
        Cut::Deaf => Grudge::one_way(&a, &b),
        Cut::Mute => Grudge::one_way(&b, &a),
    }
}

/// Whether `shape` has a cut-off side, so a one-way cut means something.
pub fn has_side(shape: Shape) -> bool {
    !matches!(shape, Shape::MajoritiesRing | Shape::Bridge | Shape::DcAll)
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

    /// The datacenter shapes cut exactly the links between datacenters (one
    /// from the rest, or all from each other), never a link inside one.
    #[test]
    fn datacenter_shapes_cut_only_links_between_datacenters() {
        let ns = nodes(6);
        let dcs = vec![ns[0..2].to_vec(), ns[2..4].to_vec(), ns[4..6].to_vec()];
        let dc_of = |a: &str| dcs.iter().position(|g| g.iter().any(|x| x == a)).unwrap();
        for seed in 0..20 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let all = grudge_in(Shape::DcAll, Cut::Deaf, &ns, "", &dcs, &mut rng);
            for a in &ns {
                for b in ns.iter().filter(|b| *b != a) {
                    assert_eq!(all.drops(a, b), dc_of(a) != dc_of(b), "{a} {b}: {all:?}");
                }
            }
            let one = grudge_in(Shape::Dc, Cut::Both, &ns, "", &dcs, &mut rng);
            let cut: Vec<usize> = (0..3)
                .filter(|d| dcs[*d].iter().all(|a| hears(&one, &ns, a) == 1))
                .collect();
            assert_eq!(cut.len(), 1, "one datacenter alone: {one:?}");
            for a in &ns {
                for b in ns.iter().filter(|b| *b != a) {
                    let across = dc_of(a) != dc_of(b) && (dc_of(a) == cut[0] || dc_of(b) == cut[0]);
                    assert_eq!(one.drops(a, b), across, "{a} {b}: {one:?}");
                }
            }
            let deaf = grudge_in(Shape::Dc, Cut::Deaf, &ns, "", &dcs, &mut rng);
            let lone: Vec<&String> = ns.iter().filter(|a| hears(&deaf, &ns, a) == 1).collect();
            assert_eq!(lone.len(), 2, "{deaf:?}");
            assert!(
                lone.iter().all(|a| ns.iter().all(|b| !deaf.drops(b, a))),
                "{deaf:?}"
            );
        }
        assert!(has_side(Shape::Dc) && !has_side(Shape::DcAll));
        // Without datacenters each node is one: `dc` isolates one node.
        let g = grudge(Shape::Dc, Cut::Both, &ns, "", &mut ChaCha8Rng::seed_from_u64(1));
        assert_eq!(ns.iter().filter(|a| hears(&g, &ns, a) == 0).count(), 1);
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
