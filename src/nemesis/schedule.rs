//! The fault schedule: a plain list of timed steps computed up front from the
//! seed, so two runs with the same seed inject the same faults at the same
//! offsets. Faults alternate with their undo: start, interval, stop, interval;
//! the one exception is clock drift, which stays in place through the next
//! fault (see [`plan`]). Choices that depend on the live cluster (the current
//! leader) are resolved when a step runs.

use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ScheduleError {
    #[error("unknown nemesis `{name}` (known: {known})")]
    Unknown { name: String, known: String },
}

/// Fault families for `--nemesis`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Partition,
    Kill,
    Pause,
    Clock,
    /// Only SIGKILL the current leader.
    KillLeader,
    /// Only isolate the current leader.
    PartitionLeader,
    /// SIGKILL a random majority at once (loses what only they had unsynced).
    KillMajority,
    /// SIGKILL every node at once: the crash-recovery test for `--fsync`.
    KillAll,
    /// Slow the current leader's clock *rate* far beyond `--max-drift`, through
    /// the next fault: what breaks read leases.
    ClockDrift,
}

pub const KIND_NAMES: &[&str] = &[
    "partition",
    "kill",
    "pause",
    "clock",
    "kill-leader",
    "partition-leader",
    "kill-majority",
    "kill-all",
    "clock-drift",
];

/// Slowest and fastest clock-drift rate (per mille of real time): a drifted
/// clock runs at 0.2 to 0.4 times real time, so a leader's lease of
/// `election_timeout * 0.9` of its own clock lasts 2.25 to 4.5 election
/// timeouts of everyone else's, far outside the default 10% drift bound.
pub const DRIFT_PERMILLE: std::ops::RangeInclusive<u32> = 200..=400;

/// Parses `partition,kill,clock`, `all`, or `none`/empty.
pub fn parse_kinds(s: &str) -> Result<Vec<Kind>, ScheduleError> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part {
            "none" => {}
            "all" | "mixed" => out.extend([Kind::Partition, Kind::Kill, Kind::Pause, Kind::Clock]),
            "partition" => out.push(Kind::Partition),
            "kill" => out.push(Kind::Kill),
            "pause" => out.push(Kind::Pause),
            "clock" => out.push(Kind::Clock),
            "kill-leader" => out.push(Kind::KillLeader),
            "partition-leader" => out.push(Kind::PartitionLeader),
            "kill-majority" => out.push(Kind::KillMajority),
            "kill-all" => out.push(Kind::KillAll),
            "clock-drift" => out.push(Kind::ClockDrift),
            other => {
                return Err(ScheduleError::Unknown {
                    name: other.to_string(),
                    known: known_kinds(),
                })
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// A set of fault kinds as a test plan holds it: sorted, without duplicates,
/// `all` already expanded (by [`parse_kinds`], the one place that knows what `all` means).
/// Written to test.toml as a list; read from a comma-separated string (`--nemesis`, plan
/// files) or a list whose items may themselves be `all` or `none`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Kinds(Vec<Kind>);

impl Kinds {
    /// What `--nemesis` means without the flag: `all`.
    pub fn all() -> Kinds {
        Kinds(parse_kinds("all").expect("`all` parses"))
    }

    pub fn none() -> Kinds {
        Kinds(Vec::new())
    }

    pub fn new(mut kinds: Vec<Kind>) -> Kinds {
        kinds.sort();
        kinds.dedup();
        Kinds(kinds)
    }

    pub fn as_slice(&self) -> &[Kind] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, k: Kind) -> bool {
        self.0.contains(&k)
    }

    /// `partition+kill`, or `none`: how test names spell the set.
    pub fn label(&self) -> String {
        if self.0.is_empty() {
            return "none".into();
        }
        self.0.iter().map(|k| k.name()).collect::<Vec<_>>().join("+")
    }
}

impl std::str::FromStr for Kinds {
    type Err = ScheduleError;
    fn from_str(s: &str) -> Result<Kinds, ScheduleError> {
        parse_kinds(s).map(Kinds)
    }
}

impl<'de> Deserialize<'de> for Kinds {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Kinds, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            One(String),
            Many(Vec<String>),
        }
        let text = match Raw::deserialize(d).map_err(|_| {
            serde::de::Error::custom(format!(
                "expected a comma-separated string or a list of nemesis kinds ({})",
                known_kinds()
            ))
        })? {
            Raw::One(s) => s,
            Raw::Many(v) => v.join(","),
        };
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl Kind {
    /// The name `--nemesis` and plan files use.
    pub fn name(self) -> &'static str {
        KIND_NAMES[self as usize]
    }
}

fn known_kinds() -> String {
    format!("{}, all, none", KIND_NAMES.join(", "))
}

/// Which nodes a process fault hits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Victims {
    /// These node indices (into the sorted node list).
    Nodes(Vec<usize>),
    /// Whoever leads when the step runs (falls back to node 0).
    Leader,
}

/// Partition shapes (grudges built when the step runs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Shape {
    Halves,
    IsolateOne,
    IsolateLeader,
    MajoritiesRing,
    Bridge,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "action")]
pub enum Action {
    Partition {
        shape: Shape,
        seed: u64,
    },
    Heal,
    Kill {
        victims: Victims,
    },
    Restart,
    Pause {
        victims: Victims,
    },
    Resume,
    ClockBump {
        node: usize,
        ms: i64,
    },
    ClockStrobe {
        node: usize,
        ms: i64,
        flips: u32,
    },
    ClockReset,
    /// The current leader's clock runs at `permille`/1000 of real time.
    ClockDrift {
        permille: u32,
    },
    /// Every drifted clock runs at real time again.
    ClockRateReset,
}

impl Action {
    /// The history `f` of the op recording this action.
    pub fn f(&self) -> &'static str {
        match self {
            Action::Partition { .. } => "partition",
            Action::Heal => "heal",
            Action::Kill { .. } => "kill",
            Action::Restart => "restart",
            Action::Pause { .. } => "pause",
            Action::Resume => "resume",
            Action::ClockBump { .. } => "clock-bump",
            Action::ClockStrobe { .. } => "clock-strobe",
            Action::ClockReset => "clock-reset",
            Action::ClockDrift { .. } => "clock-drift",
            Action::ClockRateReset => "clock-rate-reset",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// Offset from the start of the client phase.
    pub at_ms: u64,
    #[serde(flatten)]
    pub action: Action,
}

fn victims(rng: &mut ChaCha8Rng, n: usize) -> Victims {
    match rng.gen_range(0..3) {
        0 => Victims::Leader,
        1 => Victims::Nodes(vec![rng.gen_range(0..n)]),
        _ => {
            let mut idx: Vec<usize> = (0..n).collect();
            idx.shuffle(rng);
            idx.truncate(((n - 1) / 2).max(1));
            idx.sort();
            Victims::Nodes(idx)
        }
    }
}

fn start(kind: Kind, rng: &mut ChaCha8Rng, n: usize) -> (Action, Action) {
    match kind {
        Kind::Partition => {
            let shape = *[
                Shape::Halves,
                Shape::IsolateOne,
                Shape::IsolateLeader,
                Shape::MajoritiesRing,
                Shape::Bridge,
            ]
            .choose(rng)
            .expect("non-empty");
            (
                Action::Partition {
                    shape,
                    seed: rng.gen(),
                },
                Action::Heal,
            )
        }
        Kind::KillLeader => (
            Action::Kill {
                victims: Victims::Leader,
            },
            Action::Restart,
        ),
        Kind::PartitionLeader => (
            Action::Partition {
                shape: Shape::IsolateLeader,
                seed: rng.gen(),
            },
            Action::Heal,
        ),
        Kind::KillMajority => {
            let mut idx: Vec<usize> = (0..n).collect();
            idx.shuffle(rng);
            idx.truncate(n / 2 + 1);
            idx.sort();
            (
                Action::Kill {
                    victims: Victims::Nodes(idx),
                },
                Action::Restart,
            )
        }
        Kind::KillAll => (
            Action::Kill {
                victims: Victims::Nodes((0..n).collect()),
            },
            Action::Restart,
        ),
        Kind::Kill => (
            Action::Kill {
                victims: victims(rng, n),
            },
            Action::Restart,
        ),
        Kind::Pause => (
            Action::Pause {
                victims: victims(rng, n),
            },
            Action::Resume,
        ),
        Kind::ClockDrift => (
            Action::ClockDrift {
                permille: rng.gen_range(DRIFT_PERMILLE),
            },
            Action::ClockRateReset,
        ),
        Kind::Clock => {
            let node = rng.gen_range(0..n);
            let ms = rng.gen_range(100..5000) * if rng.gen_bool(0.5) { 1 } else { -1 };
            if rng.gen_bool(0.3) {
                let flips = rng.gen_range(4..12);
                (Action::ClockStrobe { node, ms, flips }, Action::ClockReset)
            } else {
                (Action::ClockBump { node, ms }, Action::ClockReset)
            }
        }
    }
}

/// The whole schedule for a client phase of `limit`, one fault per `interval`
/// (start at k·interval, undo one interval later). Empty when `kinds` is empty.
///
/// Clock drift is the exception: alone it harms nothing (a slow leader that
/// still hears its followers is a fine leader), so when another fault fits
/// after it, its undo waits until that fault's undo (same offset, just after
/// it) and a partition lands while the leader is slowed. A drift that follows
/// a drift extends the pending undo instead of adding one. Invariant: every
/// fault started is undone within `limit`, and offsets never decrease.
pub fn plan(seed: u64, kinds: &[Kind], nodes: usize, interval: Duration, limit: Duration) -> Vec<Step> {
    use rand::SeedableRng;
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x006e_656d_6573_6973);
    let mut out = Vec::new();
    if kinds.is_empty() || nodes == 0 || interval.is_zero() {
        return out;
    }
    let iv = interval.as_millis() as u64;
    let limit_ms = limit.as_millis() as u64;
    let mut t = iv;
    let mut drift_undo: Option<Action> = None;
    while t + iv <= limit_ms {
        let kind = *kinds.choose(&mut rng).expect("non-empty");
        let (s, undo) = start(kind, &mut rng, nodes);
        out.push(Step { at_ms: t, action: s });
        let undo_at = t + iv;
        if kind == Kind::ClockDrift && t + 3 * iv <= limit_ms {
            // Another fault follows at t + 2·iv: the drift outlasts it.
            drift_undo = Some(undo);
        } else {
            let pending = drift_undo.take().filter(|_| kind != Kind::ClockDrift);
            for action in std::iter::once(undo).chain(pending) {
                out.push(Step {
                    at_ms: undo_at,
                    action,
                });
            }
        }
        t += 2 * iv;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_read_strings_and_lists_expand_all_once_and_name_each_kind() {
        for (i, name) in KIND_NAMES.iter().enumerate() {
            let k = parse_kinds(name).unwrap();
            assert_eq!(k.len(), 1);
            assert_eq!(k[0].name(), *name, "KIND_NAMES[{i}] out of step with Kind");
        }
        #[derive(Deserialize)]
        struct P {
            nemesis: Kinds,
        }
        let s: P = toml::from_str("nemesis = \"kill,partition,kill\"").unwrap();
        let l: P = toml::from_str("nemesis = [\"partition\", \"kill\"]").unwrap();
        assert_eq!(s.nemesis, l.nemesis);
        assert_eq!(s.nemesis.label(), "partition+kill");
        let all: P = toml::from_str("nemesis = [\"all\"]").unwrap();
        assert_eq!(all.nemesis, Kinds::all());
        assert_eq!(
            toml::from_str::<P>("nemesis = \"none\"").unwrap().nemesis.label(),
            "none"
        );
        let e = toml::from_str::<P>("nemesis = \"partition,meteor\"")
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("unknown nemesis `meteor`") && e.contains("line 1"),
            "{e}"
        );
        assert!(toml::from_str::<P>("nemesis = 3").is_err());
        // test.toml writes a list that reads back the same.
        #[derive(Serialize)]
        struct W {
            nemesis: Kinds,
        }
        let text = toml::to_string(&W {
            nemesis: Kinds::all(),
        })
        .unwrap();
        assert_eq!(toml::from_str::<P>(&text).unwrap().nemesis, Kinds::all());
    }

    #[test]
    fn parse_and_plan() {
        assert_eq!(
            parse_kinds("kill, partition").unwrap(),
            vec![Kind::Partition, Kind::Kill]
        );
        assert_eq!(parse_kinds("all").unwrap().len(), 4);
        assert!(parse_kinds("none").unwrap().is_empty());
        assert!(parse_kinds("partition,meteor").is_err());
        let kinds = parse_kinds("all").unwrap();
        let a = plan(5, &kinds, 5, Duration::from_secs(2), Duration::from_secs(30));
        assert_eq!(
            a,
            plan(5, &kinds, 5, Duration::from_secs(2), Duration::from_secs(30))
        );
        assert_ne!(
            a,
            plan(6, &kinds, 5, Duration::from_secs(2), Duration::from_secs(30))
        );
        assert_eq!(a.len(), 14);
        assert!(a.iter().all(|s| s.at_ms <= 30_000));
        for pair in a.chunks(2) {
            let undo = match pair[0].action {
                Action::Partition { .. } => "heal",
                Action::Kill { .. } => "restart",
                Action::Pause { .. } => "resume",
                _ => "clock-reset",
            };
            assert_eq!(pair[1].action.f(), undo);
        }
        let kinds_seen: std::collections::BTreeSet<&str> = a.iter().map(|s| s.action.f()).collect();
        assert!(kinds_seen.len() >= 4, "{kinds_seen:?}");
        assert!(plan(5, &[], 5, Duration::from_secs(2), Duration::from_secs(30)).is_empty());
        let all = plan(
            5,
            &[Kind::KillAll],
            5,
            Duration::from_secs(2),
            Duration::from_secs(10),
        );
        assert_eq!(
            all[0].action,
            Action::Kill {
                victims: Victims::Nodes(vec![0, 1, 2, 3, 4])
            }
        );
        for s in plan(
            9,
            &[Kind::KillMajority],
            5,
            Duration::from_secs(1),
            Duration::from_secs(20),
        ) {
            if let Action::Kill {
                victims: Victims::Nodes(v),
            } = &s.action
            {
                assert_eq!(v.len(), 3, "{v:?}");
                assert!(v.windows(2).all(|w| w[0] < w[1]) && v[2] < 5, "{v:?}");
            }
        }
    }

    #[test]
    fn clock_drift_outlasts_the_next_fault_and_is_always_undone() {
        assert_eq!(parse_kinds("clock-drift").unwrap(), vec![Kind::ClockDrift]);
        assert!(!parse_kinds("all").unwrap().contains(&Kind::ClockDrift));
        let kinds = parse_kinds("clock-drift,partition-leader").unwrap();
        let (iv, limit) = (Duration::from_millis(1500), Duration::from_secs(15));
        let mut overlapped = 0;
        for seed in 0..40 {
            let steps = plan(seed, &kinds, 5, iv, limit);
            assert!(steps.windows(2).all(|w| w[0].at_ms <= w[1].at_ms), "{steps:?}");
            assert!(steps.iter().all(|s| s.at_ms <= 15_000));
            // Replay the schedule: what is in place after each step.
            let (mut drifted, mut cut) = (false, false);
            for s in &steps {
                match &s.action {
                    Action::ClockDrift { permille } => {
                        assert!(DRIFT_PERMILLE.contains(permille), "{permille}");
                        drifted = true;
                    }
                    Action::ClockRateReset => {
                        assert!(drifted && !cut, "seed {seed}: reset after the heal: {steps:?}");
                        drifted = false;
                    }
                    Action::Partition { .. } => {
                        overlapped += usize::from(drifted);
                        cut = true;
                    }
                    Action::Heal => cut = false,
                    other => panic!("{other:?}"),
                }
            }
            assert!(!drifted && !cut, "seed {seed}: left in place: {steps:?}");
        }
        assert!(overlapped > 10, "partitions under drift: {overlapped}");
        // Alone, the drift is undone one interval later, like any fault.
        let alone = plan(3, &[Kind::ClockDrift], 5, iv, Duration::from_secs(4));
        assert_eq!(alone.len(), 2, "{alone:?}");
        assert_eq!((alone[1].at_ms, alone[1].action.f()), (3000, "clock-rate-reset"));
    }
}
