//! Which faults a system can take, decided before anything starts (one rule
//! for every clock fault): a kind named explicitly that the system cannot
//! take refuses the run (exit 3, naming it); from `all`, it is left out with
//! a note. A fault that silently never happened would make a valid verdict lie.

use super::kinds::{Kind, Kinds};
use crate::system::{Target, TargetError};

/// What clock and packet faults a system and network back end can take.
#[derive(Clone, Copy, Debug)]
pub struct Clocks {
    pub offsets: bool,
    pub rates: bool,
    /// The network back end applies packet faults (the proxy).
    pub packets: bool,
    /// The system can move key ranges between groups (a sharded store).
    pub rebalance: bool,
}

impl Clocks {
    pub fn of(target: &dyn Target, net_kind: &str) -> Clocks {
        Clocks {
            offsets: target.supports_clock_offset(),
            rates: target.supports_clock_rate(),
            packets: net_kind == "proxy",
            rebalance: target.supports_rebalance(),
        }
    }
}

/// Why a kind cannot run, if it cannot.
fn refusal(kind: Kind, c: Clocks) -> Option<&'static str> {
    match kind {
        Kind::Clock if !c.offsets => Some("clock offsets (--nemesis clock)"),
        Kind::ClockDrift if !c.rates => Some("clock rates (--nemesis clock-drift)"),
        Kind::Delay | Kind::Loss if !c.packets => {
            Some("packet faults (--nemesis delay, loss) on this network back end; they need --net proxy")
        }
        Kind::Rebalance if !c.rebalance => {
            Some("rebalancing (--nemesis rebalance needs --shards K, K of at least 2)")
        }
        _ => None,
    }
}

/// The faults to schedule on `target` over a `net_kind` back end, and a note per kind left out of `all`.
pub fn admit(
    kinds: &Kinds,
    target: &dyn Target,
    net_kind: &str,
) -> Result<(Kinds, Vec<String>), TargetError> {
    admit_clocks(kinds, target.name(), Clocks::of(target, net_kind)).map_err(|e| match e {
        TargetError::Unsupported { target: t, what } if what.starts_with("clock") => {
            let what = match target.clock_refusal() {
                Some(why) => format!("{what}: {why}"),
                None => what,
            };
            TargetError::Unsupported { target: t, what }
        }
        e => e,
    })
}

/// [`admit`] for a system named `name` that can take `clocks`.
pub fn admit_clocks(kinds: &Kinds, name: &str, clocks: Clocks) -> Result<(Kinds, Vec<String>), TargetError> {
    let mut notes = Vec::new();
    for f in kinds.faults() {
        if let Some(what) = refusal(f.kind, clocks) {
            if !kinds.is_all() {
                return Err(TargetError::unsupported(name, what));
            }
            let note = format!(
                "nemesis `{}` left out of `all`: {name} cannot take {what}",
                f.kind.name()
            );
            if !notes.contains(&note) {
                notes.push(note);
            }
        }
    }
    Ok((kinds.retain(|f| refusal(f.kind, clocks).is_none()), notes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nemesis::parse_kinds;
    use crate::system::reference::Reference;

    #[test]
    fn explicit_clock_faults_are_refused_and_all_leaves_them_out() {
        let none = Clocks {
            offsets: false,
            rates: false,
            packets: false,
            rebalance: false,
        };
        let e = admit_clocks(&parse_kinds("partition,clock").unwrap(), "etcd", none)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("etcd") && e.contains("clock offsets (--nemesis clock)"),
            "{e}"
        );
        let offsets = Clocks {
            offsets: true,
            rates: false,
            packets: true,
            rebalance: false,
        };
        let e = admit_clocks(&parse_kinds("clock-drift").unwrap(), "redis", offsets)
            .unwrap_err()
            .to_string();
        assert!(e.contains("clock rates"), "{e}");
        assert!(admit_clocks(&parse_kinds("clock:leader").unwrap(), "redis", offsets).is_ok());
        let (k, notes) = admit_clocks(&Kinds::all(), "etcd", none).unwrap();
        assert!(!k.contains(Kind::Clock) && !k.contains(Kind::ClockDrift) && k.contains(Kind::Kill));
        assert_eq!(notes.len(), 4, "{notes:?}");
        assert!(!k.contains(Kind::Delay) && !k.contains(Kind::Loss));
        let e = admit_clocks(&parse_kinds("loss").unwrap(), "builtin", none)
            .unwrap_err()
            .to_string();
        assert!(e.contains("--net proxy"), "{e}");
        let (k, notes) = admit(&Kinds::all(), &Reference::new(), "proxy").unwrap();
        assert_eq!((k, notes.len()), (Kinds::all(), 0));
    }
}
