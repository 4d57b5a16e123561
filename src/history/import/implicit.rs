//! Histories written without `:process` (Elle's own examples are): each op
//! gets a process of its own when that is unambiguous, i.e. when every
//! invocation without a process is directly followed by its completion, also
//! without one (a last invocation may stay pending). Anything else is refused
//! with a message saying how to add processes.
//!
//! The readers mark a missing process with [`NO_PROCESS`] (EDN directly;
//! JSONL through [`read_jsonl`] once the strict reader refused a line);
//! [`assign`] replaces every mark before the history leaves the importer.
//! An op without `f` whose value is a list of txn micro-ops is a `txn`.

use super::{ImportError, Parsed};
use crate::history::{History, Op, OpType, Process};
use serde_json::Value;

/// Placeholder process of an op read without one (never leaves the importer).
pub const NO_PROCESS: u64 = u64::MAX;

/// A list of `[f k v]` micro-ops (Elle's histories often leave out `:f :txn`).
pub fn looks_like_txn(v: &Value) -> bool {
    match v {
        Value::Array(mops) => mops.iter().all(|m| {
            m.as_array().is_some_and(|p| {
                p.len() == 3
                    && p[0]
                        .as_str()
                        .is_some_and(|f| matches!(f.trim_start_matches(':'), "append" | "r" | "w"))
            })
        }),
        _ => false,
    }
}

/// Whether a strict JSONL error is one [`read_jsonl`] can fill in.
pub fn missing_field(message: &str) -> bool {
    message == "missing field `process`" || message == "missing field `f`"
}

/// Reads JSONL ops, marking a missing `process` (and `f` of a txn) for
/// [`assign`]. A malformed last line without a newline is a warning.
pub fn read_jsonl(text: &str, name: &str) -> Result<(History, Vec<usize>), ImportError> {
    let mut h = History::default();
    let mut lines = Vec::new();
    let mut rest = text;
    let mut line_no = 0;
    while !rest.is_empty() {
        let (line, complete) = match rest.find('\n') {
            Some(i) => (&rest[..i], true),
            None => (rest, false),
        };
        rest = if complete { &rest[line.len() + 1..] } else { "" };
        line_no += 1;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let err = |message: String| ImportError::Syntax {
            file: name.to_string(),
            line: line_no,
            message,
        };
        let mut v: Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) if !complete => {
                h.warnings
                    .push(format!("{name}:{line_no}: truncated last line ignored ({e})"));
                break;
            }
            Err(e) => return Err(err(format!("not a JSON object: {e}"))),
        };
        if let Value::Object(m) = &mut v {
            m.entry("process").or_insert(Value::from(NO_PROCESS));
            if !m.contains_key("f") && m.get("value").is_some_and(looks_like_txn) {
                m.insert("f".into(), Value::from("txn"));
            }
        }
        let op: Op = serde_json::from_value(v).map_err(|e| err(format!("invalid op: {e}")))?;
        h.ops.push(op);
        lines.push(line_no);
    }
    Ok((h, lines))
}

fn unmarked(p: &Parsed, i: usize) -> bool {
    p.ops[i].process != Process::Client(NO_PROCESS)
}

/// Gives each invocation/completion pair without a process a fresh process.
pub fn assign(p: &mut Parsed, name: &str) -> Result<(), ImportError> {
    if (0..p.ops.len()).all(|i| unmarked(p, i)) {
        return Ok(());
    }
    let mut next = p
        .ops
        .iter()
        .filter_map(|o| o.process.client())
        .filter(|&c| c != NO_PROCESS)
        .max()
        .map_or(0, |m| m + 1);
    let first = next;
    let refuse = |line: usize, why: &str| ImportError::Field {
        file: name.to_string(),
        line,
        field: "process".into(),
        message: format!(
            "missing, and {why}, so the op cannot be paired: add a `process` field to every op (the \
             client that ran it: `:process 0` in EDN, `\"process\": 0` in JSON), or list each invocation \
             immediately followed by its completion"
        ),
    };
    let mut i = 0;
    while i < p.ops.len() {
        if unmarked(p, i) {
            i += 1;
            continue;
        }
        if p.ops[i].ty != OpType::Invoke {
            return Err(refuse(
                p.lines[i],
                "this completion does not directly follow its invocation",
            ));
        }
        let last = i + 1 == p.ops.len();
        if !last {
            let c = &p.ops[i + 1];
            if unmarked(p, i + 1) || c.ty == OpType::Invoke || c.f != p.ops[i].f {
                return Err(refuse(
                    p.lines[i],
                    "the next op is not this invocation's completion",
                ));
            }
        }
        let span = if last { 1 } else { 2 };
        for op in &mut p.ops[i..i + span] {
            op.process = Process::Client(next);
        }
        next += 1;
        i += span;
    }
    p.warnings.push(format!(
        "{name}: ops without `process`: each invocation is directly followed by its completion, \
         so each pair got a process of its own ({first}..{})",
        next - 1
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::read_str;
    use crate::history::{pair, Process};

    #[test]
    fn adjacent_pairs_get_their_own_processes() {
        let text = "{:type :invoke :value [[:append 1 2]]}\n{:type :ok :value [[:append 1 2]]}\n\
                    {:type :invoke :process 0 :f :txn :value [[:r 1 nil]]}\n{:type :ok :process 0 :f :txn :value [[:r 1 [2]]]}\n\
                    {:type :invoke :value [[:r 1 nil]]}\n";
        let h = read_str(text, "t.edn", None).unwrap();
        let ps: Vec<Process> = h.ops.iter().map(|o| o.process).collect();
        assert_eq!(
            ps,
            vec![
                Process::Client(1),
                Process::Client(1),
                Process::Client(0),
                Process::Client(0),
                Process::Client(2)
            ]
        );
        assert_eq!(h.ops[0].f, "txn", "a txn value without :f is a txn");
        assert!(
            h.warnings.iter().any(|w| w.contains("process of its own")),
            "{:?}",
            h.warnings
        );
        pair(&h).unwrap();
    }

    #[test]
    fn jsonl_without_process_is_read_too() {
        let text = "{\"type\":\"invoke\",\"value\":[[\"append\",1,2]]}\n{\"type\":\"ok\",\"value\":[[\"append\",1,2]]}\n\
                    {\"type\":\"invoke\",\"f\":\"txn\",\"value\":[[\"r\",1,null]]}\n{\"type\":\"ok\",\"f\":\"txn\",\"value\":[[\"r\",1,[2]]]}";
        let h = read_str(text, "t.jsonl", None).unwrap();
        let ps: Vec<Process> = h.ops.iter().map(|o| o.process).collect();
        assert_eq!(
            ps,
            vec![
                Process::Client(0),
                Process::Client(0),
                Process::Client(1),
                Process::Client(1)
            ]
        );
        assert!(h.ops.iter().all(|o| o.f == "txn"));
        let e = read_str("{\"type\":\"ok\",\"f\":\"read\"}\n", "t.jsonl", None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("add a `process` field"), "{e}");
        let e = read_str("{\"type\":\"ok\",\"process\":1}\n", "t.jsonl", None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.jsonl:1:") && e.contains("`f`"), "{e}");
    }

    #[test]
    fn interleaved_ops_without_process_are_refused_with_a_remedy() {
        let text = "{:type :invoke :f :txn :value []}\n{:type :invoke :f :txn :value []}\n\
                    {:type :ok :f :txn :value []}\n{:type :ok :f :txn :value []}\n";
        let e = read_str(text, "t.edn", None).unwrap_err().to_string();
        assert!(e.starts_with("t.edn:1: field `process`"), "{e}");
        assert!(
            e.contains("add a `process` field") && e.contains("immediately followed"),
            "{e}"
        );
        let lone = "{:type :ok :f :txn :value []}\n";
        let e = read_str(lone, "t.edn", None).unwrap_err().to_string();
        assert!(e.contains("does not directly follow"), "{e}");
    }
}
