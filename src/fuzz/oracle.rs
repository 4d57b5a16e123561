//! How many complete ops a fragment of a history file holds on its own, by
//! the format's reader applied to that fragment alone: the yardstick the
//! corpus uses to tell a mutation that damaged an op (the fragment is not
//! whole ops) from one that changed or removed ops but left a well-formed
//! file.

use crate::history::import::{jepsen, porcupine, Format};
use crate::history::jsonl;

/// The complete ops in `fragment` (text of one or more whole lines of a
/// file in `format`); `None` when it is not whole ops: a damaged op, an op
/// cut short, bytes that are not UTF-8.
pub fn ops_in(fragment: &[u8], format: Format) -> Option<usize> {
    let text = std::str::from_utf8(fragment).ok()?;
    match format {
        Format::Jsonl => {
            let h = jsonl::read(format!("{}\n", lf(text)).as_bytes(), "fragment").ok()?;
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
