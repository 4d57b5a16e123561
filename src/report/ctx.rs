//! What the page's text parts share: lookups into the history by op index (with each op's
//! invocation/completion partner) and links to an op on the timeline.

use super::escape::{truncate, value_text};
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

    /// `p3 write k1 5 → ok 5`, from the invocation and completion of the op at `index`.
    pub(super) fn describe(&self, index: u64) -> String {
        let Some(&p) = self.pos.get(&index) else {
            return format!("op {index} (not in the history)");
        };
        let (inv, cmp) = match self.h.ops[p].ty {
            OpType::Invoke => (Some(p), self.partner[p]),
            _ => (self.partner[p], Some(p)),
        };
        let o = &self.h.ops[inv.or(cmp).unwrap_or(p)];
        let mut s = format!("p{} {}", o.process, o.f);
        if let Some(k) = o.key_string() {
            let _ = write!(s, " {}", truncate(&k, 40));
        }
        if let Some(i) = inv {
            if !self.h.ops[i].value.is_null() {
                let _ = write!(s, " {}", truncate(&value_text(&self.h.ops[i].value), 80));
            }
        }
        match cmp {
            Some(c) => {
                let co = &self.h.ops[c];
                let _ = write!(s, " → {}", co.ty);
                if !co.value.is_null() {
                    let _ = write!(s, " {}", truncate(&value_text(&co.value), 80));
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

pub(super) fn op_link(i: u64) -> String {
    format!(r##"<a class="op-link" href="#timeline" data-op="{i}">#{i}</a>"##)
}
