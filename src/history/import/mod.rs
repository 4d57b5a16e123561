//! Importers: faultline JSONL, Jepsen/Knossos EDN (also Porcupine's kv logs)
//! and Porcupine's etcd logs, detected by content or chosen by name.
//!
//! Invariants of every imported [`History`]: `ops[i].index == i` (reindexed in
//! file order); `time` is the file's when present, else synthesised from order
//! (1 ms per op, so timelines stay readable); a truncated last op is a warning
//! in `History::warnings`; every error names file, line and, when one is to
//! blame, the field, and quotes at most a couple of hundred characters of it.
//!
//! Hostile input: a history is damaged, not truncated, unless the damage is
//! the end of the file and costs at most one op (each format's reader
//! enforces that; damage elsewhere is an error, never a silently shorter
//! history). Lines may end in `\n`, `\r\n` or `\r`; a UTF-8 byte-order mark
//! is skipped; a UTF-8 character cut by the end of the file is a truncated
//! last op. Input with no ops at all is an error ([`ImportError::NoOps`]).
//!
//! Jepsen's `independent` histories carry `[key value]` tuples as values.
//! [`Independent::Split`] always splits them into `key` + `value`;
//! [`Independent::Auto`] (EDN input only) splits only when unambiguous: no op has a `key`, some
//! client op's `f` is not `cas` (a cas value `[old new]` looks like a tuple),
//! and every client op except `info` completions has a two-element vector
//! value whose first element is an integer or a string.

pub mod edn;
pub mod implicit;
pub mod jepsen;
pub mod porcupine;

use super::{jsonl, History, Op, OpType, Process};
use crate::util::text::{clip, preview, QUOTE_CHARS};
use serde_json::Value;
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;
use thiserror::Error;

/// Synthesised time step between ops of a history without times.
pub const SYNTH_STEP_NS: u64 = 1_000_000;

/// The history formats faultline reads. Porcupine's kv logs are EDN op maps
/// (`porcupine-kv` is accepted as a name for [`Format::Edn`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Jsonl,
    Edn,
    PorcupineEtcd,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Jsonl => "jsonl",
            Format::Edn => "edn",
            Format::PorcupineEtcd => "porcupine-etcd",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Format, String> {
        match s {
            "jsonl" | "json" => Ok(Format::Jsonl),
            "edn" | "porcupine-kv" | "kv" => Ok(Format::Edn),
            "porcupine-etcd" | "etcd" => Ok(Format::PorcupineEtcd),
            _ => Err(format!(
                "unknown history format `{s}` (expected jsonl, edn, porcupine-etcd or porcupine-kv)"
            )),
        }
    }
}

/// How to treat Jepsen `independent` `[key value]` tuples.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Independent {
    /// Split only when unambiguous (see the module docs).
    #[default]
    Auto,
    /// Always split; a client value that is not a tuple is an error.
    Split,
    /// Never split.
    Keep,
}

/// Everything an import can be told.
#[derive(Clone, Copy, Debug, Default)]
pub struct ImportOptions {
    /// `None`: detect from the content.
    pub format: Option<Format>,
    pub independent: Independent,
}

#[derive(Debug, Error)]
pub enum ImportError {
    #[error("{file}: {source}")]
    Io { file: String, source: std::io::Error },
    #[error("{file}: cannot tell the history format ({reason}); pass --format jsonl|edn|porcupine-etcd|porcupine-kv")]
    Undetected { file: String, reason: String },
    #[error("{file}:{line}: {}", clip(.message, MESSAGE_CHARS))]
    Syntax {
        file: String,
        line: usize,
        message: String,
    },
    #[error("{file}:{line}: field `{}`: {}", clip(.field, QUOTE_CHARS), clip(.message, MESSAGE_CHARS))]
    Field {
        file: String,
        line: usize,
        field: String,
        message: String,
    },
    #[error("{file}: no operations in {file} (an empty history cannot be checked)")]
    NoOps { file: String },
}

/// Longest message an import error shows (the quoted values inside are
/// clipped shorter; this bounds whatever else a parser put in).
const MESSAGE_CHARS: usize = 2 * QUOTE_CHARS + 100;

/// An imported history with where each op came from.
#[derive(Clone, Debug)]
pub struct Imported {
    pub history: History,
    /// `lines[i]`: 1-based source line of `history.ops[i]`.
    pub lines: Vec<usize>,
    /// The format actually read.
    pub format: Format,
}

/// What a format parser produces before the shared finishing steps.
#[derive(Debug, Default)]
pub struct Parsed {
    pub ops: Vec<Op>,
    pub times: Vec<Option<u64>>,
    pub lines: Vec<usize>,
    pub warnings: Vec<String>,
}

impl Parsed {
    pub fn push(&mut self, op: Op, time: Option<u64>, line: usize) {
        self.ops.push(op);
        self.times.push(time);
        self.lines.push(line);
    }
}

/// Reads a history file, detecting its format unless `format` is given.
pub fn read_path(path: &Path, format: Option<Format>) -> Result<History, ImportError> {
    import_path(
        path,
        &ImportOptions {
            format,
            ..Default::default()
        },
    )
    .map(|i| i.history)
}

/// Reads a history from text; `name` is used in messages.
pub fn read_str(text: &str, name: &str, format: Option<Format>) -> Result<History, ImportError> {
    import_str(
        text,
        name,
        &ImportOptions {
            format,
            ..Default::default()
        },
    )
    .map(|i| i.history)
}

/// [`read_path`] with every option and the source lines. `-` reads stdin.
pub fn import_path(path: &Path, opts: &ImportOptions) -> Result<Imported, ImportError> {
    let name = path.display().to_string();
    let io = |source| ImportError::Io {
        file: name.clone(),
        source,
    };
    let bytes = if path.as_os_str() == "-" {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut b).map_err(io)?;
        b
    } else {
        std::fs::read(path).map_err(io)?
    };
    let text = utf8(bytes, &name)?;
    import_str(&text, &name, opts)
}

/// The file as text. A character cut short by the end of the file is the
/// truncated tail of the last op (its reader then warns); invalid UTF-8
/// anywhere else is an error naming the line.
fn utf8(mut bytes: Vec<u8>, name: &str) -> Result<String, ImportError> {
    match std::str::from_utf8(&bytes) {
        Ok(_) => {}
        Err(e) if e.error_len().is_none() => bytes.truncate(e.valid_up_to()),
        Err(e) => {
            let good = &bytes[..e.valid_up_to()];
            return Err(ImportError::Syntax {
                file: name.to_string(),
                line: line_of(good),
                message: "not UTF-8 text (is this a history file?)".into(),
            });
        }
    }
    String::from_utf8(bytes).map_err(|e| ImportError::Syntax {
        file: name.to_string(),
        line: 1,
        message: e.to_string(),
    })
}

/// The 1-based line at the end of `b`, counting `\n`, `\r\n` and lone `\r`.
fn line_of(b: &[u8]) -> usize {
    1 + b
        .iter()
        .enumerate()
        .filter(|&(i, &c)| c == b'\n' || (c == b'\r' && b.get(i + 1) != Some(&b'\n')))
        .count()
}

/// Text with every line ending made `\n` (only when there is a `\r`).
fn unix_lines(text: &str) -> Cow<'_, str> {
    if text.contains('\r') {
        Cow::Owned(text.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        Cow::Borrowed(text)
    }
}

/// [`read_str`] with every option and the source lines.
pub fn import_str(text: &str, name: &str, opts: &ImportOptions) -> Result<Imported, ImportError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let format = match opts.format {
        Some(f) => f,
        None => detect(text, name)?,
    };
    // The line formats split on `\n`; the EDN reader counts every line end itself
    // (and a raw `\r` inside an EDN string must stay one).
    let mut parsed = match format {
        Format::Jsonl => parse_jsonl(&unix_lines(text), name)?,
        Format::Edn => jepsen::parse(text, name)?,
        Format::PorcupineEtcd => porcupine::parse(&unix_lines(text), name)?,
    };
    if parsed.ops.is_empty() {
        return Err(ImportError::NoOps {
            file: name.to_string(),
        });
    }
    // faultline's own JSONL carries keys natively: only guess for EDN.
    let independent = match (opts.independent, format) {
        (Independent::Auto, Format::Jsonl | Format::PorcupineEtcd) => Independent::Keep,
        (mode, _) => mode,
    };
    split_independent(&mut parsed, name, independent)?;
    Ok(finish(parsed, format))
}

/// Guesses the format from the first meaningful line.
pub fn detect(text: &str, name: &str) -> Result<Format, ImportError> {
    let first = text
        .split(['\n', '\r'])
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with(';'));
    let Some(first) = first else {
        // Blank or comments only: the EDN reader skips both (and finds no ops).
        return Ok(Format::Edn);
    };
    if let Some(rest) = first.strip_prefix('{') {
        if rest.trim_start().starts_with('"') || rest.trim_start().starts_with('}') {
            return Ok(Format::Jsonl);
        }
        return Ok(Format::Edn);
    }
    if first.starts_with(['[', '(', '#']) {
        return Ok(Format::Edn);
    }
    if porcupine::looks_like(first) {
        return Ok(Format::PorcupineEtcd);
    }
    let shown = clip(first, 40);
    Err(ImportError::Undetected {
        file: name.to_string(),
        reason: format!("first line starts `{shown}`"),
    })
}

fn parse_jsonl(text: &str, name: &str) -> Result<Parsed, ImportError> {
    let (h, lines) = match jsonl::read_with_lines(text.as_bytes(), name) {
        Ok(x) => x,
        // Ops without `process` (or `f` for txns) get placeholders for `implicit::assign`.
        Err(jsonl::JsonlError::Parse { message, .. }) if implicit::missing_field(&message) => {
            implicit::read_jsonl(text, name)?
        }
        Err(jsonl::JsonlError::Io { file, source }) => return Err(ImportError::Io { file, source }),
        Err(jsonl::JsonlError::Parse { file, line, message }) => {
            return Err(ImportError::Syntax { file, line, message })
        }
    };
    // A JSONL op without `time` reads as 0: if every op says 0, there were no times.
    let timeless = h.ops.len() > 1 && h.ops.iter().all(|o| o.time == 0);
    let mut p = Parsed {
        times: h.ops.iter().map(|o| (!timeless).then_some(o.time)).collect(),
        ops: h.ops,
        lines,
        warnings: h.warnings,
    };
    implicit::assign(&mut p, name)?;
    Ok(p)
}

/// Reindexes and fills in times: missing times follow the previous op's time
/// (or are synthesised from order when the file has none at all).
fn finish(p: Parsed, format: Format) -> Imported {
    let any_time = p.times.iter().any(Option::is_some);
    let mut last = 0u64;
    let mut ops = p.ops;
    for (i, (op, t)) in ops.iter_mut().zip(&p.times).enumerate() {
        op.index = i as u64;
        op.time = match (t, any_time) {
            (Some(t), _) => *t,
            (None, true) => last,
            (None, false) => i as u64 * SYNTH_STEP_NS,
        };
        last = op.time;
    }
    Imported {
        history: History {
            ops,
            warnings: p.warnings,
        },
        lines: p.lines,
        format,
    }
}

/// A `[key value]` tuple with a scalar key.
fn as_tuple(v: &Value) -> Option<(&Value, &Value)> {
    match v {
        Value::Array(xs) if xs.len() == 2 && (xs[0].is_number() || xs[0].is_string()) => {
            Some((&xs[0], &xs[1]))
        }
        _ => None,
    }
}

fn split_independent(p: &mut Parsed, name: &str, mode: Independent) -> Result<(), ImportError> {
    let exempt = |o: &Op| o.process.is_nemesis() || o.ty == OpType::Info;
    let split = match mode {
        Independent::Keep => false,
        Independent::Split => {
            if let Some(i) = p
                .ops
                .iter()
                .position(|o| !exempt(o) && as_tuple(&o.value).is_none())
            {
                return Err(ImportError::Field {
                    file: name.to_string(),
                    line: p.lines[i],
                    field: "value".into(),
                    message: format!(
                        "--independent: expected a [key value] tuple, got {}",
                        preview(&p.ops[i].value, QUOTE_CHARS)
                    ),
                });
            }
            true
        }
        Independent::Auto => {
            let clients = || p.ops.iter().filter(|o| !o.process.is_nemesis());
            clients().next().is_some()
                && p.ops.iter().all(|o| o.key.is_none())
                && clients().any(|o| o.f != "cas")
                && clients().all(|o| o.ty == OpType::Info || as_tuple(&o.value).is_some())
        }
    };
    if !split {
        return Ok(());
    }
    let mut key_of: HashMap<Process, Value> = HashMap::new();
    for op in p.ops.iter_mut().filter(|o| !o.process.is_nemesis()) {
        if let Some((k, v)) = as_tuple(&op.value) {
            let (k, v) = (k.clone(), v.clone());
            op.key = Some(k);
            op.value = v;
        } else if let Some(k) = key_of.get(&op.process) {
            op.key = Some(k.clone());
        }
        if op.ty == OpType::Invoke {
            if let Some(k) = &op.key {
                key_of.insert(op.process, k.clone());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
