//! Escaping for untrusted history values. A history is untrusted input: every
//! value that reaches the page goes through [`html`] (element text and
//! attributes) or [`json_for_script`] (the data island the page's script reads).

/// Escapes text for HTML element content and double- or single-quoted attributes.
pub fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Serialises `v` for a `<script type="application/json">` island. `<`, `>`
/// and `&` become `\u003c`, `\u003e`, `\u0026`, so neither `</script>` nor
/// `<!--` can appear and end or confuse the script element; U+2028/2029 are
/// escaped too. The result is still valid JSON that parses to the same value.
pub fn json_for_script<T: serde::Serialize>(v: &T) -> String {
    let raw = serde_json::to_string(v).unwrap_or_else(|_| "null".to_string());
    let mut out = String::with_capacity(raw.len() + 64);
    for c in raw.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// Shortens `s` to at most `max` characters (on a char boundary), marking the cut with `…`.
pub fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_string(),
        Some((i, _)) => format!("{}…", &s[..i]),
    }
}

/// A value shortened to about `max` characters, saying how big it was
/// (`[1,2,3,…] (1000000 elements)`); never renders more than that.
pub fn short(v: &serde_json::Value, max: usize) -> String {
    crate::util::text::preview_text(v, max)
}

/// Pretty JSON cut at `max` bytes (a note says so), never rendering more.
pub fn pretty_bounded(v: &serde_json::Value, max: usize) -> String {
    crate::util::text::preview_pretty(v, max)
}

/// A compact one-line rendering of a JSON value (strings without quotes).
pub fn value_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn html_escapes_markup_and_quotes() {
        assert_eq!(
            html(r#"<script>alert(1)</script>"><img onerror='x'>&"#),
            "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img onerror=&#39;x&#39;&gt;&amp;"
        );
    }

    #[test]
    fn script_json_cannot_close_the_element_and_round_trips() {
        let v = json!({"v": "</script><!-- \u{2028} & <b>", "k": ["</SCRIPT>"]});
        let s = json_for_script(&v);
        assert!(!s.contains('<') && !s.contains('>') && !s.contains('&'), "{s}");
        assert!(!s.contains('\u{2028}'));
        let back: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate("héllo", 2), "hé…");
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("", 0), "");
    }
}
