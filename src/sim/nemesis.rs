//! The nemesis in simulation: the real schedule (`nemesis::plan`, same seed),
//! each step applied to the simulated world and recorded as
//! `runner`'s nemesis loop records it (an `invoke` with the action, an `info`
//! with what was done, `hit` naming the nodes it took effect on, or the error),
//! with the same bookkeeping as `nemesis::exec` so that [`Sim::heal_all`] undoes
//! what is left in place.

use super::node::State;
use super::{Ev, Sim, SimProtocol, MS};
use crate::history::{Op, OpType, Process};
use crate::nemesis::exec::{needs_leader, outcome, LEADER_POLL_MS, LEADER_WAIT_MS};
use crate::nemesis::schedule::{Action, Step};
use crate::nemesis::Victims;
use crate::net::{shape, Grudge, Packets};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// A strobe under way: its victims, the nodes it reached, and errors by node.
type Strobe = (Vec<usize>, BTreeSet<usize>, Map<String, Value>);

#[derive(Default)]
pub(crate) struct NemState {
    pub steps: Vec<Step>,
    killed: BTreeSet<usize>,
    paused: BTreeSet<usize>,
    skewed: BTreeSet<usize>,
    drifted: BTreeSet<usize>,
    partitioned: bool,
    /// Packet faults on every node-to-node link (as the proxy back end's).
    pub packets: Packets,
    /// Per link: consecutive lost first transmissions (the stall doubles).
    pub losses: BTreeMap<(usize, usize), u32>,
    /// A step is under way (a strobe flipping, or a step waiting for a
    /// leader): the real nemesis loop is blocked in it, so the next step waits.
    pub strobing: bool,
    /// The strobe under way: its victims, the nodes it reached, and errors.
    strobe: Option<Strobe>,
    /// A step aimed at the leader waits for one (step, since when), as the
    /// real nemesis does, blocking the steps behind it.
    waiting: Option<(usize, u64)>,
    /// Turns of the fallback when no leader is found.
    fallback: usize,
    /// When the client phase began, and how late the schedule runs: a step
    /// that starts late (the one before it blocked) delays every later one
    /// as much, as the real loop does (see `runner::nemesis_loop`).
    t0: u64,
    slip: u64,
}

impl<P: SimProtocol> Sim<P> {
    /// Schedules the first step at `t0` plus its offset; each step schedules
    /// the next when it is over ([`Sim::next_step`]).
    pub(crate) fn schedule_nemesis(&mut self, t0: u64, steps: Vec<Step>) {
        self.nem.t0 = t0;
        self.nem.steps = steps;
        self.next_step(0);
    }

    /// Schedules step `k` at its offset plus the slip so far (now, if that
    /// has passed).
    fn next_step(&mut self, k: usize) {
        if let Some(s) = self.nem.steps.get(k) {
            let due = self.nem.t0 + s.at_ms * MS + self.nem.slip;
            self.schedule(due.max(self.now), Ev::Nemesis { step: k });
        }
    }

    /// The node leading the highest term among those answering, as
    /// `Target::leader` finds it.
    fn find_leader(&mut self) -> Option<usize> {
        let mut best: Option<(u64, usize)> = None;
        for i in 0..self.nodes.len() {
            if let Some(s) = self.status(i) {
                if s.role == crate::store::seam::Role::Leader && best.is_none_or(|(t, _)| s.term > t) {
                    best = Some((s.term, i));
                }
            }
        }
        best.map(|b| b.1)
    }

    /// The leader; else, as `nemesis::exec`, the live nodes take turns.
    pub(crate) fn leader(&mut self) -> usize {
        if let Some(l) = self.find_leader() {
            return l;
        }
        let live: Vec<usize> = (0..self.nodes.len())
            .filter(|i| !self.nem.killed.contains(i) && !self.nem.paused.contains(i))
            .collect();
        let turn = self.nem.fallback;
        self.nem.fallback += 1;
        match live.len() {
            0 => turn % self.nodes.len(),
            k => live[turn % k],
        }
    }

    fn record_nemesis(&mut self, action: &Action, out: Result<Value, String>) {
        let inv = serde_json::to_value(action).unwrap_or_default();
        self.record(Op::new(OpType::Invoke, Process::Nemesis, action.f(), inv));
        self.record_done(action, out);
    }

    fn record_done(&mut self, action: &Action, out: Result<Value, String>) {
        let done = match out {
            Ok(v) => Op::new(OpType::Info, Process::Nemesis, action.f(), v),
            Err(e) => {
                let mut o = Op::new(OpType::Info, Process::Nemesis, action.f(), Value::Null);
                o.error = Some(e);
                o
            }
        };
        self.record(done);
    }

    pub(crate) fn on_nemesis(&mut self, step: usize) {
        let resumed = self.nem.waiting.is_some_and(|(s, _)| s == step);
        if self.now >= self.deadline {
            if resumed {
                self.nem.waiting = None;
                self.nem.strobing = false;
            }
            return;
        }
        if !resumed {
            let due = self.nem.t0 + self.nem.steps[step].at_ms * MS + self.nem.slip;
            self.nem.slip += self.now.saturating_sub(due);
        }
        let action = self.nem.steps[step].action.clone();
        if needs_leader(&action) && self.find_leader().is_none() {
            let since = self.nem.waiting.filter(|_| resumed).map_or(self.now, |w| w.1);
            if self.now < since + LEADER_WAIT_MS * MS {
                self.nem.waiting = Some((step, since));
                self.nem.strobing = true;
                self.schedule(self.now + LEADER_POLL_MS * MS, Ev::Nemesis { step });
                return;
            }
        }
        if resumed {
            self.nem.waiting = None;
            self.nem.strobing = false;
        }
        if let Action::ClockStrobe {
            victims,
            period_ms,
            duration_ms,
            ..
        } = &action
        {
            // Recorded when the strobe is over, like the real one (which blocks
            // the nemesis loop while it flips).
            let inv = serde_json::to_value(&action).unwrap_or_default();
            self.record(Op::new(OpType::Invoke, Process::Nemesis, action.f(), inv));
            let vs: Vec<usize> = self
                .resolve(victims)
                .into_iter()
                .filter(|v| !self.unreachable(*v))
                .collect();
            self.nem.skewed.extend(vs.iter().copied());
            self.nem.strobe = Some((vs, BTreeSet::new(), Map::new()));
            self.nem.strobing = true;
            let flips = duration_ms.div_ceil((*period_ms).max(1)).max(1);
            return self.on_strobe(step, u32::try_from(flips).unwrap_or(u32::MAX));
        }
        let out = self.apply(&action);
        self.record_nemesis(&action, out);
        self.next_step(step + 1);
    }

    /// One flip of a strobe (`left` to go, counting this one): flips alternate
    /// between the amplitude and no offset, one period apart, as the real
    /// loop's; at `left == 0` the strobe is over and recorded.
    pub(crate) fn on_strobe(&mut self, step: usize, left: u32) {
        let action = self.nem.steps[step].action.clone();
        let Action::ClockStrobe {
            ms,
            period_ms,
            duration_ms,
            ..
        } = action
        else {
            return;
        };
        let total = u32::try_from(duration_ms.div_ceil(period_ms.max(1)).max(1)).unwrap_or(u32::MAX);
        if left == 0 {
            let (_, hit, errors) = self.nem.strobe.take().unwrap_or_default();
            let hit: Vec<String> = hit.iter().map(|i| self.names[*i].clone()).collect();
            let extra = Map::from_iter([("ms".to_string(), json!(ms)), ("flips".to_string(), json!(total))]);
            self.record_done(&action, outcome(&hit, errors, extra));
            self.nem.strobing = false;
            self.next_step(step + 1);
            return;
        }
        let off = if (total - left).is_multiple_of(2) { ms } else { 0 };
        let vs = self.nem.strobe.as_ref().map(|s| s.0.clone()).unwrap_or_default();
        for v in vs {
            let r = self.set_offset(v, off);
            if let Some((_, hit, errors)) = self.nem.strobe.as_mut() {
                match r {
                    Ok(()) => {
                        hit.insert(v);
                    }
                    Err(e) => {
                        errors.insert(self.names[v].clone(), json!(e));
                    }
                }
            }
        }
        self.schedule(
            self.now + period_ms.max(1) * MS,
            Ev::Strobe { step, left: left - 1 },
        );
    }

    /// The admin endpoint's answer to a clock change on node `n`.
    fn admin(&mut self, n: usize) -> Result<&mut crate::store::driver::Driver<P>, String> {
        let name = self.names[n].clone();
        let node = &mut self.nodes[n];
        match node.state {
            State::Down => Err(format!(
                "node {name}: cannot connect to its admin port (simulated)"
            )),
            State::Paused => Err(format!("node {name}: admin request timed out (simulated)")),
            State::Up => node
                .driver
                .as_mut()
                .ok_or_else(|| format!("node {name}: not running")),
        }
    }

    fn set_offset(&mut self, n: usize, ms: i64) -> Result<(), String> {
        self.admin(n)?.clock_mut().set_offset_ms(ms);
        self.nodes[n].line(self.now, &format!("clock offset set to {ms} ms"));
        self.digest.add(self.now, ("offset", n, ms));
        Ok(())
    }

    fn set_rate(&mut self, n: usize, rate: f64) -> Result<(), String> {
        let host = self.nodes[n].host(self.now);
        self.admin(n)?
            .clock_mut()
            .set_rate(host, rate)
            .map_err(|r| format!("clock rate must be finite and above 0 (got {r})"))?;
        self.nodes[n].line(self.now, &format!("clock rate set to {rate}"));
        self.digest.add(self.now, ("rate", n, rate.to_bits()));
        Ok(())
    }

    fn resolve(&mut self, v: &Victims) -> Vec<usize> {
        match v {
            Victims::Leader => vec![self.leader()],
            Victims::Nodes(idx) => idx.iter().copied().filter(|i| *i < self.nodes.len()).collect(),
        }
    }

    /// A node whose clock cannot be set now (as `nemesis::exec`): killed or paused.
    fn unreachable(&self, n: usize) -> bool {
        self.nem.killed.contains(&n) || self.nem.paused.contains(&n)
    }

    fn names_of(&self, v: &[usize]) -> Value {
        json!(v.iter().map(|i| self.names[*i].clone()).collect::<Vec<_>>())
    }

    /// Runs `f` on each victim not skipped; the outcome names the nodes hit
    /// and the errors, as the real nemesis's.
    fn each(
        &mut self,
        vs: &[usize],
        skip: impl Fn(&Self, usize) -> bool,
        mut f: impl FnMut(&mut Self, usize) -> Result<(), String>,
        extra: Map<String, Value>,
    ) -> Result<Value, String> {
        let (mut hit, mut errors) = (Vec::new(), Map::new());
        for &v in vs {
            if skip(self, v) {
                continue;
            }
            match f(self, v) {
                Ok(()) => hit.push(self.names[v].clone()),
                Err(e) => {
                    errors.insert(self.names[v].clone(), json!(e));
                }
            }
        }
        outcome(&hit, errors, extra)
    }

    /// Applies one action; what the real nemesis would record (see `nemesis::exec`).
    pub(crate) fn apply(&mut self, action: &Action) -> Result<Value, String> {
        match action {
            Action::Partition {
                shape,
                cut,
                seed,
                nodes,
                ..
            } => self.partition(*shape, *cut, *seed, nodes.as_deref()),
            Action::Heal => {
                if self.nem.partitioned && self.write_pending() {
                    self.coverage.hit("heal-with-write-pending");
                }
                self.grudge = Grudge::default();
                self.nem.partitioned = false;
                self.digest.add(self.now, "heal");
                Ok(json!("healed"))
            }
            Action::Kill { victims, .. } => {
                let vs = self.resolve(victims);
                let skip = |s: &Self, v: usize| s.nem.killed.contains(&v) || s.nodes[v].state == State::Down;
                self.each(
                    &vs,
                    skip,
                    |s, v| {
                        s.kill_node(v);
                        s.nem.paused.remove(&v);
                        s.nem.killed.insert(v);
                        Ok(())
                    },
                    Map::new(),
                )
            }
            Action::Restart => {
                let vs: Vec<usize> = std::mem::take(&mut self.nem.killed).into_iter().collect();
                for &v in &vs {
                    if self.nodes[v].state == State::Down {
                        self.start_node(v);
                    }
                }
                Ok(self.names_of(&vs))
            }
            Action::Pause { victims, .. } => {
                let vs = self.resolve(victims);
                let skip = |s: &Self, v: usize| s.nem.killed.contains(&v) || s.nem.paused.contains(&v);
                self.each(
                    &vs,
                    skip,
                    |s, v| {
                        s.pause_node(v);
                        s.nem.paused.insert(v);
                        Ok(())
                    },
                    Map::new(),
                )
            }
            Action::Resume => {
                let vs: Vec<usize> = std::mem::take(&mut self.nem.paused).into_iter().collect();
                vs.iter().for_each(|&v| self.resume_node(v));
                Ok(self.names_of(&vs))
            }
            Action::ClockBump { victims, ms, .. } => self.bump(victims, ms),
            Action::ClockStrobe { .. } => {
                Err("a clock strobe runs through the event queue (on_nemesis), never at once".into())
            }
            Action::ClockReset => self.reset_clocks(false),
            Action::ClockDrift {
                victims, permille, ..
            } => {
                let vs = self.resolve(victims);
                let rate = f64::from(*permille) / 1000.0;
                let extra = Map::from_iter([("rate".to_string(), json!(rate))]);
                self.each(
                    &vs,
                    Self::unreachable,
                    |s, v| {
                        s.nem.drifted.insert(v);
                        s.set_rate(v, rate)
                    },
                    extra,
                )
            }
            Action::ClockRateReset => self.reset_clocks(true),
            a @ (Action::Delay { .. } | Action::Loss { .. }) => self.packets(a.packets().unwrap_or_default()),
            Action::Rebalance { .. } => Err("the simulator has no sharded store to rebalance".into()),
            Action::PacketHeal => {
                self.nem.packets = Packets::default();
                self.nem.losses.clear();
                self.digest.add(self.now, "packet-heal");
                Ok(json!("healed"))
            }
        }
    }

    /// Each victim's clock jumps by its own entry of `ms` (cycled).
    fn bump(&mut self, victims: &Victims, ms: &[i64]) -> Result<Value, String> {
        let vs = self.resolve(victims);
        let mut set = Map::new();
        let out = self.each(
            &vs,
            Self::unreachable,
            |s, v| {
                let off = ms.get(set.len() % ms.len().max(1)).copied().unwrap_or(0);
                s.nem.skewed.insert(v);
                s.set_offset(v, off)?;
                set.insert(s.names[v].clone(), json!(off));
                Ok(())
            },
            Map::new(),
        );
        out.map(|mut o| {
            o["ms"] = Value::Object(set);
            o
        })
    }

    /// Cuts the links of one partition shape (drawn from `seed`).
    fn partition(
        &mut self,
        shape: crate::net::Shape,
        cut: crate::net::Cut,
        seed: u64,
        nodes: Option<&[usize]>,
    ) -> Result<Value, String> {
        let names = self.names.clone();
        let leader = if shape == crate::net::Shape::Leader {
            names[self.leader()].clone()
        } else {
            String::new()
        };
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let g = match nodes {
            Some(side) => shape::grudge_around(cut, &names, side),
            None => shape::grudge(shape, cut, &names, &leader, &mut rng),
        };
        self.nem.partitioned = true;
        self.digest.add(self.now, ("partition", g.to_json().to_string()));
        let hit: Vec<String> =
            g.0.iter()
                .filter(|(_, s)| !s.is_empty())
                .map(|(k, _)| k.clone())
                .collect();
        let extra = Map::from_iter([("grudge".to_string(), g.to_json())]);
        self.grudge = g;
        outcome(&hit, Map::new(), extra)
    }

    /// Puts every skewed (or, with `rates`, drifted) clock back; a node that
    /// could not be reset stays listed for the next reset (as `nemesis::exec`).
    fn reset_clocks(&mut self, rates: bool) -> Result<Value, String> {
        let listed = if rates {
            &mut self.nem.drifted
        } else {
            &mut self.nem.skewed
        };
        let vs: Vec<usize> = std::mem::take(listed).into_iter().collect();
        let mut first_err = None;
        for &v in &vs {
            let r = if rates {
                self.set_rate(v, 1.0)
            } else {
                self.set_offset(v, 0)
            };
            if let Err(x) = r {
                first_err.get_or_insert(format!("{}: {x}", self.names[v]));
                if rates {
                    &mut self.nem.drifted
                } else {
                    &mut self.nem.skewed
                }
                .insert(v);
            }
        }
        first_err.map_or(Ok(self.names_of(&vs)), Err)
    }

    /// Packet faults on every link: every node is hit.
    fn packets(&mut self, p: Packets) -> Result<Value, String> {
        self.nem.packets = p;
        self.digest
            .add(self.now, ("packets", p.delay_ms, p.jitter_ms, p.loss_percent));
        outcome(
            &self.names,
            Map::new(),
            Map::from_iter([("packets".to_string(), json!(p))]),
        )
    }

    /// The extra hold of a peer message under the packet faults in place, ns
    /// (the proxy's: delay, jitter, retransmission stalls for lost packets).
    pub(crate) fn packet_hold(&mut self, from: usize, to: usize) -> u64 {
        if self.nem.packets.is_none() {
            return 0;
        }
        let p = self.nem.packets;
        let losses = self.nem.losses.entry((from, to)).or_default();
        p.hold(&mut self.rng, losses).as_nanos() as u64
    }

    /// Undoes every fault still in place, recording each undo (as `Nemesis::heal_all`).
    ///
    /// A node that exited on its own (a failed disk sync, which the simulator
    /// injected) is restarted with the killed ones, as a supervisor would: by
    /// the end every injected fault is undone, so the checks after the heal
    /// (convergence, final reads) judge the store, not a node left dead.
    pub(crate) fn heal_all(&mut self) {
        let exited = (0..self.nodes.len()).filter(|&i| self.nodes[i].state == State::Down);
        let exited: Vec<usize> = exited.collect();
        self.nem.killed.extend(exited);
        let mut undo = Vec::new();
        if self.nem.partitioned {
            undo.push(Action::Heal);
        }
        if !self.nem.packets.is_none() {
            undo.push(Action::PacketHeal);
        }
        if !self.nem.paused.is_empty() {
            undo.push(Action::Resume);
        }
        if !self.nem.killed.is_empty() {
            undo.push(Action::Restart);
        }
        if !self.nem.skewed.is_empty() {
            undo.push(Action::ClockReset);
        }
        if !self.nem.drifted.is_empty() {
            undo.push(Action::ClockRateReset);
        }
        for a in undo {
            let out = self.apply(&a);
            self.record_nemesis(&a, out);
        }
    }
}
