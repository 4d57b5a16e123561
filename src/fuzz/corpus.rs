//! The hostile corpus: seeded mutations of the fixture histories of every
//! format (faultline JSONL, Jepsen/Knossos EDN, Porcupine etcd logs), plus
//! synthetic junk, each with what a correct reader must make of it.
//!
//! How a case knows: a base fixture is one op per line, so a mutation
//! touches known lines, and [`super::oracle::ops_in`] says whether a touched
//! line is still whole ops on its own. A damaged op followed by other ops
//! is [`Expect::Error`] (never a verdict); a damaged last op may be dropped
//! as a truncated tail ([`Expect::Tail`]); a file whose lines are all whole
//! ops is a different but well-formed history, read op for op
//! ([`Expect::Ops`]: deleting an op may leave a valid history, so no verdict
//! is asserted); a cut file reads as its whole lines and checks like them
//! ([`Expect::Prefix`]); new line ends or a byte-order mark change nothing
//! ([`Expect::Same`]).

use super::mutate::{damage, Lines, Mutation};
use super::oracle::ops_in;
use crate::history::import::Format;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::{Path, PathBuf};

/// A fixture history the corpus mutates: one op (or none) per line.
#[derive(Clone, Debug)]
pub struct Base {
    pub path: PathBuf,
    pub format: Format,
    pub lines: Lines,
    /// Complete ops on each line.
    pub per_line: Vec<usize>,
    pub ops: usize,
}

/// What a correct reader makes of a case.
#[derive(Clone, Debug, PartialEq)]
pub enum Expect {
    /// Exactly what it makes of the base: same exit codes, same converted ops.
    Same,
    /// An error (exit 3) from every command: an op is damaged and others follow it.
    Error,
    /// A well-formed history of this many ops (exit 3 allowed only for 0 ops).
    Ops(usize),
    /// The last op is damaged: an error, or the other ops (this many) read.
    Tail(usize),
    /// A cut file: this many ops read (exit 3 only for 0), and `check`
    /// answers as on the reference file (the whole ops before the cut).
    Prefix(usize),
    /// No expectation beyond the universal ones (no crash, within bounds).
    Any,
}

/// One generated file.
#[derive(Clone, Debug)]
pub struct Case {
    pub name: String,
    /// Index into the bases (`None` for synthetic files).
    pub base: Option<usize>,
    pub format: Option<Format>,
    pub what: String,
    pub expect: Expect,
    pub bytes: Vec<u8>,
    /// For [`Expect::Prefix`]: the file `check` must answer like.
    pub reference: Option<Vec<u8>>,
}

/// Fixture files tried as bases (relative to the fixtures directory).
const BASE_DIRS: &[(&str, Format)] = &[
    ("lin", Format::Jsonl),
    ("checkers/set", Format::Jsonl),
    ("checkers/stale", Format::Jsonl),
    ("checkers/session", Format::Jsonl),
    ("checkers/counter", Format::Jsonl),
    ("elle", Format::Jsonl),
    ("elle", Format::Edn),
    ("history", Format::Edn),
    ("histories/porcupine/kv", Format::Edn),
    ("histories/porcupine/etcd", Format::PorcupineEtcd),
];

/// Every fixture that qualifies as a base: it reads in its format, has at
/// least two ops, ends with a newline, and each line is whole ops.
pub fn bases(fixtures: &Path) -> Vec<Base> {
    let mut out = Vec::new();
    for (dir, format) in BASE_DIRS {
        let Ok(rd) = std::fs::read_dir(fixtures.join(dir)) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths {
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
            let wanted = match format {
                Format::Jsonl => ext == "jsonl",
                Format::Edn => matches!(ext, "edn" | "txt"),
                Format::PorcupineEtcd => ext == "log",
            };
            if !wanted || path.to_string_lossy().contains("-bad.") && *dir == "history" {
                continue;
            }
            if let Some(b) = base(&path, *format) {
                out.push(b);
            }
        }
    }
    out
}

fn base(path: &Path, format: Format) -> Option<Base> {
    let bytes = std::fs::read(path).ok()?;
    if !bytes.ends_with(b"\n") {
        return None;
    }
    let lines = Lines::parse(&bytes);
    let per_line: Option<Vec<usize>> = lines.lines.iter().map(|(c, _)| ops_in(c, format)).collect();
    let per_line = per_line.filter(|p| p.iter().all(|&k| k <= 1))?;
    let ops: usize = per_line.iter().sum();
    let whole = crate::history::import::import_str(
        std::str::from_utf8(&bytes).ok()?,
        "base",
        &crate::history::import::ImportOptions {
            format: Some(format),
            ..Default::default()
        },
    )
    .ok()?;
    (ops >= 2 && whole.history.len() == ops).then(|| Base {
        path: path.to_path_buf(),
        format,
        lines,
        per_line,
        ops,
    })
}

/// `n` cases from `bases`, seeded; one in twenty is synthetic junk.
pub fn generate(bases: &[Base], n: usize, seed: u64) -> Vec<Case> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let formats = [Format::Jsonl, Format::Edn, Format::PorcupineEtcd];
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let i = out.len();
        if bases.is_empty() || i % 20 == 19 {
            out.push(junk(&mut rng, i));
            continue;
        }
        let f = formats[rng.gen_range(0..formats.len())];
        let of_format: Vec<usize> = (0..bases.len()).filter(|&b| bases[b].format == f).collect();
        let Some(&b) = of_format.choose(&mut rng) else {
            continue;
        };
        if let Some(c) = mutate(&mut rng, bases, b, i) {
            out.push(c);
        }
    }
    out
}

/// One mutation of base `b`, with its expectation.
fn mutate(rng: &mut ChaCha8Rng, bases: &[Base], b: usize, i: usize) -> Option<Case> {
    let base = &bases[b];
    let nl = base.lines.lines.len();
    let line = rng.gen_range(0..nl);
    let k = base.per_line[line];
    let later: usize = base.per_line[line + 1..].iter().sum();
    let n = base.ops;
    let mut reference = None;
    let (m, expect) = match rng.gen_range(0..100) {
        0..=44 => {
            let (what, new) = damage(rng, &base.lines.lines[line].0, base.format)?;
            let expect = match ops_in(&new, base.format) {
                Some(j) => Expect::Ops(n - k + j),
                None if later > 0 => Expect::Error,
                None => Expect::Tail(n - k),
            };
            (Mutation::Content { line, what, new }, expect)
        }
        45..=52 => (Mutation::DeleteLine(line), Expect::Ops(n - k)),
        53..=58 => (Mutation::DuplicateLine(line), Expect::Ops(n + k)),
        59..=61 if line + 1 < nl => (Mutation::SwapLines(line), Expect::Ops(n)),
        62..=64 if line + 1 < nl => {
            let (a, b) = (&base.lines.lines[line].0, &base.lines.lines[line + 1].0);
            let joined = [a.as_slice(), b.as_slice()].concat();
            let two = k + base.per_line[line + 1];
            let after: usize = base.per_line[line + 2..].iter().sum();
            let expect = match ops_in(&joined, base.format) {
                Some(j) => Expect::Ops(n - two + j),
                None if after > 0 => Expect::Error,
                None => Expect::Tail(n - two),
            };
            (Mutation::JoinLines(line), expect)
        }
        65..=84 => {
            let bytes = base.lines.bytes();
            let cut = rng.gen_range(0..bytes.len());
            let (ops, r) = cut_reference(base, cut);
            reference = Some(r);
            (Mutation::Truncate(cut), Expect::Prefix(ops))
        }
        85..=89 => (Mutation::LineEnds("\r"), Expect::Same),
        90..=94 => (Mutation::LineEnds("\r\n"), Expect::Same),
        95..=99 => (Mutation::Bom, Expect::Same),
        _ => return None,
    };
    let bytes = m.apply(&base.lines);
    // The format is told by the first meaningful line: a file whose damage
    // hides it can only be an error (a different but well-formed history in
    // another format would be a reading to guess at).
    let detected = crate::history::import::detect(&String::from_utf8_lossy(&bytes), "case").ok();
    let expect = match expect {
        Expect::Ops(_) | Expect::Tail(_) if detected != Some(base.format) => Expect::Error,
        e => e,
    };
    let stem = base.path.file_stem().and_then(|s| s.to_str()).unwrap_or("base");
    let ext = base.path.extension().and_then(|s| s.to_str()).unwrap_or("txt");
    Some(Case {
        name: format!("{i:04}-{stem}.{ext}"),
        base: Some(b),
        format: Some(base.format),
        what: m.describe(),
        expect,
        bytes,
        reference,
    })
}

/// For a cut after `cut` bytes: the ops a reader must read, and the file of
/// exactly those (whole) ops.
fn cut_reference(base: &Base, cut: usize) -> (usize, Vec<u8>) {
    let mut at = 0;
    let (mut ops, mut r) = (0, Vec::new());
    for (i, (c, e)) in base.lines.lines.iter().enumerate() {
        let end = at + c.len() + e.len();
        if end <= cut {
            ops += base.per_line[i];
            r.extend_from_slice(c);
            r.extend_from_slice(e);
            at = end;
            continue;
        }
        let mut partial = &c[..(cut - at).min(c.len())];
        // A character cut in two is dropped by the reader, like any cut tail.
        if let Err(e) = std::str::from_utf8(partial) {
            partial = &partial[..e.valid_up_to()];
        }
        if let Some(j) = ops_in(partial, base.format).filter(|&j| j > 0) {
            ops += j;
            r.extend_from_slice(partial);
            r.push(b'\n');
        }
        break;
    }
    (ops, r)
}

/// Synthetic hostile files no reader may take for a history.
fn junk(rng: &mut ChaCha8Rng, i: usize) -> Case {
    let deep = |open: &str, n: usize| open.repeat(n).into_bytes();
    let kinds: Vec<(&str, Vec<u8>)> = vec![
        ("empty file", Vec::new()),
        ("only a byte-order mark", "\u{feff}".as_bytes().to_vec()),
        ("only `[`", b"[\n".to_vec()),
        ("only `#`", b"#".to_vec()),
        ("an empty list", b"()".to_vec()),
        ("comments only", b"; a comment\n;; another\n".to_vec()),
        ("blank lines", b"\n\r\n\r\n".to_vec()),
        ("[ x 100000", deep("[", 100_000)),
        ("( x 100000", deep("(", 100_000)),
        ("{\"a\": x 10000", deep("{\"a\":", 10_000)),
        ("#_ x 50000 before an op", {
            let mut b = deep("#_", 50_000);
            b.extend_from_slice(b"{:type :invoke :process 0 :f :read}\n");
            b
        }),
        (
            "unterminated EDN maps",
            deep("{:type :invoke :process 0 :f :read\n", 10_000),
        ),
        ("a 5 MB line", vec![b'x'; 5 << 20]),
        ("random bytes", (0..4096).map(|_| rng.gen::<u8>()).collect()),
        ("JSONL value nested 200 deep", {
            let v = format!("{}1{}", "[".repeat(200), "]".repeat(200));
            format!("{{\"type\":\"invoke\",\"process\":0,\"f\":\"write\",\"value\":{v}}}\n").into_bytes()
        }),
    ];
    let (what, bytes) = kinds[rng.gen_range(0..kinds.len())].clone();
    Case {
        name: format!("{i:04}-junk.txt"),
        base: None,
        format: None,
        what: what.to_string(),
        expect: Expect::Error,
        bytes,
        reference: None,
    }
}

/// The issue's big cases: a set history of 10,000 adds and one read of
/// 1,000,000 elements (8 MB), and 40 concurrent `info` writes then 40 reads.
pub fn big_cases(start: usize) -> Vec<Case> {
    let mut set = Vec::with_capacity(9 << 20);
    let mut t = 0u64;
    let mut line = |ty: &str, p: u64, f: &str, v: &str| {
        t += 1000;
        set.extend_from_slice(
            format!("{{\"time\":{t},\"type\":\"{ty}\",\"process\":{p},\"f\":\"{f}\",\"value\":{v}}}\n")
                .as_bytes(),
        );
    };
    for i in 0..10_000u64 {
        line("invoke", i % 10, "add", &i.to_string());
        line("ok", i % 10, "add", &i.to_string());
    }
    let all: Vec<String> = (0..1_000_000).map(|i: u32| i.to_string()).collect();
    line("invoke", 99, "read", "null");
    line("ok", 99, "read", &format!("[{}]", all.join(",")));
    let mut repro = String::new();
    for p in 0..40 {
        repro.push_str(&format!(
            "{{\"type\":\"invoke\",\"process\":{p},\"f\":\"write\",\"value\":{p}}}\n"
        ));
    }
    for p in 0..40 {
        repro.push_str(&format!(
            "{{\"type\":\"info\",\"process\":{p},\"f\":\"write\",\"value\":{p}}}\n"
        ));
    }
    for i in 0..40 {
        let p = 100 + i;
        repro.push_str(&format!(
            "{{\"type\":\"invoke\",\"process\":{p},\"f\":\"read\",\"value\":null}}\n"
        ));
        repro.push_str(&format!(
            "{{\"type\":\"ok\",\"process\":{p},\"f\":\"read\",\"value\":{}}}\n",
            [1, 2, 1][i % 3]
        ));
    }
    let case = |i: usize, name: &str, what: &str, bytes: Vec<u8>| Case {
        name: format!("{i:04}-{name}"),
        base: None,
        format: Some(Format::Jsonl),
        what: what.into(),
        expect: Expect::Any,
        bytes,
        reference: None,
    };
    vec![
        case(
            start,
            "big-set.jsonl",
            "8 MB set history: 10,000 adds, one read of 1,000,000",
            set,
        ),
        case(
            start + 1,
            "info-writes.jsonl",
            "40 concurrent info writes, then 40 reads",
            repro.into_bytes(),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixtures() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
    }

    #[test]
    fn bases_cover_every_format_and_generation_is_seeded() {
        let b = bases(&fixtures());
        for f in [Format::Jsonl, Format::Edn, Format::PorcupineEtcd] {
            assert!(b.iter().filter(|x| x.format == f).count() >= 3, "{f}");
        }
        let a = generate(&b, 60, 7);
        let c = generate(&b, 60, 7);
        assert_eq!(a.len(), 60);
        assert!(a
            .iter()
            .zip(&c)
            .all(|(x, y)| x.bytes == y.bytes && x.expect == y.expect));
        for e in [Expect::Error, Expect::Same] {
            assert!(a.iter().any(|x| x.expect == e), "{e:?}");
        }
    }

    #[test]
    fn a_cut_reads_as_its_whole_lines() {
        let b = bases(&fixtures());
        let base = b.iter().find(|x| x.format == Format::Jsonl).unwrap();
        let first = base.lines.lines[0].0.len();
        // Inside the first line: nothing whole. Right after its content: one op.
        assert_eq!(cut_reference(base, 3).0, 0);
        assert_eq!(cut_reference(base, first).0, 1);
        assert_eq!(cut_reference(base, first + 1).0, 1);
    }
}
