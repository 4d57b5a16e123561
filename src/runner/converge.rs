//! The convergence phase of a leaderless store's test: after every fault is
//! healed, read every key from each of its replicas directly (the `local`
//! read option, no quorum) until they all agree or the phase's time is up,
//! and record what changed as one `converge` op of the nemesis process (the
//! input of [`crate::checker::convergence`]).
//!
//! The phase waits at most 5 s plus three anti-entropy rounds (30 s at most),
//! so keys that anti-entropy would repair get the chance to, and keys that
//! nothing repairs (anti-entropy and read repair off) are reported as never
//! converged.

use super::config::TestConfig;
use super::recorder::Recorder;
use super::{placed, RunnerError};
use crate::client::{Client, Completion};
use crate::history::{History, Op, OpType, Process};
use crate::net::NetBackend;
use crate::system::leaderless::{replicas, store_key};
use crate::system::{Target, WorkloadInfo};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The phase's time limit for `cfg`.
pub fn limit(cfg: &TestConfig) -> Duration {
    let ae = cfg.system.builtin.leaderless.anti_entropy_ms;
    Duration::from_millis((5_000 + 3 * ae).min(30_000))
}

/// Time between two rounds of replica reads.
pub const ROUND: Duration = Duration::from_millis(200);
/// How long one replica read may take.
pub const READ_TIMEOUT: Duration = Duration::from_millis(500);

/// One key under watch: the workload's key, its replicas, what changed.
/// (The simulator's convergence phase watches keys with it too.)
pub struct Watched {
    pub key: Value,
    pub replicas: Vec<String>,
    last: Option<Map<String, Value>>,
    observations: Vec<Value>,
}

impl Watched {
    /// Every replica answered, and all answered the same.
    pub fn agreed(&self) -> bool {
        let Some(last) = &self.last else { return false };
        let first = self.replicas.first().and_then(|r| last.get(r));
        self.replicas.iter().all(|r| {
            last.get(r)
                .is_some_and(|v| Some(v) == first && v.get("error").is_none())
        })
    }

    /// The replica read of this key (sent to each replica in turn).
    pub fn read(&self) -> Op {
        Op::new(OpType::Invoke, Process::Client(0), "replica-read", Value::Null).with_key(self.key.clone())
    }

    /// What every replica answered at `t_ms` after the heal: kept when it changed.
    pub fn observe(&mut self, t_ms: u64, now: Map<String, Value>) {
        if self.last.as_ref() != Some(&now) {
            self.observations.push(json!([t_ms, now.clone()]));
            self.last = Some(now);
        }
    }
}

/// One replica's answer as observed: its value, or `{"error": ...}`.
pub fn reading(c: Option<Completion>) -> Value {
    match c {
        Some(c) if c.ty == OpType::Ok => c.value,
        Some(c) => json!({"error": c.error.unwrap_or_default()}),
        None => json!({"error": "no client"}),
    }
}

/// Runs the phase (on a thread placed in the client network) and records its op.
pub fn phase(
    cfg: &TestConfig,
    target: &dyn Target,
    net: &dyn NetBackend,
    nodes: &[String],
    info: &WorkloadInfo,
    rec: &Recorder,
) -> Result<(), RunnerError> {
    if !cfg.system.merges_replicas() {
        return Ok(());
    }
    let healed = Instant::now();
    rec.record(Op::new(OpType::Invoke, Process::Nemesis, "converge", Value::Null));
    let mut watched = keys(cfg, nodes, info, &rec.snapshot().0);
    let end_ms = placed(net, || {
        watch(target, nodes, info, &mut watched, healed, limit(cfg))
    })??;
    rec.record(Op::new(
        OpType::Info,
        Process::Nemesis,
        "converge",
        outcome(end_ms, watched),
    ));
    Ok(())
}

/// The value of the phase's `info` op: when it stopped (ms after the heal)
/// and, per key, its replicas and every change seen.
pub fn outcome(end_ms: u64, watched: Vec<Watched>) -> Value {
    let keys: Map<String, Value> = watched
        .into_iter()
        .map(|w| {
            let k = crate::store::ops::key_str(&w.key);
            (k, json!({"replicas": w.replicas, "observations": w.observations}))
        })
        .collect();
    json!({"end_ms": end_ms, "keys": keys})
}

/// Every key the clients of `history` touched (one for `set` and
/// `counter`), with its replicas.
pub fn keys(cfg: &TestConfig, nodes: &[String], info: &WorkloadInfo, history: &History) -> Vec<Watched> {
    let mut by_store: BTreeMap<String, Value> = BTreeMap::new();
    for op in history.client_ops().filter(|o| o.ty == OpType::Invoke) {
        let key = op.key.clone().unwrap_or(Value::Null);
        by_store.entry(store_key(&info.name, &key)).or_insert(key);
    }
    let modes = &cfg.system.builtin.leaderless;
    by_store
        .into_iter()
        .map(|(sk, key)| Watched {
            key,
            // Multi-leader: every node holds every key.
            replicas: match cfg.system.is_multi_leader() {
                true => nodes.to_vec(),
                false => replicas(modes, nodes, &sk),
            },
            last: None,
            observations: Vec::new(),
        })
        .collect()
}

/// Reads every replica of every key in rounds until all agree or `limit`
/// passes; returns the ms since the heal at which it stopped.
fn watch(
    target: &dyn Target,
    nodes: &[String],
    info: &WorkloadInfo,
    watched: &mut [Watched],
    healed: Instant,
    limit: Duration,
) -> Result<u64, RunnerError> {
    let mut clients: BTreeMap<String, Box<dyn Client>> = BTreeMap::new();
    for n in nodes {
        clients.insert(n.clone(), target.client(n, info)?);
    }
    loop {
        let t_ms = healed.elapsed().as_millis() as u64;
        for w in watched.iter_mut().filter(|w| !w.agreed()) {
            let mut now = Map::new();
            for r in &w.replicas {
                let op = w.read();
                let c = clients.get_mut(r).map(|c| c.invoke(&op, READ_TIMEOUT));
                now.insert(r.clone(), reading(c));
            }
            w.observe(t_ms, now);
        }
        if watched.iter().all(Watched::agreed) || healed.elapsed() >= limit {
            return Ok(healed.elapsed().as_millis() as u64);
        }
        std::thread::sleep(ROUND);
    }
}
