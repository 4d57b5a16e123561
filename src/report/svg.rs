//! Small inline SVG drawings of dependency cycles (Elle): txns on a circle,
//! labelled arrows between them. All text is escaped; no script, no links out.

use super::escape::{html, truncate};
use super::witness::Cycle;
use std::fmt::Write;

/// Most txns drawn; a longer cycle is listed in full in the table beside it.
const MAX_NODES: usize = 12;

/// Draws `c` as an SVG element. Node ids that are history indices become
/// `data-op` attributes the page's script links to the timeline.
pub fn cycle(c: &Cycle) -> String {
    let nodes: Vec<&(String, String)> = c.nodes.iter().take(MAX_NODES).collect();
    let n = nodes.len().max(1);
    let r = if n <= 2 { 70.0 } else { 60.0 + 18.0 * n as f64 };
    let (w, h) = (2.0 * r + 200.0, 2.0 * r + 90.0);
    let (cx, cy) = (w / 2.0, h / 2.0);
    let pos = |i: usize| -> (f64, f64) {
        let a = -std::f64::consts::FRAC_PI_2 + 2.0 * std::f64::consts::PI * i as f64 / n as f64;
        (cx + r * a.cos(), cy + r * a.sin())
    };
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg class="cycle" xmlns="http://www.w3.org/2000/svg" width="{w:.0}" height="{h:.0}" viewBox="0 0 {w:.0} {h:.0}" role="img"><defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#444"/></marker></defs>"##
    );
    let idx = |id: &str| nodes.iter().position(|(n, _)| n == id);
    for (from, to, label) in &c.edges {
        let (Some(a), Some(b)) = (idx(from), idx(to)) else {
            continue;
        };
        let ((x1, y1), (x2, y2)) = (pos(a), pos(b));
        let (dx, dy) = (x2 - x1, y2 - y1);
        let len = (dx * dx + dy * dy).sqrt().max(1.0);
        // Shorten to the node circles (radius 22) and bow the edge outward so a↔b pairs don't overlap.
        let (ux, uy) = (dx / len, dy / len);
        let (sx, sy, ex, ey) = (x1 + ux * 24.0, y1 + uy * 24.0, x2 - ux * 24.0, y2 - uy * 24.0);
        let bow = if a == b { 0.0 } else { 0.18 * len };
        let (mx, my) = ((sx + ex) / 2.0 + uy * bow, (sy + ey) / 2.0 - ux * bow);
        let _ = write!(
            s,
            r##"<path d="M{sx:.1},{sy:.1} Q{mx:.1},{my:.1} {ex:.1},{ey:.1}" fill="none" stroke="#444" stroke-width="1.5" marker-end="url(#arrow)"/><text class="edge-label" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            (sx + ex) / 4.0 + mx / 2.0,
            (sy + ey) / 4.0 + my / 2.0 - 3.0,
            html(&truncate(label, 28))
        );
    }
    for (i, (id, detail)) in nodes.iter().enumerate() {
        let (x, y) = pos(i);
        let data_op = if id.parse::<u64>().is_ok() {
            format!(r#" data-op="{}""#, html(id))
        } else {
            String::new()
        };
        let _ = write!(
            s,
            r##"<g class="txn"{data_op}><title>{}</title><circle cx="{x:.1}" cy="{y:.1}" r="22" fill="#fff3e0" stroke="#e65100" stroke-width="2"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">T{}</text></g>"##,
            html(&truncate(detail, 300)),
            y + 4.0,
            html(&truncate(id, 8))
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_every_edge_and_escapes_labels() {
        let c = Cycle {
            nodes: vec![("1".into(), "<b>".into()), ("x\"y".into(), String::new())],
            edges: vec![
                ("1".into(), "x\"y".into(), "wr <k>=1".into()),
                ("x\"y".into(), "1".into(), "rw".into()),
            ],
        };
        let s = cycle(&c);
        assert_eq!(s.matches("marker-end=").count(), 2, "one arrow per edge");
        assert!(s.contains("wr &lt;k&gt;=1") && s.contains("&lt;b&gt;") && s.contains("x&quot;y"));
        assert!(s.contains(r#"data-op="1""#));
        assert!(!s.contains("<b>"));
    }
}
