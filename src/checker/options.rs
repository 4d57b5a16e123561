//! Options every checker may read: budgets and the evidence beside the history.

use super::Budget;
use crate::history::NodeEvents;
use std::sync::Arc;
use std::time::Duration;

/// Shared by all checkers. Budgets make a checker answer `unknown` instead of
/// hanging or exhausting memory; the default options carry the default
/// [`Budget`] (`None` means unbounded, for benchmarks that want it).
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// Wall-clock budget of the whole check ([`super::compose`] hands each
    /// checker what is left of it).
    pub time_limit: Option<Duration>,
    /// Approximate memory budget in bytes (e.g. the linearizability cache).
    pub memory_limit: Option<u64>,
    /// Model name for model-based checkers (`register`, `cas-register`, `kv`, ...).
    pub model: Option<String>,
    /// Check keyed histories per key (P-compositionality). On by default.
    pub partition: bool,
    /// The nodes' own events (ground truth for split brain, failover windows), parsed
    /// once from their logs by whoever has them (the runner, `check --node-logs`).
    /// `None` when there are no node logs: checkers then judge from the history alone.
    pub node_events: Option<Arc<NodeEvents>>,
    /// Worker threads for parallel checkers; 0 means rayon's default.
    pub threads: usize,
    /// Workload parameters a checker may need, e.g. `{"total": 100, "accounts": [0,1,2],
    /// "negative_allowed": false}` for bank. `null` when none.
    pub params: serde_json::Value,
}

impl Default for CheckOptions {
    fn default() -> Self {
        let budget = Budget::default();
        CheckOptions {
            time_limit: Some(budget.time),
            memory_limit: Some(budget.memory),
            model: None,
            partition: true,
            node_events: None,
            threads: 0,
            params: serde_json::Value::Null,
        }
    }
}
