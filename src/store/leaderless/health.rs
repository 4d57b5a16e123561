//! A node's view of which peers are reachable: a peer is marked down when a
//! request to it goes unanswered past the replica deadline, and up again as
//! soon as anything arrives from it. Down peers are pinged so that their
//! return is noticed even when no request would reach them.
//!
//! The view is a local guess, never agreed on: two nodes may disagree, which
//! is exactly what makes sloppy quorums sloppy.

use super::types::NodeId;
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default)]
pub struct Health {
    /// Down peers and when they were last pinged.
    down: BTreeMap<NodeId, u64>,
}

impl Health {
    pub fn is_up(&self, node: &str) -> bool {
        !self.down.contains_key(node)
    }

    /// Returns true if this changed the view.
    pub fn mark_down(&mut self, node: &str, now: u64) -> bool {
        if self.down.contains_key(node) {
            return false;
        }
        self.down.insert(node.to_string(), now);
        true
    }

    /// Returns true if this changed the view.
    pub fn mark_up(&mut self, node: &str) -> bool {
        self.down.remove(node).is_some()
    }

    /// The down peers due for a ping (and notes that they got one).
    pub fn probes_due(&mut self, now: u64, interval: u64) -> Vec<NodeId> {
        let mut due = Vec::new();
        for (n, last) in self.down.iter_mut() {
            if now >= last.saturating_add(interval) {
                *last = now;
                due.push(n.clone());
            }
        }
        due
    }

    pub fn down(&self) -> Vec<NodeId> {
        self.down.keys().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn down_until_heard_from_and_pinged_at_the_interval() {
        let mut h = Health::default();
        assert!(h.is_up("n2"));
        assert!(h.mark_down("n2", 100));
        assert!(!h.mark_down("n2", 150), "already down");
        assert!(!h.is_up("n2"));
        assert!(h.probes_due(150, 100).is_empty());
        assert_eq!(h.probes_due(200, 100), vec!["n2".to_string()]);
        assert!(h.probes_due(250, 100).is_empty());
        assert!(h.mark_up("n2") && h.is_up("n2") && !h.mark_up("n2"));
    }
}
