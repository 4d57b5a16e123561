//! The "Per-shard load" section of report.html: ops per group of a sharded
//! store, as a table with inline bars, so a partitioner's hot spot (every key
//! in one alphabetical range) is plain to see; after a rebalance, the same per
//! routing epoch, so a moved range or an added group shows as load shifting.

use crate::store::shard::ShardLoad;

/// The section (nothing for a store that is not sharded).
pub fn section(b: &mut String, load: Option<&ShardLoad>) {
    use std::fmt::Write;
    let Some(l) = load else { return };
    let total: u64 = l.groups.iter().map(|g| g.invoked).sum();
    let _ = write!(
        b,
        r#"<section id="shards"><h2>Per-shard load</h2><p>{} groups, partitioner <code>{}</code>: the busiest group took {:.0}% of the ops (an even spread is {:.0}%).</p><table class="grid"><tr><th>group</th><th>ops</th><th>ok</th><th>share</th></tr>"#,
        l.groups.len(),
        serde_json::to_value(l.partitioner)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default(),
        100.0 * l.hottest_share(),
        100.0 / l.groups.len().max(1) as f64
    );
    for (i, g) in l.groups.iter().enumerate() {
        let share = g.invoked as f64 / total.max(1) as f64;
        let _ = write!(
            b,
            r##"<tr><td>g{i}</td><td>{}</td><td>{}</td><td><svg width="200" height="12" role="img" aria-label="{:.0}%"><rect width="{:.1}" height="12" fill="#4a7"/></svg> {:.0}%</td></tr>"##,
            g.invoked,
            g.ok,
            100.0 * share,
            200.0 * share,
            100.0 * share
        );
    }
    b.push_str("</table>");
    epochs(b, l);
    if l.cross_shard > 0 {
        let _ = write!(
            b,
            "<p>{} ops spanned groups and were refused by the router.</p>",
            l.cross_shard
        );
    }
    b.push_str("</section>\n");
}

/// One row per routing epoch (when a rebalance changed the table): each group's
/// share of the ops invoked under it.
fn epochs(b: &mut String, l: &ShardLoad) {
    use std::fmt::Write;
    if l.epochs.is_empty() {
        return;
    }
    b.push_str(r#"<h3>By routing epoch</h3><table class="grid"><tr><th>epoch</th><th>from</th><th>ops</th><th>share per group</th></tr>"#);
    for e in &l.epochs {
        let total: u64 = e.groups.iter().map(|g| g.invoked).sum();
        let shares: Vec<String> = e
            .groups
            .iter()
            .enumerate()
            .map(|(i, g)| format!("g{i} {:.0}%", 100.0 * g.invoked as f64 / total.max(1) as f64))
            .collect();
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{:.1} s</td><td>{total}</td><td>{}</td></tr>",
            e.epoch,
            e.from_ms as f64 / 1000.0,
            shares.join(" · ")
        );
    }
    b.push_str("</table>");
}
