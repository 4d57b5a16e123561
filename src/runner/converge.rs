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
use crate::client::Client;
use crate::history::{Op, OpType, Process};
use crate::net::NetBackend;
use crate::system::leaderless::{replicas, store_key};
use crate::system::{Target, WorkloadInfo};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The phase's time limit for `cfg`.
fn limit(cfg: &TestConfig) -> Duration {
    let ae = cfg.system.builtin.leaderless.anti_entropy_ms;
    Duration::from_millis((5_000 + 3 * ae).min(30_000))
}

/// One key under watch: the workload's key, its replicas, what changed.
struct Watched {
    key: Value,
    replicas: Vec<String>,
    last: Option<Map<String, Value>>,
    observations: Vec<Value>,
}

impl Watched {
    fn agreed(&self) -> bool {
        let Some(last) = &self.last else { return false };
        let first = self.replicas.first().and_then(|r| last.get(r));
        self.replicas.iter().all(|r| {
            last.get(r)
                .is_some_and(|v| Some(v) == first && v.get("error").is_none())
        })
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
    if !cfg.system.is_leaderless() {
        return Ok(());
    }
    let healed = Instant::now();
    rec.record(Op::new(OpType::Invoke, Process::Nemesis, "converge", Value::Null));
    let mut watched = keys(cfg, nodes, info, rec);
    let end_ms = placed(net, || {
        watch(target, nodes, info, &mut watched, healed, limit(cfg))
    })??;
    let keys: Map<String, Value> = watched
        .into_iter()
        .map(|w| {
            let k = crate::store::ops::key_str(&w.key);
            (k, json!({"replicas": w.replicas, "observations": w.observations}))
        })
        .collect();
    rec.record(Op::new(
        OpType::Info,
        Process::Nemesis,
        "converge",
        json!({"end_ms": end_ms, "keys": keys}),
    ));
    Ok(())
}

/// Every key the clients touched (one for `set` and `counter`), with its replicas.
fn keys(cfg: &TestConfig, nodes: &[String], info: &WorkloadInfo, rec: &Recorder) -> Vec<Watched> {
    let (history, _) = rec.snapshot();
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
            replicas: replicas(modes, nodes, &sk),
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
                let op = Op::new(OpType::Invoke, Process::Client(0), "replica-read", Value::Null)
                    .with_key(w.key.clone());
                let c = clients
                    .get_mut(r)
                    .map(|c| c.invoke(&op, Duration::from_millis(500)));
                let v = match c {
                    Some(c) if c.ty == OpType::Ok => c.value,
                    Some(c) => json!({"error": c.error.unwrap_or_default()}),
                    None => json!({"error": "no client"}),
                };
                now.insert(r.clone(), v);
            }
            if w.last.as_ref() != Some(&now) {
                w.observations.push(json!([t_ms, now.clone()]));
                w.last = Some(now);
            }
        }
        if watched.iter().all(Watched::agreed) || healed.elapsed() >= limit {
            return Ok(healed.elapsed().as_millis() as u64);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
