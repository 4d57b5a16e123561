//! Histories written without `:process` (Elle's own examples are): each op
//! gets a process of its own when that is unambiguous, i.e. when every
//! invocation without a process is directly followed by its completion, also
//! without one (a last invocation may stay pending). Anything else is refused
//! with a message saying how to add processes.
//!
//! The EDN reader marks a missing process with [`NO_PROCESS`]; [`assign`]
//! replaces every mark before the history leaves the importer.

use super::{ImportError, Parsed};
use crate::history::{OpType, Process};

/// Placeholder process of an op read without one (never leaves the importer).
pub const NO_PROCESS: u64 = u64::MAX;

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
            "missing, and {why}, so the op cannot be paired: add `:process N` (the client that ran the op) \
             to every op, or list each invocation immediately followed by its completion"
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
    fn interleaved_ops_without_process_are_refused_with_a_remedy() {
        let text = "{:type :invoke :f :txn :value []}\n{:type :invoke :f :txn :value []}\n\
                    {:type :ok :f :txn :value []}\n{:type :ok :f :txn :value []}\n";
        let e = read_str(text, "t.edn", None).unwrap_err().to_string();
        assert!(e.starts_with("t.edn:1: field `process`"), "{e}");
        assert!(
            e.contains("add `:process N`") && e.contains("immediately followed"),
            "{e}"
        );
        let lone = "{:type :ok :f :txn :value []}\n";
        let e = read_str(lone, "t.edn", None).unwrap_err().to_string();
        assert!(e.contains("does not directly follow"), "{e}");
    }
}
