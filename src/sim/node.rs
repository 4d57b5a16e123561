//! A simulated node process: the real [`Driver`] over a [`SimProtocol`] core,
//! hosted as `store::node` hosts it (one batch per wake-up; a tick first and
//! everything queued meanwhile after a pause; an inline sync blocks the node;
//! a background sync runs beside it and covers every batch queued when it
//! starts), with the simulated disk, network and clock in place of the WAL,
//! sockets and CLOCK_MONOTONIC.

use super::disk::SimDisk;
use super::{Ev, Sim, SimProtocol, MS};
use crate::history::NodeEvent;
use crate::store::driver::{Driver, HostTime};
use crate::store::ops::ClientOp;
use crate::store::seam::{Event, Input, InputOf};
use crate::store::wal::FsyncPolicy;
use rand::Rng;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The Unix time simulated runs start at (2026-09-21T09:20:00Z): fixed, so wall
/// clocks are part of the seed's run too.
pub const EPOCH_NS: u64 = 1_790_000_000 * 1_000_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Up,
    /// SIGSTOP: nothing runs; inputs queue.
    Paused,
    /// Killed: no process.
    Down,
}

/// An input waiting for the node (paused, or blocked in an inline sync).
pub(crate) enum Queued<P: SimProtocol> {
    Input(InputOf<P>),
    Tick,
    Synced,
    /// The sync under way failed (EIO): the node exits.
    SyncFailed,
}

pub struct SimNode<P: SimProtocol> {
    pub id: String,
    cfg: P::Config,
    pub state: State,
    pub driver: Option<Driver<P>>,
    /// Bumped at every kill and start: events for an older incarnation are void.
    pub inc: u64,
    disk: SimDisk<P::Record, P::Snapshot>,
    inbox: Vec<Queued<P>>,
    /// Blocked in an inline sync.
    busy: bool,
    /// Client requests the node holds: driver request id -> (client, attempt).
    waiting: BTreeMap<u64, (usize, u64)>,
    /// The node's log file (plain lines and event lines).
    pub log: String,
    rate: f64,
    offset_ms: i64,
    tick_ns: u64,
    fsync: FsyncPolicy,
}

impl<P: SimProtocol> SimNode<P> {
    pub fn new(id: &str, cfg: P::Config, fsync: FsyncPolicy, rate: f64, offset_ms: i64) -> SimNode<P> {
        use crate::store::seam::CoreConfig;
        let tick_ns = cfg.timers().tick_ns.max(1);
        SimNode {
            id: id.to_string(),
            cfg,
            state: State::Down,
            driver: None,
            inc: 0,
            disk: SimDisk::new(fsync),
            inbox: Vec::new(),
            busy: false,
            waiting: BTreeMap::new(),
            log: String::new(),
            rate,
            offset_ms,
            tick_ns,
            fsync,
        }
    }

    /// The node's host time at simulated time `now` (its own crystal's rate and offset).
    pub fn host(&self, now: u64) -> HostTime {
        HostTime {
            mono_ns: (now as f64 * self.rate) as u64,
            unix_ns: (EPOCH_NS + now).saturating_add_signed(self.offset_ms * MS as i64),
        }
    }

    /// A plain log line stamped with the node's wall clock.
    pub fn line(&mut self, now: u64, text: &str) {
        let host = self.host(now);
        let wall = self
            .driver
            .as_ref()
            .map_or((host.unix_ns / MS) as i64, |d| d.clock().wall_ms(host));
        let _ = writeln!(self.log, "{wall} {}: {text}", self.id);
    }

    fn event(&mut self, now: u64, e: Event) {
        if e.kind.is_empty() {
            return;
        }
        let ev = NodeEvent {
            event: e.kind.to_string(),
            node: self.id.clone(),
            term: e.term,
            index: e.index,
            time: now,
            f: e.f,
            key: e.key,
            value: e.value,
        };
        self.log.push_str(&ev.to_line());
        self.log.push('\n');
    }
}

impl<P: SimProtocol> Sim<P> {
    /// Starts (or restarts) node `i` from what its disk holds, with a fresh clock.
    pub(crate) fn start_node(&mut self, i: usize) {
        let host = self.nodes[i].host(self.now);
        let entropy = self.rng.gen();
        let n = &mut self.nodes[i];
        let (driver, recovered) = Driver::start(n.cfg.clone(), n.disk.stored(), host, entropy);
        n.driver = Some(driver);
        n.state = State::Up;
        n.inc += 1;
        n.busy = false;
        n.line(
            self.now,
            &format!("node {} started (simulated); recovered {recovered}", n.id),
        );
        let (inc, tick) = (n.inc, n.tick_ns);
        self.digest.add(self.now, ("start", i, inc));
        self.perform(i);
        self.schedule(self.now + tick, Ev::Tick { node: i, inc });
    }

    /// SIGKILL: the process and its unsynced writes are gone; clients waiting
    /// on it see their connection reset.
    pub(crate) fn kill_node(&mut self, i: usize) {
        self.end_process(i, "killed (simulated SIGKILL)");
    }

    /// A failed disk sync: the node does what `faultline node` does (logs
    /// `fatal` and exits); what the failed sync was writing may or may not
    /// have reached the disk, as after a crash. It stays down until the final
    /// heal restarts it ([`Sim::heal_all`]).
    fn fail_sync(&mut self, i: usize) {
        self.nodes[i].line(
            self.now,
            "fatal: WAL sync failed: Input/output error (os error 5) (simulated)",
        );
        self.stats.fsync_failures += 1;
        self.coverage.hit("fsync-failure");
        self.end_process(i, "exited");
    }

    /// The process ends (`how`, for its log line).
    fn end_process(&mut self, i: usize, how: &str) {
        let torn = self.world.torn;
        let n = &mut self.nodes[i];
        if n.state == State::Down {
            return;
        }
        if n.disk.unsynced() > 0 {
            self.coverage.hit("crash-lost-unsynced");
        }
        let n = &mut self.nodes[i];
        let lost = n.disk.crash(&mut self.rng, torn);
        n.line(self.now, &format!("{how}: {lost}"));
        n.state = State::Down;
        n.driver = None;
        n.inc += 1;
        n.busy = false;
        n.inbox.clear();
        let waiting = std::mem::take(&mut n.waiting);
        self.stats.crashes += 1;
        self.digest.add(self.now, ("kill", i, lost));
        for (_, (client, attempt)) in waiting {
            let at = self.now + self.client_delay();
            self.schedule(
                at,
                Ev::Lost {
                    client,
                    attempt,
                    node: i,
                },
            );
        }
    }

    pub(crate) fn pause_node(&mut self, i: usize) {
        if self.nodes[i].state == State::Up {
            self.nodes[i].state = State::Paused;
            self.digest.add(self.now, ("pause", i));
        }
    }

    /// SIGCONT: a tick first, then everything queued meanwhile, as one batch.
    pub(crate) fn resume_node(&mut self, i: usize) {
        let n = &mut self.nodes[i];
        if n.state != State::Paused {
            return;
        }
        n.state = State::Up;
        let (inc, tick) = (n.inc, n.tick_ns);
        self.digest.add(self.now, ("resume", i));
        self.schedule(self.now + tick, Ev::Tick { node: i, inc });
        let n = &mut self.nodes[i];
        if n.busy {
            // A sync that completed during the pause is seen first (the fsync
            // returned while the process was stopped); else the node keeps waiting.
            match n.inbox.iter().position(|q| matches!(q, Queued::Synced)) {
                Some(p) => {
                    n.inbox.remove(p);
                    let mut items = vec![Queued::Synced, Queued::Tick];
                    items.append(&mut n.inbox);
                    self.batch(i, items);
                }
                None => n.inbox.insert(0, Queued::Tick),
            }
            return;
        }
        let mut items = vec![Queued::Tick];
        items.append(&mut n.inbox);
        self.batch(i, items);
    }

    /// Hands `item` to node `i`: at once when it runs, queued when paused or
    /// blocked, dropped when it is down.
    fn deliver(&mut self, i: usize, item: Queued<P>) {
        let n = &mut self.nodes[i];
        match n.state {
            State::Down => {}
            State::Paused => n.inbox.push(item),
            State::Up if n.busy => n.inbox.push(item),
            State::Up => self.batch(i, vec![item]),
        }
    }

    /// One batch: the items stepped in order, then the driver's `ready` performed.
    fn batch(&mut self, i: usize, items: Vec<Queued<P>>) {
        for item in items {
            if matches!(item, Queued::SyncFailed) {
                return self.fail_sync(i);
            }
            let host = self.nodes[i].host(self.now);
            let jitter = match &item {
                Queued::Tick => {
                    use crate::store::seam::CoreConfig;
                    let below = self.nodes[i].cfg.timers().jitter_below_ns;
                    if below > 0 {
                        self.rng.gen_range(0..below)
                    } else {
                        0
                    }
                }
                _ => 0,
            };
            let n = &mut self.nodes[i];
            let Some(d) = n.driver.as_mut() else { return };
            match item {
                Queued::Tick => d.step(host, Input::Tick { jitter_ns: jitter }),
                Queued::Input(input) => d.step(host, input),
                Queued::SyncFailed => {}
                Queued::Synced => {
                    n.busy = false;
                    if let Some(upto) = n.disk.complete_sync() {
                        d.synced(host, upto);
                    }
                }
            }
        }
        self.perform(i);
    }

    /// Ends node `i`'s batch and does what its driver says, in the node's order:
    /// early sends, event lines, replies, the batch's writes, released sends.
    fn perform(&mut self, i: usize) {
        let host = self.nodes[i].host(self.now);
        let Some(d) = self.nodes[i].driver.as_mut() else {
            return;
        };
        let ready = d.ready(host);
        for (to, msg) in ready.send {
            self.send_peer(i, &to, msg);
        }
        for e in ready.events {
            self.cover_event(e.kind);
            self.digest.add(self.now, ("event", i, e.kind, e.term, e.index));
            self.nodes[i].event(self.now, e);
        }
        for (req, outcome) in ready.replies {
            if let Some((client, attempt)) = self.nodes[i].waiting.remove(&req) {
                self.cover_reply(i, client, &outcome);
                let at = self.now + self.client_delay();
                self.schedule(
                    at,
                    Ev::Reply {
                        client,
                        attempt,
                        node: i,
                        outcome,
                    },
                );
            }
        }
        if let Some(b) = ready.persist {
            self.nodes[i].disk.write(b.id, b.writes);
            if b.inline {
                self.nodes[i].busy = true;
            }
        }
        let released = self.nodes[i]
            .driver
            .as_mut()
            .map(|d| d.take_released())
            .unwrap_or_default();
        for (to, msg) in released {
            self.send_peer(i, &to, msg);
        }
        if self.nodes[i].disk.start_sync().is_some() {
            let delay = match self.nodes[i].fsync {
                FsyncPolicy::Never => 0,
                _ => self.world.sync_delay(&mut self.rng),
            };
            let inc = self.nodes[i].inc;
            self.schedule(self.now + delay, Ev::Synced { node: i, inc });
        }
    }

    pub(crate) fn on_tick(&mut self, i: usize, inc: u64) {
        let n = &mut self.nodes[i];
        if n.inc != inc || n.state != State::Up {
            return;
        }
        let tick = n.tick_ns;
        self.schedule(self.now + tick, Ev::Tick { node: i, inc });
        let n = &mut self.nodes[i];
        if n.busy {
            if !n.inbox.iter().any(|q| matches!(q, Queued::Tick)) {
                n.inbox.push(Queued::Tick);
            }
            return;
        }
        self.batch(i, vec![Queued::Tick]);
    }

    pub(crate) fn on_synced(&mut self, i: usize, inc: u64) {
        if self.nodes[i].inc != inc {
            return;
        }
        // Disks fail during the client phase only: a node lost before the
        // cluster is healthy would make the seed a harness error, not a test,
        // and one lost after the final heal (which restarts every node a failed
        // sync stopped) would stay down through the convergence phase, a fault
        // left in place that no real run has.
        let fail = if self.deadline < u64::MAX && self.now < self.deadline {
            self.world.fsync_fail
        } else {
            0.0
        };
        let item = if self.nodes[i].fsync != FsyncPolicy::Never && fail > 0.0 && self.disk_rng.gen_bool(fail)
        {
            Queued::SyncFailed
        } else {
            Queued::Synced
        };
        let n = &mut self.nodes[i];
        if n.state == State::Up && n.busy {
            let mut items = vec![item];
            items.append(&mut n.inbox);
            self.batch(i, items);
        } else {
            self.deliver(i, item);
        }
    }

    /// Sends a peer message from node `from` through the simulated network.
    fn send_peer(&mut self, from: usize, to: &str, msg: P::Msg) {
        let Some(to) = self.node_index(to) else { return };
        self.stats.messages += 1;
        if self.cut(from, to) || (self.world.loss > 0.0 && self.rng.gen_bool(self.world.loss)) {
            self.stats.dropped += 1;
            return;
        }
        let dup = self.world.duplicate > 0.0 && self.rng.gen_bool(self.world.duplicate);
        if dup {
            self.stats.duplicated += 1;
            self.schedule_peer(from, to, msg.clone());
        }
        self.schedule_peer(from, to, msg);
    }

    fn schedule_peer(&mut self, from: usize, to: usize, msg: P::Msg) {
        let inc = self.nodes[to].inc;
        let hold = self.packet_hold(from, to);
        let mut at = self.now + self.world.delay(&mut self.rng, self.world.links[from][to]) + hold;
        if !self.world.reorder {
            at = at.max(self.fifo[from][to]);
            self.fifo[from][to] = at;
        }
        self.schedule(at, Ev::Peer { from, to, inc, msg });
    }

    /// True when the nemesis's grudge drops traffic from `from` at `to`.
    fn cut(&self, from: usize, to: usize) -> bool {
        self.grudge.drops(&self.names[to], &self.names[from])
    }

    pub(crate) fn arrive(&mut self, from: usize, to: usize, inc: u64, msg: P::Msg) {
        if self.nodes[to].inc != inc || self.cut(from, to) {
            self.stats.dropped += 1;
            return;
        }
        if self.deep {
            self.digest.add(self.now, ("msg", from, to, format!("{msg:?}")));
        } else {
            self.digest.add(self.now, ("msg", from, to));
        }
        if let Some(c) = P::message_coverage(&msg) {
            self.coverage.hit(c);
        }
        let from = self.names[from].clone();
        self.deliver(to, Queued::Input(Input::Peer { from, msg }));
    }

    /// A client request reaches node `i`: the node takes it, or the client's
    /// connection turns out to be dead.
    pub(crate) fn on_request(
        &mut self,
        client: usize,
        attempt: u64,
        i: usize,
        inc: u64,
        (op, opts): (ClientOp, P::ClientOpts),
    ) {
        let n = &self.nodes[i];
        if n.state == State::Down || n.inc != inc {
            let at = self.now + self.client_delay();
            self.schedule(
                at,
                Ev::Lost {
                    client,
                    attempt,
                    node: i,
                },
            );
            return;
        }
        self.next_req += 1;
        let req = self.next_req;
        self.nodes[i].waiting.insert(req, (client, attempt));
        self.deliver(i, Queued::Input(Input::Client { req, op, opts }));
    }

    /// One client-link delay.
    pub(crate) fn client_delay(&mut self) -> u64 {
        self.world.delay(&mut self.rng, self.world.client)
    }

    /// The node's status as the admin endpoint gives it (`None` unless it runs).
    pub(crate) fn status(&mut self, i: usize) -> Option<crate::store::admin::NodeStatus> {
        let host = self.nodes[i].host(self.now);
        let n = &mut self.nodes[i];
        if n.state != State::Up {
            return None;
        }
        n.driver.as_mut()?.status(host).ok()
    }
}
