//! Simulated clients: the real client loop (`runner::clients`) as events.
//! A worker waits its paced stagger, takes the next op from the workload's
//! generator, records it, sends it over a client link, and records how it
//! ended: the node's answer mapped as the built-in store's client maps it
//! (one redirect to a named leader), a refused connection (`fail`), or a
//! timeout or broken connection (`info`, after which the process is retired
//! as `process + concurrency`). Final reads and the bank's set-up write are
//! the same machine with the runner's retry rules.

use super::node::State;
use super::ops::Next;
use super::{Ev, Sim, SimProtocol, MS};
use crate::client::Completion;
use crate::history::{Op, OpType, Process};
use crate::runner::clients::complete;
use crate::store::ops::{ClientOp, Outcome};
use crate::workload::pace::Pace;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::Value;
use std::collections::VecDeque;

/// What a simulated client is for.
pub(crate) enum Role {
    /// A workload client until the end of the client phase.
    Worker,
    /// The final reads: each op until it succeeds, at most [`FINAL_TRIES`] tries.
    Final { ops: VecDeque<Op>, tries: usize },
    /// The bank's initial balances (unrecorded), at most [`PREPARE_TRIES`] tries.
    Prepare { op: Op, tries: usize },
    /// One unrecorded op at one node, once (the convergence phase's replica
    /// reads); its completion is kept in `result`.
    Probe { op: Op, result: Option<Completion> },
}

const FINAL_TRIES: usize = 20;
const PREPARE_TRIES: usize = 50;

/// The op a client has in flight.
struct Pending<O> {
    inv: Op,
    op: ClientOp,
    opts: O,
    /// Sends so far (the real client sends at most twice: one redirect).
    sends: u32,
    /// Which of the op's requests is in flight (0: the first; 1: a
    /// read-modify-write's write).
    stage: u32,
    /// When the op times out, once its first request is sent.
    deadline: Option<u64>,
}

pub(crate) struct SimClient<O> {
    pub role: Role,
    process: u64,
    home: usize,
    rng: ChaCha8Rng,
    pace: Pace,
    timeout_ns: u64,
    /// How far a retired worker's process number jumps (the test's concurrency).
    concurrency: u64,
    /// The node this client is connected to, and its incarnation then.
    conn: Option<(usize, u64)>,
    pending: Option<Pending<O>>,
    attempt: u64,
    pub done: bool,
    /// Why a prepare client gave up.
    pub failure: Option<String>,
}

impl<O> SimClient<O> {
    /// Worker `index` of `concurrency`, seeded as `runner::clients::client_loop` seeds it.
    pub fn worker(
        index: usize,
        concurrency: usize,
        seed: u64,
        rate: f64,
        home: usize,
        timeout_ns: u64,
    ) -> SimClient<O> {
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

    pub fn with_role(role: Role, process: u64, timeout_ns: u64) -> SimClient<O> {
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

    /// A probe (see [`Role::Probe`]) of `node`.
    pub fn probe(role: Role, node: usize, timeout_ns: u64) -> SimClient<O> {
        SimClient {
            home: node,
            ..SimClient::with_role(role, 0, timeout_ns)
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
    pub(crate) fn add_client(&mut self, c: SimClient<P::ClientOpts>, after: u64) -> usize {
        self.clients.push(c);
        let client = self.clients.len() - 1;
        self.schedule(self.now + after, Ev::Wake { client });
        client
    }

    /// Whether some workload client has a write in flight (any request but a read).
    pub(crate) fn write_pending(&self) -> bool {
        self.clients.iter().any(|c| {
            matches!(c.role, Role::Worker)
                && c.pending
                    .as_ref()
                    .is_some_and(|p| !matches!(p.op, ClientOp::Read { .. }))
        })
    }

    /// Whether `client`'s request in flight is a read.
    pub(crate) fn reading(&self, client: usize) -> bool {
        self.clients[client]
            .pending
            .as_ref()
            .is_some_and(|p| matches!(p.op, ClientOp::Read { .. }))
    }

    pub(crate) fn on_wake(&mut self, client: usize) {
        let c = &mut self.clients[client];
        if c.done || c.pending.is_some() {
            return;
        }
        let inv = match &mut c.role {
            Role::Worker => {
                let spent = self.budget.is_some_and(|b| b == 0);
                if self.now >= self.deadline || spent {
                    c.done = true;
                    return;
                }
                if let Some(b) = self.budget.as_mut() {
                    *b -= 1;
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
            Role::Probe { op, .. } => op.clone(),
        };
        let home = self.clients[client].home;
        let (op, opts, fail) = match self.ops.first(&inv) {
            Ok((op, opts)) => (op, opts, None),
            Err(e) => (ClientOp::Read { key: Value::Null }, Default::default(), Some(e)),
        };
        let fail = fail.map(|e| Completion::fail(inv.value.clone(), e));
        self.clients[client].pending = Some(Pending {
            inv,
            op,
            opts,
            sends: 0,
            stage: 0,
            deadline: None,
        });
        match fail {
            Some(fail) => self.finish(client, fail, 0),
            None => self.send_request(client, home),
        }
    }

    /// Sends the pending op's request to `node` (connecting first if need be).
    fn send_request(&mut self, client: usize, node: usize) {
        let n = &self.nodes[node];
        let (state, inc) = (n.state, n.inc);
        let moves_on = self.ops.moves_on_refusal();
        let nodes = self.nodes.len();
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
                if moves_on && matches!(c.role, Role::Worker) {
                    c.home = (c.home + 1) % nodes;
                }
                return self.finish(client, Completion::fail(v, e), 100 * MS);
            }
            c.conn = Some((node, inc));
        }
        let Some(p) = c.pending.as_mut() else { return };
        p.sends += 1;
        c.attempt += 1;
        let (attempt, op, opts) = (c.attempt, p.op.clone(), p.opts.clone());
        // A redirect gets a fresh timeout; an op's later request shares the first's.
        let due = match p.deadline {
            Some(d) if p.stage > 0 => d,
            _ => self.now + c.timeout_ns,
        };
        p.deadline.get_or_insert(due);
        let conn_inc = c.conn.map_or(inc, |x| x.1);
        let at = self.now + self.client_delay();
        self.schedule(
            at,
            Ev::Request {
                client,
                attempt,
                node,
                inc: conn_inc,
                op,
                opts,
            },
        );
        self.schedule(due, Ev::Timeout { client, attempt });
    }

    pub(crate) fn on_reply(&mut self, client: usize, attempt: u64, node: usize, outcome: Outcome) {
        let c = &self.clients[client];
        let Some(p) = c.pending.as_ref().filter(|_| c.attempt == attempt) else {
            return;
        };
        let known = |l: &str| self.index.contains_key(l);
        let next = self
            .ops
            .answer(&p.inv, p.stage, &self.names[node], outcome, &known);
        let v = p.inv.value.clone();
        match next {
            Next::Done(done) => self.finish(client, done, 0),
            Next::Redirect(l) if p.sends < 2 => {
                let to = self.index[&l];
                self.send_request(client, to);
            }
            Next::Redirect(_) => self.finish(client, Completion::fail(v, "not leader after redirect"), 0),
            Next::Then(..) if p.deadline.is_some_and(|d| self.now >= d) => self.finish(
                client,
                Completion::fail(v, "no time left to write after the read"),
                0,
            ),
            Next::Then(op, opts) => {
                if let Some(p) = self.clients[client].pending.as_mut() {
                    (p.op, p.opts) = (op, opts);
                    p.stage += 1;
                }
                self.send_request(client, node);
            }
        }
    }

    /// The op's request got no answer: `info`, unless that request changes
    /// nothing (then `fail`, as the real client records it).
    fn unanswered(&mut self, client: usize, error: String) {
        let Some(p) = self.clients[client].pending.as_ref() else {
            return;
        };
        let v = p.inv.value.clone();
        let done = if self.ops.harmless(&p.inv, p.stage) {
            Completion::fail(v, error)
        } else {
            Completion::info(v, error)
        };
        self.finish(client, done, 0);
    }

    pub(crate) fn on_lost(&mut self, client: usize, attempt: u64, node: usize) {
        let c = &self.clients[client];
        if c.pending.is_some() && c.attempt == attempt {
            let e = format!(
                "connection to {} lost: Connection reset by peer (simulated)",
                self.names[node]
            );
            self.unanswered(client, e);
        }
    }

    pub(crate) fn on_timeout(&mut self, client: usize, attempt: u64) {
        let c = &self.clients[client];
        if c.pending.is_some() && c.attempt == attempt {
            let node = c.conn.map_or(String::new(), |(n, _)| self.names[n].clone());
            self.unanswered(client, format!("timed out waiting for {node}"));
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
        if let Role::Probe { result, .. } = &mut c.role {
            *result = Some(done);
            c.done = true;
            return;
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
            Role::Probe { .. } => return,
        };
        if recorded {
            self.record(complete(&p.inv, done));
        }
        self.schedule(self.now + next, Ev::Wake { client });
    }
}
