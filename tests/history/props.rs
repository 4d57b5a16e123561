//! Property tests of the importers against an independent EDN printer: any
//! printed value parses back to itself; any printed history imports to the
//! ops it was printed from; any truncation of a history imports to a prefix
//! of its ops (with a warning when the cut falls inside an op); input with
//! no op at all is an error.

use faultline::history::import::{
    edn, import_str, read_str, Format, ImportError, ImportOptions, Independent,
};
use faultline::history::{jsonl, History, Op, OpType, Process};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{Map, Value};

/// The oracle: prints JSON-shaped data as EDN (strings for keys, vectors for arrays).
fn print(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("nil"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => print_str(s, out),
        Value::Array(xs) => {
            out.push('[');
            for (i, x) in xs.iter().enumerate() {
                if i > 0 {
                    out.push_str(if i % 2 == 0 { ", " } else { " " });
                }
                print(x, out);
            }
            out.push(']');
        }
        Value::Object(m) => {
            out.push('{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                print_str(k, out);
                out.push(' ');
                print(x, out);
            }
            out.push('}');
        }
    }
}

fn print_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "[a-z \"\\\\\n\té;,{}()\\[\\]:#]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(("[a-z:; ]{0,4}", inner), 0..4)
                .prop_map(|kvs| Value::Object(kvs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn op() -> impl Strategy<Value = Op> {
    (
        prop_oneof![
            Just(OpType::Invoke),
            Just(OpType::Ok),
            Just(OpType::Fail),
            Just(OpType::Info)
        ],
        prop_oneof![9 => (0u64..50).prop_map(Process::Client), 1 => Just(Process::Nemesis)],
        "[a-z][a-z-]{0,6}",
        prop::option::of(prop_oneof![
            (0i64..100).prop_map(Value::from),
            "[a-z0-9]{1,3}".prop_map(Value::String)
        ]),
        value(),
        0u64..1_000_000,
    )
        .prop_map(|(ty, process, f, key, value, dt)| {
            let mut op = Op::new(ty, process, f, value).with_time(dt);
            op.key = key;
            op
        })
}

/// Ops with increasing times (each op's `time` is first drawn as a delta).
fn history() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(op(), 0..12).prop_map(|mut ops| {
        let mut t = 0;
        for (i, o) in ops.iter_mut().enumerate() {
            t += o.time;
            o.time = t;
            o.index = i as u64;
        }
        ops
    })
}

fn print_op(o: &Op) -> String {
    let mut s = format!("{{:type :{}, :process ", o.ty);
    match o.process {
        Process::Client(p) => s.push_str(&p.to_string()),
        Process::Nemesis => s.push_str(":nemesis"),
    }
    s.push_str(&format!(", :f :{}, :time {}", o.f, o.time));
    if let Some(k) = &o.key {
        s.push_str(", :key ");
        print(k, &mut s);
    }
    s.push_str(", :value ");
    print(&o.value, &mut s);
    s.push('}');
    s
}

/// Reads EDN verbatim: random values may look like `independent` tuples.
/// Input without ops (an error) reads as the empty history here.
fn read_edn(text: &str) -> Result<History, TestCaseError> {
    let opts = ImportOptions {
        format: Some(Format::Edn),
        independent: Independent::Keep,
    };
    no_ops_as_empty(import_str(text, "p.edn", &opts).map(|i| i.history), text)
}

fn no_ops_as_empty(r: Result<History, ImportError>, text: &str) -> Result<History, TestCaseError> {
    match r {
        Err(ImportError::NoOps { .. }) => Ok(History::default()),
        r => r.map_err(|e| TestCaseError::fail(format!("{text:?}: {e}"))),
    }
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new_with_rng(
        Config {
            cases,
            ..Config::default()
        },
        TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
    )
}

#[test]
fn printed_edn_values_parse_back() {
    let _serial = serial!();
    runner(2000)
        .run(&value(), |v| {
            let mut s = String::new();
            print(&v, &mut s);
            let got = edn::parse_one(&s).map_err(|e| TestCaseError::fail(format!("{s}: {e}")))?;
            prop_assert_eq!(got.to_json(), v, "{}", s);
            Ok(())
        })
        .unwrap();
}

#[test]
fn printed_histories_import_to_their_ops() {
    let _serial = serial!();
    runner(1000)
        .run(&(history(), any::<bool>()), |(ops, as_vector)| {
            let lines: Vec<String> = ops.iter().map(print_op).collect();
            let text = if as_vector {
                format!("[{}]\n", lines.join("\n "))
            } else {
                lines.iter().map(|l| format!("{l}\n")).collect()
            };
            let h = read_edn(&text)?;
            prop_assert!(h.warnings.is_empty());
            prop_assert_eq!(&h.ops, &ops);
            // And through JSONL, detected by content.
            let mut out = Vec::new();
            jsonl::write(&h, &mut out).unwrap();
            let text = std::str::from_utf8(&out).unwrap();
            let back = no_ops_as_empty(read_str(text, "p.jsonl", None), text)?;
            prop_assert_eq!(back.ops, ops);
            Ok(())
        })
        .unwrap();
}

#[test]
fn truncated_histories_import_to_a_prefix() {
    let _serial = serial!();
    let strat = (history(), any::<prop::sample::Index>(), any::<bool>());
    runner(3000)
        .run(&strat, |(ops, cut, edn)| {
            let text = if edn {
                ops.iter()
                    .map(|o| format!("{}\n", print_op(o)))
                    .collect::<String>()
            } else {
                let mut out = Vec::new();
                jsonl::write(&History::new(ops.clone()), &mut out).unwrap();
                String::from_utf8(out).unwrap()
            };
            let mut at = cut.index(text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            let cut_text = &text[..at];
            let h = if edn {
                read_edn(cut_text)?
            } else {
                no_ops_as_empty(read_str(cut_text, "cut", Some(Format::Jsonl)), cut_text)?
            };
            let n = h.ops.len();
            prop_assert!(n <= ops.len());
            // Times of a one-op JSONL prefix may be synthesised; compare the rest.
            for (a, b) in h.ops.iter().zip(&ops) {
                prop_assert_eq!((&a.f, &a.value, &a.key, a.ty), (&b.f, &b.value, &b.key, b.ty));
            }
            // A cut inside the first op leaves no op: an error (read as empty here).
            let mid_op = n > 0 && !cut_text.ends_with('\n');
            // A cut right after the closing brace leaves a complete op.
            let complete_tail = cut_text.ends_with('}') && n == cut_text.lines().count();
            prop_assert_eq!(
                h.warnings.len(),
                usize::from(mid_op && !complete_tail),
                "{:?}",
                cut_text
            );
            Ok(())
        })
        .unwrap();
}
