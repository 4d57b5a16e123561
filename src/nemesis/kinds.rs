//! What `--nemesis` names: fault kinds, each with an optional fixed target
//! (`kill:leader`); without one, every fault of the kind draws its target from
//! the seed. `all` is expanded here and nowhere else; a set that came from
//! `all` remembers it, so the runner may leave out kinds a system cannot take
//! (clock faults on etcd) instead of refusing the run, while a kind named
//! explicitly is refused up front when the system cannot take it.

use super::aim::{Aim, AIM_NAMES};
use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ScheduleError {
    #[error("unknown nemesis `{name}` (known: {known})")]
    Unknown { name: String, known: String },
    #[error("unknown target `{aim}` in nemesis `{name}` (known: {})", AIM_NAMES.join(", "))]
    UnknownAim { name: String, aim: String },
    #[error("nemesis `{name}` takes no target (it hits every link)")]
    NoAim { name: String },
}

/// Fault families.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Cut the network into a shape its target picks (see `schedule::Shape`).
    Partition,
    /// SIGKILL, restarted one interval later.
    Kill,
    /// SIGSTOP, SIGCONT one interval later.
    Pause,
    /// Clock bumps (4 ms to 262 s, both signs) and strobes.
    Clock,
    /// Clock *rate* far beyond `--max-drift`, through the next fault: what breaks read leases.
    ClockDrift,
    /// Every node-to-node chunk delayed, with jitter (proxy back end; hits every link).
    Delay,
    /// Node-to-node packets lost: retransmission stalls (proxy back end; hits every link).
    Loss,
    /// A sharded store moves a key range to another group while writes go on
    /// (no undo; not part of `all`: only sharded stores take it).
    Rebalance,
}

pub const KIND_NAMES: &[&str] = &[
    "partition",
    "kill",
    "pause",
    "clock",
    "clock-drift",
    "delay",
    "loss",
    "rebalance",
];
const KINDS: [Kind; 8] = [
    Kind::Partition,
    Kind::Kill,
    Kind::Pause,
    Kind::Clock,
    Kind::ClockDrift,
    Kind::Delay,
    Kind::Loss,
    Kind::Rebalance,
];

/// What `all` (and no `--nemesis` at all) means: every kind but `rebalance`.
pub const ALL: &[Kind] = &[
    Kind::Partition,
    Kind::Kill,
    Kind::Pause,
    Kind::Clock,
    Kind::ClockDrift,
    Kind::Delay,
    Kind::Loss,
];

/// Older names that fix a target.
const ALIASES: &[(&str, Kind, Aim)] = &[
    ("kill-leader", Kind::Kill, Aim::Leader),
    ("partition-leader", Kind::Partition, Aim::Leader),
    ("kill-majority", Kind::Kill, Aim::Majority),
    ("kill-all", Kind::Kill, Aim::All),
];

impl Kind {
    /// The name `--nemesis` and plan files use.
    pub fn name(self) -> &'static str {
        KIND_NAMES[self as usize]
    }

    /// Whether a fault of this kind hits chosen nodes (packet faults hit every link).
    pub fn takes_aim(self) -> bool {
        !self.is_packet() && self != Kind::Rebalance
    }

    pub fn is_packet(self) -> bool {
        matches!(self, Kind::Delay | Kind::Loss)
    }

    /// Clock faults: not every system can take them.
    pub fn is_clock(self) -> bool {
        matches!(self, Kind::Clock | Kind::ClockDrift)
    }
}

/// One entry of `--nemesis`: a kind, and its target when fixed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fault {
    pub kind: Kind,
    pub aim: Option<Aim>,
}

impl Fault {
    pub fn name(&self) -> String {
        match self.aim {
            Some(a) => format!("{}:{}", self.kind.name(), a.name()),
            None => self.kind.name().to_string(),
        }
    }
}

fn known_kinds() -> String {
    let aliases: Vec<&str> = ALIASES.iter().map(|a| a.0).collect();
    format!(
        "{}, each optionally `:TARGET` ({}); {}, all, none",
        KIND_NAMES.join(", "),
        AIM_NAMES.join("|"),
        aliases.join(", ")
    )
}

fn parse_one(part: &str) -> Result<Fault, ScheduleError> {
    if let Some((_, kind, aim)) = ALIASES.iter().find(|a| a.0 == part) {
        return Ok(Fault {
            kind: *kind,
            aim: Some(*aim),
        });
    }
    let (k, a) = match part.split_once(':') {
        Some((k, a)) => (k, Some(a)),
        None => (part, None),
    };
    let kind = KIND_NAMES
        .iter()
        .position(|n| *n == k)
        .map(|i| KINDS[i])
        .ok_or_else(|| ScheduleError::Unknown {
            name: part.to_string(),
            known: known_kinds(),
        })?;
    let aim = match a {
        None => None,
        Some(_) if !kind.takes_aim() => return Err(ScheduleError::NoAim { name: part.into() }),
        Some(a) => Some(Aim::parse(a).ok_or_else(|| ScheduleError::UnknownAim {
            name: part.to_string(),
            aim: a.to_string(),
        })?),
    };
    Ok(Fault { kind, aim })
}

/// A set of faults as a test plan holds it: sorted, without duplicates, `all`
/// already expanded. Written to test.toml as a list (`["all"]` when it is all);
/// read from a comma-separated string (`--nemesis`, plan files) or a list whose
/// items may themselves be `all` or `none`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Kinds {
    faults: Vec<Fault>,
    /// Came from `all` alone: kinds the system cannot take may be left out.
    all: bool,
}

/// Parses `partition,kill:leader,clock`, `all`, or `none`/empty.
pub fn parse_kinds(s: &str) -> Result<Kinds, ScheduleError> {
    let mut faults = Vec::new();
    let mut all = false;
    let mut named = false;
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part {
            "none" => {}
            "all" | "mixed" => {
                all = true;
                faults.extend(ALL.iter().map(|&kind| Fault { kind, aim: None }));
            }
            p => {
                named = true;
                faults.push(parse_one(p)?);
            }
        }
    }
    let mut k = Kinds::new(faults);
    k.all = all && !named;
    Ok(k)
}

impl Kinds {
    /// What `--nemesis` means without the flag: `all`.
    pub fn all() -> Kinds {
        parse_kinds("all").expect("`all` parses")
    }

    pub fn none() -> Kinds {
        Kinds::default()
    }

    pub fn new(mut faults: Vec<Fault>) -> Kinds {
        faults.sort();
        faults.dedup();
        Kinds { faults, all: false }
    }

    pub fn faults(&self) -> &[Fault] {
        &self.faults
    }

    pub fn is_empty(&self) -> bool {
        self.faults.is_empty()
    }

    pub fn contains(&self, k: Kind) -> bool {
        self.faults.iter().any(|f| f.kind == k)
    }

    /// True when the set is `all` (kinds a system cannot take may be dropped).
    pub fn is_all(&self) -> bool {
        self.all
    }

    /// The set without faults `keep` rejects (the flag `all` is kept).
    pub fn retain(&self, keep: impl Fn(&Fault) -> bool) -> Kinds {
        Kinds {
            faults: self.faults.iter().copied().filter(|f| keep(f)).collect(),
            all: self.all,
        }
    }

    /// `partition+kill:leader`, `all`, or `none`: how test names spell the set.
    pub fn label(&self) -> String {
        if self.faults.is_empty() {
            return "none".into();
        }
        if self.all {
            return "all".into();
        }
        self.faults.iter().map(Fault::name).collect::<Vec<_>>().join("+")
    }
}

impl std::str::FromStr for Kinds {
    type Err = ScheduleError;
    fn from_str(s: &str) -> Result<Kinds, ScheduleError> {
        parse_kinds(s)
    }
}

impl Serialize for Kinds {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let names: Vec<String> = if self.all {
            vec!["all".into()]
        } else {
            self.faults.iter().map(Fault::name).collect()
        };
        names.serialize(s)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_read_strings_and_lists_expand_all_once_and_name_each_kind() {
        for (i, name) in KIND_NAMES.iter().enumerate() {
            let k = parse_kinds(name).unwrap();
            assert_eq!(k.faults().len(), 1);
            assert_eq!(
                k.faults()[0].kind.name(),
                *name,
                "KIND_NAMES[{i}] out of step with Kind"
            );
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
        assert!(all.nemesis.is_all() && all.nemesis.label() == "all");
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
        #[derive(Serialize)]
        struct W {
            nemesis: Kinds,
        }
        for k in [Kinds::all(), parse_kinds("kill:leader,clock").unwrap()] {
            let text = toml::to_string(&W { nemesis: k.clone() }).unwrap();
            assert_eq!(toml::from_str::<P>(&text).unwrap().nemesis, k, "{text}");
        }
    }

    #[test]
    fn targets_and_aliases() {
        let k = parse_kinds("kill-leader, partition:minority, pause").unwrap();
        assert_eq!(k.label(), "partition:minority+kill:leader+pause");
        assert_eq!(parse_kinds("kill-all").unwrap(), parse_kinds("kill:all").unwrap());
        let e = parse_kinds("kill:most").unwrap_err().to_string();
        assert!(e.contains("`most`") && e.contains("one, leader"), "{e}");
        assert!(parse_kinds("meteor").is_err());
        assert!(parse_kinds("delay:one")
            .unwrap_err()
            .to_string()
            .contains("takes no target"));
        // `all` named with something else is an explicit list: nothing may be dropped.
        assert!(!parse_kinds("all,kill").unwrap().is_all());
        assert_eq!(Kinds::all().faults().len(), ALL.len());
        assert!(Kinds::all().contains(Kind::ClockDrift));
    }
}
