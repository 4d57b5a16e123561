//! Jepsen/Knossos EDN histories: op maps one per line, or one vector/list of
//! op maps for the whole file. Porcupine's kv logs are the same format.
//!
//! Field mapping: `:type` (required) → `type`; `:process` (an integer or
//! `:nemesis`; when missing, see [`super::implicit`]); `:f` (keyword or
//! string; required unless the value is a list of txn micro-ops, then `txn`); `:value`
//! (JSON form of the EDN value); `:time` (non-negative integer nanoseconds);
//! `:key`, `:node`, `:error` when present; Jepsen's `:index` is dropped (the
//! history is reindexed); every other field is kept in `extra`.

use super::edn::{key_string, Edn, EdnErrorKind, Reader};
use super::{ImportError, Parsed};
use crate::history::{Op, OpType, Process};
use crate::util::text::{preview, QUOTE_CHARS};
use serde_json::{Map, Value};

/// Reads every op of an EDN history.
///
/// Damage policy: an op form the input ends inside is forgiven (a warning,
/// that op dropped) only when it is the last op of the file, that is when the
/// unread rest holds no second `:type` key; anything else is an error naming
/// the line where the broken op starts. A form that spans several lines while
/// a later one of them holds a complete op on its own is damage too (a lost
/// `}` or `"` that made one op swallow the next).
pub fn parse(text: &str, name: &str) -> Result<Parsed, ImportError> {
    let mut r = Reader::new(text);
    let mut out = Parsed::default();
    let syntax = |line: usize, message: String| ImportError::Syntax {
        file: name.to_string(),
        line,
        message,
    };
    // A whole-file vector or list of op maps: read its elements one by one so a
    // truncated file still yields every complete op.
    let close = match r.peek().map_err(|e| syntax(e.line, e.to_string()))? {
        Some(b'[') => Some(b']'),
        Some(b'(') => Some(b')'),
        _ => None,
    };
    if close.is_some() {
        r.skip_byte();
    }
    loop {
        let (line, start) = (r.line(), r.pos());
        let next = match r.peek() {
            Ok(n) => n,
            Err(e) if e.kind == EdnErrorKind::Eof => {
                last_op_cut(text, start, line, name)?;
                out.warnings.push(truncated(name, line));
                break;
            }
            Err(e) => return Err(syntax(e.line, e.to_string())),
        };
        match (next, close) {
            (None, None) => break,
            (None, Some(_)) => {
                out.warnings.push(format!(
                    "{name}:{}: history vector is not closed (truncated file?); read {} ops",
                    r.line(),
                    out.ops.len()
                ));
                break;
            }
            (Some(b), Some(c)) if b == c => {
                r.skip_byte();
                if r.peek().ok().flatten().is_some() {
                    return Err(syntax(r.line(), "unexpected text after the history".into()));
                }
                break;
            }
            _ => {}
        }
        let (line, start) = (r.line(), r.pos());
        let form = match r.read() {
            Ok(f) => f,
            Err(e) if e.kind == EdnErrorKind::Eof => {
                last_op_cut(text, start, line, name)?;
                out.warnings.push(truncated(name, line));
                break;
            }
            Err(e) => return Err(syntax(e.line, e.to_string())),
        };
        if r.line() > line {
            if let Some(later) = op_on_a_later_line(&text[start..r.pos()]) {
                return Err(syntax(line, swallowed(line + later)));
            }
        }
        let (op, time) = op_from_edn(&form).map_err(|(field, message)| ImportError::Field {
            file: name.to_string(),
            line,
            field,
            message,
        })?;
        out.push(op, time, line);
    }
    super::implicit::assign(&mut out, name)?;
    Ok(out)
}

fn truncated(name: &str, line: usize) -> String {
    format!("{name}:{line}: truncated last op ignored (input ends inside it)")
}

fn swallowed(later: usize) -> String {
    format!(
        "this op is not closed before line {later}, which holds a complete op \
         (a lost `}}` or `\"`?); the file is damaged"
    )
}

/// The input ended inside the form that starts at byte `start` (line
/// `line`). That is a truncated last op only if the rest of the file holds
/// at most one op: a second `:type` key means a lost `}` or `"` made this op
/// swallow later ones, which must not be dropped silently.
fn last_op_cut(text: &str, start: usize, line: usize, name: &str) -> Result<(), ImportError> {
    let rest = &text[start..];
    if type_keys(rest) < 2 {
        return Ok(());
    }
    let later =
        op_on_a_later_line(rest).map_or_else(String::new, |l| format!(" (line {} holds one)", line + l));
    Err(ImportError::Syntax {
        file: name.to_string(),
        line,
        message: format!(
            "the input ends inside the op that starts here, but more ops follow it{later}: \
             a lost `}}` or `\"` in this op, not a truncated last op"
        ),
    })
}

/// Occurrences of the keyword `:type` followed by a delimiter.
fn type_keys(s: &str) -> usize {
    s.match_indices(":type")
        .filter(|(i, _)| {
            s.as_bytes()
                .get(i + 5)
                .is_none_or(|b| b.is_ascii_whitespace() || *b == b',')
        })
        .count()
}

/// The first line of `s` after its first (0-based offset from the first
/// line) that, read on its own, begins with a complete op map.
fn op_on_a_later_line(s: &str) -> Option<usize> {
    let mut line = 0;
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        i += 1;
        if c == b'\r' && b.get(i) == Some(&b'\n') {
            i += 1;
        } else if c != b'\n' && c != b'\r' {
            continue;
        }
        line += 1;
        let end = s[i..].find(['\n', '\r']).map_or(s.len(), |e| i + e);
        let l = s[i..end].trim_start_matches([' ', '\t', ',', '[', '(']);
        if l.starts_with(['{', '#']) && type_keys(l) == 1 {
            let mut r = Reader::new(l);
            if r.read().is_ok_and(|f| op_from_edn(&f).is_ok()) {
                return Some(line);
            }
        }
    }
    None
}

type FieldErr = (String, String);

fn field_err<T>(field: &str, message: impl Into<String>) -> Result<T, FieldErr> {
    Err((field.to_string(), message.into()))
}

/// Converts one op map. Errors name the field.
pub fn op_from_edn(form: &Edn) -> Result<(Op, Option<u64>), FieldErr> {
    let kvs = match form {
        Edn::Map(kvs) => kvs,
        Edn::Tagged(_, inner) if matches!(**inner, Edn::Map(_)) => {
            return op_from_edn(inner);
        }
        other => {
            return field_err(
                "op",
                format!(
                    "expected an op map like {{:type :invoke ...}}, got {}",
                    quote(other)
                ),
            )
        }
    };
    check_keys(kvs)?;
    let ty = match form.get("type") {
        None => return field_err("type", "missing"),
        Some(t) => match t.as_name().and_then(OpType::parse) {
            Some(ty) => ty,
            None => {
                return field_err(
                    "type",
                    format!("unknown op type {} (expected invoke, ok, fail or info)", quote(t)),
                )
            }
        },
    };
    // A missing process is marked here and assigned (or refused) once the
    // whole file is read: see `implicit`.
    let process = match form.get("process") {
        None => Process::Client(super::implicit::NO_PROCESS),
        Some(p) => process_from(p)?,
    };
    let f = match form.get("f") {
        None if form
            .get("value")
            .is_some_and(|v| super::implicit::looks_like_txn(&v.to_json())) =>
        {
            "txn".to_string()
        }
        None => return field_err("f", "missing"),
        Some(f) => match f.as_name() {
            Some(s) => s.to_string(),
            None => return field_err("f", format!("expected a keyword or string, got {}", quote(f))),
        },
    };
    let value = form.get("value").map_or(Value::Null, Edn::to_json);
    let mut op = Op::new(ty, process, f, value);
    let mut time = None;
    let mut extra = Map::new();
    for (k, v) in kvs {
        let k = key_string(k);
        match k.as_str() {
            "type" | "process" | "f" | "value" | "index" => {}
            "time" => match v {
                Edn::Int(t) if *t >= 0 => time = Some(*t as u64),
                other => {
                    return field_err(
                        "time",
                        format!("expected non-negative integer nanoseconds, got {}", quote(other)),
                    )
                }
            },
            "key" => op.key = Some(v.to_json()),
            "node" => op.node = Some(text_of(v)),
            "error" => op.error = Some(text_of(v)),
            _ => {
                extra.insert(k, v.to_json());
            }
        }
    }
    op.extra = extra;
    Ok((op, time))
}

fn process_from(p: &Edn) -> Result<Process, FieldErr> {
    match p {
        Edn::Int(n) if *n >= 0 => Ok(Process::Client(*n as u64)),
        other if other.as_name() == Some("nemesis") => Ok(Process::Nemesis),
        other => field_err(
            "process",
            format!(
                "expected a non-negative integer or :nemesis, got {}",
                quote(other)
            ),
        ),
    }
}

/// A form as (at most a couple of hundred characters of) JSON, for messages.
fn quote(v: &Edn) -> String {
    preview(&v.to_json(), QUOTE_CHARS)
}

/// Op map keys are keywords (or strings), each once: anything else is a
/// damaged file (a lost `"` turns values into symbol keys, a lost `}` makes
/// the next op a key) rather than an op to guess at.
fn check_keys(kvs: &[(Edn, Edn)]) -> Result<(), FieldErr> {
    let mut seen = std::collections::HashSet::new();
    for (k, _) in kvs {
        let name = match k {
            Edn::Keyword(s) | Edn::Str(s) => s.as_str(),
            other => return field_err("op", format!("a map key that is not a keyword: {}", quote(other))),
        };
        if !seen.insert(name) {
            return field_err(name, "appears twice in the op map");
        }
    }
    Ok(())
}

/// Names, keywords and strings as their text; anything else as its JSON.
fn text_of(v: &Edn) -> String {
    match v.as_name() {
        Some(s) => s.to_string(),
        None => v.to_json().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(text: &str) -> Op {
        let p = parse(text, "t.edn").unwrap();
        assert_eq!(p.ops.len(), 1, "{text}");
        p.ops[0].clone()
    }

    #[test]
    fn jepsen_op_map() {
        let op = one(
            "{:index 7, :time 1500, :type :ok, :process 3, :f :cas, :value [1 2], :node \"n1\", :error [:timeout 5], :extra-thing #{1}}",
        );
        assert_eq!(op.ty, OpType::Ok);
        assert_eq!(op.process, Process::Client(3));
        assert_eq!(op.f, "cas");
        assert_eq!(op.value, json!([1, 2]));
        assert_eq!(op.node.as_deref(), Some("n1"));
        assert_eq!(op.error.as_deref(), Some("[\"timeout\",5]"));
        assert_eq!(op.extra.get("extra-thing"), Some(&json!([1])));
        assert!(!op.extra.contains_key("index"));
    }

    #[test]
    fn nemesis_and_txn_values() {
        let op = one("{:type :info, :process :nemesis, :f :start-partition, :value {:n1 #{:n2}}}");
        assert!(op.process.is_nemesis());
        assert_eq!(op.value, json!({"n1": ["n2"]}));
        let op = one("{:type :invoke, :process 0, :f :txn, :value [[:append 1 2] [:r 3 nil]]}");
        assert_eq!(op.value, json!([["append", 1, 2], ["r", 3, null]]));
    }

    #[test]
    fn porcupine_kv_line() {
        let op = one("{:process 9, :type :invoke, :f :append, :key \"0\", :value \"x 9 0 y\"}");
        assert_eq!(op.key, Some(json!("0")));
        assert_eq!(op.value, json!("x 9 0 y"));
    }

    #[test]
    fn whole_file_vector_and_list() {
        let text = "[{:type :invoke :process 0 :f :read}\n {:type :ok :process 0 :f :read :value 1}]\n";
        let p = parse(text, "t").unwrap();
        assert_eq!(p.ops.len(), 2);
        assert_eq!(p.lines, vec![1, 2]);
        let p = parse("({:type :invoke :process 0 :f :read})", "t").unwrap();
        assert_eq!(p.ops.len(), 1);
    }

    #[test]
    fn truncated_tail_is_a_warning() {
        let p = parse("{:type :invoke :process 0 :f :read}\n{:type :ok :pro", "t").unwrap();
        assert_eq!(p.ops.len(), 1);
        assert_eq!(p.warnings.len(), 1);
        assert!(p.warnings[0].starts_with("t:2:"), "{:?}", p.warnings);
        let p = parse("[{:type :invoke :process 0 :f :read}\n", "t").unwrap();
        assert_eq!(p.ops.len(), 1);
        assert_eq!(p.warnings.len(), 1);
    }

    #[test]
    fn errors_name_line_and_field() {
        let e = parse(
            "{:type :invoke :process 0 :f :read}\n{:type :bogus :process 0 :f :read}\n",
            "h.edn",
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("h.edn:2:") && e.contains("`type`"), "{e}");
        let e = parse("{:type :ok :f :read}", "h.edn").unwrap_err().to_string();
        assert!(e.contains("`process`") && e.contains("missing"), "{e}");
        let e = parse("{:type :ok :process 1}", "h.edn").unwrap_err().to_string();
        assert!(e.contains("`f`"), "{e}");
        let e = parse("{:type :ok :process -1 :f :read}", "h.edn")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`process`"), "{e}");
        let e = parse("{:type :ok :process 1 :f :read :time :x}", "h.edn")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`time`"), "{e}");
        let e = parse("\n\n{:type :ok ]", "h.edn").unwrap_err().to_string();
        assert!(e.starts_with("h.edn:3:"), "{e}");
        let e = parse("[1 2]", "h.edn").unwrap_err().to_string();
        assert!(e.contains("op map"), "{e}");
    }
}
