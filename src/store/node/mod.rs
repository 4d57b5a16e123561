//! The node process: drives the pure core with tokio, TCP and the WAL.
//!
//! One event loop owns the core. It takes a batch of inputs (client requests,
//! peer messages, a tick), steps the core for each, hands the batch's durable
//! records to the WAL thread (which group-commits whatever is queued with one
//! sync), sends the leader's replication messages, client replies and event
//! lines at once, and holds every other send (votes, append acknowledgements)
//! until the WAL thread reports that batch synced. So nothing is voted or
//! promised to a peer before it is as durable as the fsync policy says. Client
//! replies need no wait: the core answers a write only once it is committed,
//! counting the leader's own copy only after `Input::Persisted`, and a read
//! only ever sees committed state; holding them behind the sync of newer,
//! unrelated records only added a sync's latency to every write.

mod clock;
mod net;

pub use clock::{monotonic_ns, Clock, RateClock};

use crate::history::NodeEvent;
use crate::store::admin::{AdminRequest, AdminResponse, NodeStatus};
use crate::store::core::{Action, Config, Core, Durable, Event, Input, Message, Role};
use crate::store::ops::ClientOp;
use crate::store::wal::{FsyncPolicy, Wal, WalError};
use rand::Rng;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Everything `faultline node` needs.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    pub core: Config,
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

pub(crate) enum Ev {
    Client {
        op: ClientOp,
        reply: net::ReplyTo,
    },
    Peer {
        from: String,
        msg: Message,
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
    clock: Arc<Clock>,
}

impl NodeLog {
    /// A plain line, stamped with the node's (possibly skewed) wall clock.
    fn line(&mut self, text: &str) {
        let ms = self.clock.wall_ms();
        self.buf.push_str(&format!("{ms} {}: {text}\n", self.node));
    }
    fn raw(&mut self, text: &str) {
        self.buf.push_str(text);
        self.buf.push('\n');
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
        let line = ev.to_line();
        self.raw(&line);
    }
    fn flush(&mut self) {
        if !self.buf.is_empty() {
            let _ = self.file.write_all(self.buf.as_bytes());
            self.buf.clear();
        }
    }
}

/// Runs a node until the process is killed. Errors only at start-up.
pub fn run_node(cfg: NodeConfig) -> Result<(), NodeError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(NodeError::Runtime)?;
    rt.block_on(serve(cfg))
}

async fn serve(cfg: NodeConfig) -> Result<(), NodeError> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&cfg.log)
        .map_err(|source| NodeError::Log {
            path: cfg.log.clone(),
            source,
        })?;
    let clock = Arc::new(Clock::default());
    let mut log = NodeLog {
        file,
        buf: String::new(),
        node: cfg.core.id.clone(),
        origin: cfg.time_origin_ns,
        clock: clock.clone(),
    };
    let (wal, rec, corruption) = Wal::open(&cfg.data_dir, cfg.fsync)?;
    if let Some(c) = &corruption {
        eprintln!("warning: {c}");
        log.line(&format!("warning: {c}"));
    }
    let (tx, mut rx) = mpsc::unbounded_channel::<Ev>();
    let peer_l = net::bind("peer", cfg.listen).await?;
    let client_l = net::bind("client", cfg.client).await?;
    let admin_l = net::bind("admin", cfg.admin).await?;
    let id = cfg.core.id.clone();
    tokio::spawn(net::accept_peers(peer_l, tx.clone()));
    tokio::spawn(net::accept_clients(client_l, tx.clone(), id.clone()));
    tokio::spawn(net::accept_admin(admin_l, tx.clone()));
    let mut peers: HashMap<String, mpsc::Sender<Message>> = HashMap::new();
    for (pid, addr) in &cfg.cluster {
        if *pid != id {
            peers.insert(pid.clone(), net::spawn_peer(id.clone(), addr.clone()));
        }
    }

    let et = cfg.core.election_timeout_ns.max(1);
    let mut rng = rand::thread_rng();
    let recovered = (
        rec.entries.len(),
        rec.snapshot.as_ref().map_or(0, |s| s.index),
        rec.term,
    );
    let mut core = Core::new(cfg.core.clone(), rec, clock.core_ns(), rng.gen_range(0..et));
    log.line(&format!(
        "node {id} started: peer {} client {} admin {}; recovered term {} snapshot index {} and {} log entries",
        cfg.listen, cfg.client, cfg.admin, recovered.2, recovered.1, recovered.0
    ));
    log.event(Event {
        kind: "start",
        term: core.status().term,
        ..Event::none()
    });
    log.flush();

    let tick_every = Duration::from_nanos((cfg.core.heartbeat_ns / 5).clamp(1_000_000, 10_000_000));
    let mut tick = tokio::time::interval(tick_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let wal = Arc::new(Mutex::new(wal));
    let (jobs, mut synced_rx) = spawn_wal_thread(wal.clone());
    let mut next_req: u64 = 0;
    let mut waiting: HashMap<u64, net::ReplyTo> = HashMap::new();
    let mut actions: Vec<Action> = Vec::new();
    // Batches whose records are being synced: (batch id, log's last index, held actions).
    let mut held: VecDeque<(u64, u64, Vec<Action>)> = VecDeque::new();
    let mut next_batch: u64 = 0;
    let mut synced: u64 = 0;
    // Set after an inline sync: the messages that queued while this thread was
    // blocked in it (the leader's appends and heartbeats) are read before the
    // next tick, so a slow disk does not look like a silent leader.
    let mut read_before_tick = false;
    loop {
        // Ticks first: a node resumed after SIGSTOP notices its election timeout
        // (and moves to a newer term) before it reads messages queued meanwhile.
        enum Wake {
            Tick,
            Synced(Result<u64, String>),
            Ev(Option<Ev>),
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
        let now = clock.core_ns();
        let mut release: Vec<Action> = Vec::new();
        // Each input is stamped when it is taken off the queue, not when the
        // batch began: a lease read must be judged at a time after it arrived
        // (the process may have been paused mid-batch), and a follower's
        // leader-contact time must not precede the message's arrival.
        let mut handle = |ev: Ev, core: &mut Core, actions: &mut Vec<Action>| match ev {
            Ev::Client { op, reply } => {
                next_req += 1;
                waiting.insert(next_req, reply);
                actions.extend(core.step(clock.core_ns(), Input::Client { req: next_req, op }));
            }
            Ev::Peer { from, msg } => actions.extend(core.step(clock.core_ns(), Input::Peer { from, msg })),
            Ev::Admin { req, tx } => {
                let resp = match req {
                    AdminRequest::Status => {
                        let s = core.status();
                        let at = clock.core_ns();
                        let lease_expires_in_ms = s.lease_until_ns.map(|u| (u as f64 - at as f64) / 1e6);
                        AdminResponse::Status(NodeStatus {
                            id: core.config().id.clone(),
                            role: s.role,
                            term: s.term,
                            leader: s.leader,
                            commit_index: s.commit_index,
                            applied_index: s.applied_index,
                            last_log_index: s.last_log_index,
                            clock_offset_ms: clock.offset_ms(),
                            clock_rate: clock.rate(),
                            lease_expires_in_ms,
                        })
                    }
                    AdminRequest::SetClockOffset { ms } => {
                        clock.set_offset_ms(ms);
                        log.line(&format!("clock offset set to {ms} ms"));
                        AdminResponse::Ok
                    }
                    AdminRequest::SetClockRate { rate } => match clock.set_rate(rate) {
                        Ok(()) => {
                            log.line(&format!("clock rate set to {rate}"));
                            AdminResponse::Ok
                        }
                        Err(bad) => AdminResponse::Error {
                            reason: format!("clock rate must be finite and above 0 (got {bad})"),
                        },
                    },
                };
                let _ = tx.send(resp);
            }
        };
        match wake {
            Wake::Ev(Some(ev)) => handle(ev, &mut core, &mut actions),
            Wake::Ev(None) => {}
            Wake::Tick => {
                let jitter_ns = rng.gen_range(0..et);
                actions.extend(core.step(now, Input::Tick { jitter_ns }));
            }
            Wake::Synced(Err(e)) => fatal(&mut log, &e),
            Wake::Synced(Ok(id)) => {
                synced = id;
                let mut index = 0;
                while held.front().is_some_and(|h| h.0 <= id) {
                    if let Some((_, last, acts)) = held.pop_front() {
                        index = index.max(last);
                        release.extend(acts);
                    }
                }
                actions.extend(core.step(now, Input::Persisted { index }));
            }
        }
        let mut n = 0;
        while n < 4096 {
            let Ok(ev) = rx.try_recv() else { break };
            handle(ev, &mut core, &mut actions);
            n += 1;
        }
        actions.extend(core.step(now, Input::Flush));

        // Durable records go to the WAL thread (group commit). The leader's
        // replication messages, replies and event lines leave at once; every
        // other send waits until the records of its batch (and all before) are
        // synced.
        let mut records = Vec::new();
        let mut late = Vec::with_capacity(actions.len());
        let mut now_out = Vec::new();
        for a in actions.drain(..) {
            match a {
                Action::Persist(d) => records.push(d),
                a @ (Action::Reply { .. } | Action::Event(_)) => now_out.push(a),
                Action::Send { to, msg }
                    if matches!(msg, Message::Append { .. } | Message::InstallSnapshot { .. }) =>
                {
                    if let Some(p) = peers.get(&to) {
                        let _ = p.try_send(msg);
                    }
                }
                other => late.push(other),
            }
        }
        perform(now_out, &mut log, &peers, &mut waiting);
        if !records.is_empty() && held.is_empty() && core.status().role != Role::Leader {
            // A follower with no batch in flight syncs on the spot: it has
            // nothing to do in parallel with its own sync (its acks must wait
            // for it anyway), and this saves two thread hand-offs on the
            // commit path. With nothing held, `synced >= next_batch`, so the
            // batch's sends and replies are released just below.
            let index = core.log().last_index();
            let result = match wal.lock() {
                Ok(mut w) => write_and_commit(&mut w, &records),
                Err(_) => Err("WAL lock poisoned".to_string()),
            };
            if let Err(e) = result {
                fatal(&mut log, &e);
            }
            records.clear();
            read_before_tick = true;
            actions.extend(core.step(now, Input::Persisted { index }));
        }
        if !records.is_empty() {
            next_batch += 1;
            if jobs.send((next_batch, records)).is_err() {
                fatal(&mut log, "WAL thread gone");
            }
        }
        if synced >= next_batch {
            release.extend(late);
        } else {
            let last = core.log().last_index();
            match held.back_mut() {
                Some(h) if h.0 == next_batch => h.2.extend(late),
                _ => held.push_back((next_batch, last, late)),
            }
        }
        perform(release, &mut log, &peers, &mut waiting);
        log.flush();
    }
}

type SyncReport = Result<u64, String>;

/// The WAL thread: writes each batch's records, syncs once for everything queued
/// (group commit), and reports the last batch id covered.
fn spawn_wal_thread(
    wal: Arc<Mutex<Wal>>,
) -> (
    std::sync::mpsc::Sender<(u64, Vec<Durable>)>,
    mpsc::UnboundedReceiver<SyncReport>,
) {
    let (jobs_tx, jobs_rx) = std::sync::mpsc::channel::<(u64, Vec<Durable>)>();
    let (done_tx, done_rx) = mpsc::unbounded_channel::<SyncReport>();
    std::thread::spawn(move || {
        while let Ok((mut id, mut records)) = jobs_rx.recv() {
            while let Ok((next, more)) = jobs_rx.try_recv() {
                id = next;
                records.extend(more);
            }
            let report = match wal.lock() {
                Ok(mut w) => write_and_commit(&mut w, &records).map(|_| id),
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

/// Writes `records` and makes them as durable as the fsync policy promises.
fn write_and_commit(wal: &mut Wal, records: &[Durable]) -> Result<(), String> {
    records
        .iter()
        .try_for_each(|d| wal.write(d))
        .and_then(|_| wal.commit())
        .map_err(|e| e.to_string())
}

/// Performs released actions: event lines first (flushed), then sends and replies.
fn perform(
    actions: Vec<Action>,
    log: &mut NodeLog,
    peers: &HashMap<String, mpsc::Sender<Message>>,
    waiting: &mut HashMap<u64, net::ReplyTo>,
) {
    if actions.is_empty() {
        return;
    }
    let mut rest = Vec::with_capacity(actions.len());
    for a in actions {
        match a {
            Action::Event(e) => log.event(e),
            other => rest.push(other),
        }
    }
    log.flush();
    for a in rest {
        match a {
            Action::Send { to, msg } => {
                if let Some(p) = peers.get(&to) {
                    let _ = p.try_send(msg);
                }
            }
            Action::Reply { req, outcome } => {
                if let Some(reply) = waiting.remove(&req) {
                    reply.send(outcome);
                }
            }
            Action::Persist(_) | Action::Event(_) => {}
        }
    }
}

/// A node that cannot write its WAL must not go on acknowledging: stop.
fn fatal(log: &mut NodeLog, msg: &str) -> ! {
    log.line(&format!("fatal: {msg}"));
    log.flush();
    eprintln!("fatal: {msg}");
    std::process::exit(crate::exit::HARNESS)
}
