//! Lost writes of list-append histories.
//!
//! `lost-append`: an acknowledged (`ok`) append that no read ever observed,
//! while some `ok` read of its key began after the append's transaction
//! completed. That read must include the element under any model with
//! real-time order (strict serializability, strong snapshot isolation); it does
//! not, and nothing ever shows the element: the write was lost. The same facts
//! form a G-single-realtime cycle through the placement of unobserved appends
//! (append → realtime → reader → rw → append); this names it plainly, with the
//! ops that prove it. Not Elle's name: Elle's `lost-update` is the next one.
//!
//! `lost-update` (Adya, as Elle checks it): two committed txns read the same
//! version of a key and both appended to it; serially the second must have
//! seen the first's append.

use super::super::atom::FxMap;
use super::super::txn::{Status, Txn};
use super::scan::{list_json, show_list, Scan};
use serde_json::json;

/// Reports lost appends (needs real-time order: call only when it is assumed).
pub fn lost_appends(s: &mut Scan, txns: &[Txn]) {
    let mut lost: Vec<(u64, u32)> = s
        .writers
        .iter()
        .filter(|(_, w)| !w.observed && txns[w.txn as usize].status == Status::Ok)
        .map(|(&kv, w)| (kv, w.txn))
        .collect();
    if lost.is_empty() {
        return;
    }
    lost.sort_unstable();
    // Key → (invocation position, txn, index into s.reads) of its ok reads, by invocation.
    let mut by_key: FxMap<u32, Vec<(usize, u32, usize)>> = lost
        .iter()
        .map(|&(kv, _)| ((kv >> 32) as u32, Vec::new()))
        .collect();
    for (i, r) in s.reads.iter().enumerate() {
        if let Some(v) = by_key.get_mut(&r.key) {
            v.push((txns[r.txn as usize].invoke_pos, r.txn, i));
        }
    }
    for v in by_key.values_mut() {
        v.sort_unstable();
    }
    for (kv, t) in lost {
        let (key, v) = ((kv >> 32) as u32, kv as u32);
        let Some(done) = txns[t as usize].ok_pos else {
            continue;
        };
        let Some(rs) = by_key.get(&key) else { continue };
        let first = rs.partition_point(|&(inv, _, _)| inv <= done);
        let Some(&(_, rt, ri)) = rs.get(first) else {
            continue;
        };
        let later = rs.len() - first;
        let (wop, rop) = (txns[t as usize].op, txns[rt as usize].op);
        let r = &s.reads[ri];
        let read: Vec<u32> = if r.ok {
            s.longest[&key].0[..r.len as usize].to_vec()
        } else {
            Vec::new()
        };
        let int = &s.int;
        let shown = if r.ok {
            show_list(int, &read)
        } else {
            "a list incompatible with the other reads".to_string()
        };
        s.found.push(
            "lost-append",
            format!(
                "op {wop} appended {} to {} and was acknowledged, but no read ever observed it: op {rop} \
                 began after op {wop} completed and read {} = {shown} without it ({later} read{} of {} began \
                 after it completed; none saw {}). The append was lost.",
                int.show(v),
                int.show(key),
                int.show(key),
                if later == 1 { "" } else { "s" },
                int.show(key),
                int.show(v),
            ),
            vec![wop, rop],
            json!({"key": int.json(key), "element": int.json(v), "writer": wop, "reader": rop,
                   "read": list_json(int, &read), "later_reads": later}),
        );
    }
}

/// Reports lost updates: `ok` txns that read the same state of a key and then appended to it.
pub fn lost_updates(s: &mut Scan, txns: &[Txn]) {
    let mut groups: FxMap<(u32, u32), Vec<u32>> = FxMap::default();
    for &(key, len, t) in &s.read_then_append {
        let prefix_ok = s.longest.get(&key).is_some_and(|(l, _)| len as usize <= l.len());
        if prefix_ok {
            groups.entry((key, len)).or_default().push(t);
        }
    }
    let mut cases: Vec<((u32, u32), Vec<u32>)> = groups.into_iter().filter(|(_, ts)| ts.len() > 1).collect();
    cases.sort_unstable();
    for ((key, len), ts) in cases {
        let int = &s.int;
        let value = &s.longest[&key].0[..len as usize];
        let ops: Vec<u64> = ts.iter().map(|&t| txns[t as usize].op).collect();
        let names: Vec<String> = ops.iter().map(|o| format!("op {o}")).collect();
        s.found.push(
            "lost-update",
            format!(
                "{} all read {} = {} and then appended to it; serially each would have seen the other's append (lost update)",
                names.join(", "),
                int.show(key),
                show_list(int, value)
            ),
            ops.clone(),
            json!({"key": int.json(key), "value": list_json(int, value), "txns": ops}),
        );
    }
}
