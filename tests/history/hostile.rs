//! Damaged and hostile history files (issue 19, items 1, 3 and 6): a damaged
//! history never passes as valid, no input crashes a reader, and errors name
//! file and line without quoting megabytes back.
//!
//! Policy under test: damage in the middle of a file is an error (exit 3,
//! file:line); only a truncated tail that really is the end of the file and
//! loses at most one op is forgiven (a warning). Line endings (`\n`, `\r\n`,
//! `\r`) and a UTF-8 byte-order mark do not change what is read.

use assert_cmd::Command;
use faultline::history::import::{import_str, read_str, Format, ImportOptions};
use faultline::history::History;
use std::path::{Path, PathBuf};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

fn text(rel: &str) -> String {
    std::fs::read_to_string(fixture(rel)).unwrap()
}

fn faultline() -> Command {
    Command::cargo_bin("faultline").unwrap()
}

/// Runs `faultline ARGS FILE` on `content` written to a temp file; (exit code, stdout, stderr).
fn run_on(content: &[u8], name: &str, args: &[&str]) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(name);
    std::fs::write(&p, content).unwrap();
    let out = faultline().args(args).arg(&p).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn read(text: &str) -> Result<History, String> {
    read_str(text, "h", None).map_err(|e| e.to_string())
}

/// The 76-op non-linearizable Porcupine kv history with the closing brace of
/// line 5 removed: the reader used to swallow everything after it as a
/// "truncated last op" and answer valid from 4 ops.
#[test]
fn edn_missing_brace_in_the_middle_is_an_error_naming_the_line() {
    let _serial = serial!();
    let full = text("histories/porcupine/kv/c01-bad.txt");
    let lines: Vec<&str> = full.lines().collect();
    assert!(lines[4].ends_with('}'));
    let mut damaged = String::new();
    for (i, l) in lines.iter().enumerate() {
        damaged.push_str(if i == 4 { &l[..l.len() - 1] } else { l });
        damaged.push('\n');
    }
    let e = read(&damaged).unwrap_err();
    assert!(e.starts_with("h:5:"), "{e}");
    let (code, out, err) = run_on(damaged.as_bytes(), "c01.edn", &["check"]);
    assert_eq!(code, 3, "{out}{err}");
    assert!(err.contains("c01.edn:5:"), "{err}");
    let (code, _, err) = run_on(damaged.as_bytes(), "c01.edn", &["convert", "-"]);
    assert_eq!(code, 3, "{err}");
}

/// A string that loses its closing quote swallows the rest of the line and
/// the next; wherever the reader ends up, it must not be a verdict.
#[test]
fn edn_missing_quote_in_the_middle_is_an_error() {
    let _serial = serial!();
    let full = text("histories/porcupine/kv/c01-bad.txt");
    for target in [2usize, 4, 10, 40] {
        let lines: Vec<&str> = full.lines().collect();
        let l = lines[target];
        let q = l.rfind('"').unwrap();
        let mut damaged = String::new();
        for (i, x) in lines.iter().enumerate() {
            if i == target {
                damaged.push_str(&l[..q]);
                damaged.push_str(&l[q + 1..]);
            } else {
                damaged.push_str(x);
            }
            damaged.push('\n');
        }
        let e = read(&damaged).unwrap_err();
        assert!(e.contains("h:"), "line {}: {e}", target + 1);
    }
}

#[test]
fn truncated_tail_is_forgiven_only_at_the_end_and_for_one_op() {
    let _serial = serial!();
    let full = text("histories/porcupine/kv/c01-ok.txt");
    let n = full.lines().count();
    // Cut inside the last op: one op lost, a warning.
    let cut = &full[..full.len() - 10];
    let h = read(cut).unwrap();
    assert_eq!(h.len(), n - 1);
    assert_eq!(h.warnings.len(), 1, "{:?}", h.warnings);
    // The same damage one op earlier is not a truncation: an error.
    let lines: Vec<&str> = full.lines().collect();
    let mut two = lines[..n - 2].join("\n");
    two.push('\n');
    two.push_str(&lines[n - 2][..lines[n - 2].len() - 5]);
    two.push('\n');
    two.push_str(lines[n - 1]);
    two.push('\n');
    let e = read(&two).unwrap_err();
    assert!(e.starts_with(&format!("h:{}:", n - 1)), "{e}");
    // JSONL: a last line that is not a prefix of an op is damage, not truncation.
    let jl = "{\"type\":\"invoke\",\"process\":0,\"f\":\"read\"}\n{\"type\":\"ok\",\"process\":0,\"f\":\"read\",\"value\":1x";
    let e = read(jl).unwrap_err();
    assert!(e.starts_with("h:2:"), "{e}");
    let jl = "{\"type\":\"invoke\",\"process\":0,\"f\":\"read\"}\n{\"type\":\"ok\",\"process\":0,\"f\":\"read\",\"value\":[1,";
    assert_eq!(read(jl).unwrap().len(), 1);
}

#[test]
fn cr_only_crlf_and_bom_read_like_lf() {
    let _serial = serial!();
    for rel in [
        "lin/register-bad.jsonl",
        "histories/porcupine/kv/c01-bad.txt",
        "histories/porcupine/etcd/etcd_000.log",
    ] {
        let lf = text(rel);
        let want = read(&lf).unwrap();
        for variant in [
            lf.replace('\n', "\r"),
            lf.replace('\n', "\r\n"),
            format!("\u{feff}{lf}"),
            format!("\u{feff}{}", lf.replace('\n', "\r")),
        ] {
            let got = read(&variant).unwrap_or_else(|e| panic!("{rel}: {e}"));
            assert_eq!(got.ops, want.ops, "{rel}");
            assert!(got.warnings.is_empty(), "{rel}: {:?}", got.warnings);
        }
    }
    // Line numbers count `\r` line ends too.
    let bad = "{\"type\":\"invoke\",\"process\":0,\"f\":\"read\"}\r{\"type\":\"bogus\",\"process\":0,\"f\":\"read\"}\r";
    assert!(read(bad).unwrap_err().starts_with("h:2:"));
    let bad = "{:type :invoke :process 0 :f :read}\r{:type :bogus :process 0 :f :read}\r";
    assert!(read(bad).unwrap_err().starts_with("h:2:"));
    // CR-only JSONL through the binary: the verdict of the LF file.
    let lf = text("lin/register-bad.jsonl");
    let (code, out, _) = run_on(lf.replace('\n', "\r").as_bytes(), "cr.jsonl", &["check"]);
    assert_eq!(code, 1, "{out}");
}

#[test]
fn no_operations_is_an_error_not_a_verdict() {
    let _serial = serial!();
    for input in ["", "\n\n", "[", "[]", "#", "; only a comment\n", "()", "\u{feff}"] {
        let e = read(input).unwrap_err();
        assert!(e.contains("no operations"), "{input:?}: {e}");
        let (code, out, err) = run_on(input.as_bytes(), "empty.edn", &["check"]);
        assert_eq!(code, 3, "{input:?}: {out}");
        assert!(
            err.contains("no operations in") && err.contains("empty.edn"),
            "{err}"
        );
    }
    // Only nemesis ops: nothing a checker can judge.
    let nemesis = "{\"type\":\"info\",\"process\":\"nemesis\",\"f\":\"start\"}\n";
    let (code, _, err) = run_on(nemesis.as_bytes(), "n.jsonl", &["check"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("no client operations"), "{err}");
}

#[test]
fn deep_nesting_is_an_error_with_file_and_line_not_a_crash() {
    let _serial = serial!();
    let deep = "[".repeat(100_000);
    let e = read(&deep).unwrap_err();
    assert!(e.starts_with("h:1:") && e.contains("nest"), "{e}");
    let (code, _, err) = run_on(format!("{deep}\n").as_bytes(), "x", &["check"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("x:1:"), "{err}");
    // JSONL that starts with `[[[` is taken for EDN: the same bounded error.
    let (code, _, err) = run_on(
        format!("{}1\n", "[".repeat(50_000)).as_bytes(),
        "j.jsonl",
        &["check"],
    );
    assert_eq!(code, 3, "{err}");
    // Deep values inside an op, in every format.
    let edn = format!(
        "{{:type :invoke :process 0 :f :write :value {}}}\n",
        "[".repeat(20_000)
    );
    assert!(read(&edn).unwrap_err().contains("nest"));
    let log = format!("INFO  jepsen.util - 0\t:invoke\t:write\t{}\n", "[".repeat(20_000));
    let e = read_str(&log, "h", Some(Format::PorcupineEtcd))
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("h:1:"), "{e}");
    let discard = format!("{}{{:type :invoke :process 0 :f :read}}\n", "#_".repeat(50_000));
    assert!(read(&discard).is_err());
    let jl = format!(
        "{{\"type\":\"invoke\",\"process\":0,\"f\":\"w\",\"value\":{}}}\n",
        "[".repeat(20_000)
    );
    assert!(read(&jl).unwrap_err().starts_with("h:1:"));
}

#[test]
fn a_utf8_character_cut_at_the_end_is_a_truncation() {
    let _serial = serial!();
    let text = "{\"type\":\"invoke\",\"process\":0,\"f\":\"write\",\"value\":1}\n{\"type\":\"ok\",\"process\":0,\"f\":\"write\",\"value\":\"é";
    let bytes = &text.as_bytes()[..text.len() - 1];
    let (code, out, err) = run_on(bytes, "cut.jsonl", &["check", "--checker", "noop"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("warning"), "{out}");
    // Invalid UTF-8 in the middle stays an error.
    let mut mid = bytes.to_vec();
    mid.insert(5, 0xff);
    let (code, _, err) = run_on(&mid, "mid.jsonl", &["check"]);
    assert_eq!(code, 3);
    assert!(err.contains("mid.jsonl:1:"), "{err}");
}

#[test]
fn errors_quote_at_most_a_few_hundred_characters_of_a_value() {
    let _serial = serial!();
    let huge = "x".repeat(10_000_000);
    let cases = [
        format!("{{\"type\":\"invoke\",\"process\":\"{huge}\",\"f\":\"read\"}}\n"),
        format!("{{\"type\":\"{huge}\",\"process\":0,\"f\":\"read\"}}\n"),
        format!("{{:type :{huge} :process 0 :f :read}}\n"),
        format!("{{:type :invoke :process \"{huge}\" :f :read}}\n"),
        format!("[\"{huge}\"]\n"),
        format!("INFO  jepsen.util - 0\t:invoke\t:write\t\"{huge}\n"),
    ];
    for c in &cases {
        let e = read(c).unwrap_err();
        assert!(e.len() < 600, "{} chars: {}", e.len(), &e[..200]);
    }
    // Bad values a model rejects: exit 3 naming the line, quoted briefly.
    let cas = format!(
        "{{\"type\":\"invoke\",\"process\":0,\"f\":\"read\"}}\n{{\"type\":\"ok\",\"process\":0,\"f\":\"read\",\"value\":1}}\n{{\"type\":\"invoke\",\"process\":0,\"f\":\"cas\",\"value\":\"{huge}\"}}\n"
    );
    let (code, _, err) = run_on(cas.as_bytes(), "cas.jsonl", &["check", "--model", "cas-register"]);
    assert_eq!(code, 3, "{}", &err[..err.len().min(300)]);
    assert!(
        err.contains("cas.jsonl:3:") && err.len() < 800,
        "{}",
        &err[..err.len().min(800)]
    );
}

#[test]
fn unknown_model_and_malformed_cas_exit_3_with_the_line() {
    let _serial = serial!();
    let ok = text("lin/register-ok.jsonl");
    let (code, _, err) = run_on(ok.as_bytes(), "r.jsonl", &["check", "--model", "no-such-model"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("no-such-model"), "{err}");
    let cas = "{\"type\":\"invoke\",\"process\":0,\"f\":\"write\",\"value\":1}\n{\"type\":\"ok\",\"process\":0,\"f\":\"write\",\"value\":1}\n{\"type\":\"invoke\",\"process\":0,\"f\":\"cas\",\"value\":5}\n{\"type\":\"ok\",\"process\":0,\"f\":\"cas\",\"value\":5}\n";
    let (code, _, err) = run_on(cas.as_bytes(), "c.jsonl", &["check"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("c.jsonl:3:") && err.contains("cas"), "{err}");
}

#[test]
fn import_options_do_not_hide_damage() {
    let _serial = serial!();
    // A forced format reads the same way.
    let full = text("histories/porcupine/kv/c01-bad.txt");
    let damaged = full.replacen("\"}\n", "\"\n", 3);
    let opts = ImportOptions {
        format: Some(Format::Edn),
        ..Default::default()
    };
    assert!(import_str(&damaged, "h", &opts).is_err());
}
