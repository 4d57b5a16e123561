//! Cycle existence per model (Elle's "cycle exists" cases): a model holds
//! only if the dependency graph projected onto the edges it constrains is
//! acyclic, which linear-time peeling decides without naming a cycle.
//!
//! Why: searching for a named cycle can run out of budget, but whether a
//! component proves a model impossible is always cheap to know. The results
//! also tell the searches which classes cannot be there. Snapshot isolation's
//! projection is Elle's "sequential extension" of ww/wr by rw: cycles whose rw
//! edges are never adjacent. It is decided exactly on a doubled graph whose
//! node copies remember whether the last edge was rw.

use super::graph::{ALL, DATA, PROCESS, REALTIME, RW, WR, WW};
use super::search::Scope;

/// A model's projection: edge kinds, and whether rw edges must be non-adjacent.
#[derive(Clone, Copy, Debug)]
pub struct Projection {
    /// Canonical model name (see [`super::models`]).
    pub model: &'static str,
    pub mask: u8,
    pub nonadjacent_rw: bool,
}

const fn p(model: &'static str, mask: u8, nonadjacent_rw: bool) -> Projection {
    Projection {
        model,
        mask,
        nonadjacent_rw,
    }
}

const WWR: u8 = WW | WR;
const PR: u8 = PROCESS | REALTIME;

/// Every projection, weakest model first (Elle's order).
pub const PROJECTIONS: &[Projection] = &[
    p("PL-1", WW, false),
    p("PL-2", WWR, false),
    p("PL-SI", WWR | RW, true),
    p("PL-2.99", DATA, false),
    p("strong-session-PL-1", WW | PROCESS, false),
    p("strong-session-PL-2", WWR | PROCESS, false),
    p("strong-session-snapshot-isolation", WWR | RW | PROCESS, true),
    p("strong-session-serializable", DATA | PROCESS, false),
    p("strong-PL-1", WW | PR, false),
    p("strong-PL-2", WWR | PR, false),
    p("strong-snapshot-isolation", WWR | RW | PR, true),
    p("PL-SS", ALL, false),
];

/// Whether component `ci` holds a cycle in projection `p`.
pub fn cyclic(scope: &Scope, ci: u32, p: &Projection) -> bool {
    let c = &scope.comps[ci as usize];
    // Node copies: 2i (last edge not rw), 2i + 1 (last edge rw; only with nonadjacent_rw).
    let copies = if p.nonadjacent_rw { 2 } else { 1 };
    let node =
        |v: u32, last_rw: bool| scope.pos[v as usize] as usize * copies + usize::from(last_rw && copies == 2);
    // Product edges out of copy (v, last_rw) along edge kind k, as the target copy.
    let target = |last_rw: bool, k: u8| -> Option<bool> {
        if k & p.mask == 0 {
            return None;
        }
        match (p.nonadjacent_rw, k == RW) {
            (false, _) => Some(false),
            (true, false) => Some(false),
            (true, true) if last_rw => None,
            (true, true) => Some(true),
        }
    };
    let mut indeg = vec![0u32; c.len() * copies];
    for &v in c {
        for (_, e) in scope.inner(v, ci) {
            for from_rw in [false, true].into_iter().take(copies) {
                if let Some(t) = target(from_rw, e.kind) {
                    indeg[node(e.to, t)] += 1;
                }
            }
        }
    }
    let mut stack: Vec<(u32, bool)> = Vec::new();
    for &v in c {
        for last in [false, true].into_iter().take(copies) {
            if indeg[node(v, last)] == 0 {
                stack.push((v, last));
            }
        }
    }
    let mut removed = 0usize;
    while let Some((v, last)) = stack.pop() {
        removed += 1;
        for (_, e) in scope.inner(v, ci) {
            if let Some(t) = target(last, e.kind) {
                let k = node(e.to, t);
                indeg[k] -= 1;
                if indeg[k] == 0 {
                    stack.push((e.to, t));
                }
            }
        }
    }
    removed < indeg.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::elle::graph::{edge as e, Edge, Graph};

    fn which(edges: Vec<Edge>, n: usize) -> Vec<&'static str> {
        let g = Graph::build(n, edges);
        let s = Scope::new(&g, vec![(0..n as u32).collect()]);
        PROJECTIONS
            .iter()
            .filter(|p| cyclic(&s, 0, p))
            .map(|p| p.model)
            .collect()
    }

    #[test]
    fn write_skew_is_not_a_snapshot_isolation_cycle() {
        let m = which(vec![e(0, 1, RW), e(1, 0, RW)], 2);
        assert!(
            !m.contains(&"PL-SI") && m.contains(&"PL-2.99") && m.contains(&"PL-SS"),
            "{m:?}"
        );
    }

    #[test]
    fn nonadjacent_rw_edges_are_a_snapshot_isolation_cycle() {
        let m = which(vec![e(0, 1, RW), e(1, 2, WR), e(2, 3, RW), e(3, 0, WW)], 4);
        assert!(m.contains(&"PL-SI") && !m.contains(&"PL-2"), "{m:?}");
        let m = which(vec![e(0, 1, WW), e(1, 0, WW)], 2);
        assert_eq!(m.len(), PROJECTIONS.len());
    }

    #[test]
    fn real_time_cycles_only_show_in_strong_projections() {
        let m = which(vec![e(0, 1, REALTIME), e(1, 0, RW)], 2);
        assert_eq!(m, vec!["strong-snapshot-isolation", "PL-SS"]);
    }
}
