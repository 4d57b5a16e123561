//! The bench's clients: each one operation at a time (a closed loop), driven
//! by a thread each, or as tasks of one event loop with a connection each or
//! multiplexed over fewer shared connections (as etcd's `benchmark --conns`).

use super::super::measure::histogram;
use crate::store::ops::{ClientOp, Outcome, Request, Response};
use crate::store::StoreClient;
use hdrhistogram::Histogram;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// One client's operation stream: keys, values and the read/write mix from the seed.
pub(super) struct OpGen {
    rng: rand_chacha::ChaCha8Rng,
    ratio: f64,
    i: u64,
}

impl OpGen {
    fn new(seed: u64, client: usize, ratio: f64) -> OpGen {
        use rand::SeedableRng;
        let s = seed ^ (client as u64).wrapping_mul(0x9e37_79b9);
        OpGen {
            rng: rand_chacha::ChaCha8Rng::seed_from_u64(s),
            ratio,
            i: 0,
        }
    }

    /// The next op and whether it is a read.
    fn next_op(&mut self) -> (bool, ClientOp) {
        use rand::Rng;
        let key = serde_json::json!(format!("k{}", self.rng.gen_range(0..1000u32)));
        let read = self.ratio > 0.0 && self.rng.gen_bool(self.ratio);
        self.i += 1;
        let op = if read {
            ClientOp::Read { key }
        } else {
            ClientOp::Write {
                key,
                value: serde_json::json!(self.i),
            }
        };
        (read, op)
    }
}

impl Tally {
    fn new() -> anyhow::Result<Tally> {
        Ok(Tally {
            writes: histogram()?,
            reads: histogram()?,
            errors: 0,
        })
    }

    /// Records one answer that took `elapsed`.
    fn record(&mut self, read: bool, ok: bool, elapsed: Duration) -> anyhow::Result<()> {
        if !ok {
            self.errors += 1;
            return Ok(());
        }
        let us = elapsed.as_micros().max(1) as u64;
        let h = if read { &mut self.reads } else { &mut self.writes };
        Ok(h.record(us)?)
    }
}

/// Blocking clients, one thread each.
fn thread_clients(load: Load) -> anyhow::Result<Vec<Tally>> {
    let workers: Vec<_> = (0..load.clients)
        .map(|w| {
            let load = load.clone();
            std::thread::spawn(move || -> anyhow::Result<Tally> {
                let mut gen = OpGen::new(load.seed, w, load.ratio);
                let mut tally = Tally::new()?;
                let mut c = StoreClient::connect(load.target(w), Duration::from_secs(1))?;
                while Instant::now() < load.until {
                    let (read, op) = gen.next_op();
                    let start = Instant::now();
                    let r = c.request(&Request { id: 0, op }, Duration::from_secs(5));
                    let ok = matches!(r, Ok(r) if matches!(r.outcome, Outcome::Ok { .. }));
                    tally.record(read, ok, start.elapsed())?;
                }
                Ok(tally)
            })
        })
        .collect();
    workers
        .into_iter()
        .map(|w| {
            w.join()
                .map_err(|_| anyhow::anyhow!("a client thread panicked"))?
        })
        .collect()
}

/// The same clients as tasks on one current-thread runtime, each keeping
/// `load.depth` requests outstanding on its connection (answers matched by id).
fn event_loop_clients(load: Load) -> anyhow::Result<Vec<Tally>> {
    let rt = runtime()?;
    rt.block_on(async move {
        let tasks: Vec<_> = (0..load.clients)
            .map(|w| {
                let load = load.clone();
                tokio::spawn(pipelined_client(load, w))
            })
            .collect();
        join_all(tasks).await
    })
}

/// Client `w`: one connection, `load.depth` requests outstanding (1: a
/// closed loop, each request sent when the previous one is answered). Every
/// answer frees a slot for the next request until `load.until`; requests
/// still outstanding then are awaited and counted.
async fn pipelined_client(load: Load, w: usize) -> anyhow::Result<Tally> {
    use tokio::io::AsyncWriteExt;
    let mut gen = OpGen::new(load.seed, w, load.ratio);
    let mut tally = Tally::new()?;
    let s = tokio::net::TcpStream::connect(load.target(w)).await?;
    s.set_nodelay(true)?;
    let (rd, mut wr) = s.into_split();
    // Buffered: a response's length and body in one read, not two.
    let mut rd = tokio::io::BufReader::new(rd);
    let mut buf = Vec::new();
    let mut open: std::collections::HashMap<u64, (bool, Instant)> = Default::default();
    let mut free = load.depth.max(1);
    loop {
        buf.clear();
        while free > 0 && Instant::now() < load.until {
            let (read, op) = gen.next_op();
            crate::store::frame::encode(&mut buf, &Request { id: gen.i, op })?;
            open.insert(gen.i, (read, Instant::now()));
            free -= 1;
        }
        if !buf.is_empty() {
            wr.write_all(&buf).await?;
        }
        if open.is_empty() {
            return Ok(tally);
        }
        let body = crate::store::frame::read_frame_async(&mut rd)
            .await?
            .ok_or_else(|| anyhow::anyhow!("a node closed a client connection"))?;
        let r: Response = crate::store::frame::decode(&body)?;
        let (read, start) = open
            .remove(&r.id)
            .ok_or_else(|| anyhow::anyhow!("an answer to request {} that is not outstanding", r.id))?;
        tally.record(read, matches!(r.outcome, Outcome::Ok { .. }), start.elapsed())?;
        free += 1;
    }
}

/// One client's results.
pub(super) struct Tally {
    pub(super) writes: Histogram<u64>,
    pub(super) reads: Histogram<u64>,
    pub(super) errors: u64,
}

/// What every driver runs: `clients` closed-loop clients against `targets`
/// (client or connection `i` against `targets[i % len]`) until `until`, each
/// drawing its ops from `seed` with `ratio` reads.
#[derive(Clone, Debug)]
pub(super) struct Load {
    pub(super) targets: std::sync::Arc<Vec<SocketAddr>>,
    pub(super) clients: usize,
    pub(super) seed: u64,
    pub(super) ratio: f64,
    pub(super) until: Instant,
    /// Requests each client keeps outstanding (event loop, a connection each).
    pub(super) depth: usize,
}

impl Load {
    fn target(&self, i: usize) -> SocketAddr {
        self.targets[i % self.targets.len().max(1)]
    }
}

/// How the clients reach the leader.
#[derive(Clone, Copy, Debug)]
pub(super) enum Driver {
    /// A blocking thread and a connection per client.
    Threads,
    /// Tasks of one event loop sharing `conns` connections (a connection each
    /// when `conns` equals the client count).
    EventLoop { conns: usize },
}

impl Driver {
    pub(super) fn describe(&self, clients: usize, depth: usize) -> String {
        match self {
            Driver::Threads => "a thread each".into(),
            Driver::EventLoop { conns } if *conns >= clients && depth > 1 => {
                format!("one event loop, a connection each, {depth} requests in flight per client")
            }
            Driver::EventLoop { conns } if *conns >= clients => {
                "one event loop, a connection each, one request in flight per client".into()
            }
            Driver::EventLoop { conns } => format!("one event loop, over {conns} shared connection(s)"),
        }
    }

    /// Runs `n` clients against `target` until `until`; one tally per client.
    pub(super) fn run(self, load: Load) -> anyhow::Result<Vec<Tally>> {
        match self {
            Driver::Threads => thread_clients(load),
            Driver::EventLoop { conns } if conns >= load.clients => event_loop_clients(load),
            Driver::EventLoop { conns } => shared_conn_clients(load, conns.max(1)),
        }
    }
}

type Pending =
    std::rc::Rc<std::cell::RefCell<std::collections::HashMap<u64, tokio::sync::oneshot::Sender<Response>>>>;

/// Clients as tasks multiplexed over `conns` connections: each client still
/// has one request outstanding; a connection's writer sends whatever requests
/// are queued in one write, and its reader hands each answer to the client
/// waiting for that id (the node answers pipelined requests, by id).
fn shared_conn_clients(load: Load, conns: usize) -> anyhow::Result<Vec<Tally>> {
    use tokio::io::AsyncWriteExt;
    use tokio::sync::{mpsc, oneshot};
    let rt = runtime()?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async move {
        let mut links = Vec::new();
        for c in 0..conns {
            let s = tokio::net::TcpStream::connect(load.target(c)).await?;
            s.set_nodelay(true)?;
            let (rd, mut wr) = s.into_split();
            let pending: Pending = Default::default();
            let (tx, mut rx) = mpsc::unbounded_channel::<(u64, Request, oneshot::Sender<Response>)>();
            let reg = pending.clone();
            tokio::task::spawn_local(async move {
                let mut buf = Vec::new();
                while let Some(first) = rx.recv().await {
                    buf.clear();
                    let mut next = Some(first);
                    while let Some((id, req, reply)) = next.take() {
                        reg.borrow_mut().insert(id, reply);
                        crate::store::frame::encode(&mut buf, &req)?;
                        next = rx.try_recv().ok();
                    }
                    wr.write_all(&buf).await?;
                }
                anyhow::Ok(())
            });
            tokio::task::spawn_local(async move {
                let mut rd = tokio::io::BufReader::new(rd);
                while let Some(body) = crate::store::frame::read_frame_async(&mut rd).await? {
                    let r: Response = crate::store::frame::decode(&body)?;
                    if let Some(reply) = pending.borrow_mut().remove(&r.id) {
                        let _ = reply.send(r);
                    }
                }
                anyhow::Ok(())
            });
            links.push(tx);
        }
        let tasks: Vec<_> = (0..load.clients)
            .map(|w| {
                let link = links[w % conns].clone();
                let load = load.clone();
                tokio::task::spawn_local(async move {
                    let mut gen = OpGen::new(load.seed, w, load.ratio);
                    let mut tally = Tally::new()?;
                    while Instant::now() < load.until {
                        let (read, op) = gen.next_op();
                        // Unique across clients sharing a connection.
                        let id = (w as u64) << 40 | gen.i;
                        let (otx, orx) = oneshot::channel();
                        let start = Instant::now();
                        link.send((id, Request { id, op }, otx))
                            .map_err(|_| anyhow::anyhow!("a shared connection's writer stopped"))?;
                        let r = orx
                            .await
                            .map_err(|_| anyhow::anyhow!("the leader closed a shared connection"))?;
                        tally.record(read, matches!(r.outcome, Outcome::Ok { .. }), start.elapsed())?;
                    }
                    anyhow::Ok(tally)
                })
            })
            .collect();
        join_all(tasks).await
    })
}

/// Waits for every client task; the first error (or panic) wins.
async fn join_all(tasks: Vec<tokio::task::JoinHandle<anyhow::Result<Tally>>>) -> anyhow::Result<Vec<Tally>> {
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await??);
    }
    Ok(out)
}

/// The single-threaded runtime the event-loop drivers run their clients on.
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build()
}
