//! An explicit fault schedule: the `[[faults]]` list of a plan file (`TestConfig::faults`).
//!
//! A test's faults normally come from the seed (`nemesis::plan`). A plan may instead list
//! them, step by step, as the schedule would have (the same [`Step`]s: offset, action,
//! target, victims, parameters); `faultline sim --shrink` writes such lists. The list is
//! data for the same nemesis: the real runner and the simulator apply it exactly as they
//! apply a seeded schedule.
//!
//! TOML integers are i64, while a partition's `seed` is any u64: a seed above i64::MAX is
//! written as a `"0x..."` string and read back from either form.

use crate::nemesis::{Action, Kind, Kinds, Step, Victims};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// The fault family an action starts (`None` for an undo).
pub fn kind_of(a: &Action) -> Option<Kind> {
    Some(match a {
        Action::Partition { .. } => Kind::Partition,
        Action::Kill { .. } => Kind::Kill,
        Action::Pause { .. } => Kind::Pause,
        Action::ClockBump { .. } | Action::ClockStrobe { .. } => Kind::Clock,
        Action::ClockDrift { .. } => Kind::ClockDrift,
        Action::Delay { .. } => Kind::Delay,
        Action::Loss { .. } => Kind::Loss,
        Action::Rebalance { .. } => Kind::Rebalance,
        _ => return None,
    })
}

/// The history `f` of the undo that ends a fault started by `a` (`None` for an undo,
/// and for a rebalance, which has none).
pub fn undo_of(a: &Action) -> Option<&'static str> {
    Some(match kind_of(a)? {
        Kind::Rebalance => return None,
        Kind::Partition => "heal",
        Kind::Kill => "restart",
        Kind::Pause => "resume",
        Kind::Clock => "clock-reset",
        Kind::ClockDrift => "clock-rate-reset",
        Kind::Delay | Kind::Loss => "packet-heal",
    })
}

/// How many faults (starts, not undos) `steps` holds.
pub fn count(steps: &[Step]) -> usize {
    steps.iter().filter(|s| kind_of(&s.action).is_some()).count()
}

/// Why an explicit list cannot run on `nodes` nodes under `nemesis`, if it cannot: offsets
/// must not decrease, every fault's kind must be one `nemesis` names (so the checks of
/// which faults a system can take cover the list), and victims must be nodes of the cluster.
pub fn check(steps: &[Step], nemesis: &Kinds, nodes: usize) -> Result<(), String> {
    for (i, w) in steps.windows(2).enumerate() {
        if w[1].at_ms < w[0].at_ms {
            return Err(format!(
                "step {}: at_ms {} is before the previous step's {} (list steps in time order)",
                i + 2,
                w[1].at_ms,
                w[0].at_ms
            ));
        }
    }
    for (i, s) in steps.iter().enumerate() {
        if let Some(k) = kind_of(&s.action) {
            if !nemesis.contains(k) {
                return Err(format!(
                    "step {}: a `{}` fault, but `nemesis` does not name `{}` (add it to `nemesis`)",
                    i + 1,
                    s.action.f(),
                    k.name()
                ));
            }
        }
        if let Some(Victims::Nodes(v)) = victims(&s.action) {
            if let Some(bad) = v.iter().find(|x| **x >= nodes) {
                return Err(format!(
                    "step {}: victim node index {bad}, but the cluster has {nodes} nodes (indices from 0)",
                    i + 1
                ));
            }
        }
    }
    Ok(())
}

/// Whether `a` is aimed at a datacenter (`target = "dc"`, or a `dc`/`dc-all` partition).
pub fn aims_at_dcs(a: &Action) -> bool {
    let dc_shape = matches!(
        a,
        Action::Partition {
            shape: crate::net::Shape::Dc | crate::net::Shape::DcAll,
            ..
        }
    );
    dc_shape || a.target() == Some(crate::nemesis::Aim::Dc)
}

fn victims(a: &Action) -> Option<Victims> {
    if let Action::Partition { nodes: Some(v), .. } = a {
        return Some(Victims::Nodes(v.clone()));
    }
    match a {
        Action::Kill { victims, .. }
        | Action::Pause { victims, .. }
        | Action::ClockBump { victims, .. }
        | Action::ClockStrobe { victims, .. }
        | Action::ClockDrift { victims, .. } => Some(victims.clone()),
        _ => None,
    }
}

/// Serde for `Option<Vec<Step>>` in TOML (see the module doc for the seed).
pub fn serialize<S: Serializer>(steps: &Option<Vec<Step>>, s: S) -> Result<S::Ok, S::Error> {
    let Some(steps) = steps else {
        return s.serialize_none();
    };
    let mut out = Vec::with_capacity(steps.len());
    for step in steps {
        let mut v = serde_json::to_value(step).map_err(serde::ser::Error::custom)?;
        if let Some(seed) = v.get_mut("seed") {
            if seed.as_u64().is_some_and(|x| x > i64::MAX as u64) {
                *seed = Value::String(format!("{:#x}", seed.as_u64().unwrap_or(0)));
            }
        }
        out.push(v);
    }
    out.serialize(s)
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<Step>>, D::Error> {
    let Some(values) = Option::<Vec<Value>>::deserialize(d)? else {
        return Ok(None);
    };
    let mut out = Vec::with_capacity(values.len());
    for (i, mut v) in values.into_iter().enumerate() {
        if let Some(seed) = v.get_mut("seed") {
            if let Some(text) = seed.as_str() {
                let parsed = match text.strip_prefix("0x") {
                    Some(hex) => u64::from_str_radix(hex, 16),
                    None => text.parse(),
                };
                let n = parsed.map_err(|e| {
                    serde::de::Error::custom(format!("faults step {}: seed `{text}`: {e}", i + 1))
                })?;
                *seed = Value::from(n);
            }
        }
        let step = serde_json::from_value(v)
            .map_err(|e| serde::de::Error::custom(format!("faults step {}: {e}", i + 1)))?;
        out.push(step);
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nemesis::Aim;
    use crate::runner::TestConfig;
    use std::time::Duration;

    #[test]
    fn a_seeded_schedule_round_trips_through_a_plan_file_and_is_checked() {
        let kinds = Kinds::all();
        let steps = crate::nemesis::plan(
            9,
            kinds.faults(),
            5,
            Duration::from_secs(1),
            Duration::from_secs(30),
        );
        assert!(count(&steps) > 20 && count(&steps) < steps.len());
        let cfg = TestConfig {
            faults: Some(steps.clone()),
            ..TestConfig::default()
        };
        let text = toml::to_string_pretty(&cfg).unwrap();
        assert!(text.contains("[[faults]]") && text.contains("at_ms"), "{text}");
        let back: TestConfig = toml::from_str(&text).unwrap();
        assert_eq!(back.faults.as_deref(), Some(&steps[..]));
        assert!(check(&steps, &kinds, 5).is_ok());
        let big = Step {
            at_ms: 5,
            action: Action::Partition {
                target: Aim::All,
                shape: crate::net::Shape::MajoritiesRing,
                cut: crate::net::Cut::Both,
                seed: u64::MAX - 3,
                nodes: None,
            },
        };
        let cfg = TestConfig {
            faults: Some(vec![big.clone()]),
            ..TestConfig::default()
        };
        let text = toml::to_string_pretty(&cfg).unwrap();
        assert!(text.contains("0xfffffffffffffffc"), "{text}");
        assert_eq!(
            toml::from_str::<TestConfig>(&text).unwrap().faults,
            Some(vec![big])
        );
        let kill = "[[faults]]\nat_ms = 1\naction = \"kill\"\ntarget = \"one\"\nvictims = { nodes = [7] }\n";
        let c: TestConfig = toml::from_str(kill).unwrap();
        let steps = c.faults.unwrap();
        assert!(check(&steps, &kinds, 5)
            .unwrap_err()
            .contains("victim node index 7"));
        let only = "partition".parse::<Kinds>().unwrap();
        assert!(check(&steps, &only, 9)
            .unwrap_err()
            .contains("does not name `kill`"));
        let e = toml::from_str::<TestConfig>("[[faults]]\nat_ms = 1\naction = \"explode\"\n").unwrap_err();
        assert!(e.to_string().contains("faults step 1"), "{e}");
    }

    /// A plan's datacenter faults run only on a system with datacenters; the seed's
    /// schedule aims `dc` faults at whole datacenters (as `node_names` indices).
    #[test]
    fn datacenter_faults_need_datacenters_and_hit_whole_ones() {
        let step = "nemesis = \"partition,clock\"\n[[faults]]\nat_ms = 1\naction = \"partition\"\n\
                    target = \"all\"\nshape = \"dc-all\"\ncut = \"both\"\nseed = 3\n";
        let single: TestConfig = toml::from_str(step).unwrap();
        let e = single.validate().unwrap_err().to_string();
        assert!(e.contains("faults") && e.contains("--datacenters"), "{e}");
        let ml = "[target]\nnodes = 5\ntopology = \"multi-leader\"\ndatacenters = 3\n";
        let multi: TestConfig = toml::from_str(&format!("{step}{ml}")).unwrap();
        multi.validate().unwrap();
        let mut seeded: TestConfig = toml::from_str(&format!("nemesis = \"all\"\n{ml}")).unwrap();
        seeded.validate().unwrap();
        // Five nodes in three contiguous groups, as the nodes split them: n1 | n2 n3 | n4 n5.
        let dcs = [vec![0], vec![1, 2], vec![3, 4]];
        let steps = seeded.schedule(5);
        let dc_steps: Vec<&Step> = steps
            .iter()
            .filter(|s| s.action.target() == Some(Aim::Dc))
            .collect();
        assert!(dc_steps.len() >= 4, "{steps:?}");
        for s in dc_steps {
            if let Some(Victims::Nodes(v)) = victims(&s.action) {
                assert!(dcs.contains(&v), "{s:?}");
            }
        }
        seeded.nemesis = "kill:dc".parse().unwrap();
        seeded.system = TestConfig::default().system;
        let e = seeded.validate().unwrap_err().to_string();
        assert!(e.contains("--nemesis") && e.contains("kill:dc"), "{e}");
    }
}
