//! Consistency models and anomalies: which anomalies each model prohibits and
//! which models a set of anomalies rules out.
//!
//! The relations follow Elle's lattice (Kingsbury & Alvaro; sources there:
//! Adya, Bailis et al., Cerone et al., Daudjee & Salem, Fekete et al.), as
//! three small graphs: models → weaker models they imply; models → anomalies
//! they directly prohibit; anomalies → anomalies they imply. Invariants: a
//! model prohibits every anomaly its weaker models prohibit and every anomaly
//! implying one of those; an anomaly rules out every model prohibiting it or
//! anything it implies, and every model implying such a model.
//!
//! Names: canonical names are Adya's where he has one (`PL-2`, `PL-SI`, ...);
//! the friendly names users type and see (`read-committed`, ...) map onto them.
//! Cycle anomalies are named as this checker reports them: `G-single` and
//! `G-nonadjacent` (and their `-process`/`-realtime` forms) are item-level
//! anomalies, Elle's `G-single-item` and `G-nonadjacent-item`; they are
//! translated here so the lattice stays Elle's.

use std::collections::{BTreeSet, HashSet};
use std::sync::OnceLock;

/// (friendly, canonical) names; the first friendly name of a canonical one is
/// the name shown.
const ALIASES: &[(&str, &str)] = &[
    ("read-uncommitted", "PL-1"),
    ("read-committed", "PL-2"),
    ("cursor-stability", "PL-CS"),
    ("monotonic-view", "PL-2L"),
    ("monotonic-snapshot-read", "PL-MSR"),
    ("consistent-view", "PL-2+"),
    ("forward-consistent-view", "PL-FCV"),
    ("update-serializable", "PL-3U"),
    ("repeatable-read", "PL-2.99"),
    ("snapshot-isolation", "PL-SI"),
    ("serializable", "PL-3"),
    ("conflict-serializable", "PL-3"),
    ("strict-serializable", "PL-SS"),
    ("strong-serializable", "PL-SS"),
    ("strong-session-read-uncommitted", "strong-session-PL-1"),
    ("strong-session-read-committed", "strong-session-PL-2"),
    ("strong-read-uncommitted", "strong-PL-1"),
    ("strong-read-committed", "strong-PL-2"),
];

/// Stronger model → weaker models it implies (canonical names).
const IMPLIES: &[(&str, &[&str])] = &[
    ("causal-cerone", &["read-atomic"]),
    ("PL-2+", &["PL-CS", "PL-2L"]),
    ("PL-CS", &["PL-2"]),
    ("PL-FCV", &["PL-2+"]),
    ("PL-2", &["PL-1"]),
    ("PL-3", &["PL-2.99", "PL-3U", "PL-SI", "view-serializable"]),
    ("PL-3U", &["PL-FCV"]),
    ("monotonic-atomic-view", &["PL-2"]),
    ("PL-2L", &["PL-2"]),
    ("PL-MSR", &["PL-2"]),
    ("parallel-snapshot-isolation", &["causal-cerone", "update-atomic"]),
    ("prefix", &["causal-cerone"]),
    ("read-atomic", &["monotonic-atomic-view"]),
    ("PL-2.99", &["PL-CS", "monotonic-atomic-view"]),
    ("update-atomic", &["read-atomic"]),
    ("session-serializable", &["1SR"]),
    (
        "PL-SI",
        &[
            "PL-FCV",
            "monotonic-atomic-view",
            "PL-MSR",
            "parallel-snapshot-isolation",
            "prefix",
        ],
    ),
    (
        "PL-SS",
        &[
            "PL-3",
            "linearizable",
            "PL-SI",
            "strong-snapshot-isolation",
            "strong-session-serializable",
            "session-serializable",
        ],
    ),
    ("strong-session-PL-1", &["PL-1"]),
    ("strong-session-PL-2", &["PL-2", "strong-session-PL-1"]),
    ("strong-PL-1", &["strong-session-PL-1"]),
    ("strong-PL-2", &["strong-session-PL-2", "strong-PL-1"]),
    (
        "strong-session-serializable",
        &["PL-3", "strong-session-snapshot-isolation"],
    ),
    (
        "strong-session-snapshot-isolation",
        &["PL-SI", "strong-session-PL-2"],
    ),
    (
        "strong-snapshot-isolation",
        &["strong-session-snapshot-isolation", "strong-PL-2"],
    ),
    ("linearizable", &["sequential"]),
    ("sequential", &["causal"]),
    ("causal", &["writes-follow-reads", "PRAM"]),
    (
        "PRAM",
        &["monotonic-reads", "monotonic-writes", "read-your-writes"],
    ),
];

/// Model → anomalies it prohibits directly (canonical names).
const PROHIBITS: &[(&str, &[&str])] = &[
    ("causal-cerone", &["internal", "G1a"]),
    ("PL-CS", &["G1", "G-cursor", "lost-update"]),
    ("PL-2L", &["G1", "G-monotonic"]),
    ("PL-MSR", &["G1", "G-MSR"]),
    ("PL-2+", &["G1", "G-single"]),
    ("PL-FCV", &["G1", "G-SIb"]),
    ("parallel-snapshot-isolation", &["internal", "G1a"]),
    (
        "PL-3",
        &["G1", "G2", "predicate-read-miss", "PL-3-cycle-exists", "internal"],
    ),
    ("PL-2", &["G1", "PL-2-cycle-exists"]),
    (
        "PL-1",
        &["G0", "duplicate-elements", "cyclic-versions", "PL-1-cycle-exists"],
    ),
    ("prefix", &["internal", "G1a"]),
    (
        "PL-SI",
        &["internal", "G1", "G-SI", "G-nonadjacent", "PL-SI-cycle-exists"],
    ),
    ("read-atomic", &["internal", "G1a", "future-read"]),
    (
        "PL-2.99",
        &["G1", "G2-item", "PL-2.99-cycle-exists", "lost-update"],
    ),
    ("update-atomic", &["lost-update"]),
    (
        "PL-SS",
        &["G1", "G1c-realtime", "G2-realtime", "PL-SS-cycle-exists"],
    ),
    (
        "strong-session-PL-1",
        &["strong-session-PL-1-cycle-exists", "G0-process"],
    ),
    (
        "strong-session-PL-2",
        &["strong-session-PL-2-cycle-exists", "G1c-process"],
    ),
    ("strong-PL-1", &["strong-PL-1-cycle-exists", "G0-realtime"]),
    ("strong-PL-2", &["strong-PL-2-cycle-exists", "G1c-realtime"]),
    (
        "strong-session-snapshot-isolation",
        &[
            "internal",
            "G1-process",
            "G-nonadjacent-process",
            "strong-session-snapshot-isolation-cycle-exists",
        ],
    ),
    (
        "strong-snapshot-isolation",
        &[
            "internal",
            "G1-realtime",
            "G-nonadjacent-realtime",
            "strong-snapshot-isolation-cycle-exists",
        ],
    ),
    (
        "strong-session-serializable",
        &[
            "G1-process",
            "G2-process",
            "strong-session-serializable-cycle-exists",
        ],
    ),
    ("PL-3U", &["G1", "G-update"]),
];

/// Anomaly → anomalies it implies (Elle's names; see [`elle_name`]).
const IMPLIED: &[(&str, &[&str])] = &[
    ("G0", &["G1c", "G0-process"]),
    ("G0-process", &["G1c-process", "G0-realtime"]),
    ("G0-realtime", &["G1c-realtime"]),
    ("G1a", &["G1"]),
    ("G1b", &["G1"]),
    ("G1c", &["G1", "G1c-process"]),
    ("G1c-process", &["G1c-realtime", "G1-process"]),
    ("G1c-realtime", &["G1-realtime"]),
    ("G1", &["G1-process"]),
    ("G1-process", &["G1-realtime"]),
    (
        "G-single-item",
        &["G-single", "G-single-item-process", "G-nonadjacent-item"],
    ),
    (
        "G-single-item-process",
        &[
            "G-single-process",
            "G-single-item-realtime",
            "G-nonadjacent-item-process",
        ],
    ),
    (
        "G-single-item-realtime",
        &["G-single-realtime", "G-nonadjacent-item-realtime"],
    ),
    ("G-single", &["G-nonadjacent", "GSIb", "G-single-process"]),
    (
        "G-single-process",
        &["G-nonadjacent-process", "G-single-realtime"],
    ),
    ("G-single-realtime", &["G-nonadjacent-realtime"]),
    (
        "G-nonadjacent-item",
        &["G-nonadjacent", "G2-item", "G-nonadjacent-item-process"],
    ),
    (
        "G-nonadjacent-item-process",
        &[
            "G-nonadjacent-process",
            "G2-item-process",
            "G-nonadjacent-item-realtime",
        ],
    ),
    (
        "G-nonadjacent-item-realtime",
        &["G2-item-realtime", "G-nonadjacent-realtime"],
    ),
    ("G-nonadjacent", &["G2", "G-nonadjacent-process"]),
    ("G-nonadjacent-process", &["G2-process", "G-nonadjacent-realtime"]),
    ("G-nonadjacent-realtime", &["G2-realtime"]),
    ("G2", &["G2-process"]),
    ("G2-item", &["G2", "G2-item-process"]),
    ("G2-item-process", &["G2-process", "G2-item-realtime"]),
    ("G2-item-realtime", &["G2-realtime"]),
    ("G2-process", &["G2-realtime"]),
    ("GSIa", &["GSI"]),
    ("GSIb", &["GSI"]),
    ("incompatible-order", &["G1a"]),
    ("future-read", &["G1c"]),
    ("dirty-update", &["G1a"]),
    ("lost-update", &["write-skew", "G2-item"]),
    ("write-skew", &["G2"]),
    // Not Elle's: an acknowledged append that reads begun after it never show
    // is a real-time anti-dependency cycle of one rw edge.
    ("lost-append", &["G-single-item-realtime"]),
];

/// The model every check assumes unless told otherwise.
pub const DEFAULT_MODEL: &str = "strict-serializable";

/// Elle's name for an anomaly this checker reports (item-level cycles differ).
pub fn elle_name(kind: &str) -> String {
    for base in ["G-single", "G-nonadjacent"] {
        if let Some(rest) = kind.strip_prefix(base) {
            if rest.is_empty() || rest == "-process" || rest == "-realtime" {
                return format!("{base}-item{rest}");
            }
        }
    }
    kind.to_string()
}

/// This checker's name for an Elle anomaly name (inverse of [`elle_name`]).
fn ours(elle: &str) -> String {
    for base in ["G-single", "G-nonadjacent"] {
        if let Some(rest) = elle.strip_prefix(base).and_then(|r| r.strip_prefix("-item")) {
            return format!("{base}{rest}");
        }
    }
    elle.to_string()
}

/// Canonical name of a model (unknown names pass through).
pub fn canonical(model: &str) -> &str {
    ALIASES
        .iter()
        .find(|(f, _)| *f == model)
        .map_or(model, |(_, c)| c)
}

/// Name shown for a canonical model.
pub fn friendly(model: &str) -> &str {
    ALIASES
        .iter()
        .find(|(_, c)| *c == model)
        .map_or(model, |(f, _)| f)
}

/// Every model name accepted, friendly and canonical, sorted.
pub fn known_models() -> BTreeSet<&'static str> {
    let mut s: BTreeSet<&'static str> = BTreeSet::new();
    for (a, bs) in IMPLIES {
        s.insert(a);
        s.extend(bs.iter());
    }
    for (f, c) in ALIASES {
        s.insert(f);
        s.insert(c);
    }
    s
}

/// Parses a comma-separated list of models (canonicalised, deduplicated).
pub fn parse_list(s: &str) -> Result<Vec<String>, String> {
    let known = known_models();
    let mut out: Vec<String> = Vec::new();
    for m in s.split(',').map(str::trim).filter(|m| !m.is_empty()) {
        let m = m.trim_start_matches(':');
        if !known.contains(m) {
            return Err(format!(
                "unknown consistency model `{m}`; known models: {}",
                known.iter().copied().collect::<Vec<_>>().join(", ")
            ));
        }
        let c = canonical(m).to_string();
        if !out.contains(&c) {
            out.push(c);
        }
    }
    if out.is_empty() {
        return Err("no consistency model named".into());
    }
    Ok(out)
}

/// Closure of `start` under `next` (including `start`).
fn closure<'a>(
    start: impl IntoIterator<Item = &'a str>,
    next: impl Fn(&str) -> Vec<&'a str>,
) -> HashSet<&'a str> {
    let mut seen: HashSet<&'a str> = HashSet::new();
    let mut stack: Vec<&'a str> = start.into_iter().collect();
    while let Some(x) = stack.pop() {
        if seen.insert(x) {
            stack.extend(next(x));
        }
    }
    seen
}

fn out_of(table: &'static [(&'static str, &'static [&'static str])], x: &str) -> Vec<&'static str> {
    table
        .iter()
        .filter(|(a, _)| *a == x)
        .flat_map(|(_, bs)| bs.iter().copied())
        .collect()
}

fn into_of(table: &'static [(&'static str, &'static [&'static str])], x: &str) -> Vec<&'static str> {
    table
        .iter()
        .filter(|(_, bs)| bs.contains(&x))
        .map(|(a, _)| *a)
        .collect()
}

/// Every name the tables know, for turning borrowed names into `'static` ones.
fn names() -> &'static HashSet<&'static str> {
    static NAMES: OnceLock<HashSet<&'static str>> = OnceLock::new();
    NAMES.get_or_init(|| {
        let mut s: HashSet<&'static str> = known_models().into_iter().collect();
        for (a, bs) in IMPLIED.iter().chain(PROHIBITS) {
            s.insert(a);
            s.extend(bs.iter().copied());
        }
        s
    })
}

/// The `'static` copy of a known name; unknown names become "" (no relations).
fn intern(s: &str) -> &'static str {
    names().get(s).copied().unwrap_or("")
}

/// Anomalies (Elle's names) that must be absent for all of `models` to hold.
pub fn prohibited_by(models: &[String]) -> HashSet<&'static str> {
    let ms = closure(models.iter().map(|m| intern(canonical(m))), |m| {
        out_of(IMPLIES, m)
    });
    let direct: Vec<&'static str> = ms.iter().flat_map(|m| out_of(PROHIBITS, m)).collect();
    closure(direct, |a| into_of(IMPLIED, a))
}

/// Whether the models prohibit an anomaly this checker reports.
pub fn is_prohibited(prohibited: &HashSet<&'static str>, kind: &str) -> bool {
    prohibited.contains(elle_name(kind).as_str())
}

/// Models ruled out by anomalies of these kinds, canonical names.
pub fn impossible<'a>(kinds: impl IntoIterator<Item = &'a str>) -> HashSet<&'static str> {
    let names: Vec<&'static str> = kinds.into_iter().map(|k| intern(&elle_name(k))).collect();
    let implied = closure(names, |a| out_of(IMPLIED, a));
    let direct: Vec<&'static str> = PROHIBITS
        .iter()
        .filter(|(_, bs)| bs.iter().any(|b| implied.contains(b)))
        .map(|(m, _)| *m)
        .collect();
    above(direct)
}

/// Canonical models implying any of `models` (themselves included): what is
/// impossible once those are.
pub fn above<'a>(models: impl IntoIterator<Item = &'a str>) -> HashSet<&'static str> {
    let ms: Vec<&'static str> = models.into_iter().map(|m| intern(canonical(m))).collect();
    let mut out = closure(ms, |m| into_of(IMPLIES, m));
    out.remove("");
    out
}

/// Anomaly kinds implied by `kind` (this checker's names for cycles), itself included.
pub fn implied_by(kind: &str) -> HashSet<String> {
    closure([intern(&elle_name(kind))], |a| out_of(IMPLIED, a))
        .into_iter()
        .filter(|a| !a.is_empty())
        .map(ours)
        .collect()
}

/// How many models `m` implies (its strength, for ordering weakest first).
fn strength(m: &str) -> usize {
    closure([intern(m)], |x| out_of(IMPLIES, x)).len()
}

/// Friendly names of `models`, weakest first.
pub fn sorted_friendly(models: &HashSet<&'static str>) -> Vec<&'static str> {
    let mut v: Vec<(usize, &'static str)> = models
        .iter()
        .copied()
        .filter(|m| !m.is_empty())
        .map(|m| (strength(m), m))
        .collect();
    v.sort_by_key(|&(s, m)| (s, friendly(m)));
    let v: Vec<&'static str> = v.into_iter().map(|(_, m)| m).collect();
    v.into_iter().map(friendly).collect()
}

/// Of `models`, those no other member implies (Elle's `:not`), friendly, sorted.
pub fn weakest(models: &HashSet<&'static str>) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = models
        .iter()
        .copied()
        .filter(|m| {
            let below = closure([*m], |x| out_of(IMPLIES, x));
            !below.iter().any(|b| b != m && models.contains(b))
        })
        .map(friendly)
        .collect();
    out.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn not(kinds: &[&str]) -> Vec<&'static str> {
        sorted_friendly(&impossible(kinds.iter().copied()))
    }

    #[test]
    fn g2_item_rules_out_repeatable_read_and_up_only() {
        assert_eq!(
            not(&["G2-item"]),
            vec![
                "repeatable-read",
                "serializable",
                "strong-session-serializable",
                "strict-serializable"
            ]
        );
        assert_eq!(weakest(&impossible(["G2-item"])), vec!["repeatable-read"]);
    }

    #[test]
    fn g_single_rules_out_snapshot_isolation_but_not_read_committed() {
        let n = not(&["G-single"]);
        for m in [
            "snapshot-isolation",
            "repeatable-read",
            "serializable",
            "consistent-view",
        ] {
            assert!(n.contains(&m), "{m}: {n:?}");
        }
        assert!(!n.contains(&"read-committed"), "{n:?}");
        let n = not(&["G-nonadjacent"]);
        assert!(n.contains(&"snapshot-isolation") && n.contains(&"repeatable-read"));
        assert!(!n.contains(&"consistent-view"), "{n:?}");
    }

    #[test]
    fn realtime_and_process_variants_only_rule_out_strong_models() {
        assert_eq!(
            not(&["G-single-realtime"]),
            vec!["strong-snapshot-isolation", "strict-serializable"]
        );
        assert_eq!(not(&["lost-append"]), not(&["G-single-realtime"]));
        assert_eq!(not(&["G2-item-realtime"]), vec!["strict-serializable"]);
        let p = not(&["G-single-process"]);
        assert!(p.contains(&"strong-session-snapshot-isolation") && !p.contains(&"serializable"));
    }

    #[test]
    fn weak_anomalies_rule_out_everything_above() {
        let n = not(&["G1c"]);
        assert!(n.contains(&"read-committed") && n.contains(&"strict-serializable"));
        assert!(!n.contains(&"read-uncommitted"));
        assert!(not(&["G0"]).contains(&"read-uncommitted"));
        assert!(not(&["duplicate-elements"]).contains(&"read-uncommitted"));
        assert!(not(&["G1a"]).contains(&"read-committed"));
        // Internal consistency is Cerone's INT: serializable and SI need it, read committed does not.
        let n = not(&["internal"]);
        assert!(n.contains(&"serializable") && n.contains(&"snapshot-isolation"));
        assert!(!n.contains(&"read-committed"));
        assert!(not(&["lost-update"]).contains(&"repeatable-read"));
        // Snapshot isolation prevents lost updates (first committer wins).
        assert!(not(&["lost-update"]).contains(&"snapshot-isolation"));
        assert!(!not(&["lost-update"]).contains(&"read-committed"));
    }

    #[test]
    fn prohibitions_follow_the_chosen_models() {
        let ser = prohibited_by(&["serializable".into()]);
        for k in [
            "G0",
            "G1a",
            "G1c",
            "G-single",
            "G2-item",
            "internal",
            "lost-update",
        ] {
            assert!(is_prohibited(&ser, k), "{k}");
        }
        for k in [
            "G-single-realtime",
            "G0-process",
            "lost-append",
            "G2-item-realtime",
        ] {
            assert!(!is_prohibited(&ser, k), "{k}");
        }
        let strict = prohibited_by(&[DEFAULT_MODEL.into()]);
        assert!(is_prohibited(&strict, "lost-append") && is_prohibited(&strict, "G2-item-realtime"));
        let si = prohibited_by(&["snapshot-isolation".into()]);
        assert!(is_prohibited(&si, "G-single") && is_prohibited(&si, "G-nonadjacent"));
        assert!(!is_prohibited(&si, "G2-item"));
        let rc = prohibited_by(&["read-committed".into()]);
        assert!(
            is_prohibited(&rc, "G1c") && !is_prohibited(&rc, "G-single") && !is_prohibited(&rc, "internal")
        );
        assert!(is_prohibited(&rc, "PL-2-cycle-exists") && !is_prohibited(&rc, "PL-2.99-cycle-exists"));
    }

    #[test]
    fn model_lists_parse_and_canonicalise() {
        assert_eq!(
            parse_list("serializable, strict-serializable").unwrap(),
            vec!["PL-3", "PL-SS"]
        );
        assert_eq!(parse_list(":snapshot-isolation").unwrap(), vec!["PL-SI"]);
        let e = parse_list("serialisable").unwrap_err();
        assert!(e.contains("serialisable") && e.contains("read-committed"), "{e}");
        assert!(parse_list(" , ").is_err());
    }

    #[test]
    fn implications_reach_variants() {
        let g0 = implied_by("G0");
        assert!(g0.contains("G1c") && g0.contains("G0-process") && g0.contains("G1c-realtime"));
        let gs = implied_by("G-single");
        assert!(gs.contains("G2-item") && gs.contains("G-nonadjacent") && gs.contains("G-single-realtime"));
        assert!(!implied_by("G-single-realtime").contains("G2-item"));
        assert!(!implied_by("G2-item").contains("G-single-realtime"));
    }
}
