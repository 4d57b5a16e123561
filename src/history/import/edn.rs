//! A small EDN reader: enough of the spec for Jepsen and Knossos histories.
//!
//! Supports maps, vectors, lists, sets, keywords, symbols, strings with
//! escapes, characters, integers (with `N`), floats (with `M`), ratios, `nil`,
//! `true`/`false`, `;` comments, commas as whitespace, `#_` discards and
//! tagged literals (`#inst "..."`, `#jepsen.history.Op{...}`), which keep
//! their tag and inner value. Every error carries the 1-based line it was
//! found on (`\n`, `\r\n` and a lone `\r` each end a line); running out of
//! input inside a form is a distinct error kind so callers can treat a
//! truncated last op as a warning.
//!
//! Nesting (collections, tags, `#_` discards) is bounded by [`MAX_DEPTH`], so
//! hostile input gets an error, never a stack overflow; the bound is below
//! serde_json's recursion limit, so whatever this reader accepts converts to
//! JSONL that reads back.

use crate::util::text::{clip, QUOTE_CHARS};
use serde_json::{Map, Number, Value};
use std::fmt;

/// Deepest nesting of forms read (an op map is level 1).
pub const MAX_DEPTH: usize = 100;

/// One EDN value. Maps keep their entries in source order.
#[derive(Clone, Debug, PartialEq)]
pub enum Edn {
    Nil,
    Bool(bool),
    Int(i64),
    /// An integer too large for `i64`, or written with the `N` suffix and too large.
    BigInt(String),
    Float(f64),
    Str(String),
    Char(char),
    /// Without the leading colon: `:cas` is `Keyword("cas")`.
    Keyword(String),
    Symbol(String),
    Vector(Vec<Edn>),
    List(Vec<Edn>),
    Set(Vec<Edn>),
    Map(Vec<(Edn, Edn)>),
    /// `#tag value`; the tag without `#`.
    Tagged(String, Box<Edn>),
}

/// Why reading stopped.
#[derive(Clone, Debug, PartialEq)]
pub enum EdnErrorKind {
    /// Input ended inside a form: a truncated file.
    Eof,
    Syntax(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct EdnError {
    /// 1-based line where the problem was noticed.
    pub line: usize,
    pub kind: EdnErrorKind,
}

impl fmt::Display for EdnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            EdnErrorKind::Eof => f.write_str("input ends inside an EDN form"),
            EdnErrorKind::Syntax(m) => f.write_str(m),
        }
    }
}

impl Edn {
    /// The string of a keyword, symbol or string; `None` otherwise.
    pub fn as_name(&self) -> Option<&str> {
        match self {
            Edn::Keyword(s) | Edn::Symbol(s) | Edn::Str(s) => Some(s),
            Edn::Tagged(_, v) => v.as_name(),
            _ => None,
        }
    }

    /// JSON form: keywords and symbols become strings without the colon,
    /// `nil` null, vectors/lists/sets arrays, maps objects (non-string keys
    /// become their JSON text). A tagged literal becomes its inner value,
    /// except `...Tuple{:key k :value v}` records, which become `[k, v]`
    /// like the MapEntry tuples Jepsen prints.
    pub fn to_json(&self) -> Value {
        match self {
            Edn::Nil => Value::Null,
            Edn::Bool(b) => Value::Bool(*b),
            Edn::Int(i) => Value::from(*i),
            Edn::BigInt(s) => s
                .parse::<u64>()
                .map(Value::from)
                .unwrap_or_else(|_| Value::String(s.clone())),
            Edn::Float(x) => Number::from_f64(*x)
                .map(Value::Number)
                .unwrap_or_else(|| Value::String(x.to_string())),
            Edn::Str(s) | Edn::Keyword(s) | Edn::Symbol(s) => Value::String(s.clone()),
            Edn::Char(c) => Value::String(c.to_string()),
            Edn::Vector(xs) | Edn::List(xs) | Edn::Set(xs) => {
                Value::Array(xs.iter().map(Edn::to_json).collect())
            }
            Edn::Map(kvs) => {
                let mut m = Map::new();
                for (k, v) in kvs {
                    m.insert(key_string(k), v.to_json());
                }
                Value::Object(m)
            }
            Edn::Tagged(tag, inner) => {
                if tag.ends_with("Tuple") {
                    if let (Some(k), Some(v)) = (inner.get("key"), inner.get("value")) {
                        return Value::Array(vec![k.to_json(), v.to_json()]);
                    }
                }
                inner.to_json()
            }
        }
    }

    /// Looks up a map entry by keyword or string key `name`.
    pub fn get(&self, name: &str) -> Option<&Edn> {
        match self {
            Edn::Map(kvs) => kvs
                .iter()
                .find(|(k, _)| matches!(k, Edn::Keyword(s) | Edn::Str(s) if s == name))
                .map(|(_, v)| v),
            Edn::Tagged(_, inner) => inner.get(name),
            _ => None,
        }
    }
}

/// A map key as a JSON object key.
pub fn key_string(k: &Edn) -> String {
    match k.as_name() {
        Some(s) => s.to_string(),
        None => k.to_json().to_string(),
    }
}

/// A cursor over EDN text that reads one form at a time.
pub struct Reader<'a> {
    src: &'a [u8],
    text: &'a str,
    pos: usize,
    line: usize,
    /// Forms being read right now (for [`MAX_DEPTH`]).
    depth: usize,
}

fn is_delim(b: u8) -> bool {
    b.is_ascii_whitespace() || matches!(b, b',' | b'(' | b')' | b'[' | b']' | b'{' | b'}' | b'"' | b';')
}

impl<'a> Reader<'a> {
    pub fn new(text: &'a str) -> Reader<'a> {
        Reader {
            src: text.as_bytes(),
            text,
            pos: 0,
            line: 1,
            depth: 0,
        }
    }

    /// The current 1-based line.
    pub fn line(&self) -> usize {
        self.line
    }

    /// The current byte offset.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Counts one more level of nesting; an error past [`MAX_DEPTH`].
    fn enter(&mut self) -> Result<(), EdnError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.err(format!("forms nested deeper than {MAX_DEPTH} levels"));
        }
        Ok(())
    }

    /// True when `b`, just consumed at `pos - 1`, ends a line: `\n`, or a `\r`
    /// not followed by `\n`.
    fn ends_line(&self, b: u8) -> bool {
        b == b'\n' || (b == b'\r' && self.src.get(self.pos) != Some(&b'\n'))
    }

    fn err<T>(&self, msg: impl Into<String>) -> Result<T, EdnError> {
        Err(EdnError {
            line: self.line,
            kind: EdnErrorKind::Syntax(msg.into()),
        })
    }

    fn eof<T>(&self) -> Result<T, EdnError> {
        Err(EdnError {
            line: self.line,
            kind: EdnErrorKind::Eof,
        })
    }

    fn bump(&mut self) -> Option<u8> {
        let b = *self.src.get(self.pos)?;
        self.pos += 1;
        if self.ends_line(b) {
            self.line += 1;
        }
        Some(b)
    }

    /// Skips whitespace, commas, comments and `#_` discarded forms; returns the next byte.
    pub fn peek(&mut self) -> Result<Option<u8>, EdnError> {
        loop {
            match self.src.get(self.pos) {
                None => return Ok(None),
                Some(b) if b.is_ascii_whitespace() || *b == b',' => {
                    self.bump();
                }
                Some(b';') => {
                    while let Some(b) = self.bump() {
                        if b == b'\n' || b == b'\r' {
                            break;
                        }
                    }
                }
                Some(b'#') if self.src.get(self.pos + 1) == Some(&b'_') => {
                    self.pos += 2;
                    self.enter()?;
                    self.read()?;
                    self.depth -= 1;
                }
                Some(b) => return Ok(Some(*b)),
            }
        }
    }

    /// Consumes one byte (after [`Reader::peek`] saw it).
    pub fn skip_byte(&mut self) {
        self.bump();
    }

    /// Reads the next form, or `None` at the end of input.
    pub fn next_form(&mut self) -> Result<Option<Edn>, EdnError> {
        match self.peek()? {
            None => Ok(None),
            Some(_) => self.read().map(Some),
        }
    }

    /// Reads one form; running out of input is an `Eof` error.
    pub fn read(&mut self) -> Result<Edn, EdnError> {
        let Some(b) = self.peek()? else {
            return self.eof();
        };
        match b {
            b'(' => self.seq(b')').map(Edn::List),
            b'[' => self.seq(b']').map(Edn::Vector),
            b'{' => self.map(),
            b')' | b']' | b'}' => self.err(format!("unexpected `{}`", b as char)),
            b'"' => {
                self.bump();
                self.string().map(Edn::Str)
            }
            b'\\' => {
                self.bump();
                let c = self.character();
                self.cut_or(c)
            }
            b'#' => self.dispatch(),
            b':' => {
                self.bump();
                let t = self.token();
                if t.is_empty() {
                    return self.cut_or(self.err("empty keyword `:`"));
                }
                Ok(Edn::Keyword(t.trim_start_matches(':').to_string()))
            }
            _ => {
                let t = self.token();
                if t.is_empty() {
                    self.bump();
                    return self.err(format!("unexpected character `{}`", b as char));
                }
                let atom = self.atom(t);
                self.cut_or(atom)
            }
        }
    }

    /// A bad token that runs to the end of input may just be cut short
    /// (`:`, `1e`, `\u00`): report it as truncation.
    fn cut_or(&self, r: Result<Edn, EdnError>) -> Result<Edn, EdnError> {
        match r {
            Err(_) if self.pos >= self.src.len() => self.eof(),
            r => r,
        }
    }

    fn token(&mut self) -> &'a str {
        let start = self.pos;
        while let Some(&b) = self.src.get(self.pos) {
            if is_delim(b) {
                break;
            }
            self.pos += 1;
        }
        &self.text[start..self.pos]
    }

    fn seq(&mut self, close: u8) -> Result<Vec<Edn>, EdnError> {
        self.bump();
        self.enter()?;
        let mut out = Vec::new();
        loop {
            match self.peek()? {
                None => return self.eof(),
                Some(b) if b == close => {
                    self.bump();
                    self.depth -= 1;
                    return Ok(out);
                }
                Some(_) => out.push(self.read()?),
            }
        }
    }

    fn map(&mut self) -> Result<Edn, EdnError> {
        let line = self.line;
        let items = self.seq(b'}')?;
        if items.len() % 2 != 0 {
            return Err(EdnError {
                line,
                kind: EdnErrorKind::Syntax("map literal with an odd number of forms".into()),
            });
        }
        let mut it = items.into_iter();
        let mut kvs = Vec::new();
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            kvs.push((k, v));
        }
        Ok(Edn::Map(kvs))
    }

    fn dispatch(&mut self) -> Result<Edn, EdnError> {
        self.bump(); // '#'
        match self.src.get(self.pos) {
            None => self.eof(),
            Some(b'{') => self.seq(b'}').map(Edn::Set),
            Some(b'#') => {
                self.bump();
                let v = match self.token() {
                    "Inf" => Ok(Edn::Float(f64::INFINITY)),
                    "-Inf" => Ok(Edn::Float(f64::NEG_INFINITY)),
                    "NaN" => Ok(Edn::Float(f64::NAN)),
                    t => self.err(format!("unknown symbolic value `##{}`", clip(t, QUOTE_CHARS))),
                };
                self.cut_or(v)
            }
            Some(b'"') => {
                // A regex literal (Clojure, not EDN): keep its text.
                self.bump();
                self.string().map(Edn::Str)
            }
            Some(b) if b.is_ascii_alphabetic() => {
                let tag = self.token().to_string();
                self.enter()?;
                let inner = self.read()?;
                self.depth -= 1;
                Ok(Edn::Tagged(tag, Box::new(inner)))
            }
            Some(&b) => self.err(format!("unknown dispatch `#{}`", b as char)),
        }
    }

    fn string(&mut self) -> Result<String, EdnError> {
        let mut out = String::new();
        loop {
            let start = self.pos;
            while let Some(&b) = self.src.get(self.pos) {
                if b == b'"' || b == b'\\' {
                    break;
                }
                self.pos += 1;
                if self.ends_line(b) {
                    self.line += 1;
                }
            }
            out.push_str(&self.text[start..self.pos]);
            match self.bump() {
                None => return self.eof(),
                Some(b'"') => return Ok(out),
                Some(_) => {
                    let Some(e) = self.bump() else {
                        return self.eof();
                    };
                    match e {
                        b'n' => out.push('\n'),
                        b't' => out.push('\t'),
                        b'r' => out.push('\r'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'u' => {
                            let c = self.hex4()?;
                            out.push(c);
                        }
                        other => return self.err(format!("unknown string escape `\\{}`", other as char)),
                    }
                }
            }
        }
    }

    fn hex4(&mut self) -> Result<char, EdnError> {
        let Some(h) = self.text.get(self.pos..self.pos + 4) else {
            return self.eof();
        };
        let c = u32::from_str_radix(h, 16)
            .ok()
            .and_then(char::from_u32)
            .map_or_else(|| self.err(format!("bad unicode escape `\\u{h}`")), Ok)?;
        self.pos += 4;
        Ok(c)
    }

    fn character(&mut self) -> Result<Edn, EdnError> {
        // The first char is taken even if it is a delimiter (`\(`, `\ `).
        let Some(first) = self.text[self.pos..].chars().next() else {
            return self.eof();
        };
        let start = self.pos;
        self.pos += first.len_utf8();
        while let Some(&b) = self.src.get(self.pos) {
            if is_delim(b) {
                break;
            }
            self.pos += 1;
        }
        let t = &self.text[start..self.pos];
        let c = match t {
            "newline" => '\n',
            "space" => ' ',
            "tab" => '\t',
            "return" => '\r',
            "backspace" => '\u{8}',
            "formfeed" => '\u{c}',
            _ if t.len() == first.len_utf8() => first,
            _ if t.starts_with('u') && t.len() == 5 => {
                match u32::from_str_radix(&t[1..], 16).ok().and_then(char::from_u32) {
                    Some(c) => c,
                    None => return self.err(format!("bad character `\\{}`", clip(t, QUOTE_CHARS))),
                }
            }
            _ => return self.err(format!("bad character `\\{}`", clip(t, QUOTE_CHARS))),
        };
        Ok(Edn::Char(c))
    }

    fn atom(&self, t: &str) -> Result<Edn, EdnError> {
        match t {
            "nil" => return Ok(Edn::Nil),
            "true" => return Ok(Edn::Bool(true)),
            "false" => return Ok(Edn::Bool(false)),
            _ => {}
        }
        let b = t.as_bytes();
        let numeric =
            b[0].is_ascii_digit() || (matches!(b[0], b'+' | b'-') && b.len() > 1 && b[1].is_ascii_digit());
        if !numeric {
            return Ok(Edn::Symbol(t.to_string()));
        }
        if let Some(n) = t.strip_suffix('N') {
            return Ok(n
                .parse::<i64>()
                .map(Edn::Int)
                .unwrap_or_else(|_| Edn::BigInt(n.trim_start_matches('+').to_string())));
        }
        if let Some((p, q)) = t.split_once('/') {
            if let (Ok(p), Ok(q)) = (p.parse::<f64>(), q.parse::<f64>()) {
                return Ok(Edn::Float(p / q));
            }
            return self.err(format!("bad ratio `{}`", clip(t, QUOTE_CHARS)));
        }
        let f = t.strip_suffix('M').unwrap_or(t);
        if f.contains(['.', 'e', 'E']) || f.len() != t.len() {
            return f
                .parse::<f64>()
                .map(Edn::Float)
                .or_else(|_| self.err(format!("bad number `{}`", clip(t, QUOTE_CHARS))));
        }
        if t.bytes().skip(1).all(|c| c.is_ascii_digit()) {
            return Ok(t
                .parse::<i64>()
                .map(Edn::Int)
                .unwrap_or_else(|_| Edn::BigInt(t.trim_start_matches('+').to_string())));
        }
        self.err(format!("bad number `{}`", clip(t, QUOTE_CHARS)))
    }
}

/// Parses exactly one form from `text` (trailing whitespace and comments allowed).
pub fn parse_one(text: &str) -> Result<Edn, EdnError> {
    let mut r = Reader::new(text);
    let v = r.read()?;
    if r.peek()?.is_some() {
        return r.err("unexpected text after the value");
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn j(text: &str) -> Value {
        parse_one(text).unwrap().to_json()
    }

    #[test]
    fn scalars() {
        assert_eq!(j("nil"), json!(null));
        assert_eq!(j("true"), json!(true));
        assert_eq!(j("false"), json!(false));
        assert_eq!(j("42"), json!(42));
        assert_eq!(j("-7"), json!(-7));
        assert_eq!(j("+7"), json!(7));
        assert_eq!(j("12N"), json!(12));
        assert_eq!(j("99999999999999999999N"), json!("99999999999999999999"));
        assert_eq!(j("1.5"), json!(1.5));
        assert_eq!(j("2.5M"), json!(2.5));
        assert_eq!(j("1e3"), json!(1000.0));
        assert_eq!(j("1/2"), json!(0.5));
        assert_eq!(j(":cas"), json!("cas"));
        assert_eq!(j(":jepsen/op"), json!("jepsen/op"));
        assert_eq!(j("foo.bar"), json!("foo.bar"));
        assert_eq!(j("\\a"), json!("a"));
        assert_eq!(j("\\newline"), json!("\n"));
        assert_eq!(j("\\u0041"), json!("A"));
        assert_eq!(j("##Inf"), json!("inf"));
    }

    #[test]
    fn strings_with_escapes() {
        assert_eq!(j(r#""a\"b\\c\nd\te\u00e9""#), json!("a\"b\\c\nd\te\u{e9}"));
        assert_eq!(j("\"multi\nline\""), json!("multi\nline"));
    }

    #[test]
    fn collections() {
        assert_eq!(j("[1 2, 3]"), json!([1, 2, 3]));
        assert_eq!(j("(1 (2))"), json!([1, [2]]));
        assert_eq!(j("#{:a}"), json!(["a"]));
        assert_eq!(
            j("{:a 1, \"b\" nil, 3 [:x]}"),
            json!({"a": 1, "b": null, "3": ["x"]})
        );
        assert_eq!(
            j("[[:append 1 2] [:r 3 nil]]"),
            json!([["append", 1, 2], ["r", 3, null]])
        );
    }

    #[test]
    fn comments_discards_and_tags() {
        assert_eq!(j("; hello\n[1 #_ 2 3] ; bye"), json!([1, 3]));
        assert_eq!(j("#inst \"2020-01-01\""), json!("2020-01-01"));
        assert_eq!(
            j("#jepsen.history.Op{:index 0 :f :read}"),
            json!({"index": 0, "f": "read"})
        );
        assert_eq!(j("#jepsen.independent.Tuple{:key 3 :value 4}"), json!([3, 4]));
    }

    #[test]
    fn errors_carry_lines_and_eof_is_distinct() {
        let e = parse_one("[1\n2\n").unwrap_err();
        assert_eq!(e.kind, EdnErrorKind::Eof);
        let e = parse_one("[1\n2 }").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(matches!(e.kind, EdnErrorKind::Syntax(_)));
        assert!(parse_one("{:a}").is_err());
        assert!(parse_one("\"abc").is_err());
        assert!(parse_one("1x2").is_err());
        assert!(parse_one("1 2").is_err());
        assert!(parse_one("\"\\q\"").is_err());
        // Tokens cut by the end of input are truncation, not garbage.
        for cut in ["[:", "[1e", "[\\u00", "[##In"] {
            assert_eq!(parse_one(cut).unwrap_err().kind, EdnErrorKind::Eof, "{cut}");
        }
        assert!(matches!(
            parse_one("[1e]").unwrap_err().kind,
            EdnErrorKind::Syntax(_)
        ));
    }

    #[test]
    fn reader_reads_forms_in_sequence() {
        let mut r = Reader::new("{:a 1}\n{:b 2}\n");
        assert!(r.next_form().unwrap().is_some());
        assert!(r.next_form().unwrap().is_some());
        assert!(r.next_form().unwrap().is_none());
    }
}
