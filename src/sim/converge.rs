//! The convergence phase of a leaderless test in simulated time, as
//! `runner::converge` does it for real: after the heal, every key the
//! clients touched is read from each of its replicas directly (`replica-read`:
//! the node's own copy, no quorum), round after round until the replicas
//! agree or the phase's time is up; one `converge` op of the nemesis process
//! records what changed (the input of the `convergence` checker).

use super::clients::{Role, SimClient};
use super::{Sim, SimProtocol, MS};
use crate::history::{Op, OpType, Process};
use crate::runner::converge::{keys, limit, outcome, reading, Watched, READ_TIMEOUT, ROUND};
use serde_json::{Map, Value};

impl<P: SimProtocol> Sim<P> {
    /// Runs the phase (a no-op for other topologies).
    pub(crate) fn converge(&mut self) {
        if !self.cfg.system.is_leaderless() {
            return;
        }
        let healed = self.now;
        self.record(Op::new(OpType::Invoke, Process::Nemesis, "converge", Value::Null));
        let (history, _) = self.rec.snapshot();
        let mut watched = keys(&self.cfg, &self.names, &self.info, &history);
        let end = healed + limit(&self.cfg).as_nanos() as u64;
        loop {
            let t_ms = (self.now - healed) / MS;
            for w in watched.iter_mut().filter(|w| !w.agreed()) {
                let now = self.read_replicas(w);
                w.observe(t_ms, now);
            }
            if watched.iter().all(Watched::agreed) || self.now >= end {
                break;
            }
            self.run_until(self.now + ROUND.as_nanos() as u64);
        }
        let end_ms = (self.now - healed) / MS;
        self.record(Op::new(
            OpType::Info,
            Process::Nemesis,
            "converge",
            outcome(end_ms, watched),
        ));
    }

    /// Reads `w`'s key from each of its replicas in turn (unrecorded).
    fn read_replicas(&mut self, w: &Watched) -> Map<String, Value> {
        let mut now = Map::new();
        let timeout = READ_TIMEOUT.as_nanos() as u64;
        for r in &w.replicas {
            let Some(node) = self.node_index(r) else {
                now.insert(r.clone(), reading(None));
                continue;
            };
            let probe = Role::Probe {
                op: w.read(),
                result: None,
            };
            let c = self.add_client(SimClient::probe(probe, node, timeout), 0);
            self.run_client(c, 2 * timeout);
            let done = match &mut self.clients[c].role {
                Role::Probe { result, .. } => result.take(),
                _ => None,
            };
            now.insert(r.clone(), reading(done));
        }
        now
    }
}
