//! An in-memory history (the ops plus what a reader noticed on the way).

use super::Op;
use serde::{Deserialize, Serialize};

/// Ops in history order, with any warnings a reader raised (a truncated last
/// line, say). Invariant after [`History::reindex`]: `ops[i].index == i`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    pub ops: Vec<Op>,
    /// Non-fatal problems found while reading; shown to the user.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl History {
    pub fn new(ops: Vec<Op>) -> History {
        History {
            ops,
            warnings: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.ops.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Renumbers `index` densely from 0, in the current order.
    pub fn reindex(&mut self) {
        for (i, op) in self.ops.iter_mut().enumerate() {
            op.index = i as u64;
        }
    }

    /// Client ops only (drops nemesis ops), keeping indices.
    pub fn client_ops(&self) -> impl Iterator<Item = &Op> {
        self.ops.iter().filter(|o| !o.process.is_nemesis())
    }

    /// Nemesis ops only.
    pub fn nemesis_ops(&self) -> impl Iterator<Item = &Op> {
        self.ops.iter().filter(|o| o.process.is_nemesis())
    }
}
