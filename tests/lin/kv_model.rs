//! The interned kv model (canonical append-trie ids, prefix pruning) against
//! plain `String` semantics on random walks of put/append/get: a state's id
//! is equal to another's iff their strings are, a get succeeds iff the
//! string equals its result, and `dead`/`revives` never rule out a get that
//! could still succeed.

use faultline::model::{Kv, Model, OpView, Outcome};
use proptest::prelude::*;
use serde_json::{json, Value};
use std::collections::HashMap;

/// Pieces that make equal strings by different append orders ("a"+"b" =
/// "ab"), the empty piece, and a multi-byte character.
const PIECES: [&str; 7] = ["", "a", "b", "ab", "ba", "x 1 y", "é"];

fn text_of(ix: &[u8]) -> String {
    ix.iter().map(|&i| PIECES[i as usize % PIECES.len()]).collect()
}

#[derive(Clone, Debug)]
enum Step {
    Put(u8),
    Append(u8),
    /// A get whose result is the concatenation of these pieces.
    Get(Vec<u8>),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        1 => any::<u8>().prop_map(Step::Put),
        4 => any::<u8>().prop_map(Step::Append),
        4 => prop::collection::vec(any::<u8>(), 0..5).prop_map(Step::Get),
    ]
}

fn prepare(m: &mut Kv, s: &Step) -> (String, <Kv as Model>::Op) {
    let null = Value::Null;
    let (f, input, result) = match s {
        Step::Put(p) => ("put", json!(PIECES[*p as usize % PIECES.len()]), Value::Null),
        Step::Append(p) => ("append", json!(PIECES[*p as usize % PIECES.len()]), Value::Null),
        Step::Get(ix) => ("get", Value::Null, json!(text_of(ix))),
    };
    let view = OpView {
        index: 0,
        key: Some("k"),
        f,
        input: &input,
        outcome: Outcome::Ok(if f == "get" { &result } else { &null }),
    };
    let op = m.prepare(&view).unwrap().unwrap();
    let text = match s {
        Step::Get(ix) => text_of(ix),
        Step::Put(p) | Step::Append(p) => PIECES[*p as usize % PIECES.len()].to_string(),
    };
    (text, op)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn interned_kv_matches_plain_strings(steps in prop::collection::vec(step(), 1..40)) {
        let _serial = serial!();
        let mut m = Kv::default();
        let ops: Vec<(Step, String, _)> = steps
            .iter()
            .map(|s| {
                let (t, o) = prepare(&mut m, s);
                (s.clone(), t, o)
            })
            .collect();
        let mut state = m.init();
        let mut plain = String::new();
        let mut by_id: HashMap<u32, String> = HashMap::new();
        let mut by_text: HashMap<String, u32> = HashMap::new();
        for (s, text, op) in &ops {
            match s {
                Step::Get(_) => {
                    let got = m.step(&state, op);
                    prop_assert_eq!(got.is_some(), plain == *text, "get {:?} in {:?}", text, plain);
                    if m.dead(&state, op) {
                        prop_assert!(!text.starts_with(plain.as_str()), "dead but {:?} extends {:?}", text, plain);
                    }
                    // Every put's value that starts the get's result must be able to revive it.
                    for (s2, t2, op2) in &ops {
                        if matches!(s2, Step::Put(_)) && text.starts_with(t2.as_str()) {
                            prop_assert!(m.revives(op2, op));
                        }
                    }
                }
                Step::Put(_) => {
                    prop_assert!(m.resets(op));
                    state = m.step(&state, op).unwrap();
                    plain = text.clone();
                }
                Step::Append(_) => {
                    prop_assert!(!m.resets(op));
                    state = m.step(&state, op).unwrap();
                    plain.push_str(text);
                }
            }
            prop_assert_eq!(m.state_json(&state), json!(plain.clone()));
            let same_text = by_text.entry(plain.clone()).or_insert(state);
            prop_assert_eq!(*same_text, state, "two ids for {:?}", plain);
            let same_id = by_id.entry(state).or_insert_with(|| plain.clone());
            prop_assert_eq!(same_id.as_str(), plain.as_str(), "one id for two strings");
        }
    }
}
