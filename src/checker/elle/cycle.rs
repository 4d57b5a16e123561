//! Cycle search: strongly connected components (petgraph's Tarjan), then in
//! each component the shortest cycle (BFS) of each anomaly kind.
//!
//! Why the peeling first: in a valid history the graph is acyclic, and
//! repeatedly removing nodes with no in-edges (then no out-edges) empties it
//! in linear time, so Tarjan only ever sees the tangled remainder. Tarjan in
//! petgraph 0.6 is recursive, so it runs on a thread with a stack sized to the
//! remainder.

use super::classify::classify_cycle;
use super::graph::{Edge, Graph, DATA, PROCESS, REALTIME, RW, WR, WW};
use super::ElleError;
use petgraph::graph::{DiGraph, NodeIndex};
use std::collections::VecDeque;
use std::time::Instant;

/// How many candidate edges a search tries per component and kind (at most;
/// components over 62,500 txns get fewer, down to 4).
pub const MAX_TRIES: usize = 64;

/// One search: cycles through an edge of kind `special`, the rest of the cycle
/// using only `allowed` edges; `want` names the kind to accept (`None`: any).
struct Spec {
    special: u8,
    allowed: u8,
    want: Option<&'static str>,
}

const SPECS: &[Spec] = &[
    Spec {
        special: WW,
        allowed: WW,
        want: Some("G0"),
    },
    Spec {
        special: WR,
        allowed: WW | WR,
        want: Some("G1c"),
    },
    Spec {
        special: RW,
        allowed: WW | WR,
        want: Some("G-single"),
    },
    Spec {
        special: RW,
        allowed: DATA,
        want: Some("G2-item"),
    },
    Spec {
        special: PROCESS,
        allowed: DATA | PROCESS,
        want: None,
    },
    Spec {
        special: REALTIME,
        allowed: DATA | PROCESS | REALTIME,
        want: None,
    },
];

/// A found cycle: its kind and its edges in order (each edge's `to` is the
/// next edge's `from`; the last edge returns to the first's `from`).
#[derive(Clone, Debug)]
pub struct Cycle {
    pub kind: String,
    pub edges: Vec<Edge>,
}

/// Non-trivial strongly connected components of `g`.
pub fn sccs(g: &Graph) -> Result<Vec<Vec<u32>>, ElleError> {
    let n = g.n;
    let mut alive = vec![true; n];
    // Peel sources, then sinks.
    for forward in [true, false] {
        let mut deg = vec![0u32; n];
        for e in &g.edges {
            if alive[e.from as usize] && alive[e.to as usize] {
                let t = if forward { e.to } else { e.from };
                deg[t as usize] += 1;
            }
        }
        // Reverse adjacency for the backward pass.
        let mut rev: Vec<Vec<u32>> = Vec::new();
        if !forward {
            rev = vec![Vec::new(); n];
            for e in &g.edges {
                if alive[e.from as usize] && alive[e.to as usize] {
                    rev[e.to as usize].push(e.from);
                }
            }
        }
        let mut stack: Vec<u32> = (0..n as u32)
            .filter(|&i| alive[i as usize] && deg[i as usize] == 0)
            .collect();
        while let Some(v) = stack.pop() {
            if !alive[v as usize] {
                continue;
            }
            alive[v as usize] = false;
            if forward {
                for i in g.out(v) {
                    let w = g.edges[i].to as usize;
                    if alive[w] {
                        deg[w] -= 1;
                        if deg[w] == 0 {
                            stack.push(w as u32);
                        }
                    }
                }
            } else {
                for &w in &rev[v as usize] {
                    let w = w as usize;
                    if alive[w] {
                        deg[w] -= 1;
                        if deg[w] == 0 {
                            stack.push(w as u32);
                        }
                    }
                }
            }
        }
    }
    let rest: Vec<u32> = (0..n as u32).filter(|&i| alive[i as usize]).collect();
    if rest.is_empty() {
        return Ok(Vec::new());
    }
    let mut local = vec![u32::MAX; n];
    for (i, &v) in rest.iter().enumerate() {
        local[v as usize] = i as u32;
    }
    let mut pg: DiGraph<(), (), u32> = DiGraph::with_capacity(rest.len(), rest.len() * 2);
    for _ in &rest {
        pg.add_node(());
    }
    let mut last = (u32::MAX, u32::MAX);
    for e in &g.edges {
        let (a, b) = (local[e.from as usize], local[e.to as usize]);
        if a != u32::MAX && b != u32::MAX && (a, b) != last {
            pg.add_edge(NodeIndex::new(a as usize), NodeIndex::new(b as usize), ());
            last = (a, b);
        }
    }
    let stack = (16 << 20) + rest.len() * 512;
    let comps = std::thread::scope(|s| {
        std::thread::Builder::new()
            .name("elle-tarjan".into())
            .stack_size(stack)
            .spawn_scoped(s, || petgraph::algo::tarjan_scc(&pg))
            .map_err(|e| ElleError::Internal(format!("cannot start SCC thread: {e}")))?
            .join()
            .map_err(|_| ElleError::Internal("SCC thread panicked".into()))
    })?;
    Ok(comps
        .into_iter()
        .filter(|c| c.len() > 1)
        .map(|c| c.into_iter().map(|ix| rest[ix.index()]).collect())
        .collect())
}

/// Breadth-first search state, reused across searches (stamps avoid clearing).
struct Bfs {
    stamp: Vec<u32>,
    parent: Vec<u32>,
    gen: u32,
    queue: VecDeque<u32>,
}

impl Bfs {
    /// Shortest path `src → dst` inside component `c` over `allowed` edges, as edge indices.
    fn path(
        &mut self,
        g: &Graph,
        comp: &[u32],
        c: u32,
        src: u32,
        dst: u32,
        allowed: u8,
    ) -> Option<Vec<usize>> {
        self.gen += 1;
        let gen = self.gen;
        self.queue.clear();
        self.queue.push_back(src);
        self.stamp[src as usize] = gen;
        while let Some(v) = self.queue.pop_front() {
            for i in g.out(v) {
                let e = &g.edges[i];
                let w = e.to as usize;
                if e.kind & allowed == 0 || comp[w] != c || self.stamp[w] == gen {
                    continue;
                }
                self.stamp[w] = gen;
                self.parent[w] = i as u32;
                if e.to == dst {
                    let mut path = vec![i];
                    let mut at = e.from;
                    while at != src {
                        let pi = self.parent[at as usize] as usize;
                        path.push(pi);
                        at = g.edges[pi].from;
                    }
                    path.reverse();
                    return Some(path);
                }
                self.queue.push_back(e.to);
            }
        }
        None
    }
}

/// Finds, in each component, at most one cycle per kind; `-process` cycles only
/// in components with no pure data cycle, `-realtime` ones only in components
/// with no cycle found before. Returns the cycles
/// and whether the search finished before `deadline`.
pub fn find_cycles(g: &Graph, comps: &[Vec<u32>], deadline: Option<Instant>) -> (Vec<Cycle>, bool) {
    let mut comp = vec![u32::MAX; g.n];
    for (ci, c) in comps.iter().enumerate() {
        for &v in c {
            comp[v as usize] = ci as u32;
        }
    }
    let mut bfs = Bfs {
        stamp: vec![0; g.n],
        parent: vec![0; g.n],
        gen: 0,
        queue: VecDeque::new(),
    };
    let mut out = Vec::new();
    for (ci, c) in comps.iter().enumerate() {
        let ci = ci as u32;
        // Each try is a BFS over the component: fewer tries in huge ones.
        let max_tries = (4_000_000 / c.len().max(1)).clamp(4, MAX_TRIES);
        let mut kinds: Vec<String> = Vec::new();
        for spec in SPECS {
            if spec.want.is_some_and(|w| kinds.iter().any(|k| k == w)) {
                continue;
            }
            // A component already cyclic without process (or real-time) edges
            // is not reported again with them: that cycle is the weaker, more
            // telling anomaly.
            if spec.want.is_none() && !kinds.is_empty() {
                continue;
            }
            let mut tries = 0;
            'edges: for &v in c {
                for i in g.out(v) {
                    let e = g.edges[i];
                    if e.kind != spec.special || comp[e.to as usize] != ci {
                        continue;
                    }
                    if deadline.is_some_and(|d| Instant::now() > d) {
                        return (out, false);
                    }
                    tries += 1;
                    if let Some(path) = bfs.path(g, &comp, ci, e.to, e.from, spec.allowed) {
                        let mut edges = vec![e];
                        edges.extend(path.into_iter().map(|p| g.edges[p]));
                        let kind = classify_cycle(&edges);
                        let wanted = spec.want.is_none_or(|w| w == kind);
                        if wanted && !kinds.contains(&kind) {
                            kinds.push(kind.clone());
                            out.push(Cycle { kind, edges });
                            if spec.want.is_some() {
                                break 'edges;
                            }
                        }
                    }
                    if tries >= max_tries {
                        break 'edges;
                    }
                }
            }
        }
    }
    (out, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::elle::graph::NONE_EDGE;

    fn e(from: u32, to: u32, kind: u8) -> Edge {
        Edge {
            from,
            to,
            kind,
            ..NONE_EDGE
        }
    }

    #[test]
    fn peeling_leaves_only_cycles_for_tarjan() {
        // 0 -> 1 -> 2 -> 1 (cycle {1,2}), 2 -> 3, 4 isolated; 5 <-> 6 another.
        let g = Graph::build(
            7,
            vec![
                e(0, 1, WW),
                e(1, 2, WR),
                e(2, 1, RW),
                e(2, 3, WW),
                e(5, 6, WW),
                e(6, 5, WW),
            ],
        );
        let mut c = sccs(&g).unwrap();
        for x in &mut c {
            x.sort();
        }
        c.sort();
        assert_eq!(c, vec![vec![1, 2], vec![5, 6]]);
        let (cycles, done) = find_cycles(&g, &c, None);
        assert!(done);
        let kinds: Vec<&str> = cycles.iter().map(|c| c.kind.as_str()).collect();
        assert_eq!(kinds, vec!["G-single", "G0"]);
        for cy in &cycles {
            for w in cy.edges.windows(2) {
                assert_eq!(w[0].to, w[1].from);
            }
            assert_eq!(cy.edges.last().unwrap().to, cy.edges[0].from);
        }
    }

    #[test]
    fn shortest_cycle_is_found_and_deep_acyclic_graphs_are_cheap() {
        // A long chain with one back edge from the end to the middle.
        let n = 200_000u32;
        let mut edges: Vec<Edge> = (0..n - 1).map(|i| e(i, i + 1, REALTIME)).collect();
        edges.push(e(n - 1, n - 4, RW));
        let g = Graph::build(n as usize, edges);
        let c = sccs(&g).unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].len(), 4);
        let (cycles, _) = find_cycles(&g, &c, None);
        assert_eq!(cycles.len(), 1);
        assert_eq!(cycles[0].kind, "G-single-realtime");
        assert_eq!(cycles[0].edges.len(), 4);
    }

    #[test]
    fn a_huge_component_does_not_overflow_the_stack() {
        let n = 300_000u32;
        let edges: Vec<Edge> = (0..n).map(|i| e(i, (i + 1) % n, WW)).collect();
        let g = Graph::build(n as usize, edges);
        let c = sccs(&g).unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].len(), n as usize);
        let (cycles, _) = find_cycles(&g, &c, None);
        assert_eq!(cycles[0].kind, "G0");
        assert_eq!(cycles[0].edges.len(), n as usize);
    }
}
