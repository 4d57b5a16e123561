//! Porcupine's etcd logs (Jepsen's console output), one op per line:
//! `INFO  jepsen.util - 2 :invoke :cas [3 0]` (tab- or space-separated).
//!
//! Fields after the optional `... - ` logger prefix: process, type, f, then
//! the value as EDN (the rest of the line). Ops are kept as logged: a `fail`ed
//! cas stays `fail`, ops pending at the end stay pending. An `:info`
//! completion's value is Jepsen's reason (`:timed-out`); it becomes `error`
//! and the op takes its invocation's value, as faultline's own histories do.

use super::edn::{parse_one, EdnErrorKind};
use super::{ImportError, Parsed};
use crate::history::{Op, OpType, Process};
use crate::util::text::{clip, QUOTE_CHARS};
use serde_json::Value;
use std::collections::HashMap;

/// True if `line` looks like an etcd log op line (used by format detection).
pub fn looks_like(line: &str) -> bool {
    let mut it = strip_prefix(line).split_whitespace();
    let (Some(p), Some(t), Some(f)) = (it.next(), it.next(), it.next()) else {
        return false;
    };
    (p.parse::<u64>().is_ok() || p == ":nemesis")
        && t.starts_with(':')
        && OpType::parse(t).is_some()
        && f.starts_with(':')
}

fn strip_prefix(line: &str) -> &str {
    match line.find(" - ") {
        Some(i) if line[..i].contains("jepsen") || line.starts_with("INFO") => &line[i + 3..],
        _ => line,
    }
}

/// Splits off the first whitespace-separated field.
fn field(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_start();
    if s.is_empty() {
        return None;
    }
    let end = s.find(char::is_whitespace).unwrap_or(s.len());
    Some((&s[..end], &s[end..]))
}

/// Reads an etcd log. A bad last line with no trailing newline is a
/// truncated write (one line is one op, so at most one op is lost) and
/// becomes a warning; a bad line anywhere else is an error.
pub fn parse(text: &str, name: &str) -> Result<Parsed, ImportError> {
    let mut out = Parsed::default();
    let mut invoked: HashMap<Process, Value> = HashMap::new();
    let n_lines = text.lines().count();
    let complete = text.ends_with('\n');
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        match parse_line(raw) {
            Ok(mut op) => {
                if op.ty == OpType::Invoke {
                    invoked.insert(op.process, op.value.clone());
                } else if let Some(v) = invoked.remove(&op.process) {
                    if op.ty == OpType::Info {
                        if let Value::String(reason) = &op.value {
                            op.error = Some(reason.clone());
                            op.value = v;
                        }
                    }
                }
                out.push(op, None, line_no);
            }
            Err(_) if line_no == n_lines && !complete => {
                out.warnings
                    .push(format!("{name}:{line_no}: truncated last line ignored"));
            }
            Err((field, message)) => {
                return Err(match field {
                    Some(field) => ImportError::Field {
                        file: name.to_string(),
                        line: line_no,
                        field: field.to_string(),
                        message,
                    },
                    None => ImportError::Syntax {
                        file: name.to_string(),
                        line: line_no,
                        message,
                    },
                })
            }
        }
    }
    Ok(out)
}

/// (field to blame, message).
type LineErr = (Option<&'static str>, String);

fn parse_line(raw: &str) -> Result<Op, LineErr> {
    let rest = strip_prefix(raw);
    let missing = |f: &'static str| (Some(f), "missing".to_string());
    let (p, rest) = field(rest).ok_or_else(|| missing("process"))?;
    let process = match p {
        ":nemesis" => Process::Nemesis,
        _ => Process::Client(p.parse::<u64>().map_err(|_| {
            (
                Some("process"),
                format!(
                    "expected a non-negative integer or :nemesis, got `{}`",
                    clip(p, QUOTE_CHARS)
                ),
            )
        })?),
    };
    let (t, rest) = field(rest).ok_or_else(|| missing("type"))?;
    let ty = OpType::parse(t).ok_or_else(|| {
        (
            Some("type"),
            format!(
                "unknown op type `{}` (expected :invoke, :ok, :fail or :info)",
                clip(t, QUOTE_CHARS)
            ),
        )
    })?;
    let (f, rest) = field(rest).ok_or_else(|| missing("f"))?;
    let value = match rest.trim() {
        "" => Value::Null,
        v => parse_one(v)
            .map_err(|e| {
                let what = match e.kind {
                    EdnErrorKind::Eof => "not a complete EDN value".to_string(),
                    EdnErrorKind::Syntax(m) => m,
                };
                (Some("value"), format!("`{}`: {what}", clip(v, QUOTE_CHARS)))
            })?
            .to_json(),
    };
    Ok(Op::new(ty, process, f.trim_start_matches(':'), value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const LOG: &str = "INFO  jepsen.util - 2\t:invoke\t:cas\t[3 0]\n\
INFO  jepsen.util - 0\t:invoke\t:read\tnil\n\
INFO  jepsen.util - 0\t:ok\t:read\t3\n\
INFO  jepsen.util - 2\t:fail\t:cas\t[3 0]\n\
INFO  jepsen.util - 1    :invoke    :write    4\n\
INFO  jepsen.util - 1\t:info\t:write\t:timed-out\n\
INFO  jepsen.util - 4\t:invoke\t:read\tnil\n";

    #[test]
    fn reads_every_verb() {
        let p = parse(LOG, "e.log").unwrap();
        assert_eq!(p.ops.len(), 7);
        assert_eq!(p.ops[0].f, "cas");
        assert_eq!(p.ops[0].value, json!([3, 0]));
        assert_eq!(p.ops[1].value, json!(null));
        assert_eq!(p.ops[2].ty, OpType::Ok);
        assert_eq!(p.ops[2].value, json!(3));
        assert_eq!(p.ops[3].ty, OpType::Fail);
        assert_eq!(p.ops[4].process, Process::Client(1));
        assert_eq!(p.ops[4].value, json!(4));
        // info: reason to `error`, value from the invocation.
        assert_eq!(p.ops[5].ty, OpType::Info);
        assert_eq!(p.ops[5].value, json!(4));
        assert_eq!(p.ops[5].error.as_deref(), Some("timed-out"));
        // pending at the end stays pending.
        assert_eq!(p.ops[6].ty, OpType::Invoke);
        assert!(looks_like(LOG.lines().next().unwrap()));
        assert!(!looks_like("{:process 1 :type :invoke}"));
    }

    #[test]
    fn truncated_and_bad_lines() {
        let p = parse(
            "INFO  jepsen.util - 2\t:invoke\t:cas\t[3 0]\nINFO  jepsen.util - 2\t:ok\t:cas\t[3",
            "e",
        )
        .unwrap();
        assert_eq!(p.ops.len(), 1);
        assert_eq!(p.warnings.len(), 1);
        let e = parse(
            "INFO  jepsen.util - 2\t:invoke\t:cas\t[3 0]\nINFO  jepsen.util - 2\t:done\t:cas\t[3 0]\n",
            "e.log",
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("e.log:2:") && e.contains("`type`"), "{e}");
        let e = parse("INFO  jepsen.util - x\t:ok\t:cas\n", "e.log")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`process`"), "{e}");
        let e = parse("INFO  jepsen.util - 1\t:ok\n", "e.log")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`f`"), "{e}");
        let e = parse("INFO  jepsen.util - 1\t:ok\t:cas\t[1 2\n", "e.log")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`value`"), "{e}");
    }
}
