//! What the page's text parts share: lookups into the history by op index (with each op's
//! invocation/completion partner) and links to an op on the timeline.

use super::escape::{short, truncate};
use crate::history::{History, Op, OpType};
use std::collections::HashMap;
use std::fmt::Write;

/// Lookups into the history by index, and invocation/completion partners.
pub(super) struct Ctx<'a> {
    h: &'a History,
    pos: HashMap<u64, usize>,
    partner: Vec<Option<usize>>,
}

impl<'a> Ctx<'a> {
    pub(super) fn new(h: &'a History) -> Ctx<'a> {
        let pos = h.ops.iter().enumerate().map(|(i, o)| (o.index, i)).collect();
        let mut partner = vec![None; h.ops.len()];
        let mut open: HashMap<crate::history::Process, usize> = HashMap::new();
        for (i, o) in h.ops.iter().enumerate() {
            if o.ty == OpType::Invoke {
                open.insert(o.process, i);
            } else if let Some(j) = open.remove(&o.process) {
                partner[i] = Some(j);
                partner[j] = Some(i);
            }
        }
        Ctx { h, pos, partner }
    }

    pub(super) fn op(&self, index: u64) -> Option<&'a Op> {
        self.pos.get(&index).map(|&p| &self.h.ops[p])
    }

    /// The invocation and completion of the op at `index` (either may be missing).
    pub(super) fn pair(&self, index: u64) -> (Option<&'a Op>, Option<&'a Op>) {
        let Some(&p) = self.pos.get(&index) else {
            return (None, None);
        };
        let (inv, cmp) = match self.h.ops[p].ty {
            OpType::Invoke => (Some(p), self.partner[p]),
            _ => (self.partner[p], Some(p)),
        };
        (inv.map(|i| &self.h.ops[i]), cmp.map(|c| &self.h.ops[c]))
    }

    /// `p3 write k1 5 → ok 5`, from the invocation and completion of the op
    /// at `index`; values past [`SHOWN_CHARS`] are shortened with their size.
    pub(super) fn describe(&self, index: u64) -> String {
        let (inv, cmp) = self.pair(index);
        let Some(o) = inv.or(cmp) else {
            return format!("op {index} (not in the history)");
        };
        let mut s = format!("p{} {}", o.process, truncate(&o.f, 40));
        if let Some(k) = o.key_string() {
            let _ = write!(s, " {}", truncate(&k, 40));
        }
        if let Some(i) = inv.filter(|i| !i.value.is_null()) {
            let _ = write!(s, " {}", short(&i.value, SHOWN_CHARS));
        }
        match cmp {
            Some(co) => {
                let _ = write!(s, " → {}", co.ty);
                if !co.value.is_null() {
                    let _ = write!(s, " {}", short(&co.value, SHOWN_CHARS));
                }
                if let Some(e) = &co.error {
                    let _ = write!(s, " ({})", truncate(e, 60));
                }
            }
            None => s.push_str(" → pending"),
        }
        s
    }
}

/// Characters of a value an op's one-line description shows.
pub(super) const SHOWN_CHARS: usize = 80;

pub(super) fn op_link(i: u64) -> String {
    format!(r##"<a class="op-link" href="#timeline" data-op="{i}">#{i}</a>"##)
}
