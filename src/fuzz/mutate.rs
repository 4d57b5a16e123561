//! Mutations of a line-structured history file, each knowing exactly what it
//! did to which line, so [`super::corpus`] can say what a correct reader
//! must make of the result.

use crate::history::import::Format as Kind;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// A file as lines, each with its own line end (`"\n"`, or `""` for a last
/// line without one).
#[derive(Clone, Debug)]
pub struct Lines {
    pub lines: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Lines {
    pub fn parse(bytes: &[u8]) -> Lines {
        let mut lines = Vec::new();
        let mut rest = bytes;
        while !rest.is_empty() {
            match rest.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    lines.push((rest[..i].to_vec(), b"\n".to_vec()));
                    rest = &rest[i + 1..];
                }
                None => {
                    lines.push((rest.to_vec(), Vec::new()));
                    rest = &[];
                }
            }
        }
        Lines { lines }
    }

    pub fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (c, e) in &self.lines {
            out.extend_from_slice(c);
            out.extend_from_slice(e);
        }
        out
    }
}

/// What was done to the file.
#[derive(Clone, Debug)]
pub enum Mutation {
    /// The content of line `line` replaced (its line end kept): a bit flip, a
    /// deleted or inserted byte, a new value.
    Content {
        line: usize,
        what: String,
        new: Vec<u8>,
    },
    DeleteLine(usize),
    DuplicateLine(usize),
    /// Lines `n` and `n + 1` swapped.
    SwapLines(usize),
    /// The line end of line `n` deleted: it and the next are one line.
    JoinLines(usize),
    /// The file cut after `n` bytes.
    Truncate(usize),
    /// Every `\n` replaced by this line end.
    LineEnds(&'static str),
    /// A UTF-8 byte-order mark prepended.
    Bom,
}

impl Mutation {
    pub fn describe(&self) -> String {
        match self {
            Mutation::Content { line, what, .. } => format!("line {}: {what}", line + 1),
            Mutation::DeleteLine(l) => format!("line {} deleted", l + 1),
            Mutation::DuplicateLine(l) => format!("line {} duplicated", l + 1),
            Mutation::SwapLines(l) => format!("lines {} and {} swapped", l + 1, l + 2),
            Mutation::JoinLines(l) => format!("lines {} and {} joined", l + 1, l + 2),
            Mutation::Truncate(n) => format!("cut after {n} bytes"),
            Mutation::LineEnds(e) => format!("line ends {e:?}"),
            Mutation::Bom => "UTF-8 BOM prepended".into(),
        }
    }

    /// Applies the mutation to `file`.
    pub fn apply(&self, file: &Lines) -> Vec<u8> {
        let mut l = file.clone();
        match self {
            Mutation::Content { line, new, .. } => l.lines[*line].0 = new.clone(),
            Mutation::DeleteLine(n) => {
                l.lines.remove(*n);
            }
            Mutation::DuplicateLine(n) => {
                let x = l.lines[*n].clone();
                l.lines.insert(*n, x);
            }
            Mutation::SwapLines(n) => l.lines.swap(*n, *n + 1),
            Mutation::JoinLines(n) => {
                let (next, end) = l.lines.remove(*n + 1);
                l.lines[*n].0.extend(next);
                l.lines[*n].1 = end;
            }
            Mutation::Truncate(n) => {
                let mut b = l.bytes();
                b.truncate(*n);
                return b;
            }
            Mutation::LineEnds(e) => {
                for line in &mut l.lines {
                    if !line.1.is_empty() {
                        line.1 = e.as_bytes().to_vec();
                    }
                }
            }
            Mutation::Bom => {
                let mut b = "\u{feff}".as_bytes().to_vec();
                b.extend(l.bytes());
                return b;
            }
        }
        l.bytes()
    }
}

/// Raw value texts that stress a reader: huge and odd numbers, long strings,
/// deep nesting (below and above the readers' limits), big collections,
/// values of the wrong type.
pub fn hostile_value(rng: &mut ChaCha8Rng, kind: Kind) -> (String, String) {
    let edn = kind == Kind::Edn || kind == Kind::PorcupineEtcd;
    let sep = if edn { " " } else { "," };
    match rng.gen_range(0..9) {
        0 => {
            let n = [
                "1e400",
                "-1e400",
                "123456789012345678901234567890",
                "18446744073709551616",
                "-9223372036854775809",
                "1e-400",
                "-0",
            ];
            let x = n[rng.gen_range(0..n.len())];
            (format!("number {x}"), x.to_string())
        }
        1 => {
            let len = [1_000, 100_000, 2_000_000][rng.gen_range(0..3)];
            (
                format!("string of {len} chars"),
                format!("\"{}\"", "x".repeat(len)),
            )
        }
        2 | 3 => {
            let d = [10, 90, 120, 130, 1_000, 100_000][rng.gen_range(0..6)];
            (
                format!("nested {d} deep"),
                format!("{}1{}", "[".repeat(d), "]".repeat(d)),
            )
        }
        4 => {
            let n = [1_000, 100_000][rng.gen_range(0..2)];
            let items: Vec<String> = (0..n).map(|i| i.to_string()).collect();
            (format!("array of {n}"), format!("[{}]", items.join(sep)))
        }
        5 => (
            "a map".into(),
            if edn { "{:a 1}".into() } else { "{\"a\":1}".into() },
        ),
        6 => ("a string".into(), "\"s\"".into()),
        7 => ("a pair".into(), format!("[1{sep}2]")),
        _ => ("null".into(), if edn { "nil".into() } else { "null".into() }),
    }
}

/// Byte ranges of an op line's value (`None` when the line has none).
pub fn value_span(line: &[u8], kind: Kind) -> Option<(usize, usize)> {
    let s = std::str::from_utf8(line).ok()?;
    match kind {
        Kind::Jsonl => {
            let at = s.find("\"value\":")? + "\"value\":".len();
            let mut it = serde_json::Deserializer::from_str(&s[at..]).into_iter::<serde_json::Value>();
            it.next()?.ok()?;
            Some((at, at + it.byte_offset()))
        }
        Kind::Edn => {
            let at = s.find(":value")? + ":value".len();
            let start = at + s[at..].len() - s[at..].trim_start_matches([' ', ',', '\t']).len();
            let mut r = crate::history::import::edn::Reader::new(&s[start..]);
            r.read().ok()?;
            Some((start, start + r.pos()))
        }
        Kind::PorcupineEtcd => {
            // prefix ` - `, then process, type and f; the value is the rest.
            let mut at = s.find(" - ").map_or(0, |i| i + 3);
            for _ in 0..3 {
                let rest = &s[at..];
                let skip = rest.len() - rest.trim_start().len();
                let word = rest[skip..].find(char::is_whitespace)?;
                at += skip + word;
            }
            let rest = &s[at..];
            let start = at + rest.len() - rest.trim_start().len();
            (start < s.len()).then_some((start, s.len()))
        }
    }
}

/// A random damage to one line's content: a bit flip, a deleted structural
/// byte, inserted bytes (invalid UTF-8, a CR, a quote, brackets), or a new
/// hostile value. `None` when the chosen kind does not apply to the line.
pub fn damage(rng: &mut ChaCha8Rng, line: &[u8], kind: Kind) -> Option<(String, Vec<u8>)> {
    if line.is_empty() {
        return None;
    }
    let at = rng.gen_range(0..line.len());
    let mut new = line.to_vec();
    let what = match rng.gen_range(0..6) {
        0 => {
            let bit = rng.gen_range(0..8);
            new[at] ^= 1 << bit;
            format!("bit {bit} of byte {at} flipped")
        }
        1 => {
            let wanted = [b'}', b'"', b']', b',', b':'][rng.gen_range(0..5)];
            let i = line.iter().rposition(|&b| b == wanted)?;
            new.remove(i);
            format!("`{}` at byte {i} deleted", wanted as char)
        }
        2 => {
            new.remove(at);
            format!("byte {at} deleted")
        }
        3 => {
            let ins: &[&[u8]] = &[
                b"\xff",
                b"\xc3",
                b"\r",
                b"\"",
                b"[[[",
                b"}",
                b"\x00",
                b"\xe2\x80\xa8",
            ];
            let b = ins[rng.gen_range(0..ins.len())];
            new.splice(at..at, b.iter().copied());
            format!("{:?} inserted at byte {at}", String::from_utf8_lossy(b))
        }
        _ => {
            let (from, to) = value_span(line, kind)?;
            let (what, raw) = hostile_value(rng, kind);
            new.splice(from..to, raw.into_bytes());
            format!("value replaced by {what}")
        }
    };
    Some((what, new))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip_and_mutations_apply() {
        let text = b"a\nbb\ncc";
        let l = Lines::parse(text);
        assert_eq!(l.lines.len(), 3);
        assert_eq!(l.bytes(), text);
        assert_eq!(Mutation::DeleteLine(1).apply(&l), b"a\ncc");
        assert_eq!(Mutation::SwapLines(0).apply(&l), b"bb\na\ncc");
        assert_eq!(Mutation::JoinLines(1).apply(&l), b"a\nbbcc");
        assert_eq!(Mutation::LineEnds("\r").apply(&l), b"a\rbb\rcc");
        assert_eq!(Mutation::Truncate(3).apply(&l), b"a\nb");
    }

    #[test]
    fn finds_values_in_every_format() {
        let j = br#"{"type":"ok","process":1,"f":"read","value":[1,2],"node":"n1"}"#;
        let (a, b) = value_span(j, Kind::Jsonl).unwrap();
        assert_eq!(&j[a..b], b"[1,2]");
        let e = br#"{:process 0, :type :ok, :f :append, :key "0", :value "x 0 0 y"}"#;
        let (a, b) = value_span(e, Kind::Edn).unwrap();
        assert_eq!(&e[a..b], b"\"x 0 0 y\"");
        let l = b"INFO  jepsen.util - 2\t:invoke\t:cas\t[3 0]";
        let (a, b) = value_span(l, Kind::PorcupineEtcd).unwrap();
        assert_eq!(&l[a..b], b"[3 0]");
    }
}
