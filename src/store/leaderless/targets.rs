//! Which nodes a request goes to: the key's N home replicas, or with a sloppy
//! quorum the next healthy nodes on the ring in place of the unreachable ones
//! (each such fallback carries a hint naming the home node it stands in for).

use super::health::Health;
use super::ring::Ring;
use super::types::NodeId;
use super::Core;
use crate::store::ops::Outcome;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub node: NodeId,
    /// The home node this one stands in for (sloppy quorum only).
    pub hint: Option<NodeId>,
}

/// The targets of a request on `key` as `me` sees the cluster now.
/// Strict: the N home nodes, reachable or not. Sloppy: each home node `me`
/// believes down is replaced by the nearest healthy fallback (fewer than N
/// targets when there are not enough healthy nodes).
pub fn targets(ring: &Ring, health: &Health, me: &str, key: &str, n: usize, sloppy: bool) -> Vec<Target> {
    let arc = ring.arc_of(key);
    let up = |x: &str| x == me || health.is_up(x);
    let mut fallbacks = ring.walk(arc).skip(n).filter(|x| up(x));
    let mut out = Vec::with_capacity(n);
    for home in ring.walk(arc).take(n) {
        if !sloppy || up(home) {
            out.push(Target {
                node: home.clone(),
                hint: None,
            });
        } else if let Some(f) = fallbacks.next() {
            out.push(Target {
                node: f.clone(),
                hint: Some(home.clone()),
            });
        }
    }
    out
}

/// The next healthy fallback for `key` beyond the home nodes that is not
/// already `taken` (a sloppy quorum recruiting for a silent target).
pub fn recruit(ring: &Ring, health: &Health, key: &str, n: usize, taken: &[&NodeId]) -> Option<NodeId> {
    ring.walk(ring.arc_of(key))
        .skip(n)
        .find(|x| health.is_up(x) && !taken.contains(x))
        .cloned()
}

impl Core {
    /// The targets of a request on `key` needing `need` answers (`q` is "W"
    /// or "R"), or the `fail` that refuses it before anything is sent: fewer
    /// than `need` targets are believed reachable.
    pub(super) fn targets_for(&self, key: &str, need: usize, q: &str) -> Result<Vec<Target>, Outcome> {
        let me = &self.cfg.id;
        let ts = targets(
            self.store.ring(),
            &self.health,
            me,
            key,
            self.cfg.n,
            self.cfg.sloppy_quorum,
        );
        let reachable = ts
            .iter()
            .filter(|t| t.node == *me || self.health.is_up(&t.node))
            .count();
        if reachable < need {
            let reason = format!(
                "unavailable: {reachable} of the {} replicas of {key} are reachable, {q}={need}",
                self.cfg.n
            );
            return Err(Outcome::Fail { reason });
        }
        Ok(ts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sloppy_targets_replace_down_homes_with_the_nearest_healthy_fallbacks() {
        let nodes: Vec<NodeId> = (1..=5).map(|i| format!("n{i}")).collect();
        let ring = Ring::new(&nodes, 16);
        let key = "some-key";
        let walk: Vec<NodeId> = ring.walk(ring.arc_of(key)).cloned().collect();
        let mut h = Health::default();
        let me = walk[0].clone();
        let strict = targets(&ring, &h, &me, key, 3, false);
        assert_eq!(
            strict.iter().map(|t| &t.node).collect::<Vec<_>>(),
            walk[..3].iter().collect::<Vec<_>>()
        );
        h.mark_down(&walk[1], 0);
        h.mark_down(&walk[3], 0);
        // Strict quorums still target the home nodes.
        assert_eq!(targets(&ring, &h, &me, key, 3, false), strict);
        let sloppy = targets(&ring, &h, &me, key, 3, true);
        assert_eq!(
            sloppy,
            vec![
                Target {
                    node: walk[0].clone(),
                    hint: None
                },
                Target {
                    node: walk[4].clone(),
                    hint: Some(walk[1].clone())
                },
                Target {
                    node: walk[2].clone(),
                    hint: None
                },
            ],
            "walk[3] is down too, so walk[4] stands in for walk[1]"
        );
        assert_eq!(recruit(&ring, &h, key, 3, &[&walk[4]]), None);
        h.mark_up(&walk[3]);
        assert_eq!(recruit(&ring, &h, key, 3, &[]), Some(walk[3].clone()));
    }
}
