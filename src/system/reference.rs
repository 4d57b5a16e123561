//! The reference target: an in-process, linearizable store behind a mutex,
//! with logical nodes that can be killed, paused and restarted. No sockets,
//! no processes. It exists so the runner, workloads and nemesis can be tested
//! end to end without the built-in store; every checker must call its
//! histories valid.

use super::{NodeCtx, NodeId, PortPlan, Target, TargetError, WorkloadInfo};
use crate::client::{Client, Completion};
use crate::history::Op;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NodeState {
    Up,
    Down,
    Paused,
}

#[derive(Default)]
struct Data {
    kv: BTreeMap<String, Value>,
    nodes: BTreeMap<NodeId, Option<NodeState>>,
}

#[derive(Default)]
struct Shared {
    data: Mutex<Data>,
    changed: Condvar,
}

/// See the module docs.
#[derive(Default)]
pub struct Reference {
    shared: Arc<Shared>,
    logs: Vec<(NodeId, PathBuf)>,
}

impl Reference {
    pub fn new() -> Reference {
        Reference::default()
    }

    fn set(&self, node: &str, st: NodeState) -> Result<(), TargetError> {
        let mut d = self.shared.data.lock().unwrap_or_else(|e| e.into_inner());
        match d.nodes.get_mut(node) {
            Some(s) => {
                *s = Some(st);
                self.shared.changed.notify_all();
                Ok(())
            }
            None => Err(TargetError::UnknownNode(node.into())),
        }
    }

    fn state(&self, node: &str) -> Option<NodeState> {
        let d = self.shared.data.lock().unwrap_or_else(|e| e.into_inner());
        d.nodes.get(node).copied().flatten()
    }
}

impl Target for Reference {
    fn name(&self) -> &str {
        "reference"
    }
    fn ports(&self) -> PortPlan {
        PortPlan {
            names: vec!["peer".into(), "client".into()],
            peer: "peer".into(),
            client: "client".into(),
        }
    }
    fn setup(&mut self, nodes: Vec<NodeCtx>) -> Result<(), TargetError> {
        let mut d = self.shared.data.lock().unwrap_or_else(|e| e.into_inner());
        for n in &nodes {
            d.nodes.insert(n.id.clone(), None);
            std::fs::write(&n.log, format!("reference node {}\n", n.id)).map_err(|source| {
                TargetError::Io {
                    context: format!("writing {}", n.log.display()),
                    source,
                }
            })?;
        }
        self.logs = nodes.iter().map(|n| (n.id.clone(), n.log.clone())).collect();
        Ok(())
    }
    fn start(&self, node: &str) -> Result<(), TargetError> {
        self.set(node, NodeState::Up)
    }
    fn healthy(&self, node: &str, _t: Duration) -> Result<(), TargetError> {
        match self.state(node) {
            Some(NodeState::Up) => Ok(()),
            other => Err(TargetError::node(node, format!("not up ({other:?})"))),
        }
    }
    fn stop(&self, node: &str) -> Result<(), TargetError> {
        self.set(node, NodeState::Down)
    }
    fn kill(&self, node: &str) -> Result<(), TargetError> {
        self.set(node, NodeState::Down)
    }
    fn pause(&self, node: &str) -> Result<(), TargetError> {
        self.set(node, NodeState::Paused)
    }
    fn resume(&self, node: &str) -> Result<(), TargetError> {
        if self.state(node) == Some(NodeState::Paused) {
            self.set(node, NodeState::Up)?;
        }
        Ok(())
    }
    fn is_running(&self, node: &str) -> bool {
        matches!(self.state(node), Some(NodeState::Up | NodeState::Paused))
    }
    fn set_clock_offset(&self, node: &str, _ms: i64) -> Result<(), TargetError> {
        self.state(node)
            .map(|_| ())
            .ok_or_else(|| TargetError::UnknownNode(node.into()))
    }
    /// Like clock offsets: the in-process nodes keep no time, so this only
    /// checks the node exists (the nemesis's bookkeeping is what tests see).
    fn set_clock_rate(&self, node: &str, _rate: f64) -> Result<(), TargetError> {
        self.set_clock_offset(node, 0)
    }
    fn supports_clock_rate(&self) -> bool {
        true
    }
    fn supports_clock_offset(&self) -> bool {
        true
    }
    fn has_leader(&self) -> bool {
        true
    }
    fn leader(&self) -> Result<Option<NodeId>, TargetError> {
        let d = self.shared.data.lock().unwrap_or_else(|e| e.into_inner());
        Ok(d.nodes
            .iter()
            .find(|(_, s)| **s == Some(NodeState::Up))
            .map(|(n, _)| n.clone()))
    }
    fn client(&self, node: &str, w: &WorkloadInfo) -> Result<Box<dyn Client>, TargetError> {
        if self.state(node).is_none() && !self.logs.iter().any(|(n, _)| n == node) {
            return Err(TargetError::UnknownNode(node.into()));
        }
        Ok(Box::new(RefClient {
            shared: self.shared.clone(),
            node: node.to_string(),
            workload: w.clone(),
        }))
    }
    fn log_files(&self) -> Vec<(NodeId, PathBuf)> {
        self.logs.clone()
    }
    fn teardown(&mut self) -> Result<(), TargetError> {
        let mut d = self.shared.data.lock().unwrap_or_else(|e| e.into_inner());
        for s in d.nodes.values_mut() {
            *s = Some(NodeState::Down);
        }
        self.shared.changed.notify_all();
        Ok(())
    }
}

struct RefClient {
    shared: Arc<Shared>,
    node: String,
    workload: WorkloadInfo,
}

impl Client for RefClient {
    fn invoke(&mut self, op: &Op, timeout: Duration) -> Completion {
        let deadline = Instant::now() + timeout;
        let mut d = self.shared.data.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            match d.nodes.get(&self.node).copied().flatten() {
                Some(NodeState::Up) => break,
                Some(NodeState::Paused) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return Completion::info(op.value.clone(), "timeout").on(&self.node);
                    }
                    d = match self.shared.changed.wait_timeout(d, deadline - now) {
                        Ok((g, _)) => g,
                        Err(e) => e.into_inner().0,
                    };
                }
                _ => return Completion::fail(op.value.clone(), "connection refused").on(&self.node),
            }
        }
        apply(&mut d.kv, &self.workload, op).on(&self.node)
    }
}

fn key_of(op: &Op) -> String {
    op.key_string().unwrap_or_else(|| "_".into())
}

fn accounts(w: &WorkloadInfo) -> (Vec<String>, i64) {
    let accts: Vec<String> = w.params["accounts"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|v| v.as_str().map(String::from).unwrap_or_else(|| v.to_string()))
                .collect()
        })
        .unwrap_or_default();
    (accts, w.params["total"].as_i64().unwrap_or(0))
}

fn balance(kv: &BTreeMap<String, Value>, w: &WorkloadInfo, acct: &str) -> i64 {
    let (accts, total) = accounts(w);
    match kv.get(&format!("acct:{acct}")) {
        Some(v) => v.as_i64().unwrap_or(0),
        None if accts.first().map(String::as_str) == Some(acct) => total,
        None => 0,
    }
}

/// Applies one op atomically; the semantics every workload's op shape expects.
fn apply(kv: &mut BTreeMap<String, Value>, w: &WorkloadInfo, op: &Op) -> Completion {
    let v = op.value.clone();
    match (w.name.as_str(), op.f.as_str()) {
        ("set", "add") => {
            let e = kv.entry("set".into()).or_insert_with(|| json!([]));
            if let Value::Array(a) = e {
                a.push(v.clone());
            }
            Completion::ok(v)
        }
        ("set", "read") => Completion::ok(kv.get("set").cloned().unwrap_or(json!([]))),
        ("counter", "incr") => {
            let cur = kv.get("counter").and_then(Value::as_i64).unwrap_or(0);
            kv.insert("counter".into(), json!(cur + v.as_i64().unwrap_or(0)));
            Completion::ok(v)
        }
        ("counter", "read") => Completion::ok(json!(kv.get("counter").and_then(Value::as_i64).unwrap_or(0))),
        ("bank", "transfer") => {
            let from = v["from"]
                .as_str()
                .map(String::from)
                .unwrap_or_else(|| v["from"].to_string());
            let to = v["to"]
                .as_str()
                .map(String::from)
                .unwrap_or_else(|| v["to"].to_string());
            let amount = v["amount"].as_i64().unwrap_or(0);
            let fb = balance(kv, w, &from);
            if fb - amount < 0 && !w.params["negative_allowed"].as_bool().unwrap_or(false) {
                return Completion::fail(v, "insufficient funds");
            }
            let tb = balance(kv, w, &to);
            kv.insert(format!("acct:{from}"), json!(fb - amount));
            kv.insert(format!("acct:{to}"), json!(tb + amount));
            Completion::ok(v)
        }
        ("bank", "read") => {
            let (accts, _) = accounts(w);
            let m: Map<String, Value> = accts
                .iter()
                .map(|a| (a.clone(), json!(balance(kv, w, a))))
                .collect();
            Completion::ok(Value::Object(m))
        }
        (_, "txn") => {
            let Some(mops) = v.as_array().cloned() else {
                return Completion::fail(v, "txn value must be a list");
            };
            let mut out = Vec::new();
            for m in &mops {
                let f = m[0].as_str().unwrap_or("");
                let k = m[1]
                    .as_str()
                    .map(String::from)
                    .unwrap_or_else(|| m[1].to_string());
                match f {
                    "append" => {
                        let e = kv.entry(k).or_insert_with(|| json!([]));
                        if let Value::Array(a) = e {
                            a.push(m[2].clone());
                        }
                        out.push(m.clone());
                    }
                    "r" => out.push(json!(["r", m[1], kv.get(&k).cloned().unwrap_or(json!([]))])),
                    _ => return Completion::fail(v, format!("unknown micro-op {f}")),
                }
            }
            Completion::ok(Value::Array(out))
        }
        (_, "read") => Completion::ok(kv.get(&key_of(op)).cloned().unwrap_or(Value::Null)),
        (_, "write") => {
            kv.insert(key_of(op), v.clone());
            Completion::ok(v)
        }
        (_, "cas") => {
            let k = key_of(op);
            if kv.get(&k).unwrap_or(&Value::Null) == &v[0] {
                kv.insert(k, v[1].clone());
                Completion::ok(v)
            } else {
                Completion::fail(v, "compare failed")
            }
        }
        (wl, f) => Completion::fail(v, format!("reference target: workload {wl} has no op {f}")),
    }
}
