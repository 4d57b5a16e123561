//! Client threads: one logical process each, blocking I/O, placed in the
//! client network before any socket is opened. An `info` completion retires
//! the process number; the thread continues as `process + concurrency` with
//! a fresh connection.

use super::config::TestConfig;
use super::recorder::Recorder;
use crate::client::{Client, Completion};
use crate::history::{Op, OpType};
use crate::net::NetBackend;
use crate::system::{Target, WorkloadInfo};
use crate::workload::pace::Pace;
use crate::workload::Workload;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The shared generator: one workload and one rng seeded from the test seed,
/// so the sequence of ops handed out is fixed by the seed; at most `budget`
/// ops (the test's `ops`) when one is set.
pub struct Gen<'a> {
    wl: &'a mut dyn Workload,
    rng: ChaCha8Rng,
    budget: Option<u64>,
}

impl<'a> Gen<'a> {
    pub fn new(wl: &'a mut dyn Workload, seed: u64) -> Gen<'a> {
        Gen {
            wl,
            rng: ChaCha8Rng::seed_from_u64(seed),
            budget: None,
        }
    }

    pub fn with_budget(self, budget: Option<u64>) -> Gen<'a> {
        Gen { budget, ..self }
    }

    /// The next op, or `None` once the budget is spent.
    pub fn next(&mut self, process: u64) -> Option<Op> {
        if let Some(b) = self.budget.as_mut() {
            *b = b.checked_sub(1)?;
        }
        Some(self.wl.next_op(&mut self.rng, process))
    }
}

pub struct ClientCtx<'a, 'w> {
    pub index: usize,
    pub concurrency: usize,
    pub seed: u64,
    pub rate: f64,
    pub deadline: Instant,
    pub timeout: Duration,
    pub node: &'a str,
    pub target: &'a dyn Target,
    pub net: &'a dyn NetBackend,
    pub gen: &'a Mutex<Gen<'w>>,
    pub rec: &'a Recorder,
    pub info: &'a WorkloadInfo,
    pub stop: &'a AtomicBool,
}

/// The completion op for `inv`.
pub fn complete(inv: &Op, c: Completion) -> Op {
    let mut op = Op::new(c.ty, inv.process, inv.f.clone(), c.value);
    op.key = inv.key.clone();
    op.node = c.node;
    op.error = c.error;
    op
}

fn open(ctx: &ClientCtx) -> Result<Box<dyn Client>, String> {
    ctx.target.client(ctx.node, ctx.info).map_err(|e| e.to_string())
}

/// Runs one client until the deadline or a stop.
pub fn client_loop(ctx: ClientCtx) {
    if let Err(e) = ctx.net.enter_client() {
        tracing::error!("client {}: cannot enter the client network: {e}", ctx.index);
        return;
    }
    let mut rng =
        ChaCha8Rng::seed_from_u64(ctx.seed ^ (ctx.index as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let pace = Pace::new(ctx.rate, ctx.concurrency, ctx.deadline);
    let mut process = ctx.index as u64;
    let mut client: Option<Box<dyn Client>> = None;
    loop {
        let wait = pace.delay(&mut rng);
        let until = Instant::now() + wait;
        while Instant::now() < until && !ctx.stop.load(Ordering::Relaxed) && !pace.expired() {
            std::thread::sleep((until - Instant::now()).min(Duration::from_millis(50)));
        }
        if ctx.stop.load(Ordering::Relaxed) || pace.expired() {
            return;
        }
        // Recorded under the generator's lock: history order of invocations
        // is the generator's order, so a seed fixes that sequence.
        let inv = {
            let mut gen = ctx.gen.lock().unwrap_or_else(|e| e.into_inner());
            let Some(op) = gen.next(process) else {
                return;
            };
            ctx.rec.record(op)
        };
        if client.is_none() {
            match open(&ctx) {
                Ok(c) => client = Some(c),
                Err(e) => {
                    ctx.rec
                        .record(complete(&inv, Completion::fail(inv.value.clone(), e)));
                    std::thread::sleep(Duration::from_millis(100));
                    continue;
                }
            }
        }
        let c = client
            .as_mut()
            .map(|c| c.invoke(&inv, ctx.timeout))
            .unwrap_or_else(|| Completion::fail(inv.value.clone(), "no client"));
        let ty = c.ty;
        ctx.rec.record(complete(&inv, c));
        if ty == OpType::Info {
            process += ctx.concurrency as u64;
            client = None;
        }
    }
}

/// Issues each final read until it succeeds (bounded attempts, rotating
/// nodes, a fresh process after every `info`). Call on a placed thread.
pub fn final_reads(
    target: &dyn Target,
    nodes: &[String],
    info: &WorkloadInfo,
    rec: &Recorder,
    ops: Vec<Op>,
    first_process: u64,
    cfg: &TestConfig,
) {
    let mut process = first_process;
    let timeout = Duration::from_millis(cfg.op_timeout_ms().max(1000) * 2);
    for op in ops {
        for attempt in 0..20 {
            let node = &nodes[attempt % nodes.len()];
            let mut o = op.clone();
            o.process = crate::history::Process::Client(process);
            let inv = rec.record(o);
            let c = match target.client(node, info) {
                Ok(mut cl) => cl.invoke(&inv, timeout),
                Err(e) => Completion::fail(inv.value.clone(), e.to_string()),
            };
            let ty = c.ty;
            rec.record(complete(&inv, c));
            if ty == OpType::Ok {
                break;
            }
            if ty == OpType::Info {
                process += 1;
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        process += 1;
    }
}
