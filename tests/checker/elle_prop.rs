//! Elle property tests. Oracle: histories generated from a serial execution
//! (`testkit::elle`) are serializable by construction, and strictly so in
//! strict mode, also when the last appends of their keys are never read (the
//! placement of unobserved appends must not invent cycles); injecting a
//! hand-written anomaly (the bad fixtures, on fresh keys and processes) must
//! make the checker find and name exactly those kinds.

use faultline::checker::elle::{check, ElleOptions, Model};
use faultline::checker::Validity;
use faultline::history::{jsonl, History, Process};
use faultline::testkit::elle as gen;
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, RngSeed};
use std::path::PathBuf;

fn cfg_strategy() -> impl Strategy<Value = gen::GenConfig> {
    (
        any::<u64>(),
        prop::bool::ANY,
        1usize..120,
        1usize..6,
        1usize..5,
        1usize..6,
        0.0f64..0.15,
        0.0f64..0.15,
        0usize..12,
    )
        .prop_map(
            |(seed, list, txns, keys, ops, conc, fail, info, unread_tail)| gen::GenConfig {
                txns,
                keys,
                ops_per_txn: ops,
                max_writes_per_key: 6,
                concurrency: conc,
                model: if list {
                    Model::ListAppend
                } else {
                    Model::RwRegister
                },
                read_rate: 0.5,
                fail_rate: fail,
                info_rate: info,
                strict: true,
                unread_tail,
                seed,
            },
        )
}

fn config(cases: u32, seed: u64) -> ProptestConfig {
    ProptestConfig {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Bad fixtures used as injections, with the kinds each must be named as.
const INJECT: &[(&str, &[&str], bool)] = &[
    ("G0", &["G0"], true),
    ("G1a", &["G1a"], true),
    ("G1b", &["G1b", "G-single", "lost-append"], true),
    ("G1c", &["G1c"], true),
    ("G-single", &["G-single"], true),
    ("G2-item", &["G2-item"], true),
    ("G1c-process", &["G1c-process"], true),
    ("G-single-process", &["G-single-process"], true),
    ("G-single-realtime", &["G-single-realtime"], true),
    ("G0-realtime", &["G0-realtime"], true),
    ("internal", &["internal"], true),
    ("duplicate-elements", &["duplicate-elements"], true),
    ("incompatible-order", &["incompatible-order"], true),
    ("rw-G1a", &["G1a"], false),
    ("rw-G1b", &["G1b"], false),
    ("rw-G1c", &["G1c"], false),
    ("rw-G-single", &["G-single"], false),
    ("rw-internal", &["internal"], false),
];

fn fixture(stem: &str) -> History {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/elle")
        .join(format!("{stem}-bad.jsonl"));
    jsonl::read_file(&p).unwrap()
}

/// Splices `inj` into `base` at event position `at`, on processes no base op uses.
fn splice(base: &History, inj: &History, at: usize) -> History {
    let at = at % (base.len() + 1);
    let mut ops = base.ops[..at].to_vec();
    for o in &inj.ops {
        let mut o = o.clone();
        if let Process::Client(p) = o.process {
            o.process = Process::Client(1_000_000 + p);
        }
        ops.push(o);
    }
    ops.extend_from_slice(&base.ops[at..]);
    for (i, o) in ops.iter_mut().enumerate() {
        o.index = i as u64;
        o.time = i as u64 * 1000;
    }
    History::new(ops)
}

proptest! {
    #![proptest_config(config(256, 0x5eed_e11e))]

    #[test]
    fn strictly_serial_histories_are_never_flagged(cfg in cfg_strategy()) {
        let _serial = serial!();
        let h = gen::generate(&cfg);
        let v = check(&h, &ElleOptions::default()).unwrap();
        prop_assert_eq!(v.valid, Validity::Valid, "{} {:?}", v.summary, v.anomalies);
    }

    #[test]
    fn serial_histories_only_ever_break_real_time(cfg in cfg_strategy()) {
        let _serial = serial!();
        let cfg = gen::GenConfig { strict: false, ..cfg };
        let h = gen::generate(&cfg);
        let v = check(&h, &ElleOptions::default()).unwrap();
        for a in &v.anomalies {
            // A lost append is judged against real-time order too.
            prop_assert!(a.kind.ends_with("-realtime") || a.kind == "lost-append", "{}: {}", a.kind, a.explanation);
        }
        let no_rt = ElleOptions { realtime: false, ..ElleOptions::default() };
        let v = check(&h, &no_rt).unwrap();
        prop_assert_eq!(v.valid, Validity::Valid, "{}", v.summary);
    }

    #[test]
    fn injected_anomalies_are_found_and_named(
        cfg in cfg_strategy(),
        which in 0usize..INJECT.len(),
        at in any::<usize>(),
    ) {
        let _serial = serial!();
        let (stem, want, list) = INJECT[which];
        let cfg = gen::GenConfig {
            model: if list { Model::ListAppend } else { Model::RwRegister },
            ..cfg
        };
        let h = splice(&gen::generate(&cfg), &fixture(stem), at);
        let v = check(&h, &ElleOptions::default()).unwrap();
        prop_assert_eq!(v.valid, Validity::Invalid);
        let mut kinds: Vec<&str> = v.anomalies.iter().map(|a| a.kind.as_str()).collect();
        kinds.sort_unstable();
        let mut want = want.to_vec();
        want.sort_unstable();
        prop_assert_eq!(kinds, want, "{}", v.summary);
    }
}

/// The property above is not vacuous: generated histories with unread tails do
/// place unobserved appends, and the edges they add are in the graph.
#[test]
fn unread_tails_exercise_the_unobserved_append_inference() {
    let _serial = serial!();
    let mut edges = 0;
    for seed in 0..20 {
        let cfg = gen::GenConfig {
            txns: 200,
            keys: 5,
            unread_tail: 20,
            seed,
            ..gen::GenConfig::default()
        };
        let v = check(&gen::generate(&cfg), &ElleOptions::default()).unwrap();
        assert_eq!(v.valid, Validity::Valid, "seed {seed}: {}", v.summary);
        edges += v.details["stats"]["unobserved_append_edges"].as_u64().unwrap();
    }
    assert!(edges > 100, "only {edges} edges from unobserved appends");
}
