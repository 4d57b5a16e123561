//! Quoting untrusted values in messages: a history field can hold megabytes,
//! and an error or a report line that repeats it whole is unreadable (and
//! costs as much memory again). Everything here is bounded by its `max`.

use serde_json::Value;
use std::fmt::Write as _;
use std::io;

/// Characters of a field value an error message quotes at most.
pub const QUOTE_CHARS: usize = 200;

/// `s` cut to at most `max` characters (on a char boundary); a cut says how
/// long the whole was: `abc… (1234 chars)`.
pub fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_string(),
        Some((i, _)) => format!("{}… ({} chars)", &s[..i], s.chars().count()),
    }
}

/// The compact JSON text of `v`, cut to about `max` bytes without ever
/// serialising more than that: `[1,2,3,…] (1000000 elements)` for a long
/// array, `"abc…" (10000000 chars)` for a long string.
pub fn preview(v: &Value, max: usize) -> String {
    let (mut s, cut) = json_cut(v, max, false);
    if cut {
        s.push('…');
        match v {
            Value::Array(a) => {
                let _ = write!(s, " ({} elements)", a.len());
            }
            Value::Object(m) => {
                let _ = write!(s, " ({} fields)", m.len());
            }
            Value::String(x) => {
                let _ = write!(s, " ({} chars)", x.chars().count());
            }
            _ => {}
        }
    }
    s
}

/// The first `max` bytes of `v`'s JSON (pretty or compact), never
/// serialising more, and whether that cut it.
fn json_cut(v: &Value, max: usize, pretty: bool) -> (String, bool) {
    let mut w = Bounded {
        buf: Vec::with_capacity(max.min(1 << 16) + 8),
        max,
        cut: false,
    };
    // The writer refuses bytes past `max`; that error only means "cut".
    let _ = if pretty {
        serde_json::to_writer_pretty(&mut w, v)
    } else {
        serde_json::to_writer(&mut w, v)
    };
    let mut s = String::from_utf8_lossy(&w.buf).into_owned();
    if w.cut {
        // Drop a partial UTF-8 sequence's replacement char at the cut.
        while s.ends_with('\u{fffd}') {
            s.pop();
        }
    }
    (s, w.cut)
}

/// `v` itself when its JSON fits in `max` bytes, else its [`preview`] as a
/// string: what checker evidence (anomaly data) holds of a value, so a
/// million-element read is not copied into every anomaly that names it.
pub fn bounded(v: &Value, max: usize) -> Value {
    if is_longer(v, max) {
        Value::String(preview(v, max))
    } else {
        v.clone()
    }
}

/// True when [`preview_text`] would shorten `v` to `max`.
pub fn is_longer(v: &Value, max: usize) -> bool {
    match v {
        Value::String(s) => s.chars().nth(max).is_some(),
        other => json_cut(other, max, false).1,
    }
}

/// Pretty-printed JSON of `v`, cut at `max` bytes with a note saying so.
pub fn preview_pretty(v: &Value, max: usize) -> String {
    let (mut s, cut) = json_cut(v, max, true);
    if cut {
        s.push_str("\n… (cut here)");
    }
    s
}

/// [`preview`] with strings unquoted (for people, not for parsers).
pub fn preview_text(v: &Value, max: usize) -> String {
    match v {
        Value::String(s) => clip(s, max),
        other => preview(other, max),
    }
}

/// A writer that keeps the first `max` bytes and then fails.
struct Bounded {
    buf: Vec<u8>,
    max: usize,
    cut: bool,
}

impl io::Write for Bounded {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = self.max - self.buf.len();
        if data.len() > room {
            self.buf.extend_from_slice(&data[..room]);
            self.cut = true;
            return Err(io::Error::other("cut"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn clip_counts_what_it_cut() {
        assert_eq!(clip("héllo", 5), "héllo");
        assert_eq!(clip("héllo", 2), "hé… (5 chars)");
    }

    #[test]
    fn preview_is_bounded_and_says_how_big_the_value_was() {
        assert_eq!(preview(&json!([1, 2]), 100), "[1,2]");
        let big: Vec<u32> = (0..1_000_000).collect();
        let p = preview(&json!(big), 20);
        assert!(
            p.starts_with("[0,1,2,3,4,5,6,7,8,9") && p.ends_with("… (1000000 elements)"),
            "{p}"
        );
        let s = "é".repeat(1000);
        let p = preview(&json!(s), 11);
        assert!(p.starts_with("\"éééé") && p.ends_with("… (1000 chars)"), "{p}");
        assert_eq!(preview_text(&json!("abc"), 10), "abc");
    }
}
