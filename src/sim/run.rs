//! One simulated test, the runner's phases in simulated time: start the nodes,
//! wait until every node knows a leader, set up the workload's data, run
//! clients and the nemesis for the time limit, heal, let the cluster recover,
//! final reads; then the same check and the same run directory as a real run
//! (`test.toml` with `simulated = true`, history with simulated times, node
//! logs, results.json whose network names the simulated world, report.html,
//! junit.xml).

use super::clients::{Role, SimClient};
use super::digest::Digest;
use super::nemesis::NemState;
use super::node::SimNode;
use super::world::World;
use super::{io, Sim, SimError, SimProtocol, Stats, MS};
use crate::checker::Composed;
use crate::history::{History, NodeEvents, Op, OpType, Process};
use crate::net::Grudge;
use crate::report::RunResults;
use crate::rundir::RunDir;
use crate::runner::recorder::Recorder;
use crate::runner::{self, TestConfig};
use crate::store::core::Core;
use crate::store::Topology;
use crate::system::builtin_ops::acct;
use crate::system::SystemKind;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::{BinaryHeap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Salt of the simulator's own rng (the world, latencies, jitter), apart from
/// the generator's and the nemesis's, which are seeded as a real run seeds them.
const SIM_SALT: u64 = 0x7369_6d75_6c61_7465;
/// Salt of the rng that draws failed disk syncs.
const DISK_SALT: u64 = 0x6469_736b_6661_696c;
/// How long nodes get to agree on a leader (as `Target::health_timeout`).
const HEALTH_NS: u64 = 20_000 * MS;

/// What one simulation produced.
pub struct Simulated {
    pub history: History,
    /// Each node's log file: (node, text).
    pub logs: Vec<(String, String)>,
    pub digest: Digest,
    pub stats: Stats,
    /// How often the run reached each interesting state.
    pub coverage: super::coverage::Coverage,
    /// The world the seed drew, in one line.
    pub world: String,
    /// Simulated length of the client phase and of the whole run, ns.
    pub client_phase_ns: u64,
    pub end_ns: u64,
}

/// Simulates `cfg` (recording the history to `history`, if given). `deep`
/// folds message contents into the digest and keeps each event's hash.
pub fn simulate(cfg: &TestConfig, history: Option<&Path>, deep: bool) -> Result<Simulated, SimError> {
    cfg.validate().map_err(|e| SimError::Config(e.to_string()))?;
    if cfg.system.kind != SystemKind::Builtin {
        return Err(SimError::Target(cfg.system.kind.label()));
    }
    if cfg.system.builtin.shards.is_sharded() {
        return Err(SimError::Config(
            "--shards: the simulator does not run a sharded store (no router yet); run it for real".into(),
        ));
    }
    let cfg = &admitted(cfg)?;
    match cfg.system.builtin.topology {
        Topology::SingleLeader => simulate_with::<Core>(cfg, history, deep),
        Topology::Leaderless => simulate_with::<crate::store::leaderless::Core>(cfg, history, deep),
        Topology::MultiLeader => Err(SimError::Config(
            "--topology multi-leader is not simulated yet: run it for real (without --sim)".into(),
        )),
    }
}

/// `cfg` with the faults the simulated built-in store takes (as the real
/// runner's `nemesis::admit`): every clock fault; packet faults only where the
/// real run would have them, over the proxy back end, so one seed draws the same
/// schedule for real and in simulation.
pub(crate) fn admitted(cfg: &TestConfig) -> Result<TestConfig, SimError> {
    let clocks = crate::nemesis::admit::Clocks {
        offsets: true,
        rates: true,
        packets: cfg.net == crate::net::NetKind::Proxy,
        rebalance: false,
    };
    let (nemesis, _) = crate::nemesis::admit::admit_clocks(&cfg.nemesis, "builtin", clocks)
        .map_err(|e| SimError::Config(e.to_string()))?;
    if let Some(steps) = &cfg.faults {
        let packets = steps
            .iter()
            .any(|s| crate::runner::faults::kind_of(&s.action).is_some_and(|k| k.is_packet()));
        let note = if packets && !clocks.packets {
            " (delay and loss faults need --net proxy)"
        } else {
            ""
        };
        crate::runner::faults::check(steps, &nemesis, cfg.system.nodes)
            .map_err(|e| SimError::Config(format!("faults: {e}{note}")))?;
    }
    Ok(TestConfig {
        nemesis,
        ..cfg.clone()
    })
}

fn node_names(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("n{i}")).collect()
}

pub(super) fn build<P: SimProtocol>(
    cfg: &TestConfig,
    history: Option<&Path>,
    deep: bool,
) -> Result<Sim<P>, SimError> {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed ^ SIM_SALT);
    let n = cfg.system.nodes;
    let mut world = World::draw(&mut rng, n);
    let mut disk_rng = ChaCha8Rng::seed_from_u64(cfg.seed ^ DISK_SALT);
    world.draw_fsync_failures(&mut disk_rng);
    let names = node_names(n);
    let modes = &cfg.system.builtin;
    let nodes = names
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let c = P::config(id, &names, modes);
            SimNode::new(id, c, modes.fsync, world.rates[i], world.offsets_ms[i])
        })
        .collect();
    let wl = cfg.workload.build();
    let info = wl.info();
    let rec = Recorder::new(history, 0).map_err(io("creating history.jsonl"))?;
    Ok(Sim {
        now: 0,
        seq: 0,
        queue: BinaryHeap::new(),
        rng,
        disk_rng,
        fifo: vec![vec![0; n]; n],
        world,
        cfg: cfg.clone(),
        index: names.iter().enumerate().map(|(i, s)| (s.clone(), i)).collect(),
        names,
        nodes,
        grudge: Grudge::default(),
        clients: Vec::new(),
        ops: P::ops(&info, modes),
        info,
        wl,
        gen_rng: ChaCha8Rng::seed_from_u64(cfg.seed),
        rec,
        digest: Digest::new(deep),
        nem: NemState::default(),
        next_req: 0,
        budget: cfg.ops,
        deep,
        deadline: u64::MAX,
        stats: Stats::default(),
        coverage: Default::default(),
    })
}

impl<P: SimProtocol> Sim<P> {
    /// Runs until every node runs and knows a leader (`Target::healthy` of the
    /// built-in store), polling every 100 ms as the runner does.
    fn wait_healthy(&mut self) -> Result<(), SimError> {
        loop {
            let mut waiting = None;
            for i in 0..self.nodes.len() {
                let ok = self
                    .status(i)
                    .is_some_and(|s| s.leader.is_some() || s.role == crate::store::seam::Role::Peer);
                if !ok {
                    waiting = Some(format!("node {}: no leader known yet", self.names[i]));
                    break;
                }
            }
            match waiting {
                None => return Ok(()),
                Some(e) if self.now >= HEALTH_NS => return Err(SimError::Unhealthy(e)),
                Some(_) => self.run_until(self.now + 100 * MS),
            }
        }
    }

    /// Runs until `client` is done, for at most `limit` ns.
    pub(crate) fn run_client(&mut self, client: usize, limit: u64) {
        let end = self.now + limit;
        while !self.clients[client].done && self.now < end {
            self.run_until(self.now + 10 * MS);
        }
    }

    /// The bank's initial balances, written before the client phase (unrecorded).
    fn prepare(&mut self) -> Result<(), SimError> {
        if self.info.name != "bank" {
            return Ok(());
        }
        let first = self.info.params["accounts"][0].clone();
        let total = self.info.params["total"].clone();
        let op = Op::new(OpType::Invoke, Process::Client(0), "write", total).with_key(acct(&first));
        let c = SimClient::with_role(Role::Prepare { op, tries: 0 }, 0, 2_000 * MS);
        let c = self.add_client(c, 0);
        self.run_client(c, 60_000 * MS);
        match self.clients[c].failure.take() {
            Some(e) => Err(SimError::Prepare(e)),
            None => Ok(()),
        }
    }

    /// Clients and nemesis for the time limit; heal; in-flight ops finish.
    /// Returns the client phase's simulated length.
    fn client_phase(&mut self) -> u64 {
        let cfg = self.cfg.clone();
        let t0 = self.now;
        let limit = cfg.time_limit.duration();
        self.deadline = t0 + limit.as_nanos() as u64;
        let n = self.nodes.len();
        self.schedule_nemesis(t0, cfg.schedule(n));
        let timeout = cfg.op_timeout_ms() * MS;
        let workers: Vec<usize> = (0..cfg.concurrency)
            .map(|i| {
                let mut c = SimClient::worker(i, cfg.concurrency, cfg.seed, cfg.rate, i % n, timeout);
                let first = c.stagger_ns();
                self.add_client(c, first)
            })
            .collect();
        self.run_until(self.deadline);
        while self.nem.strobing {
            self.run_until(self.now + 10 * MS);
        }
        self.heal_all();
        let end = self.deadline + 2 * timeout + 10_000 * MS;
        while self.now < end && workers.iter().any(|&c| !self.clients[c].done) {
            self.run_until(self.now + 10 * MS);
        }
        self.now - t0
    }

    fn final_reads(&mut self) {
        let ops: VecDeque<Op> = self.wl.final_ops().into();
        if ops.is_empty() {
            return;
        }
        let first_process = self.cfg.concurrency as u64 * 1_000_000;
        let timeout = self.cfg.op_timeout_ms().max(1000) * 2 * MS;
        let c = SimClient::with_role(Role::Final { ops, tries: 0 }, first_process, timeout);
        let c = self.add_client(c, 0);
        self.run_client(c, 600_000 * MS);
    }
}

fn simulate_with<P: SimProtocol>(
    cfg: &TestConfig,
    history: Option<&Path>,
    deep: bool,
) -> Result<Simulated, SimError> {
    run_phases(build::<P>(cfg, history, deep)?, cfg)
}

/// The test's phases in `sim`, built for `cfg`.
fn run_phases<P: SimProtocol>(mut sim: Sim<P>, cfg: &TestConfig) -> Result<Simulated, SimError> {
    sim.start_cluster()?;
    sim.run_test(cfg)
}

impl<P: SimProtocol> Sim<P> {
    /// Starts every node and waits until the cluster is healthy.
    pub(super) fn start_cluster(&mut self) -> Result<(), SimError> {
        for i in 0..self.nodes.len() {
            self.start_node(i);
        }
        self.wait_healthy()
    }

    /// The phases after the cluster is up: prepare, clients and nemesis, converge, recover, final reads.
    pub(super) fn run_test(mut self, cfg: &TestConfig) -> Result<Simulated, SimError> {
        self.prepare()?;
        let client_phase_ns = self.client_phase();
        self.converge();
        let recovery = self.now + cfg.recovery.duration().as_nanos() as u64;
        self.run_until(recovery);
        self.final_reads();
        let (history, _) = self.rec.snapshot();
        Ok(Simulated {
            history,
            logs: self.nodes.iter().map(|n| (n.id.clone(), n.log.clone())).collect(),
            world: self.world.describe(),
            digest: self.digest,
            stats: self.stats,
            coverage: self.coverage,
            client_phase_ns,
            end_ns: self.now,
        })
    }
}

impl Simulated {
    /// Writes the node logs into `dir` and returns their paths.
    fn write_logs(&self, dir: &Path) -> Result<Vec<PathBuf>, SimError> {
        let mut paths = Vec::new();
        for (id, text) in &self.logs {
            let p = dir.join(format!("{id}.log"));
            std::fs::write(&p, text).map_err(io(format!("writing {}", p.display())))?;
            paths.push(p);
        }
        Ok(paths)
    }

    /// The test's checkers over this run (node logs written to a scratch folder).
    pub fn check(&self, cfg: &TestConfig) -> Result<Composed, SimError> {
        let tmp = tempfile::tempdir().map_err(io("creating a scratch folder for node logs"))?;
        let logs = self.write_logs(tmp.path())?;
        let wl = cfg.workload.build();
        let events = NodeEvents::read_if_any(&logs).map(Arc::new);
        Ok(runner::check(cfg, &*wl, &self.history, events))
    }
}

/// A finished simulated run with its run directory.
pub struct SimOutcome {
    pub dir: RunDir,
    pub results: RunResults,
    pub sim: Simulated,
    /// Wall time of the simulation and of the whole run (check and report included).
    pub sim_wall: Duration,
    pub wall: Duration,
}

fn runner_err(e: runner::RunnerError) -> SimError {
    SimError::Config(e.to_string())
}

/// `faultline test --sim`: simulates `cfg` and writes its run directory.
pub fn execute(cfg: &TestConfig) -> Result<SimOutcome, SimError> {
    let started = Instant::now();
    cfg.validate().map_err(|e| SimError::Config(e.to_string()))?;
    let dir = RunDir::create(&cfg.store_dir, &cfg.name).map_err(|e| SimError::Io {
        context: "creating the run directory".into(),
        source: std::io::Error::new(e.source.kind(), e.to_string()),
    })?;
    runner::write_config(&dir, cfg).map_err(runner_err)?;
    let sim = simulate(cfg, Some(&dir.history()), false)?;
    let sim_wall = started.elapsed();
    let logs = sim.write_logs(&dir.nodes_dir())?;
    let events = NodeEvents::read_if_any(&logs).map(Arc::new);
    let wl = cfg.workload.build();
    let composed = runner::check(cfg, &*wl, &sim.history, events.clone());
    let mut results = runner::results_of(cfg, composed, &sim.history, &dir, Vec::new());
    results.duration_ms = sim.client_phase_ns as f64 / 1e6;
    results.started_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    results.net = Some(sim.world.clone());
    let events = events.unwrap_or_default();
    runner::phases::save(&dir, &mut results, &events).map_err(runner_err)?;
    Ok(SimOutcome {
        dir,
        results,
        sim,
        sim_wall,
        wall: started.elapsed(),
    })
}

/// Two simulations of one seed, compared event by event.
pub struct Determinism {
    pub digests: [u64; 2],
    pub events: [u64; 2],
    /// The first event where the runs part: (event number, its time in each run).
    pub first_difference: Option<(usize, Option<u64>, Option<u64>)>,
}

impl Determinism {
    pub fn ok(&self) -> bool {
        self.digests[0] == self.digests[1] && self.first_difference.is_none()
    }
}

/// `--check-determinism`: simulates `cfg` twice (message contents in the digest).
pub fn check_determinism(cfg: &TestConfig) -> Result<Determinism, SimError> {
    let a = simulate(cfg, None, true)?;
    let b = simulate(cfg, None, true)?;
    Ok(Determinism {
        digests: [a.digest.value(), b.digest.value()],
        events: [a.digest.events(), b.digest.events()],
        first_difference: a.digest.first_difference(&b.digest),
    })
}
