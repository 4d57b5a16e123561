//! The node process: a thin tokio shell around the sans-IO driver
//! ([`crate::store::driver`]), generic over the protocol core it runs.
//!
//! The shell owns what the driver must not touch: the peer, client and
//! admin sockets, the WAL and its thread, the host clock, the tick timer,
//! the jitter's randomness and the node log. One event loop feeds the driver
//! a batch of inputs (a wake-up plus everything queued meanwhile) and
//! performs its [`Ready`]: sends, event lines, replies, then the batch's
//! durable writes, which go to the WAL thread (group commit: one sync for
//! whatever is queued) unless the driver asks for an inline sync, then the
//! messages the driver released because their batch is synced.

mod clock;
mod net;

pub use clock::{host_time, monotonic_ns};

use crate::history::NodeEvent;
use crate::store::admin::{AdminRequest, AdminResponse};
use crate::store::driver::{Driver, NodeClock, ReadyOf};
use crate::store::ops::{ClientOp, Outcome};
use crate::store::seam::{CoreConfig, Event, Input, Protocol, Timers, WriteOf};
use crate::store::shard::{fenced_keys, Fence, TableSpec};
use crate::store::wal::{FsyncPolicy, Wal, WalError};
use rand::Rng;
use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Everything `faultline node` needs; `C` is the protocol core's configuration.
#[derive(Clone, Debug)]
pub struct NodeConfig<C> {
    pub core: C,
    /// Peer port this node binds.
    pub listen: SocketAddr,
    /// Client port this node binds.
    pub client: SocketAddr,
    pub admin: SocketAddr,
    /// Every node's peer address as this node should dial it (proxies may sit in between).
    pub cluster: BTreeMap<String, String>,
    pub data_dir: PathBuf,
    pub log: PathBuf,
    pub fsync: FsyncPolicy,
    pub time_origin_ns: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("cannot bind the {what} address {addr}: {source}")]
    Bind {
        what: &'static str,
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Wal(#[from] WalError),
    #[error("cannot open the log file {path}: {source}")]
    Log { path: PathBuf, source: std::io::Error },
    #[error("cannot start the runtime: {0}")]
    Runtime(std::io::Error),
}

pub(crate) enum Ev<M, O> {
    Client {
        op: ClientOp,
        opts: O,
        /// The router's stamp (sharded stores), checked against the node's fence.
        epoch: Option<u64>,
        reply: net::ReplyTo,
    },
    Peer {
        from: String,
        msg: M,
    },
    Admin {
        req: AdminRequest,
        tx: oneshot::Sender<AdminResponse>,
    },
}

/// The node's log file: plain lines and event lines, written per batch.
struct NodeLog {
    file: std::fs::File,
    buf: String,
    node: String,
    origin: u64,
}

impl NodeLog {
    fn open(path: &Path, node: &str, origin: u64) -> Result<NodeLog, NodeError> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| NodeError::Log {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(NodeLog {
            file,
            buf: String::new(),
            node: node.to_string(),
            origin,
        })
    }
    /// A plain line, stamped with the node's (possibly skewed) wall clock.
    fn line(&mut self, wall_ms: i64, text: &str) {
        self.buf.push_str(&format!("{wall_ms} {}: {text}\n", self.node));
    }
    fn event(&mut self, e: Event) {
        if e.kind.is_empty() {
            return;
        }
        let ev = NodeEvent {
            event: e.kind.to_string(),
            node: self.node.clone(),
            term: e.term,
            index: e.index,
            time: monotonic_ns().saturating_sub(self.origin),
            f: e.f,
            key: e.key,
            value: e.value,
        };
        self.buf.push_str(&ev.to_line());
        self.buf.push('\n');
    }
    fn flush(&mut self) {
        if !self.buf.is_empty() {
            let _ = self.file.write_all(self.buf.as_bytes());
            self.buf.clear();
        }
    }
}

/// Runs a node of protocol `P` until the process is killed. Errors only at start-up.
pub fn run_node<P: Protocol>(cfg: NodeConfig<P::Config>) -> Result<(), NodeError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(NodeError::Runtime)?;
    rt.block_on(serve::<P>(cfg))
}

type Job<P> = (u64, Vec<WriteOf<P>>);

/// What the event loop holds besides its queues and timers.
struct Shell<P: Protocol> {
    driver: Driver<P>,
    log: NodeLog,
    peers: HashMap<String, mpsc::Sender<P::Msg>>,
    /// Client requests waiting for their reply, by the driver's handle.
    waiting: HashMap<u64, net::ReplyTo>,
    next_req: u64,
    wal: Arc<Mutex<Wal<P::Record, P::Snapshot>>>,
    jobs: std::sync::mpsc::Sender<Job<P>>,
    /// Sharded stores: the routing the harness told this node of (none: every
    /// request is served, as in an unsharded store).
    fence: Option<Fence>,
}

impl<P: Protocol> Shell<P> {
    /// Feeds one input to the driver, stamped when it is taken off the queue
    /// (not when the batch began): a lease read must be judged at a time after
    /// it arrived, and a follower's leader-contact time must not precede the
    /// message's arrival.
    fn handle(&mut self, ev: Ev<P::Msg, P::ClientOpts>) {
        match ev {
            Ev::Client {
                op,
                opts,
                epoch,
                reply,
            } => {
                if let Some(Err(refusal)) = self.fence.as_ref().map(|f| f.check(&fenced_keys(&op), epoch)) {
                    reply.send(Outcome::Fail {
                        reason: refusal.to_string(),
                    });
                    return;
                }
                self.next_req += 1;
                self.waiting.insert(self.next_req, reply);
                let req = self.next_req;
                self.driver.step(host_time(), Input::Client { req, op, opts });
            }
            Ev::Peer { from, msg } => self.driver.step(host_time(), Input::Peer { from, msg }),
            Ev::Admin {
                req: AdminRequest::SetRouting { group, table },
                tx,
            } => {
                let _ = tx.send(self.set_routing(group, &table));
            }
            Ev::Admin { req, tx } => {
                let host = host_time();
                let (resp, line) = self.driver.admin(host, req);
                if let Some(line) = line {
                    self.log.line(self.driver.clock().wall_ms(host), &line);
                }
                let _ = tx.send(resp);
            }
        }
    }

    /// Takes a routing table pushed by the harness (a newer epoch only).
    fn set_routing(&mut self, group: usize, spec: &TableSpec) -> AdminResponse {
        let table = match spec.table() {
            Ok(t) => t,
            Err(e) => {
                return AdminResponse::Error {
                    reason: e.to_string(),
                }
            }
        };
        let epoch = table.epoch();
        let learned = match &mut self.fence {
            Some(f) => f.learn(group, table),
            None => {
                self.fence = Some(Fence::new(group, table));
                true
            }
        };
        if learned {
            let wall = self.driver.clock().wall_ms(host_time());
            self.log
                .line(wall, &format!("routing epoch {epoch}: group {group} (fenced)"));
            self.log.flush();
        }
        AdminResponse::Ok
    }

    fn send(&self, to: &str, msg: P::Msg) {
        if let Some(p) = self.peers.get(to) {
            let _ = p.try_send(msg);
        }
    }

    /// Performs the front of a batch's end (see the module doc): sends,
    /// event lines and replies, and hands a background batch to the WAL
    /// thread. Returns the batch to sync inline, if the driver asked for one:
    /// the caller lets the peer and client writers run first (they share this
    /// thread), so what may leave before the sync does, then calls
    /// [`Shell::sync_inline`].
    fn perform_front(
        &mut self,
        ready: ReadyOf<P>,
    ) -> Option<crate::store::driver::Batch<P::Record, P::Snapshot>> {
        for (to, msg) in ready.send {
            self.send(&to, msg);
        }
        if !ready.events.is_empty() || !ready.replies.is_empty() {
            for e in ready.events {
                self.log.event(e);
            }
            self.log.flush();
            for (req, outcome) in ready.replies {
                if let Some(reply) = self.waiting.remove(&req) {
                    reply.send(outcome);
                }
            }
        }
        if let Some(batch) = ready.persist {
            if batch.inline {
                return Some(batch);
            }
            if self.jobs.send((batch.id, batch.writes)).is_err() {
                self.fatal("WAL thread gone");
            }
        }
        self.send_released();
        None
    }

    /// Writes and syncs `batch` on this thread, reports it to the driver and
    /// sends what its sync released.
    fn sync_inline(&mut self, batch: crate::store::driver::Batch<P::Record, P::Snapshot>) {
        let result = match self.wal.lock() {
            Ok(mut w) => write_and_commit(&mut w, &batch.writes),
            Err(_) => Err("WAL lock poisoned".to_string()),
        };
        if let Err(e) = result {
            self.fatal(&e);
        }
        self.driver.synced(host_time(), batch.id);
        self.send_released();
    }

    fn send_released(&mut self) {
        for (to, msg) in self.driver.take_released() {
            self.send(&to, msg);
        }
        self.log.flush();
    }

    /// Performs the end of a batch; true after an inline sync. Async: before
    /// an inline sync it yields once, so the peer and client writer tasks
    /// write what this batch queued (a last-write-wins put, the replies)
    /// instead of holding it until the sync returns.
    async fn perform(&mut self, ready: ReadyOf<P>) -> bool {
        let queued = !ready.send.is_empty() || !ready.replies.is_empty();
        let Some(batch) = self.perform_front(ready) else {
            return false;
        };
        if queued {
            tokio::task::yield_now().await;
        }
        self.sync_inline(batch);
        true
    }

    /// A node that cannot write its WAL must not go on acknowledging: stop.
    fn fatal(&mut self, msg: &str) -> ! {
        let wall = self.driver.clock().wall_ms(host_time());
        self.log.line(wall, &format!("fatal: {msg}"));
        self.log.flush();
        eprintln!("fatal: {msg}");
        std::process::exit(crate::exit::HARNESS)
    }
}

async fn serve<P: Protocol>(cfg: NodeConfig<P::Config>) -> Result<(), NodeError> {
    let timers = cfg.core.timers();
    let (shell, queues) = start::<P>(&cfg).await?;
    event_loop(shell, queues, timers).await
}

/// The node's two queues: inputs from the network, sync reports from the WAL thread.
struct Queues<P: Protocol> {
    /// Held for the node's life, so the input queue never closes.
    _tx: mpsc::UnboundedSender<Ev<P::Msg, P::ClientOpts>>,
    rx: mpsc::UnboundedReceiver<Ev<P::Msg, P::ClientOpts>>,
    synced_rx: mpsc::UnboundedReceiver<SyncReport>,
}

/// Opens the log and the WAL (recovering), binds the peer, client and admin ports, connects
/// to the peers, starts the driver and the WAL thread and performs the start event.
async fn start<P: Protocol>(cfg: &NodeConfig<P::Config>) -> Result<(Shell<P>, Queues<P>), NodeError> {
    let id = cfg.core.id().to_string();
    let mut log = NodeLog::open(&cfg.log, &id, cfg.time_origin_ns)?;
    let (wal, disk, corruption) = Wal::<P::Record, P::Snapshot>::open(&cfg.data_dir, cfg.fsync)?;
    if let Some(c) = &corruption {
        eprintln!("warning: {c}");
        log.line(
            NodeClock::default().wall_ms(host_time()),
            &format!("warning: {c}"),
        );
    }
    let (tx, rx) = mpsc::unbounded_channel::<Ev<P::Msg, P::ClientOpts>>();
    let peer_l = net::bind("peer", cfg.listen).await?;
    let client_l = net::bind("client", cfg.client).await?;
    let admin_l = net::bind("admin", cfg.admin).await?;
    tokio::spawn(net::accept_peers(peer_l, tx.clone()));
    tokio::spawn(net::accept_clients(client_l, tx.clone(), id.clone()));
    tokio::spawn(net::accept_admin(admin_l, tx.clone()));
    let mut peers = HashMap::new();
    let send_timeout = cfg.core.peer_send_timeout_ms();
    for (pid, addr) in &cfg.cluster {
        if *pid != id {
            peers.insert(
                pid.clone(),
                net::spawn_peer(id.clone(), addr.clone(), send_timeout),
            );
        }
    }

    let seed = rand::thread_rng().gen();
    let (driver, recovered) = Driver::<P>::start(cfg.core.clone(), disk, host_time(), seed);
    let started = format!(
        "node {id} started: peer {} client {} admin {}; recovered {recovered}",
        cfg.listen, cfg.client, cfg.admin
    );
    log.line(driver.clock().wall_ms(host_time()), &started);
    let wal = Arc::new(Mutex::new(wal));
    let (jobs, synced_rx) = spawn_wal_thread::<P>(wal.clone());
    let mut shell = Shell {
        driver,
        log,
        peers,
        waiting: HashMap::new(),
        next_req: 0,
        wal,
        jobs,
        fence: None,
    };
    // The start event.
    let ready = shell.driver.ready(host_time());
    shell.perform(ready).await;
    Ok((
        shell,
        Queues {
            _tx: tx,
            rx,
            synced_rx,
        },
    ))
}

/// The event loop: ticks, WAL sync reports and network inputs, each batch of inputs
/// followed by performing what the driver made ready. Runs until the process is killed.
async fn event_loop<P: Protocol>(
    mut shell: Shell<P>,
    queues: Queues<P>,
    timers: Timers,
) -> Result<(), NodeError> {
    let Queues {
        _tx,
        mut rx,
        mut synced_rx,
    } = queues;
    let mut rng = rand::thread_rng();
    let mut tick = tokio::time::interval(Duration::from_nanos(timers.tick_ns.max(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Set after an inline sync: the messages that queued while this thread was
    // blocked in it (the leader's appends and heartbeats) are read before the
    // next tick, so a slow disk does not look like a silent leader.
    let mut read_before_tick = false;
    loop {
        // Ticks first: a node resumed after SIGSTOP notices its election timeout
        // (and moves to a newer term) before it reads messages queued meanwhile.
        enum Wake<M, O> {
            Tick,
            Synced(Result<u64, String>),
            Ev(Option<Ev<M, O>>),
        }
        let wake = if std::mem::take(&mut read_before_tick) {
            tokio::task::yield_now().await;
            Wake::Ev(None)
        } else {
            tokio::select! {
            biased;
            _ = tick.tick() => Wake::Tick,
            s = synced_rx.recv() => Wake::Synced(s.unwrap_or_else(|| Err("WAL thread gone".into()))),
            ev = rx.recv() => Wake::Ev(ev),
            }
        };
        if matches!(wake, Wake::Ev(Some(_))) {
            // Let every other ready task (client and peer readers whose sockets
            // are readable) queue its input first, so requests that arrived
            // together share one batch, one WAL sync and one append, instead of
            // the first one syncing alone and the rest waiting behind its sync.
            tokio::task::yield_now().await;
        }
        let host = host_time();
        match wake {
            Wake::Ev(Some(ev)) => shell.handle(ev),
            Wake::Ev(None) => {}
            Wake::Tick => {
                let jitter_ns = match timers.jitter_below_ns {
                    0 => 0,
                    below => rng.gen_range(0..below),
                };
                shell.driver.step(host, Input::Tick { jitter_ns });
            }
            Wake::Synced(Err(e)) => shell.fatal(&e),
            Wake::Synced(Ok(batch)) => shell.driver.synced(host, batch),
        }
        for _ in 0..4096 {
            let Ok(ev) = rx.try_recv() else { break };
            shell.handle(ev);
        }
        let ready = shell.driver.ready(host);
        read_before_tick = shell.perform(ready).await;
    }
}

type SyncReport = Result<u64, String>;

/// The WAL thread: writes each batch's records, syncs once for everything queued
/// (group commit), and reports the last batch id covered.
fn spawn_wal_thread<P: Protocol>(
    wal: Arc<Mutex<Wal<P::Record, P::Snapshot>>>,
) -> (
    std::sync::mpsc::Sender<Job<P>>,
    mpsc::UnboundedReceiver<SyncReport>,
) {
    let (jobs_tx, jobs_rx) = std::sync::mpsc::channel::<Job<P>>();
    let (done_tx, done_rx) = mpsc::unbounded_channel::<SyncReport>();
    std::thread::spawn(move || {
        while let Ok((mut id, mut writes)) = jobs_rx.recv() {
            while let Ok((next, more)) = jobs_rx.try_recv() {
                id = next;
                writes.extend(more);
            }
            let report = match wal.lock() {
                Ok(mut w) => write_and_commit(&mut w, &writes).map(|_| id),
                Err(_) => Err("WAL lock poisoned".to_string()),
            };
            let failed = report.is_err();
            if done_tx.send(report).is_err() || failed {
                return;
            }
            // Off the commit path: the acknowledgements above are already out.
            let grown = match wal.lock() {
                Ok(mut w) => w.preallocate().map_err(|e| e.to_string()),
                Err(_) => Err("WAL lock poisoned".to_string()),
            };
            if let Err(e) = grown {
                let _ = done_tx.send(Err(e));
                return;
            }
        }
    });
    (jobs_tx, done_rx)
}

/// Writes `writes` and makes them as durable as the fsync policy promises.
fn write_and_commit<R, S>(
    wal: &mut Wal<R, S>,
    writes: &[crate::store::seam::Write<R, S>],
) -> Result<(), String>
where
    R: serde::Serialize + serde::de::DeserializeOwned,
    S: serde::Serialize + serde::de::DeserializeOwned,
{
    writes
        .iter()
        .try_for_each(|w| wal.write(w))
        .and_then(|_| wal.commit())
        .map_err(|e| e.to_string())
}
