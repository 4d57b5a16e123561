//! Compiling a partition for a model: every op through [`Model::prepare`]
//! (ops the model wants late, a set's reads, after the others), then the
//! model's sound reduction ([`Model::droppable`]) before the search.

use super::partition::Item;
use super::search::Entry;
use crate::history::History;
use crate::model::{Model, ModelError, OpView, Outcome, Timed};

/// A partition's compiled ops, and the items they came from (same order).
pub type Prepared<O> = (Vec<Entry<O>>, Vec<Item>);

/// Calls `f` with the model's view of item `it`.
fn with_view<R>(h: &History, it: &Item, f: impl FnOnce(&OpView<'_>) -> R) -> R {
    let inv = &h.ops[it.inv];
    let key = inv.key_string();
    f(&OpView {
        index: inv.index,
        key: key.as_deref(),
        f: &inv.f,
        input: &inv.value,
        outcome: match it.ok {
            Some(c) => Outcome::Ok(&h.ops[c].value),
            None => Outcome::Info,
        },
    })
}

/// Compiles a partition's ops for the model `m`, in history order; ops that
/// constrain nothing (an `info` read) are left out.
pub fn prepare<M: Model>(m: &mut M, h: &History, items: &[Item]) -> Result<Prepared<M::Op>, ModelError> {
    let late: Vec<bool> = items
        .iter()
        .map(|it| with_view(h, it, |v| m.prepare_late(v)))
        .collect();
    let mut ops: Vec<Option<M::Op>> = Vec::with_capacity(items.len());
    ops.resize_with(items.len(), || None);
    for pass in [false, true] {
        for (i, it) in items.iter().enumerate().filter(|(i, _)| late[*i] == pass) {
            ops[i] = with_view(h, it, |v| m.prepare(v))?;
        }
    }
    let mut entries = Vec::with_capacity(items.len());
    let mut kept = Vec::with_capacity(items.len());
    for (op, it) in ops.into_iter().zip(items) {
        if let Some(op) = op {
            entries.push(Entry {
                op,
                call: it.inv,
                ret: it.ok,
            });
            kept.push(*it);
        }
    }
    Ok((entries, kept))
}

/// Leaves out the ops the model shows cannot change the verdict (see
/// [`crate::model::drop_unobserved`]); returns how many it left out.
pub fn reduce<M: Model>(m: &M, (entries, items): Prepared<M::Op>) -> (Prepared<M::Op>, usize) {
    let timed: Vec<Timed<'_, M::Op>> = entries
        .iter()
        .map(|e| Timed {
            op: &e.op,
            call: e.call,
            ret: e.ret,
        })
        .collect();
    let out = m.droppable(&timed);
    std::mem::drop(timed);
    debug_assert!(entries.iter().zip(&out).all(|(e, d)| !d || e.ret.is_none()));
    let dropped = out.iter().filter(|d| **d).count();
    if dropped == 0 {
        return ((entries, items), 0);
    }
    let (entries, items) = entries
        .into_iter()
        .zip(items)
        .zip(&out)
        .filter(|(_, d)| !**d)
        .map(|(x, _)| x)
        .unzip();
    ((entries, items), dropped)
}
