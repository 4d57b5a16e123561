//! Simulated clients: the real client loop (`runner::clients`) as events.
//! A worker waits its paced stagger, takes the next op from the workload's
//! generator, records it, sends it over a client link, and records how it
//! ended: the node's answer mapped as the built-in store's client maps it
//! (one redirect to a named leader), a refused connection (`fail`), or a
//! timeout or broken connection (`info`, after which the process is retired
//! as `process + concurrency`). Final reads and the bank's set-up write are
//! the same machine with the runner's retry rules.

use super::node::State;
use super::{Ev, Sim, SimProtocol, MS};
use crate::client::Completion;
use crate::history::{Op, OpType, Process};
use crate::runner::clients::complete;
use crate::store::ops::{ClientOp, Outcome};
use crate::system::builtin_ops::Answer;
use crate::workload::pace::Pace;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::VecDeque;

/// What a simulated client is for.
pub(crate) enum Role {
    /// A workload client until the end of the client phase.
    Worker,
    /// The final reads: each op until it succeeds, at most [`FINAL_TRIES`] tries.
    Final { ops: VecDeque<Op>, tries: usize },
    /// The bank's initial balances (unrecorded), at most [`PREPARE_TRIES`] tries.
    Prepare { op: Op, tries: usize },
}

const FINAL_TRIES: usize = 20;
const PREPARE_TRIES: usize = 50;

/// The op a client has in flight.
struct Pending {
    inv: Op,
    op: ClientOp,
    /// Sends so far (the real client sends at most twice: one redirect).
    sends: u32,
}

pub(crate) struct SimClient {
    role: Role,
    process: u64,
    home: usize,
    rng: ChaCha8Rng,
    pace: Pace,
    timeout_ns: u64,
    /// How far a retired worker's process number jumps (the test's concurrency).
    concurrency: u64,
    /// The node this client is connected to, and its incarnation then.
    conn: Option<(usize, u64)>,
    pending: Option<Pending>,
    attempt: u64,
    pub done: bool,
    /// Why a prepare client gave up.
    pub failure: Option<String>,
}

impl SimClient {
    /// Worker `index` of `concurrency`, seeded as `runner::clients::client_loop` seeds it.
    pub fn worker(
        index: usize,
        concurrency: usize,
        seed: u64,
        rate: f64,
        home: usize,
        timeout_ns: u64,
    ) -> SimClient {
        let rng = ChaCha8Rng::seed_from_u64(seed ^ (index as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        SimClient {
            role: Role::Worker,
            process: index as u64,
            home,
            rng,
            pace: Pace::new(rate, concurrency, std::time::Instant::now()),
            timeout_ns,
            concurrency: concurrency as u64,
            conn: None,
            pending: None,
            attempt: 0,
            done: false,
            failure: None,
        }
    }

    pub fn with_role(role: Role, process: u64, timeout_ns: u64) -> SimClient {
        SimClient {
            role,
            process,
            home: 0,
            rng: ChaCha8Rng::seed_from_u64(process),
            pace: Pace::new(0.0, 1, std::time::Instant::now()),
            timeout_ns,
            concurrency: 1,
            conn: None,
            pending: None,
            attempt: 0,
            done: false,
            failure: None,
        }
    }

    /// The paced wait before the next op (ns).
    pub fn stagger_ns(&mut self) -> u64 {
        self.stagger()
    }

    fn stagger(&mut self) -> u64 {
        self.pace.delay(&mut self.rng).as_nanos() as u64
    }
}

impl<P: SimProtocol> Sim<P> {
    /// Adds a client and wakes it `after` ns from now; returns its index.
    pub(crate) fn add_client(&mut self, c: SimClient, after: u64) -> usize {
        self.clients.push(c);
        let client = self.clients.len() - 1;
        self.schedule(self.now + after, Ev::Wake { client });
        client
    }

    pub(crate) fn on_wake(&mut self, client: usize) {
        let c = &mut self.clients[client];
        if c.done || c.pending.is_some() {
            return;
        }
        let inv = match &mut c.role {
            Role::Worker => {
                if self.now >= self.deadline {
                    c.done = true;
                    return;
                }
                let process = c.process;
                let op = self.wl.next_op(&mut self.gen_rng, process);
                self.record(op)
            }
            Role::Final { ops, tries } => {
                let Some(op) = ops.front().cloned() else {
                    c.done = true;
                    return;
                };
                // A fresh client per try, rotating over the nodes.
                c.home = *tries % self.nodes.len();
                c.conn = None;
                let mut op = op;
                op.process = Process::Client(c.process);
                self.record(op)
            }
            Role::Prepare { op, tries } => {
                c.home = *tries % self.nodes.len();
                c.conn = None;
                op.clone()
            }
        };
        let home = self.clients[client].home;
        let op = match self.map.translate(&inv) {
            Ok(op) => op,
            Err(e) => {
                let fail = Completion::fail(inv.value.clone(), e);
                self.clients[client].pending = Some(Pending {
                    inv,
                    op: ClientOp::Read {
                        key: Default::default(),
                    },
                    sends: 0,
                });
                return self.finish(client, fail, 0);
            }
        };
        self.clients[client].pending = Some(Pending { inv, op, sends: 0 });
        self.send_request(client, home);
    }

    /// Sends the pending op to `node` (connecting first if need be).
    fn send_request(&mut self, client: usize, node: usize) {
        let n = &self.nodes[node];
        let (state, inc) = (n.state, n.inc);
        let c = &mut self.clients[client];
        if c.conn.is_none_or(|(cn, _)| cn != node) {
            if state == State::Down {
                let e = format!(
                    "cannot connect to {}: Connection refused (simulated)",
                    self.names[node]
                );
                let v = c
                    .pending
                    .as_ref()
                    .map(|p| p.inv.value.clone())
                    .unwrap_or_default();
                return self.finish(client, Completion::fail(v, e), 100 * MS);
            }
            c.conn = Some((node, inc));
        }
        let Some(p) = c.pending.as_mut() else { return };
        p.sends += 1;
        c.attempt += 1;
        let (attempt, op) = (c.attempt, p.op.clone());
        let conn_inc = c.conn.map_or(inc, |x| x.1);
        let timeout = c.timeout_ns;
        let at = self.now + self.client_delay();
        self.schedule(
            at,
            Ev::Request {
                client,
                attempt,
                node,
                inc: conn_inc,
                op,
            },
        );
        self.schedule(self.now + timeout, Ev::Timeout { client, attempt });
    }

    pub(crate) fn on_reply(&mut self, client: usize, attempt: u64, node: usize, outcome: Outcome) {
        let c = &self.clients[client];
        let Some(p) = c.pending.as_ref().filter(|_| c.attempt == attempt) else {
            return;
        };
        let known = |l: &str| self.index.contains_key(l);
        match self.map.answer(&p.inv, &self.names[node], outcome, known) {
            Answer::Done(done) => self.finish(client, done, 0),
            Answer::Redirect(l) if p.sends < 2 => {
                let to = self.index[&l];
                self.send_request(client, to);
            }
            Answer::Redirect(_) => {
                let v = p.inv.value.clone();
                self.finish(client, Completion::fail(v, "not leader after redirect"), 0);
            }
        }
    }

    pub(crate) fn on_lost(&mut self, client: usize, attempt: u64, node: usize) {
        let c = &self.clients[client];
        if let Some(p) = c.pending.as_ref().filter(|_| c.attempt == attempt) {
            let e = format!(
                "connection to {} lost: Connection reset by peer (simulated)",
                self.names[node]
            );
            let v = p.inv.value.clone();
            self.finish(client, Completion::info(v, e), 0);
        }
    }

    pub(crate) fn on_timeout(&mut self, client: usize, attempt: u64) {
        let c = &self.clients[client];
        if let Some(p) = c.pending.as_ref().filter(|_| c.attempt == attempt) {
            let node = c.conn.map_or(String::new(), |(n, _)| self.names[n].clone());
            let v = p.inv.value.clone();
            self.finish(
                client,
                Completion::info(v, format!("timed out waiting for {node}")),
                0,
            );
        }
    }

    /// The pending op ended with `done`: record it and plan the client's next
    /// step (`pause` more before it, after a refused connection).
    fn finish(&mut self, client: usize, done: Completion, pause: u64) {
        let c = &mut self.clients[client];
        let Some(p) = c.pending.take() else { return };
        c.attempt += 1; // late answers to this op are void
        let ty = done.ty;
        if ty == OpType::Info {
            c.conn = None;
        }
        let recorded = !matches!(c.role, Role::Prepare { .. });
        let next = match &mut c.role {
            Role::Worker => {
                if ty == OpType::Info {
                    c.process += c.concurrency;
                }
                pause + c.stagger()
            }
            Role::Final { ops, tries } => {
                if ty == OpType::Info {
                    c.process += 1;
                }
                if ty == OpType::Ok {
                    ops.pop_front();
                    *tries = 0;
                    c.process += 1;
                    0
                } else {
                    *tries += 1;
                    if *tries >= FINAL_TRIES {
                        ops.pop_front();
                        *tries = 0;
                        c.process += 1;
                    }
                    300 * MS
                }
            }
            Role::Prepare { tries, .. } => {
                if ty == OpType::Ok {
                    c.done = true;
                    return;
                }
                *tries += 1;
                if *tries >= PREPARE_TRIES {
                    c.done = true;
                    c.failure = Some(format!(
                        "cannot write bank balances: {}",
                        done.error.unwrap_or_default()
                    ));
                    return;
                }
                100 * MS
            }
        };
        if recorded {
            self.record(complete(&p.inv, done));
        }
        self.schedule(self.now + next, Ev::Wake { client });
    }
}
