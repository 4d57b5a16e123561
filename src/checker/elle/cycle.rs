//! Cycle search: strongly connected components (petgraph's Tarjan), then in
//! each component, as Elle does: which models' projections are cyclic
//! ([`exists`]), and a search for each anomaly class in turn ([`search`]),
//! skipping classes implied by one already found there or impossible given the
//! projections. A search that runs out of budget leaves its component's
//! "cycle exists" cases and one fallback cycle of whatever class to report.
//!
//! Why the peeling first: in a valid history the graph is acyclic, and
//! repeatedly removing nodes with no in-edges (then no out-edges) empties it
//! in linear time, so Tarjan only ever sees the tangled remainder. Tarjan in
//! petgraph 0.6 is recursive, so it runs on a thread with a stack sized to the
//! remainder.

use super::classify::classify_cycle;
use super::exists::{self, PROJECTIONS};
use super::graph::{Edge, Graph, PROCESS, REALTIME};
use super::models;
use super::search::{self, Budget, Outcome, Scope, SPECS};
use super::ElleError;
use petgraph::graph::{DiGraph, NodeIndex};
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// Edge relaxations one search of one component may spend (a deterministic
/// bound, so results do not depend on machine load; the time budget is the
/// backstop).
pub const SEARCH_WORK: u64 = 40_000_000;

/// A found cycle: its kind and its edges in order (each edge's `to` is the
/// next edge's `from`; the last edge returns to the first's `from`).
#[derive(Clone, Debug)]
pub struct Cycle {
    pub kind: String,
    pub edges: Vec<Edge>,
}

/// A component whose projection onto a model's edges is cyclic.
#[derive(Clone, Debug)]
pub struct Exists {
    /// Canonical model name.
    pub model: &'static str,
    /// The component's transactions.
    pub nodes: Vec<u32>,
}

/// A search that ran out of budget.
#[derive(Clone, Debug)]
pub struct Timeout {
    pub kind: &'static str,
    pub scc_size: usize,
}

/// What the search found.
#[derive(Debug, Default)]
pub struct Found {
    pub cycles: Vec<Cycle>,
    pub exists: Vec<Exists>,
    pub timeouts: Vec<Timeout>,
    /// False when the overall deadline cut the search short.
    pub finished: bool,
}

/// Budgets and which edge kinds the graph has.
#[derive(Clone, Copy, Debug)]
pub struct SearchOptions {
    pub per_search: Duration,
    pub work: u64,
    pub deadline: Option<Instant>,
    pub process: bool,
    pub realtime: bool,
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

/// Searches every component for every anomaly class.
pub fn find_cycles(g: &Graph, comps: Vec<Vec<u32>>, o: &SearchOptions) -> Found {
    let scope = Scope::new(g, comps);
    let mut found = Found {
        finished: true,
        ..Found::default()
    };
    let over = |d: Option<Instant>| d.is_some_and(|d| Instant::now() > d);
    for ci in 0..scope.comps.len() as u32 {
        if over(o.deadline) {
            found.finished = false;
            break;
        }
        let cyclic: Vec<bool> = PROJECTIONS
            .iter()
            .map(|p| exists::cyclic(&scope, ci, p))
            .collect();
        let mut impossible: HashSet<&'static str> = HashSet::new();
        for (p, &c) in PROJECTIONS.iter().zip(&cyclic) {
            if c && !impossible.contains(p.model) {
                found.exists.push(Exists {
                    model: p.model,
                    nodes: scope.comps[ci as usize].clone(),
                });
                impossible.extend(models::above([p.model]));
            }
        }
        let is_cyclic = |model: &str| {
            PROJECTIONS
                .iter()
                .zip(&cyclic)
                .any(|(p, &c)| c && p.model == model)
        };
        let mut implied: HashSet<String> = HashSet::new();
        let mut ran_out = false;
        for spec in SPECS {
            let needs_process = spec.kind.ends_with("-process");
            let needs_realtime = spec.kind.ends_with("-realtime");
            if (needs_process && !o.process) || (needs_realtime && !o.realtime) {
                continue;
            }
            if implied.contains(spec.kind) || !is_cyclic(spec.projection) {
                continue;
            }
            let now = Instant::now();
            let local = Some(now + o.per_search);
            let mut budget = Budget {
                work: o.work,
                deadline: match o.deadline {
                    Some(d) if d < now + o.per_search => Some(d),
                    _ => local,
                },
            };
            match search::search(&scope, ci, spec, &mut budget) {
                Outcome::Found(edges) => {
                    implied.extend(models::implied_by(spec.kind));
                    found.cycles.push(Cycle {
                        kind: spec.kind.to_string(),
                        edges,
                    });
                }
                Outcome::Exhausted => {}
                Outcome::OutOfBudget => {
                    ran_out = true;
                    found.timeouts.push(Timeout {
                        kind: spec.kind,
                        scc_size: scope.comps[ci as usize].len(),
                    });
                    if over(o.deadline) {
                        found.finished = false;
                        break;
                    }
                }
            }
        }
        if ran_out {
            if let Some(edges) = search::any_cycle(&scope, ci) {
                let kind = classify_cycle(&edges);
                let usable = edges
                    .iter()
                    .all(|e| (e.kind != PROCESS || o.process) && (e.kind != REALTIME || o.realtime));
                if usable && !implied.contains(&kind) {
                    found.cycles.push(Cycle { kind, edges });
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::elle::graph::{edge as e, RW, WR, WW};

    fn opts() -> SearchOptions {
        SearchOptions {
            per_search: Duration::from_secs(60),
            work: SEARCH_WORK,
            deadline: None,
            process: true,
            realtime: true,
        }
    }

    fn kinds(f: &Found) -> Vec<&str> {
        f.cycles.iter().map(|c| c.kind.as_str()).collect()
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
        let f = find_cycles(&g, c, &opts());
        assert!(f.finished && f.timeouts.is_empty());
        assert_eq!(kinds(&f), vec!["G-single", "G0"]);
        for cy in &f.cycles {
            for w in cy.edges.windows(2) {
                assert_eq!(w[0].to, w[1].from);
            }
            assert_eq!(cy.edges.last().unwrap().to, cy.edges[0].from);
        }
        let models: Vec<&str> = f.exists.iter().map(|x| x.model).collect();
        // Repeatable read does not imply snapshot isolation: both projections are named.
        assert_eq!(models, vec!["PL-SI", "PL-2.99", "PL-1"]);
    }

    #[test]
    fn every_class_in_a_component_is_named_unless_implied() {
        // 0 -rw-> 1 -rt-> 0 (G-single-realtime); 2 -rw-> 3 -rw-> 2 (G2-item); 0 -ww-> 2 -ww-> 0 joins them.
        let g = Graph::build(
            4,
            vec![
                e(0, 1, RW),
                e(1, 0, REALTIME),
                e(2, 3, RW),
                e(3, 2, RW),
                e(0, 2, WR),
                e(2, 0, WR),
            ],
        );
        let c = sccs(&g).unwrap();
        assert_eq!(c.len(), 1);
        let f = find_cycles(&g, c, &opts());
        // G1c (0 <-> 2) implies G1c-process/-realtime but not G2-item or G-single-realtime.
        assert_eq!(kinds(&f), vec!["G1c", "G2-item", "G-single-realtime"]);
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
        let f = find_cycles(&g, c, &opts());
        assert_eq!(kinds(&f), vec!["G-single-realtime"]);
        assert_eq!(f.cycles[0].edges.len(), 4);
    }

    #[test]
    fn a_huge_component_does_not_overflow_the_stack() {
        let n = 300_000u32;
        let edges: Vec<Edge> = (0..n).map(|i| e(i, (i + 1) % n, WW)).collect();
        let g = Graph::build(n as usize, edges);
        let c = sccs(&g).unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].len(), n as usize);
        let f = find_cycles(&g, c, &opts());
        assert_eq!(f.cycles[0].kind, "G0");
        assert_eq!(f.cycles[0].edges.len(), n as usize);
    }

    #[test]
    fn out_of_budget_leaves_cycle_exists_and_a_fallback() {
        // A ring of rw edges with ww chords: G2-item needs a long search.
        let n = 3000u32;
        let mut edges: Vec<Edge> = (0..n).map(|i| e(i, (i + 1) % n, RW)).collect();
        edges.extend((0..n).map(|i| e(i, (i + 2) % n, WW)));
        let g = Graph::build(n as usize, edges);
        let c = sccs(&g).unwrap();
        let o = SearchOptions { work: 50, ..opts() };
        let f = find_cycles(&g, c, &o);
        assert!(!f.timeouts.is_empty());
        assert!(f.finished);
        assert!(!f.cycles.is_empty(), "a fallback cycle is reported");
        assert!(f.exists.iter().any(|x| x.model == "PL-1"));
    }
}
