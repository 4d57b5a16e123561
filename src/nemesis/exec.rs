//! Applying schedule steps to a live cluster, and undoing everything.
//!
//! Invariant: the nemesis remembers every fault it left in place (killed,
//! paused, clock-skewed and clock-drifted nodes; a partition), so [`Nemesis::heal_all`] can
//! undo all of them at the end of a run, on Ctrl-C, or after an error.

use super::aim::Victims;
use super::schedule::Action;
use crate::net::{shape, NetBackend, Packets};
use crate::system::Target;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Map, Value};
use std::cell::Cell;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// How long a fault aimed at the leader waits for one when none is known (a
/// leader just killed or cut off is being replaced): the fault is meant for
/// the node that leads, and an election takes a few hundred milliseconds.
/// The simulator waits the same way (see `sim::nemesis`).
pub const LEADER_WAIT_MS: u64 = 2_000;
/// How often the leader is asked again while waiting.
pub const LEADER_POLL_MS: u64 = 50;

/// Whether `action` is aimed at whoever leads (resolved when it runs).
pub fn needs_leader(action: &Action) -> bool {
    match action {
        Action::Partition { shape, .. } => *shape == crate::net::Shape::Leader,
        Action::Kill { victims, .. }
        | Action::Pause { victims, .. }
        | Action::ClockBump { victims, .. }
        | Action::ClockStrobe { victims, .. }
        | Action::ClockDrift { victims, .. } => *victims == Victims::Leader,
        _ => false,
    }
}

pub struct Nemesis<'a> {
    target: &'a dyn Target,
    net: &'a dyn NetBackend,
    nodes: Vec<String>,
    killed: BTreeSet<String>,
    paused: BTreeSet<String>,
    skewed: BTreeSet<String>,
    /// Nodes whose clock rate was changed (recorded before the change is
    /// attempted, so a change whose reply was lost is still undone).
    drifted: BTreeSet<String>,
    partitioned: bool,
    packets: bool,
    /// The system's datacenters (`Target::datacenters`; empty without them),
    /// which the `dc` partition shapes cut between.
    dcs: Vec<Vec<String>>,
    /// Turns of the fallback when no leader is found (see [`Nemesis::leader`]).
    fallback: Cell<usize>,
}

/// What a fault did: the nodes it took effect on (`hit`, what fault coverage
/// counts), the nodes it could not touch and why, and details.
pub(crate) fn outcome(
    hit: &[String],
    errors: Map<String, Value>,
    mut extra: Map<String, Value>,
) -> Result<Value, String> {
    if hit.is_empty() && !errors.is_empty() {
        return Err(Value::Object(errors).to_string());
    }
    extra.insert("hit".into(), json!(hit));
    if !errors.is_empty() {
        extra.insert("errors".into(), Value::Object(errors));
    }
    Ok(Value::Object(extra))
}

impl<'a> Nemesis<'a> {
    pub fn new(target: &'a dyn Target, net: &'a dyn NetBackend, nodes: Vec<String>) -> Nemesis<'a> {
        Nemesis {
            target,
            net,
            nodes,
            killed: BTreeSet::new(),
            paused: BTreeSet::new(),
            skewed: BTreeSet::new(),
            drifted: BTreeSet::new(),
            partitioned: false,
            packets: false,
            dcs: target.datacenters().unwrap_or_default(),
            fallback: Cell::new(0),
        }
    }

    /// The leader as the system reports it, waiting up to [`LEADER_WAIT_MS`]
    /// for one where the system has leaders; else (no leader, or a leaderless
    /// system) the live nodes take turns, so such faults still spread.
    fn leader(&self) -> String {
        let end = Instant::now() + Duration::from_millis(LEADER_WAIT_MS);
        loop {
            if let Ok(Some(l)) = self.target.leader() {
                if self.nodes.contains(&l) {
                    return l;
                }
            }
            if !self.target.has_leader() || Instant::now() >= end {
                break;
            }
            std::thread::sleep(Duration::from_millis(LEADER_POLL_MS));
        }
        let live: Vec<&String> = self
            .nodes
            .iter()
            .filter(|n| !self.killed.contains(*n) && !self.paused.contains(*n) && !self.target.dormant(n))
            .collect();
        let turn = self.fallback.get();
        self.fallback.set(turn + 1);
        match live.len() {
            0 => self.nodes[turn % self.nodes.len()].clone(),
            k => live[turn % k].clone(),
        }
    }

    fn resolve(&self, v: &Victims) -> Vec<String> {
        match v {
            Victims::Leader => vec![self.leader()],
            Victims::Nodes(idx) => idx.iter().filter_map(|i| self.nodes.get(*i).cloned()).collect(),
        }
    }

    /// Runs `f` on each victim it applies to; returns the nodes hit and the errors.
    fn each(
        &mut self,
        vs: &[String],
        skip: impl Fn(&Self, &str) -> bool,
        mut f: impl FnMut(&mut Self, &str) -> Result<(), String>,
    ) -> (Vec<String>, Map<String, Value>) {
        let (mut hit, mut errors) = (Vec::new(), Map::new());
        for v in vs {
            // A dormant node (not started yet) takes no fault until it runs.
            if skip(self, v) || self.target.dormant(v) {
                continue;
            }
            match f(self, v) {
                Ok(()) => hit.push(v.clone()),
                Err(e) => {
                    errors.insert(v.clone(), json!(e));
                }
            }
        }
        (hit, errors)
    }

    /// Applies one step; returns the value recorded on its completion op
    /// (what was actually done: `hit` lists the nodes a fault took effect
    /// on), or the error text.
    pub fn apply(&mut self, action: &Action) -> Result<Value, String> {
        let e = |x: &dyn std::fmt::Display| x.to_string();
        match action {
            Action::Partition {
                shape: sh,
                cut,
                seed,
                nodes,
                ..
            } => self.partition(*sh, *cut, *seed, nodes.as_deref()),
            Action::Heal => {
                self.net.heal().map_err(|x| e(&x))?;
                self.partitioned = false;
                Ok(json!("healed"))
            }
            Action::Kill { victims, .. } => {
                let vs = self.resolve(victims);
                let skip = |n: &Self, v: &str| n.killed.contains(v) || !n.target.is_running(v);
                let (hit, errors) = self.each(&vs, skip, |n, v| {
                    n.target.kill(v).map_err(|x| e(&x))?;
                    n.paused.remove(v);
                    n.killed.insert(v.to_string());
                    Ok(())
                });
                outcome(&hit, errors, Map::new())
            }
            Action::Restart => {
                let vs: Vec<String> = std::mem::take(&mut self.killed).into_iter().collect();
                for v in &vs {
                    self.target.start(v).map_err(|x| e(&x))?;
                }
                Ok(json!(vs))
            }
            Action::Pause { victims, .. } => {
                let vs = self.resolve(victims);
                let skip = |n: &Self, v: &str| n.killed.contains(v) || n.paused.contains(v);
                let (hit, errors) = self.each(&vs, skip, |n, v| {
                    n.target.pause(v).map_err(|x| e(&x))?;
                    n.paused.insert(v.to_string());
                    Ok(())
                });
                outcome(&hit, errors, Map::new())
            }
            Action::Resume => {
                let vs: Vec<String> = std::mem::take(&mut self.paused).into_iter().collect();
                for v in &vs {
                    self.target.resume(v).map_err(|x| e(&x))?;
                }
                Ok(json!(vs))
            }
            Action::ClockBump { victims, ms, .. } => {
                let vs = self.resolve(victims);
                let mut set = Map::new();
                let (hit, errors) = self.each(&vs, Self::unreachable, |n, v| {
                    let off = ms.get(set.len() % ms.len().max(1)).copied().unwrap_or(0);
                    n.skewed.insert(v.to_string());
                    n.target.set_clock_offset(v, off).map_err(|x| e(&x))?;
                    set.insert(v.to_string(), json!(off));
                    Ok(())
                });
                outcome(
                    &hit,
                    errors,
                    Map::from_iter([("ms".to_string(), Value::Object(set))]),
                )
            }
            Action::ClockStrobe {
                victims,
                ms,
                period_ms,
                duration_ms,
                ..
            } => self.strobe(victims, *ms, *period_ms, *duration_ms),
            Action::ClockReset => self.reset_clocks(false),
            Action::ClockDrift {
                victims, permille, ..
            } => {
                let vs = self.resolve(victims);
                let rate = f64::from(*permille) / 1000.0;
                let (hit, errors) = self.each(&vs, Self::unreachable, |n, v| {
                    n.drifted.insert(v.to_string());
                    n.target.set_clock_rate(v, rate).map_err(|x| e(&x))
                });
                outcome(&hit, errors, Map::from_iter([("rate".to_string(), json!(rate))]))
            }
            a @ (Action::Delay { .. } | Action::Loss { .. }) => self.packets(a.packets().unwrap_or_default()),
            Action::PacketHeal => {
                self.net.set_packets(&Packets::default()).map_err(|x| e(&x))?;
                self.packets = false;
                Ok(json!("healed"))
            }
            Action::ClockRateReset => self.reset_clocks(true),
            Action::Rebalance { seed } => self.target.rebalance(*seed).map_err(|x| e(&x)),
        }
    }

    /// Cuts the links of one partition shape (drawn from `seed`), or exactly
    /// `nodes` off the rest when given.
    fn partition(
        &mut self,
        sh: crate::net::Shape,
        cut: crate::net::Cut,
        seed: u64,
        nodes: Option<&[usize]>,
    ) -> Result<Value, String> {
        let leader = if sh == crate::net::Shape::Leader {
            self.leader()
        } else {
            String::new()
        };
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let g = match nodes {
            Some(side) => shape::grudge_around(cut, &self.nodes, side),
            None => shape::grudge_in(sh, cut, &self.nodes, &leader, &self.dcs, &mut rng),
        };
        self.partitioned = true;
        self.net.partition(&g).map_err(|x| x.to_string())?;
        let hit: Vec<String> =
            g.0.iter()
                .filter(|(_, s)| !s.is_empty())
                .map(|(k, _)| k.clone())
                .collect();
        let mut extra = Map::new();
        extra.insert("grudge".into(), g.to_json());
        outcome(&hit, Map::new(), extra)
    }

    /// Flips the victims' clocks between +`ms` and 0 every `period_ms` for
    /// `duration_ms` (at least one flip).
    fn strobe(
        &mut self,
        victims: &Victims,
        ms: i64,
        period_ms: u64,
        duration_ms: u64,
    ) -> Result<Value, String> {
        let vs = self.resolve(victims);
        let vs: Vec<String> = vs.into_iter().filter(|v| !self.unreachable(v)).collect();
        self.skewed.extend(vs.iter().cloned());
        let end = Instant::now() + Duration::from_millis(duration_ms);
        let mut flips = 0u32;
        let mut hit = BTreeSet::new();
        let mut errors = Map::new();
        while Instant::now() < end || flips == 0 {
            let off = if flips.is_multiple_of(2) { ms } else { 0 };
            for v in &vs {
                match self.target.set_clock_offset(v, off) {
                    Ok(()) => {
                        hit.insert(v.clone());
                    }
                    Err(x) => {
                        errors.insert(v.clone(), json!(x.to_string()));
                    }
                }
            }
            flips += 1;
            std::thread::sleep(Duration::from_millis(period_ms.max(1)));
        }
        let hit: Vec<String> = hit.into_iter().collect();
        let extra = Map::from_iter([("ms".to_string(), json!(ms)), ("flips".to_string(), json!(flips))]);
        outcome(&hit, errors, extra)
    }

    /// Puts every skewed (or, with `rates`, drifted) clock back to real time.
    /// A node that could not be reset (paused) stays listed, so the next
    /// reset or `heal_all` (after its resume) tries again.
    fn reset_clocks(&mut self, rates: bool) -> Result<Value, String> {
        let listed = if rates {
            &mut self.drifted
        } else {
            &mut self.skewed
        };
        let vs: Vec<String> = std::mem::take(listed).into_iter().collect();
        let mut first_err = None;
        for v in &vs {
            let r = if rates {
                self.target.set_clock_rate(v, 1.0)
            } else {
                self.target.set_clock_offset(v, 0)
            };
            if let Err(x) = r {
                first_err.get_or_insert(format!("{v}: {x}"));
                if rates {
                    &mut self.drifted
                } else {
                    &mut self.skewed
                }
                .insert(v.clone());
            }
        }
        first_err.map_or(Ok(json!(vs)), Err)
    }

    /// Puts packet faults on every link: every node is hit.
    fn packets(&mut self, p: Packets) -> Result<Value, String> {
        self.packets = true;
        self.net.set_packets(&p).map_err(|x| x.to_string())?;
        outcome(
            &self.nodes,
            Map::new(),
            Map::from_iter([("packets".to_string(), json!(p))]),
        )
    }

    /// A node whose clock cannot be set now: killed (a restarted node starts
    /// with a true clock) or paused (its admin port does not answer).
    fn unreachable(&self, v: &str) -> bool {
        self.killed.contains(v) || self.paused.contains(v)
    }

    /// Nodes that are down though the nemesis never killed them (nor are they
    /// dormant): they exited on their own, a crash of the system under test.
    pub fn exited_on_their_own(&self) -> Vec<String> {
        let down =
            |n: &&String| !self.killed.contains(*n) && !self.target.dormant(n) && !self.target.is_running(n);
        self.nodes.iter().filter(down).cloned().collect()
    }

    /// Undoes every fault still in place; returns the undo actions that ran
    /// with their outcome. Keeps going past errors.
    ///
    /// A node that exited on its own ([`Self::exited_on_their_own`]) is
    /// restarted with the killed ones, as a supervisor would (the simulator
    /// does the same): the checks after the heal (convergence, final reads)
    /// then judge the store, not a node left dead. The caller reports them.
    pub fn heal_all(&mut self) -> Vec<(Action, Result<Value, String>)> {
        let exited = self.exited_on_their_own();
        self.killed.extend(exited);
        let mut out = Vec::new();
        if self.partitioned {
            out.push((Action::Heal, self.apply(&Action::Heal)));
        }
        if self.packets {
            out.push((Action::PacketHeal, self.apply(&Action::PacketHeal)));
        }
        if !self.paused.is_empty() {
            out.push((Action::Resume, self.apply(&Action::Resume)));
        }
        if !self.killed.is_empty() {
            out.push((Action::Restart, self.apply(&Action::Restart)));
        }
        if !self.skewed.is_empty() {
            out.push((Action::ClockReset, self.apply(&Action::ClockReset)));
        }
        if !self.drifted.is_empty() {
            out.push((Action::ClockRateReset, self.apply(&Action::ClockRateReset)));
        }
        out
    }
}

#[cfg(test)]
#[path = "exec_tests.rs"]
mod tests;
