//! List-append analysis: [`scan`] (one pass over the transactions), [`edges`]
//! (version orders, including where unobserved appends go, and the ww/wr/rw
//! edges) and [`lost`] (lost appends and lost updates).

pub mod edges;
pub mod lost;
pub mod scan;

use super::txn::Txn;
use super::{Analysis, ElleError};
use crate::history::History;
use serde_json::json;

/// Analyses a list-append history. `realtime`: whether real-time order is
/// assumed (lost appends are judged against it).
pub fn analyze(h: &History, txns: &[Txn], realtime: bool) -> Result<Analysis, ElleError> {
    let mut s = scan::scan(h, txns)?;
    let built = edges::build(&mut s, txns);
    if realtime {
        lost::lost_appends(&mut s, txns);
    }
    lost::lost_updates(&mut s, txns);
    let mut stats = serde_json::Map::new();
    stats.insert("appends".into(), json!(s.writers.len()));
    stats.insert("reads".into(), json!(s.reads.len()));
    stats.insert("keys".into(), json!(s.longest.len()));
    stats.insert("duplicate_appends".into(), json!(s.dup_appends));
    stats.insert("unknown_elements".into(), json!(built.unknown_elements));
    stats.insert("unobserved_appends".into(), json!(built.unobserved_appends));
    stats.insert("unobserved_append_edges".into(), json!(built.unobserved_edges));
    Ok(Analysis {
        edges: built.edges,
        found: s.found,
        interner: s.int,
        stats,
        complete: built.complete,
    })
}
