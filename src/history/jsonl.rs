//! Streaming JSON Lines reader and writer for histories.
//!
//! The writer flushes after every op, so a run that dies leaves a checkable
//! file. The reader names file, line and field in every error; a *last*
//! line without a trailing newline that is the beginning of an op cut short
//! (the JSON ends early) is a truncated write and becomes a warning rather
//! than an error. Any other bad line, last or not, is an error: damage is
//! never read as truncation.

use super::{History, Op};
use crate::util::text::{clip, QUOTE_CHARS};
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum JsonlError {
    #[error("{file}: {source}")]
    Io { file: String, source: io::Error },
    #[error("{file}:{line}: {message}")]
    Parse {
        file: String,
        line: usize,
        message: String,
    },
}

/// Reads a whole JSONL history from `path`.
pub fn read_file(path: &Path) -> Result<History, JsonlError> {
    let name = path.display().to_string();
    let f = File::open(path).map_err(|source| JsonlError::Io {
        file: name.clone(),
        source,
    })?;
    read(BufReader::new(f), &name)
}

/// Reads a JSONL history from any reader; `name` is used in messages.
pub fn read<R: Read>(r: R, name: &str) -> Result<History, JsonlError> {
    read_with_lines(r, name).map(|(h, _)| h)
}

/// Like [`read`], also returning the 1-based source line of every op
/// (`lines[i]` is the line of `ops[i]`), so later errors can point at the file.
pub fn read_with_lines<R: Read>(r: R, name: &str) -> Result<(History, Vec<usize>), JsonlError> {
    let mut reader = BufReader::new(r);
    let mut h = History::default();
    let mut lines = Vec::new();
    let mut buf = String::new();
    let mut line_no = 0usize;
    loop {
        buf.clear();
        let n = reader.read_line(&mut buf).map_err(|source| JsonlError::Io {
            file: name.to_string(),
            source,
        })?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let complete = buf.ends_with('\n');
        let text = buf.trim();
        if text.is_empty() {
            continue;
        }
        match serde_json::from_str::<Op>(text) {
            Ok(op) => {
                h.ops.push(op);
                lines.push(line_no);
            }
            Err(e) if !complete && e.classify() == serde_json::error::Category::Eof => {
                h.warnings
                    .push(format!("{name}:{line_no}: truncated last line ignored ({e})"));
            }
            Err(e) => {
                return Err(JsonlError::Parse {
                    file: name.to_string(),
                    line: line_no,
                    message: describe(text, &e),
                })
            }
        }
    }
    Ok((h, lines))
}

/// Turns a serde error into a message naming the field when it can, quoting
/// at most a couple of hundred characters of the line's values.
fn describe(text: &str, e: &serde_json::Error) -> String {
    clip(&describe_whole(text, e), QUOTE_CHARS + 100)
}

fn describe_whole(text: &str, e: &serde_json::Error) -> String {
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(text) {
        for field in ["type", "process", "f"] {
            if !map.contains_key(field) {
                return format!("missing field `{field}`");
            }
        }
        if let Some(t) = map.get("type") {
            if t.as_str().and_then(super::OpType::parse).is_none() {
                let t = crate::util::text::preview(t, QUOTE_CHARS);
                return format!("field `type`: unknown op type {t} (expected invoke, ok, fail or info)");
            }
        }
        return format!("invalid op: {e}");
    }
    format!("not a JSON object: {e}")
}

/// Writes ops one per line, flushing each, so a crash loses at most one line.
pub struct Writer {
    out: BufWriter<File>,
    path: PathBuf,
    next_index: u64,
}

impl Writer {
    pub fn create(path: &Path) -> io::Result<Writer> {
        Ok(Writer {
            out: BufWriter::new(File::create(path)?),
            path: path.to_path_buf(),
            next_index: 0,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Assigns the next index to `op`, writes it and flushes.
    pub fn append(&mut self, op: &mut Op) -> io::Result<()> {
        op.index = self.next_index;
        self.next_index += 1;
        serde_json::to_writer(&mut self.out, op)?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }
}

/// Writes a whole history to `w` (indices as they are).
pub fn write<W: Write>(h: &History, w: W) -> io::Result<()> {
    let mut w = BufWriter::new(w);
    for op in &h.ops {
        serde_json::to_writer(&mut w, op)?;
        w.write_all(b"\n")?;
    }
    w.flush()
}

/// Writes a whole history to a file.
pub fn write_file(h: &History, path: &Path) -> io::Result<()> {
    write(h, File::create(path)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{"index":0,"time":1200345,"type":"invoke","process":3,"f":"write","key":"k1","value":5}
{"index":1,"time":1400012,"type":"ok","process":3,"f":"write","key":"k1","value":5,"node":"n2"}
{"index":4,"time":9600000,"type":"info","process":"nemesis","f":"partition","value":{"n1":["n3"]},"extra":1}
"#;

    #[test]
    fn round_trips_with_extra_fields() {
        let h = read(SAMPLE.as_bytes(), "t").unwrap();
        assert_eq!(h.ops.len(), 3);
        assert_eq!(h.ops[1].node.as_deref(), Some("n2"));
        assert!(h.ops[2].process.is_nemesis());
        let mut out = Vec::new();
        write(&h, &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), SAMPLE);
    }

    #[test]
    fn truncated_last_line_is_a_warning() {
        let text = format!("{}{{\"index\":5,\"ty", SAMPLE);
        let h = read(text.as_bytes(), "t").unwrap();
        assert_eq!(h.ops.len(), 3);
        assert_eq!(h.warnings.len(), 1);
    }

    #[test]
    fn bad_line_names_line_and_field() {
        let text = "{\"type\":\"invoke\",\"process\":1,\"f\":\"read\"}\n{\"type\":\"bogus\",\"process\":1,\"f\":\"read\"}\n";
        let e = read(text.as_bytes(), "h.jsonl").unwrap_err().to_string();
        assert!(e.starts_with("h.jsonl:2:"), "{e}");
        assert!(e.contains("type"), "{e}");
    }
}
