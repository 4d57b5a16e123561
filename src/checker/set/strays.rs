//! Elements reads returned that no add wrote (`unexpected`), kept apart from
//! the added elements: never interned or given presence lists, only counted
//! and deduplicated by sorting, so a read of a million strays costs a few
//! bytes per element, not a hash-map entry each.

use serde_json::Value;

/// Every sighting of a stray element: (element, read rank, position in the read).
#[derive(Default)]
pub struct Strays {
    ints: Vec<(i64, u32, u32)>,
    others: Vec<(String, u32, u32)>,
}

/// A stray element as first seen.
pub struct Stray {
    pub element: Value,
    /// Rank of the first read that held it.
    pub rank: usize,
}

impl Strays {
    pub fn push(&mut self, v: &Value, rank: usize, pos: usize) {
        let (rank, pos) = (rank as u32, pos as u32);
        match v.as_i64() {
            Some(i) => self.ints.push((i, rank, pos)),
            None => self.others.push((v.to_string(), rank, pos)),
        }
    }

    /// The number of distinct strays, and the first `max` of them in the
    /// order they were first seen (read rank, then position).
    pub fn first_seen(self, max: usize) -> (usize, Vec<Stray>) {
        let ints = distinct(self.ints);
        let others = distinct(self.others);
        let count = ints.len() + others.len();
        let mut shown: Vec<(u32, u32, Value)> = first(ints, max)
            .into_iter()
            .map(|(i, r, p)| (r, p, Value::from(i)))
            .chain(
                first(others, max)
                    .into_iter()
                    .map(|(s, r, p)| (r, p, serde_json::from_str(&s).unwrap_or(Value::String(s)))),
            )
            .collect();
        shown.sort_by_key(|x| (x.0, x.1));
        shown.truncate(max);
        let shown = shown
            .into_iter()
            .map(|(r, _, element)| Stray {
                element,
                rank: r as usize,
            })
            .collect();
        (count, shown)
    }
}

/// One entry per element: its first sighting.
fn distinct<K: Ord>(mut v: Vec<(K, u32, u32)>) -> Vec<(K, u32, u32)> {
    v.sort_unstable_by(|a, b| (&a.0, a.1, a.2).cmp(&(&b.0, b.1, b.2)));
    v.dedup_by(|later, earlier| later.0 == earlier.0);
    v
}

/// The `max` earliest sightings, earliest first.
fn first<K>(mut v: Vec<(K, u32, u32)>, max: usize) -> Vec<(K, u32, u32)> {
    if v.len() > max {
        v.select_nth_unstable_by_key(max, |x| (x.1, x.2));
        v.truncate(max);
    }
    v.sort_unstable_by_key(|x| (x.1, x.2));
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn counts_distinct_and_lists_first_seen() {
        let mut s = Strays::default();
        for (v, r, p) in [
            (json!(9), 0, 3),
            (json!("x"), 0, 1),
            (json!(9), 1, 0),
            (json!(4), 2, 0),
            (json!("x"), 2, 1),
        ] {
            s.push(&v, r, p);
        }
        let (n, first) = s.first_seen(2);
        assert_eq!(n, 3);
        let got: Vec<(Value, usize)> = first.into_iter().map(|x| (x.element, x.rank)).collect();
        assert_eq!(got, vec![(json!("x"), 0), (json!(9), 0)]);
    }
}
