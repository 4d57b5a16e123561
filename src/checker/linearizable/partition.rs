//! From a history to per-key lists of completed client operations.
//!
//! Real-time order comes from history positions (the history is in the order
//! things happened), not from the `time` field, so imported logs without
//! times work. `fail` ops are left out (they constrain nothing); pending
//! invocations count as `info`.

use crate::history::{pair, History, OpType, PairingError};
use std::collections::HashMap;

/// One client operation: where its invocation and completion sit.
#[derive(Clone, Copy, Debug)]
pub struct Item {
    /// Position of the invocation in `history.ops`.
    pub inv: usize,
    /// Position of an `ok` completion; `None` for `info` or pending.
    pub ok: Option<usize>,
    /// Position of an `info` completion, when there is one (for the witness).
    pub info: Option<usize>,
}

/// The ops of one key (or of the whole history).
#[derive(Clone, Debug, Default)]
pub struct Partition {
    /// The key, `None` for unkeyed ops or the unpartitioned whole.
    pub key: Option<String>,
    pub items: Vec<Item>,
}

/// Splits `h` into partitions. With `by_key` false, everything lands in one
/// partition (the model then sees keys through [`crate::model::Keyed`]).
pub fn partitions(h: &History, by_key: bool) -> Result<Vec<Partition>, PairingError> {
    let pairing = pair(h)?;
    let mut parts: Vec<Partition> = Vec::new();
    let mut by_name: HashMap<Option<String>, usize> = HashMap::new();
    for (i, op) in h.ops.iter().enumerate() {
        if op.ty != OpType::Invoke || op.process.is_nemesis() {
            continue;
        }
        let (ok, info) = match pairing.partner(i).map(|c| (c, h.ops[c].ty)) {
            Some((_, OpType::Fail)) => continue,
            Some((c, OpType::Ok)) => (Some(c), None),
            Some((c, _)) => (None, Some(c)),
            None => (None, None),
        };
        let key = if by_key { op.key_string() } else { None };
        let slot = match by_name.get(&key) {
            Some(&s) => s,
            None => {
                parts.push(Partition {
                    key: key.clone(),
                    items: Vec::new(),
                });
                by_name.insert(key, parts.len() - 1);
                parts.len() - 1
            }
        };
        parts[slot].items.push(Item { inv: i, ok, info });
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{Op, Process};
    use serde_json::json;

    #[test]
    fn splits_by_key_and_drops_fail() {
        let op = |ty, p, k: &str| Op::new(ty, Process::Client(p), "write", json!(1)).with_key(json!(k));
        let mut h = History::new(vec![
            op(OpType::Invoke, 1, "a"),
            op(OpType::Invoke, 2, "b"),
            op(OpType::Ok, 1, "a"),
            op(OpType::Fail, 2, "b"),
            op(OpType::Invoke, 3, "b"),
            op(OpType::Info, 3, "b"),
            op(OpType::Invoke, 4, "a"),
        ]);
        h.reindex();
        let p = partitions(&h, true).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].key.as_deref(), Some("a"));
        assert_eq!(p[0].items.len(), 2);
        assert_eq!(p[0].items[1].ok, None);
        assert_eq!(p[1].items.len(), 1);
        assert_eq!(p[1].items[0].info, Some(5));
        assert_eq!(partitions(&h, false).unwrap().len(), 1);
    }
}
