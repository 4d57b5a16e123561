//! The nemesis in simulation: the real schedule (`nemesis::plan`, same seed),
//! each step applied to the simulated world and recorded as
//! `runner`'s nemesis loop records it (an `invoke` with the action, an `info`
//! with what was done or the error), with the same bookkeeping as
//! `nemesis::exec` so that [`Sim::heal_all`] undoes what is left in place.

use super::node::State;
use super::{Ev, Sim, SimProtocol, MS};
use crate::history::{Op, OpType, Process};
use crate::nemesis::exec::grudge;
use crate::nemesis::schedule::{Action, Step, Victims};
use crate::net::Grudge;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// Time between the flips of a clock strobe (as `nemesis::exec`).
const STROBE_NS: u64 = 50 * MS;

#[derive(Default)]
pub(crate) struct NemState {
    pub steps: Vec<Step>,
    killed: BTreeSet<usize>,
    paused: BTreeSet<usize>,
    skewed: BTreeSet<usize>,
    drifted: BTreeSet<usize>,
    partitioned: bool,
    /// A clock strobe is under way: the real nemesis loop is blocked in it, so
    /// steps due meanwhile wait for it (in order).
    pub strobing: bool,
    deferred: std::collections::VecDeque<usize>,
}

impl<P: SimProtocol> Sim<P> {
    /// Schedules every step at `t0` plus its offset.
    pub(crate) fn schedule_nemesis(&mut self, t0: u64, steps: Vec<Step>) {
        for (step, s) in steps.iter().enumerate() {
            self.schedule(t0 + s.at_ms * MS, Ev::Nemesis { step });
        }
        self.nem.steps = steps;
    }

    /// The node leading the highest term among those answering (else the first), as
    /// `Target::leader` finds it.
    pub(crate) fn leader(&mut self) -> usize {
        let mut best: Option<(u64, usize)> = None;
        for i in 0..self.nodes.len() {
            if let Some(s) = self.status(i) {
                if s.role == crate::store::seam::Role::Leader && best.is_none_or(|(t, _)| s.term > t) {
                    best = Some((s.term, i));
                }
            }
        }
        best.map_or(0, |b| b.1)
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
        if self.now >= self.deadline {
            return;
        }
        if self.nem.strobing {
            self.nem.deferred.push_back(step);
            return;
        }
        let action = self.nem.steps[step].action.clone();
        if let Action::ClockStrobe { node, ms, flips } = action {
            // Recorded when the strobe is over, like the real one.
            let inv = serde_json::to_value(&action).unwrap_or_default();
            self.record(Op::new(OpType::Invoke, Process::Nemesis, action.f(), inv));
            let n = node % self.nodes.len();
            self.nem.skewed.insert(n);
            self.nem.strobing = true;
            let _ = ms;
            return self.on_strobe(step, flips + 1);
        }
        let out = self.apply(&action);
        self.record_nemesis(&action, out);
    }

    /// One flip of a strobe: even flips set the offset, odd ones clear it; the
    /// last sets it for good and completes the step.
    pub(crate) fn on_strobe(&mut self, step: usize, left: u32) {
        let Action::ClockStrobe { node, ms, flips } = self.nem.steps[step].action.clone() else {
            return;
        };
        let n = node % self.nodes.len();
        let i = flips + 1 - left;
        let off = if left == 1 || i % 2 == 0 { ms } else { 0 };
        let r = self.set_offset(n, off);
        if left == 1 || r.is_err() {
            let action = self.nem.steps[step].action.clone();
            let out = r.map(|_| json!({"node": self.names[n], "ms": ms, "flips": flips}));
            self.record_done(&action, out);
            self.nem.strobing = false;
            while let Some(next) = self.nem.deferred.pop_front() {
                self.on_nemesis(next);
                if self.nem.strobing {
                    break;
                }
            }
            return;
        }
        self.schedule(self.now + STROBE_NS, Ev::Strobe { step, left: left - 1 });
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

    fn names_of(&self, v: &[usize]) -> Value {
        json!(v.iter().map(|i| self.names[*i].clone()).collect::<Vec<_>>())
    }

    /// Applies one action; what the real nemesis would record (see `nemesis::exec`).
    pub(crate) fn apply(&mut self, action: &Action) -> Result<Value, String> {
        match action {
            Action::Partition { shape, seed } => {
                let names = self.names.clone();
                let g = grudge(*shape, *seed, &names, || names[self.leader()].clone());
                self.nem.partitioned = true;
                self.digest.add(self.now, ("partition", g.to_json().to_string()));
                self.grudge = g;
                Ok(self.grudge.to_json())
            }
            Action::Heal => {
                self.grudge = Grudge::default();
                self.nem.partitioned = false;
                self.digest.add(self.now, "heal");
                Ok(json!("healed"))
            }
            Action::Kill { victims } => {
                let vs = self.resolve(victims);
                for &v in &vs {
                    self.kill_node(v);
                    self.nem.killed.insert(v);
                }
                Ok(self.names_of(&vs))
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
            Action::Pause { victims } => {
                let vs = self.resolve(victims);
                for &v in &vs {
                    if self.nem.killed.contains(&v) {
                        continue;
                    }
                    self.pause_node(v);
                    self.nem.paused.insert(v);
                }
                Ok(self.names_of(&vs))
            }
            Action::Resume => {
                let vs: Vec<usize> = std::mem::take(&mut self.nem.paused).into_iter().collect();
                vs.iter().for_each(|&v| self.resume_node(v));
                Ok(self.names_of(&vs))
            }
            Action::ClockBump { node, ms } => {
                let n = node % self.nodes.len();
                self.nem.skewed.insert(n);
                self.set_offset(n, *ms)?;
                Ok(json!({ self.names[n].clone(): ms }))
            }
            Action::ClockStrobe { node, ms, .. } => {
                // Only through `heal_all`'s path never; kept for completeness: set at once.
                let n = node % self.nodes.len();
                self.nem.skewed.insert(n);
                self.set_offset(n, *ms)?;
                Ok(json!({ self.names[n].clone(): ms }))
            }
            Action::ClockReset => {
                let vs: Vec<usize> = std::mem::take(&mut self.nem.skewed).into_iter().collect();
                for &v in &vs {
                    self.set_offset(v, 0)?;
                }
                Ok(self.names_of(&vs))
            }
            Action::ClockDrift { permille } => {
                let n = self.leader();
                let rate = f64::from(*permille) / 1000.0;
                self.nem.drifted.insert(n);
                self.set_rate(n, rate)?;
                Ok(json!({ self.names[n].clone(): rate }))
            }
            Action::ClockRateReset => {
                let vs: Vec<usize> = std::mem::take(&mut self.nem.drifted).into_iter().collect();
                for &v in &vs {
                    self.set_rate(v, 1.0)?;
                }
                Ok(self.names_of(&vs))
            }
        }
    }

    /// Undoes every fault still in place, recording each undo (as `Nemesis::heal_all`).
    pub(crate) fn heal_all(&mut self) {
        let mut undo = Vec::new();
        if self.nem.partitioned {
            undo.push(Action::Heal);
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
