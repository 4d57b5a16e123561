//! Forwarding one request to a replica group: to the node believed to lead it,
//! following `not-leader` hints and trying the group's other nodes, until one
//! answers or the forward timeout runs out.
//!
//! Invariant (the router's): trying another node is allowed only while every
//! earlier attempt certainly did not execute (could not connect, `not-leader`);
//! the first attempt that may have executed ends the request as `unknown`.

use crate::store::client::StoreClient;
use crate::store::ops::{ClientOp, Outcome};
use crate::store::shard::GroupId;
use serde::Serialize;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// The routing epoch, flattened beside the op in the forwarded frame.
#[derive(Serialize)]
struct Stamp {
    epoch: u64,
}

/// Pause between rounds over a group while it has no leader.
const ROUND_PAUSE: Duration = Duration::from_millis(50);

/// Longest wait for a connection to a group node (a partitioned one never answers).
const CONNECT_TIMEOUT: Duration = Duration::from_millis(250);

/// One client connection's way into every group.
pub struct Forwarder {
    groups: Vec<Vec<(String, SocketAddr)>>,
    /// Per group: the node last known to lead it (index into its nodes).
    leader: Vec<usize>,
    /// Per group: an open connection and the node it goes to.
    conns: Vec<Option<(usize, StoreClient)>>,
    timeout: Duration,
}

impl Forwarder {
    pub fn new(groups: Vec<Vec<(String, SocketAddr)>>, timeout: Duration) -> Forwarder {
        let n = groups.len();
        Forwarder {
            groups,
            leader: vec![0; n],
            conns: (0..n).map(|_| None).collect(),
            timeout,
        }
    }

    /// Sends `op` to `group` stamped with `epoch`; returns the answering node (or
    /// `router` when none answered) and the outcome to relay.
    pub fn forward(&mut self, group: GroupId, op: &ClientOp, epoch: u64) -> (String, Outcome) {
        let deadline = Instant::now() + self.timeout;
        let size = self.groups[group].len();
        let mut last = String::from("no node tried");
        while Instant::now() < deadline {
            for step in 0..size {
                let i = (self.leader[group] + step) % size;
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                match self.send(group, i, op, epoch, left) {
                    Ok((node, Outcome::NotLeader { leader })) => {
                        last = format!("{node}: not leader");
                        if let Some(j) = leader.and_then(|l| self.index(group, &l)) {
                            self.leader[group] = j;
                        }
                    }
                    Ok((node, outcome)) => {
                        self.leader[group] = i;
                        return (node, outcome);
                    }
                    Err(Definite(e)) => last = e,
                    Err(Maybe(node, e)) => {
                        return (node, Outcome::Unknown { reason: e });
                    }
                }
            }
            std::thread::sleep(ROUND_PAUSE.min(deadline.saturating_duration_since(Instant::now())));
        }
        (
            "router".into(),
            Outcome::Fail {
                reason: format!("group {group}: no leader answered within the forward timeout ({last})"),
            },
        )
    }

    fn index(&self, group: GroupId, node: &str) -> Option<usize> {
        self.groups[group].iter().position(|(id, _)| id == node)
    }

    fn send(
        &mut self,
        group: GroupId,
        i: usize,
        op: &ClientOp,
        epoch: u64,
        t: Duration,
    ) -> Result<(String, Outcome), Failed> {
        let (id, addr) = self.groups[group][i].clone();
        if !matches!(&self.conns[group], Some((j, _)) if *j == i) {
            self.conns[group] = None;
            let c =
                StoreClient::connect(addr, t.min(CONNECT_TIMEOUT)).map_err(|e| Definite(e.to_string()))?;
            self.conns[group] = Some((i, c));
        }
        let (_, c) = self.conns[group].as_mut().expect("connected above");
        match c.request_with(op, &Stamp { epoch }, t) {
            Ok(resp) => Ok((resp.node, resp.outcome)),
            Err(e) => {
                self.conns[group] = None;
                if e.is_definite() {
                    Err(Definite(e.to_string()))
                } else {
                    Err(Maybe(id, e.to_string()))
                }
            }
        }
    }
}

/// Why an attempt produced no answer.
enum Failed {
    /// Certainly not executed: try elsewhere.
    Definite(String),
    /// May have executed on this node.
    Maybe(String, String),
}
use Failed::{Definite, Maybe};
