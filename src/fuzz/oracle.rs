//! How many complete ops a fragment of a history file holds on its own, by
//! the format's reader applied to that fragment alone: the yardstick the
//! corpus uses to tell a mutation that damaged an op (the fragment is not
//! whole ops) from one that changed or removed ops but left a well-formed
//! file.

use crate::history::import::{implicit, jepsen, porcupine, Format};
use crate::history::{jsonl, Process};

/// The complete ops in `fragment` (text of one or more whole lines of a
/// file in `format`); `None` when it is not whole ops: a damaged op, an op
/// cut short, bytes that are not UTF-8.
pub fn ops_in(fragment: &[u8], format: Format) -> Option<usize> {
    let text = std::str::from_utf8(fragment).ok()?;
    match format {
        Format::Jsonl => {
            let text = format!("{}\n", lf(text));
            let h = match jsonl::read(text.as_bytes(), "fragment") {
                Ok(h) => h,
                // As the importer reads it: an op without `f` whose value is txn micro-ops
                // is a `txn` (Elle's histories leave `f` out). A missing `process` is
                // left out here: whether it can be assigned depends on the other lines.
                Err(jsonl::JsonlError::Parse { message, .. }) if message == "missing field `f`" => {
                    let (h, _) = implicit::read_jsonl(&text, "fragment").ok()?;
                    if h.ops
                        .iter()
                        .any(|o| o.process == Process::Client(implicit::NO_PROCESS))
                    {
                        return None;
                    }
                    h
                }
                Err(_) => return None,
            };
            h.warnings.is_empty().then_some(h.ops.len())
        }
        Format::PorcupineEtcd => {
            let p = porcupine::parse(&format!("{}\n", lf(text)), "fragment").ok()?;
            p.warnings.is_empty().then_some(p.ops.len())
        }
        Format::Edn => {
            let p = jepsen::parse(&format!("{text}\n"), "fragment").ok()?;
            p.warnings.is_empty().then_some(p.ops.len())
        }
    }
}

/// `\r\n` and `\r` as `\n`, as the line formats' readers see them.
fn lf(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_whole_ops_and_refuses_damage() {
        let j = br#"{"type":"invoke","process":0,"f":"read"}"#;
        assert_eq!(ops_in(j, Format::Jsonl), Some(1));
        assert_eq!(ops_in(b"  ", Format::Jsonl), Some(0));
        assert_eq!(ops_in(&j[..j.len() - 1], Format::Jsonl), None);
        // A txn without `f` is still an op (the importer reads it as `txn`); a read without
        // `f`, or an op without `process`, is not one on its own.
        let txn = br#"{"type":"ok","process":1,"}f":"txn","value":[["r","x",[1,1]]]}"#;
        assert_eq!(ops_in(txn, Format::Jsonl), Some(1));
        assert_eq!(
            ops_in(br#"{"type":"ok","process":1,"value":3}"#, Format::Jsonl),
            None
        );
        let no_process = br#"{"type":"ok","f":"txn","value":[["r","x",[1]]]}"#;
        assert_eq!(ops_in(no_process, Format::Jsonl), None);
        assert_eq!(
            ops_in(b"{:type :invoke :process 0 :f :read}", Format::Edn),
            Some(1)
        );
        assert_eq!(
            ops_in(b"; {:type :invoke :process 0 :f :read}", Format::Edn),
            Some(0)
        );
        assert_eq!(ops_in(b"{:type :invoke :process 0 :f :read", Format::Edn), None);
        assert_eq!(
            ops_in(
                b"INFO  jepsen.util - 2\t:invoke\t:cas\t[3 0]",
                Format::PorcupineEtcd
            ),
            Some(1)
        );
        assert_eq!(
            ops_in(
                b"INFO  jepsen.util - 2\t:invoke\t:cas\t[3 0",
                Format::PorcupineEtcd
            ),
            None
        );
        assert_eq!(ops_in(b"\xff", Format::Jsonl), None);
    }
}
