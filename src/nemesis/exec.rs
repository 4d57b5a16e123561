//! Applying schedule steps to a live cluster, and undoing everything.
//!
//! Invariant: the nemesis remembers every fault it left in place (killed,
//! paused, clock-skewed and clock-drifted nodes; a partition), so [`Nemesis::heal_all`] can
//! undo all of them at the end of a run, on Ctrl-C, or after an error.

use super::schedule::{Action, Shape, Victims};
use crate::net::{Grudge, NetBackend};
use crate::system::Target;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::Duration;

/// The grudge a partition step of `shape` builds over `nodes` (non-empty) from its
/// `seed`; `leader` is asked only by shapes that need the current leader. Shared with the
/// simulator, so one seed cuts the same links for real and in simulation.
pub fn grudge(shape: Shape, seed: u64, nodes: &[String], leader: impl FnOnce() -> String) -> Grudge {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    match shape {
        Shape::Halves => Grudge::random_halves(nodes, &mut rng),
        Shape::IsolateOne => {
            let i = rand::Rng::gen_range(&mut rng, 0..nodes.len());
            Grudge::isolate(nodes, &nodes[i])
        }
        Shape::IsolateLeader => Grudge::isolate(nodes, &leader()),
        Shape::MajoritiesRing => Grudge::majorities_ring(nodes, &mut rng),
        Shape::Bridge => Grudge::bridge(nodes, &mut rng),
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
        }
    }

    fn leader(&self) -> String {
        match self.target.leader() {
            Ok(Some(l)) if self.nodes.contains(&l) => l,
            _ => self.nodes[0].clone(),
        }
    }

    fn resolve(&self, v: &Victims) -> Vec<String> {
        match v {
            Victims::Leader => vec![self.leader()],
            Victims::Nodes(idx) => idx.iter().filter_map(|i| self.nodes.get(*i).cloned()).collect(),
        }
    }

    fn node(&self, i: usize) -> String {
        self.nodes[i % self.nodes.len()].clone()
    }

    /// Applies one step; returns the value recorded on its completion op
    /// (what was actually done), or the error text.
    pub fn apply(&mut self, action: &Action) -> Result<Value, String> {
        let e = |x: &dyn std::fmt::Display| x.to_string();
        match action {
            Action::Partition { shape, seed } => {
                let g = grudge(*shape, *seed, &self.nodes, || self.leader());
                self.partitioned = true;
                self.net.partition(&g).map_err(|x| e(&x))?;
                Ok(g.to_json())
            }
            Action::Heal => {
                self.net.heal().map_err(|x| e(&x))?;
                self.partitioned = false;
                Ok(json!("healed"))
            }
            Action::Kill { victims } => {
                let vs = self.resolve(victims);
                for v in &vs {
                    self.target.kill(v).map_err(|x| e(&x))?;
                    self.killed.insert(v.clone());
                }
                Ok(json!(vs))
            }
            Action::Restart => {
                let vs: Vec<String> = std::mem::take(&mut self.killed).into_iter().collect();
                for v in &vs {
                    self.target.start(v).map_err(|x| e(&x))?;
                }
                Ok(json!(vs))
            }
            Action::Pause { victims } => {
                let vs = self.resolve(victims);
                for v in &vs {
                    if self.killed.contains(v) {
                        continue;
                    }
                    self.target.pause(v).map_err(|x| e(&x))?;
                    self.paused.insert(v.clone());
                }
                Ok(json!(vs))
            }
            Action::Resume => {
                let vs: Vec<String> = std::mem::take(&mut self.paused).into_iter().collect();
                for v in &vs {
                    self.target.resume(v).map_err(|x| e(&x))?;
                }
                Ok(json!(vs))
            }
            Action::ClockBump { node, ms } => {
                let n = self.node(*node);
                self.skewed.insert(n.clone());
                self.target.set_clock_offset(&n, *ms).map_err(|x| e(&x))?;
                Ok(json!({ n: ms }))
            }
            Action::ClockStrobe { node, ms, flips } => {
                let n = self.node(*node);
                self.skewed.insert(n.clone());
                for i in 0..*flips {
                    let off = if i % 2 == 0 { *ms } else { 0 };
                    self.target.set_clock_offset(&n, off).map_err(|x| e(&x))?;
                    std::thread::sleep(Duration::from_millis(50));
                }
                self.target.set_clock_offset(&n, *ms).map_err(|x| e(&x))?;
                Ok(json!({"node": n, "ms": ms, "flips": flips}))
            }
            Action::ClockReset => {
                let vs: Vec<String> = std::mem::take(&mut self.skewed).into_iter().collect();
                for v in &vs {
                    self.target.set_clock_offset(v, 0).map_err(|x| e(&x))?;
                }
                Ok(json!(vs))
            }
            Action::ClockDrift { permille } => {
                // The leader, so its lease reads are what the drift exercises.
                let n = self.leader();
                let rate = f64::from(*permille) / 1000.0;
                self.drifted.insert(n.clone());
                self.target.set_clock_rate(&n, rate).map_err(|x| e(&x))?;
                Ok(json!({ n: rate }))
            }
            Action::ClockRateReset => {
                let vs: Vec<String> = std::mem::take(&mut self.drifted).into_iter().collect();
                for v in &vs {
                    self.target.set_clock_rate(v, 1.0).map_err(|x| e(&x))?;
                }
                Ok(json!(vs))
            }
        }
    }

    /// Undoes every fault still in place; returns the undo actions that ran
    /// with their outcome. Keeps going past errors.
    pub fn heal_all(&mut self) -> Vec<(Action, Result<Value, String>)> {
        let mut out = Vec::new();
        if self.partitioned {
            out.push((Action::Heal, self.apply(&Action::Heal)));
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
mod tests {
    use super::*;
    use crate::net::null::NullNet;
    use crate::net::{Layout, NetBackend};
    use crate::system::reference::Reference;
    use crate::system::NodeCtx;

    #[test]
    fn faults_are_applied_and_all_healed() {
        let dir = tempfile::tempdir().unwrap();
        let nodes: Vec<String> = (1..=5).map(|i| format!("n{i}")).collect();
        let mut net = NullNet::default();
        let nets = net
            .setup(&Layout {
                nodes: nodes.clone(),
                ports: vec!["peer".into()],
                peer: "peer".into(),
            })
            .unwrap();
        let mut t = Reference::new();
        t.setup(
            nets.into_iter()
                .map(|n| NodeCtx {
                    id: n.id.clone(),
                    data_dir: dir.path().to_path_buf(),
                    log: dir.path().join(format!("{}.log", n.id)),
                    net: n,
                })
                .collect(),
        )
        .unwrap();
        for n in &nodes {
            t.start(n).unwrap();
        }
        let mut nem = Nemesis::new(&t, &net, nodes.clone());
        let v = nem
            .apply(&Action::Kill {
                victims: Victims::Leader,
            })
            .unwrap();
        assert_eq!(v, json!(["n1"]));
        assert!(!t.is_running("n1"));
        nem.apply(&Action::Pause {
            victims: Victims::Nodes(vec![1, 2]),
        })
        .unwrap();
        let g = nem
            .apply(&Action::Partition {
                shape: Shape::IsolateLeader,
                seed: 1,
            })
            .unwrap();
        // n1 is dead, n2 and n3 paused: the first node up, n4, leads.
        assert_eq!(g["n2"], json!(["n4"]), "{g}");
        nem.apply(&Action::ClockBump { node: 3, ms: 500 }).unwrap();
        // The drift goes to the leader: n4 (n1 dead, n2 and n3 paused).
        let d = nem.apply(&Action::ClockDrift { permille: 250 }).unwrap();
        assert_eq!(d, json!({"n4": 0.25}));
        let undone: Vec<&str> = nem.heal_all().iter().map(|(a, _)| a.f()).collect();
        assert_eq!(
            undone,
            vec!["heal", "resume", "restart", "clock-reset", "clock-rate-reset"]
        );
        assert!(nodes.iter().all(|n| t.healthy(n, Duration::ZERO).is_ok()));
        assert!(net.log.lock().unwrap().last().unwrap().is_empty());
        assert!(nem.heal_all().is_empty());
    }
}
