//! Searching one strongly connected component for a cycle of one anomaly
//! class, as Elle does for each class in turn.
//!
//! A class is a start edge kind, the edge kinds the rest of the cycle may use,
//! and a few facts the path must establish (a process or real-time edge for
//! the variants; for G-nonadjacent, more rw edges with no two adjacent; for
//! G2-item, more rw edges with two adjacent). The search is a breadth-first
//! search over (transaction, facts so far): from each candidate start edge
//! `a → b`, the shortest walk `b → a` whose facts complete the class. A walk
//! that repeats a transaction is split into simple cycles, and only a simple
//! cycle that [`classify_cycle`] names as the class is reported, so every
//! reported cycle is real and correctly named. Work and time are budgeted per
//! search; running out is reported, never taken for "no cycle".

use super::atom::FxMap;
use super::classify::classify_cycle;
use super::graph::{Edge, Graph, ALL, DATA, PROCESS, REALTIME, RW, WR, WW};
use std::collections::VecDeque;
use std::time::Instant;

/// How the rw edges of a class may sit in its cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RwMode {
    /// None at all (G0, G1c).
    Free,
    /// Exactly the start edge (G-single).
    Single,
    /// At least two, no two adjacent (G-nonadjacent).
    Nonadjacent,
    /// At least two, some two adjacent (G2-item).
    Adjacent,
}

/// One anomaly class to search for.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    pub kind: &'static str,
    /// Kinds a start edge may have.
    start: u8,
    /// Kinds the rest of the cycle may use.
    allowed: u8,
    /// A kind the cycle must contain besides the start edge (0: none).
    need: u8,
    mode: RwMode,
    /// The projection (see [`super::exists`]) that must be cyclic for such a cycle to exist.
    pub projection: &'static str,
}

const fn spec(
    kind: &'static str,
    start: u8,
    allowed: u8,
    need: u8,
    mode: RwMode,
    projection: &'static str,
) -> Spec {
    Spec {
        kind,
        start,
        allowed,
        need,
        mode,
        projection,
    }
}

const P: u8 = PROCESS;
const PR: u8 = PROCESS | REALTIME;
const WWR: u8 = WW | WR;

/// Every class, in Elle's search order: data classes from the most severe,
/// then their process variants, then their real-time variants.
pub const SPECS: &[Spec] = &[
    spec("G0", WW, WW, 0, RwMode::Free, "PL-1"),
    spec("G1c", WR, WWR, 0, RwMode::Free, "PL-2"),
    spec("G-single", RW, WWR, 0, RwMode::Single, "PL-SI"),
    spec("G-nonadjacent", RW, DATA, 0, RwMode::Nonadjacent, "PL-SI"),
    spec("G2-item", RW, DATA, 0, RwMode::Adjacent, "PL-2.99"),
    spec("G0-process", P, WW | P, 0, RwMode::Free, "strong-session-PL-1"),
    spec("G1c-process", WR, WWR | P, P, RwMode::Free, "strong-session-PL-2"),
    spec(
        "G-single-process",
        RW,
        WWR | P,
        P,
        RwMode::Single,
        "strong-session-snapshot-isolation",
    ),
    spec(
        "G-nonadjacent-process",
        RW,
        DATA | P,
        P,
        RwMode::Nonadjacent,
        "strong-session-snapshot-isolation",
    ),
    spec(
        "G2-item-process",
        RW,
        DATA | P,
        P,
        RwMode::Adjacent,
        "strong-session-serializable",
    ),
    spec("G0-realtime", REALTIME, WW | PR, 0, RwMode::Free, "strong-PL-1"),
    spec(
        "G1c-realtime",
        WR,
        WWR | PR,
        REALTIME,
        RwMode::Free,
        "strong-PL-2",
    ),
    spec(
        "G-single-realtime",
        RW,
        WWR | PR,
        REALTIME,
        RwMode::Single,
        "strong-snapshot-isolation",
    ),
    spec(
        "G-nonadjacent-realtime",
        RW,
        ALL,
        REALTIME,
        RwMode::Nonadjacent,
        "strong-snapshot-isolation",
    ),
    spec("G2-item-realtime", RW, ALL, REALTIME, RwMode::Adjacent, "PL-SS"),
];

// Fact bits of a search state.
const SEEN_NEED: u8 = 1;
const SEEN_RW: u8 = 2;
const LAST_RW: u8 = 4;
const ADJ_RW: u8 = 8;

impl Spec {
    /// The fact bits this class tracks.
    fn bits(&self) -> u8 {
        let need = if self.need != 0 { SEEN_NEED } else { 0 };
        need | match self.mode {
            RwMode::Free | RwMode::Single => 0,
            RwMode::Nonadjacent => SEEN_RW | LAST_RW,
            RwMode::Adjacent => SEEN_RW | LAST_RW | ADJ_RW,
        }
    }

    fn initial(&self, start: &Edge) -> u8 {
        let mut s = 0;
        if start.kind & self.need != 0 {
            s |= SEEN_NEED;
        }
        if start.kind == RW {
            s |= LAST_RW;
        }
        s & self.bits()
    }

    /// The state after taking edge `kind`, or `None` if the class forbids it.
    fn step(&self, s: u8, kind: u8) -> Option<u8> {
        if kind & self.allowed == 0 || (kind == RW && self.mode == RwMode::Single) {
            return None;
        }
        let mut t = s;
        if kind & self.need != 0 {
            t |= SEEN_NEED;
        }
        if kind == RW {
            if s & LAST_RW != 0 {
                if self.mode == RwMode::Nonadjacent {
                    return None;
                }
                t |= ADJ_RW;
            }
            t |= SEEN_RW | LAST_RW;
        } else {
            t &= !LAST_RW;
        }
        Some(t & self.bits())
    }

    /// Whether arriving back at the start edge's source in state `s` closes a cycle of this class.
    fn accepts(&self, s: u8) -> bool {
        if self.need != 0 && s & SEEN_NEED == 0 {
            return false;
        }
        match self.mode {
            RwMode::Free | RwMode::Single => true,
            // The last edge is followed by the (rw) start edge.
            RwMode::Nonadjacent => s & SEEN_RW != 0 && s & LAST_RW == 0,
            RwMode::Adjacent => s & SEEN_RW != 0 && s & (ADJ_RW | LAST_RW) != 0,
        }
    }
}

/// Dense index of a state: its tracked bits, packed.
fn pack(bits: u8, s: u8) -> usize {
    let (mut out, mut i) = (0usize, 0);
    for b in [SEEN_NEED, SEEN_RW, LAST_RW, ADJ_RW] {
        if bits & b != 0 {
            if s & b != 0 {
                out |= 1 << i;
            }
            i += 1;
        }
    }
    out
}

/// What a search came to.
#[derive(Debug)]
pub enum Outcome {
    /// A simple cycle of the class, edges in order.
    Found(Vec<Edge>),
    /// Every start edge tried; none closes a cycle of the class.
    Exhausted,
    /// The work or time budget ran out first.
    OutOfBudget,
}

/// Work (edge relaxations) and time allowed for one search.
pub struct Budget {
    pub work: u64,
    pub deadline: Option<Instant>,
}

impl Budget {
    fn spend(&mut self, n: u64) -> bool {
        self.work = self.work.saturating_sub(n);
        self.work > 0 && self.deadline.is_none_or(|d| Instant::now() <= d)
    }
}

/// The components of a graph, indexed for searches: each node's component
/// and its position in it.
pub struct Scope<'g> {
    pub g: &'g Graph,
    pub comps: Vec<Vec<u32>>,
    pub comp: Vec<u32>,
    pub pos: Vec<u32>,
}

impl<'g> Scope<'g> {
    pub fn new(g: &'g Graph, comps: Vec<Vec<u32>>) -> Scope<'g> {
        let mut comp = vec![u32::MAX; g.n];
        let mut pos = vec![u32::MAX; g.n];
        for (ci, c) in comps.iter().enumerate() {
            for (i, &v) in c.iter().enumerate() {
                comp[v as usize] = ci as u32;
                pos[v as usize] = i as u32;
            }
        }
        Scope { g, comps, comp, pos }
    }

    /// Edges leaving `v` that stay in component `ci`.
    pub fn inner(&self, v: u32, ci: u32) -> impl Iterator<Item = (usize, &Edge)> + '_ {
        self.g
            .out(v)
            .map(move |i| (i, &self.g.edges[i]))
            .filter(move |(_, e)| self.comp[e.to as usize] == ci)
    }
}

/// Breadth-first state over (position in component, packed state).
struct Bfs {
    stamp: Vec<u32>,
    parent: Vec<(u32, u8)>,
    gen: u32,
    queue: VecDeque<(u32, u8)>,
}

impl Bfs {
    fn new(slots: usize) -> Bfs {
        Bfs {
            stamp: vec![0; slots],
            parent: vec![(0, 0); slots],
            gen: 0,
            queue: VecDeque::new(),
        }
    }
}

/// Searches component `ci` for a cycle of class `spec`.
pub fn search(scope: &Scope, ci: u32, spec: &Spec, budget: &mut Budget) -> Outcome {
    let c = &scope.comps[ci as usize];
    let bits = spec.bits();
    let ns = 1usize << bits.count_ones();
    let mut bfs = Bfs::new(c.len() * ns);
    for &v in c {
        for (_, e) in scope.inner(v, ci) {
            if e.kind & spec.start == 0 {
                continue;
            }
            if !budget.spend(1) {
                return Outcome::OutOfBudget;
            }
            match walk(scope, ci, spec, *e, &mut bfs, budget) {
                Err(()) => return Outcome::OutOfBudget,
                Ok(None) => {}
                Ok(Some(walk)) => {
                    if let Some(cy) = simple_cycles(walk)
                        .into_iter()
                        .find(|cy| classify_cycle(cy) == spec.kind)
                    {
                        return Outcome::Found(cy);
                    }
                }
            }
        }
    }
    Outcome::Exhausted
}

/// The shortest closed walk through `start` completing the class, if any.
fn walk(
    scope: &Scope,
    ci: u32,
    spec: &Spec,
    start: Edge,
    bfs: &mut Bfs,
    budget: &mut Budget,
) -> Result<Option<Vec<Edge>>, ()> {
    let bits = spec.bits();
    let ns = 1usize << bits.count_ones();
    let slot = |v: u32, s: u8| scope.pos[v as usize] as usize * ns + pack(bits, s);
    bfs.gen += 1;
    let gen = bfs.gen;
    bfs.queue.clear();
    let s0 = spec.initial(&start);
    bfs.stamp[slot(start.to, s0)] = gen;
    bfs.queue.push_back((start.to, s0));
    let mut steps = 0u64;
    while let Some((v, s)) = bfs.queue.pop_front() {
        if v == start.from && spec.accepts(s) {
            let mut edges = Vec::new();
            let (mut at, mut st) = (v, s);
            while !(at == start.to && st == s0) {
                let (ei, prev) = bfs.parent[slot(at, st)];
                let e = scope.g.edges[ei as usize];
                edges.push(e);
                at = e.from;
                st = prev;
            }
            edges.push(start);
            edges.reverse();
            return Ok(Some(edges));
        }
        for (i, e) in scope.inner(v, ci) {
            steps += 1;
            if steps & 4095 == 0 && !budget.spend(4096) {
                return Err(());
            }
            let Some(t) = spec.step(s, e.kind) else { continue };
            let k = slot(e.to, t);
            if bfs.stamp[k] == gen {
                continue;
            }
            bfs.stamp[k] = gen;
            bfs.parent[k] = (i as u32, s);
            bfs.queue.push_back((e.to, t));
        }
    }
    budget.spend(steps & 4095);
    Ok(None)
}

/// Splits a closed walk into simple cycles (a simple walk is itself).
pub fn simple_cycles(walk: Vec<Edge>) -> Vec<Vec<Edge>> {
    let mut seen: FxMap<u32, usize> = FxMap::default();
    if walk.iter().all(|e| seen.insert(e.from, 0).is_none()) {
        return vec![walk];
    }
    seen.clear();
    let mut out = Vec::new();
    let mut stack: Vec<Edge> = Vec::new();
    for e in walk {
        if let Some(&at) = seen.get(&e.from) {
            // The edges since `e.from` was entered close a loop.
            let cy = stack.split_off(at);
            for x in &cy {
                seen.remove(&x.from);
            }
            out.push(cy);
        }
        seen.insert(e.from, stack.len());
        stack.push(e);
    }
    if !stack.is_empty() {
        out.push(stack);
    }
    out
}

/// Some cycle in component `ci` over any edges (Elle's fallback when a
/// search runs out of budget): the shortest one through its first edge.
pub fn any_cycle(scope: &Scope, ci: u32) -> Option<Vec<Edge>> {
    let c = &scope.comps[ci as usize];
    let (_, first) = c.iter().find_map(|&v| scope.inner(v, ci).next())?;
    let any = Spec {
        kind: "",
        start: ALL,
        allowed: ALL,
        need: 0,
        mode: RwMode::Free,
        projection: "",
    };
    let mut bfs = Bfs::new(c.len());
    let mut budget = Budget {
        work: u64::MAX,
        deadline: None,
    };
    let w = walk(scope, ci, &any, *first, &mut bfs, &mut budget).ok()??;
    simple_cycles(w).into_iter().next()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::elle::graph::edge as e;

    fn scope(g: &Graph) -> Scope<'_> {
        Scope::new(g, vec![(0..g.n as u32).collect()])
    }

    fn find(g: &Graph, kind: &str) -> Option<Vec<Edge>> {
        let spec = SPECS.iter().find(|s| s.kind == kind).unwrap();
        let mut b = Budget {
            work: 1_000_000,
            deadline: None,
        };
        match search(&scope(g), 0, spec, &mut b) {
            Outcome::Found(c) => Some(c),
            Outcome::Exhausted => None,
            Outcome::OutOfBudget => panic!("budget"),
        }
    }

    #[test]
    fn one_component_holds_several_classes() {
        // 0 -rw-> 1 -wr-> 0 (G-single); 1 -rw-> 2 -rw-> 1 (G2-item);
        // 0 -rw-> 3 -ww-> 4 -rw-> 5 -wr-> 0 (G-nonadjacent).
        let g = Graph::build(
            6,
            vec![
                e(0, 1, RW),
                e(1, 0, WR),
                e(1, 2, RW),
                e(2, 1, RW),
                e(0, 3, RW),
                e(3, 4, WW),
                e(4, 5, RW),
                e(5, 0, WR),
            ],
        );
        assert_eq!(find(&g, "G-single").unwrap().len(), 2);
        let g2 = find(&g, "G2-item").unwrap();
        assert_eq!(classify_cycle(&g2), "G2-item");
        let na = find(&g, "G-nonadjacent").unwrap();
        assert_eq!(na.len(), 4);
        assert!(find(&g, "G0").is_none());
        assert!(find(&g, "G1c").is_none());
        assert!(find(&g, "G-single-realtime").is_none());
    }

    #[test]
    fn variants_need_their_edge() {
        let g = Graph::build(3, vec![e(0, 1, RW), e(1, 2, WW), e(2, 0, REALTIME), e(1, 0, WR)]);
        let c = find(&g, "G-single-realtime").unwrap();
        assert!(c.iter().any(|e| e.kind == REALTIME));
        assert!(find(&g, "G-single-process").is_none());
        assert_eq!(find(&g, "G-single").unwrap().len(), 2);
    }

    #[test]
    fn walks_that_repeat_a_node_are_split() {
        let w = vec![e(0, 1, RW), e(1, 2, WW), e(2, 1, RW), e(1, 0, WR)];
        let cs = simple_cycles(w);
        assert_eq!(cs.len(), 2);
        for c in &cs {
            assert_eq!(c.last().unwrap().to, c[0].from);
        }
    }

    #[test]
    fn budgets_are_reported() {
        let n = 2000u32;
        let mut edges: Vec<Edge> = (0..n).map(|i| e(i, (i + 1) % n, WW)).collect();
        edges.extend((0..n).map(|i| e(i, (i + 7) % n, RW)));
        let g = Graph::build(n as usize, edges);
        let spec = SPECS.iter().find(|s| s.kind == "G2-item-realtime").unwrap();
        let mut b = Budget {
            work: 100,
            deadline: None,
        };
        assert!(matches!(
            search(&scope(&g), 0, spec, &mut b),
            Outcome::OutOfBudget
        ));
        let c = any_cycle(&scope(&g), 0).unwrap();
        assert_eq!(c.last().unwrap().to, c[0].from);
        assert!(simple_cycles(c.clone()).len() == 1, "{c:?}");
    }
}
