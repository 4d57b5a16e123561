//! The fault schedule: a plain list of timed steps computed up front from the
//! seed, so two runs with the same seed inject the same faults at the same
//! offsets. Every fault draws its kind and its target ([`Aim`]) from the seed,
//! and its parameters with them (the partition shape and direction, the clock
//! bump). Faults alternate with their undo: start, interval, undo, half an
//! interval, next start; the one exception is clock drift, which stays in
//! place through the next fault (see [`plan`]). Choices that depend on the
//! live cluster (the current leader) are resolved when a step runs.

use super::aim::{Aim, Victims, AIMS};
use super::focus;
use super::kinds::{Fault, Kind};
use crate::net::{Cut, Shape};
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Slowest and fastest clock-drift rate (per mille of real time): a drifted
/// clock runs at 0.12 to 0.25 times real time, so a leader's lease of
/// `election_timeout * 0.9` of its own clock lasts 3.6 to 7.5 election
/// timeouts of everyone else's, far outside the default 10% drift bound. A
/// cut-off leader's successor commits 2 to 3.5 election timeouts after the
/// cut (timeout, jitter, vote, first commit), so a milder drift expires the
/// lease before there is anything newer to miss (0.2 to 0.4 caught 67% of
/// the README's targeted lease runs in the simulator). Not slower: below
/// about 0.1 a leader's 50 ms heartbeats stretch past its followers' election
/// timeouts and it loses its leadership before any cut.
pub const DRIFT_PERMILLE: std::ops::RangeInclusive<u32> = 120..=250;

/// The share of drifts aimed at the leader whatever target the deal gave
/// them (the rest keep it, so drift still reaches every target). A slowed
/// clock matters where a node acts on its own clock's time: a leader serving
/// reads under a lease. A follower's slow clock only delays its election
/// timer, the safe direction. A target the user fixed (`clock-drift:one`)
/// is kept. In the simulator (default mix, `--reads lease`, 30 s), half
/// at the leader found the lease bug in 167 of 200 seeds, three in four in
/// 912 of 1,000, all of them in 199 of 200 (but then drift would never reach
/// the other targets); every other default row stayed at 99% or above.
pub const DRIFT_AT_LEADER: f64 = 0.75;

/// Clock bumps and strobe amplitudes are 2^k ms for k uniform in this range
/// (Jepsen's): about 4 ms to 262 s, log-uniform; either sign.
pub const BUMP_LOG2_MS: std::ops::Range<f64> = 2.0..18.0;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "action")]
pub enum Action {
    Partition {
        target: Aim,
        shape: Shape,
        cut: Cut,
        seed: u64,
        /// The cut-off side exactly (node indices), when the partition is
        /// aimed at the nodes its cycle's clock fault hit (see
        /// [`super::focus`]); otherwise the shape draws it from `seed`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        nodes: Option<Vec<usize>>,
    },
    Heal,
    Kill {
        target: Aim,
        victims: Victims,
    },
    Restart,
    Pause {
        target: Aim,
        victims: Victims,
    },
    Resume,
    /// Each victim's clock jumps by its own entry of `ms` (cycled).
    ClockBump {
        target: Aim,
        victims: Victims,
        ms: Vec<i64>,
    },
    /// Each victim's clock flips between +`ms` and 0 every `period_ms` for `duration_ms`.
    ClockStrobe {
        target: Aim,
        victims: Victims,
        ms: i64,
        period_ms: u64,
        duration_ms: u64,
    },
    ClockReset,
    /// The victims' clocks run at `permille`/1000 of real time.
    ClockDrift {
        target: Aim,
        victims: Victims,
        permille: u32,
    },
    /// Every drifted clock runs at real time again.
    ClockRateReset,
    /// Every node-to-node link delays each chunk by `delay_ms` plus up to `jitter_ms`.
    Delay {
        target: Aim,
        delay_ms: u64,
        jitter_ms: u64,
    },
    /// Every node-to-node link loses `percent` of first transmissions.
    Loss {
        target: Aim,
        percent: u8,
    },
    /// Packet faults off.
    PacketHeal,
    /// A sharded store moves a key range (drawn from `seed` by the target) to
    /// another group: fence, copy, switch the router (see
    /// [`crate::system::Target::rebalance`]). No undo.
    Rebalance {
        seed: u64,
    },
}

impl Action {
    /// True for the steps that end a fault (heal, restart, resume, the clock and packet resets).
    pub fn is_undo(&self) -> bool {
        matches!(
            self,
            Action::Heal
                | Action::Restart
                | Action::Resume
                | Action::ClockReset
                | Action::ClockRateReset
                | Action::PacketHeal
        )
    }

    /// The history `f` of the op recording this action.
    pub fn f(&self) -> &'static str {
        match self {
            Action::Partition { .. } => "partition",
            Action::Heal => "heal",
            Action::Kill { .. } => "kill",
            Action::Restart => "restart",
            Action::Pause { .. } => "pause",
            Action::Resume => "resume",
            Action::ClockBump { .. } => "clock-bump",
            Action::ClockStrobe { .. } => "clock-strobe",
            Action::ClockReset => "clock-reset",
            Action::ClockDrift { .. } => "clock-drift",
            Action::ClockRateReset => "clock-rate-reset",
            Action::Delay { .. } => "delay",
            Action::Loss { .. } => "loss",
            Action::PacketHeal => "packet-heal",
            Action::Rebalance { .. } => "rebalance",
        }
    }

    /// The packet faults a `delay` or `loss` step puts on every link.
    pub fn packets(&self) -> Option<crate::net::Packets> {
        match self {
            Action::Delay {
                delay_ms, jitter_ms, ..
            } => Some(crate::net::Packets {
                delay_ms: *delay_ms,
                jitter_ms: *jitter_ms,
                loss_percent: 0,
            }),
            Action::Loss { percent, .. } => Some(crate::net::Packets {
                loss_percent: *percent,
                ..Default::default()
            }),
            _ => None,
        }
    }

    /// What a clock fault hit, if a partition can focus on it (fewer than
    /// all nodes; see [`focus`]).
    pub fn hit(&self) -> focus::Hit {
        let (target, victims) = match self {
            Action::ClockBump { target, victims, .. }
            | Action::ClockStrobe { target, victims, .. }
            | Action::ClockDrift { target, victims, .. } => (*target, victims.clone()),
            _ => return None,
        };
        (target != Aim::All).then_some((target, victims))
    }

    /// The target a fault was aimed at (`None` for an undo).
    pub fn target(&self) -> Option<Aim> {
        match self {
            Action::Partition { target, .. }
            | Action::Kill { target, .. }
            | Action::Pause { target, .. }
            | Action::ClockBump { target, .. }
            | Action::ClockStrobe { target, .. }
            | Action::ClockDrift { target, .. }
            | Action::Delay { target, .. }
            | Action::Loss { target, .. } => Some(*target),
            Action::Rebalance { .. } => Some(Aim::All),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// Offset from the start of the client phase.
    pub at_ms: u64,
    #[serde(flatten)]
    pub action: Action,
}

/// A partition shape for a target: the lone node, the leader, a minority
/// third, a majority/minority split (halves or a bridge), all nodes cut
/// differently (the ring), or one datacenter or every datacenter cut from the
/// others (`dc`). One in three cuts with a side is one-way.
fn shape(rng: &mut ChaCha8Rng, aim: Aim) -> (Shape, Cut) {
    let shape = match aim {
        Aim::One => Shape::One,
        Aim::Leader => Shape::Leader,
        Aim::Minority => Shape::MinorityThird,
        Aim::Majority => *[Shape::Halves, Shape::Bridge].choose(rng).expect("non-empty"),
        Aim::All => Shape::MajoritiesRing,
        Aim::Dc => *[Shape::Dc, Shape::DcAll].choose(rng).expect("non-empty"),
    };
    let cut = if crate::net::shape::has_side(shape) && rng.gen_bool(1.0 / 3.0) {
        *[Cut::Deaf, Cut::Mute].choose(rng).expect("non-empty")
    } else {
        Cut::Both
    };
    (shape, cut)
}

/// A clock jump: 2^k ms, k uniform in [`BUMP_LOG2_MS`], either sign.
fn bump_ms(rng: &mut ChaCha8Rng) -> i64 {
    let ms = 2f64.powf(rng.gen_range(BUMP_LOG2_MS)).round() as i64;
    if rng.gen_bool(0.5) {
        ms
    } else {
        -ms
    }
}

fn clock(rng: &mut ChaCha8Rng, target: Aim, victims: Victims, n: usize, iv: u64) -> Action {
    if rng.gen_bool(0.3) {
        // Strobes last at most most of the interval (they run on the nemesis thread).
        let period_ms = (2f64.powf(rng.gen_range(3.0..10.0)).round() as u64).min((iv / 4).max(1));
        Action::ClockStrobe {
            target,
            victims,
            ms: bump_ms(rng),
            period_ms,
            duration_ms: rng.gen_range(period_ms..=(iv * 3 / 4).max(period_ms)),
        }
    } else {
        let ms = (0..target.size(n)).map(|_| bump_ms(rng)).collect();
        Action::ClockBump { target, victims, ms }
    }
}

/// Draws without replacement from a deck of `items`, reshuffled when empty:
/// over a run every item comes up about equally often (a uniform draw would
/// leave some kind or target out of a short run).
struct Deck<T> {
    items: Vec<T>,
    left: Vec<T>,
}

impl<T: Copy> Deck<T> {
    fn new(items: &[T]) -> Deck<T> {
        Deck {
            items: items.to_vec(),
            left: Vec::new(),
        }
    }

    fn draw(&mut self, rng: &mut ChaCha8Rng) -> T {
        if self.left.is_empty() {
            self.left = self.items.clone();
            self.left.shuffle(rng);
        }
        self.left.pop().expect("decks are never empty")
    }
}

/// Deals targets per kind as a Latin square: every cycle of five draws of a
/// kind hits the five targets once each, in a shuffled order that each kind
/// starts at a different place. So within a run, the targets each kind left
/// out are different ones, and every target comes up about as often overall.
/// With datacenters, `dc` is a sixth target (a cluster without them draws
/// exactly as before).
struct Targets {
    aims: Vec<Aim>,
    orders: Vec<Vec<Aim>>,
    dealt: std::collections::BTreeMap<Kind, usize>,
}

impl Targets {
    fn new(dcs: bool) -> Targets {
        let mut aims = AIMS.to_vec();
        if dcs {
            aims.push(Aim::Dc);
        }
        Targets {
            aims,
            orders: Vec::new(),
            dealt: Default::default(),
        }
    }

    fn draw(&mut self, kind: Kind, rng: &mut ChaCha8Rng) -> Aim {
        let k = self.aims.len();
        let n = self.dealt.entry(kind).or_default();
        let (cycle, pos) = (*n / k, *n % k);
        *n += 1;
        while self.orders.len() <= cycle {
            let mut order = self.aims.clone();
            order.shuffle(rng);
            self.orders.push(order);
        }
        self.orders[cycle][(pos + kind as usize) % k]
    }
}

/// The cluster a schedule is drawn for: its node count and its datacenters
/// (node indices, each node in one; empty when it has fewer than two).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cluster {
    pub nodes: usize,
    pub dcs: Vec<Vec<usize>>,
}

/// The fault `f` with `target` (drawn by the caller when not fixed) and its undo.
fn start(f: Fault, target: Aim, rng: &mut ChaCha8Rng, c: &Cluster, iv: u64) -> (Action, Action) {
    let n = c.nodes;
    match f.kind {
        Kind::Partition => {
            let (shape, cut) = shape(rng, target);
            let seed = rng.gen();
            (
                Action::Partition {
                    target,
                    shape,
                    cut,
                    seed,
                    nodes: None,
                },
                Action::Heal,
            )
        }
        Kind::Kill => {
            let victims = target.draw_in(rng, n, &c.dcs);
            (Action::Kill { target, victims }, Action::Restart)
        }
        Kind::Pause => {
            let victims = target.draw_in(rng, n, &c.dcs);
            (Action::Pause { target, victims }, Action::Resume)
        }
        Kind::Clock => {
            let victims = target.draw_in(rng, n, &c.dcs);
            (clock(rng, target, victims, n, iv), Action::ClockReset)
        }
        Kind::ClockDrift => {
            let target = if f.aim.is_none() && rng.gen_bool(DRIFT_AT_LEADER) {
                Aim::Leader
            } else {
                target
            };
            let victims = target.draw_in(rng, n, &c.dcs);
            let permille = rng.gen_range(DRIFT_PERMILLE);
            (
                Action::ClockDrift {
                    target,
                    victims,
                    permille,
                },
                Action::ClockRateReset,
            )
        }
        Kind::Delay => {
            // 16 to 512 ms, log-uniform, and up to as much again of jitter.
            let delay_ms = 2f64.powf(rng.gen_range(4.0..9.0)).round() as u64;
            let jitter_ms = rng.gen_range(0..=delay_ms);
            let target = Aim::All;
            (
                Action::Delay {
                    target,
                    delay_ms,
                    jitter_ms,
                },
                Action::PacketHeal,
            )
        }
        Kind::Rebalance => (Action::Rebalance { seed: rng.gen() }, Action::Heal),
        Kind::Loss => {
            let percent = rng.gen_range(5..=50);
            (
                Action::Loss {
                    target: Aim::All,
                    percent,
                },
                Action::PacketHeal,
            )
        }
    }
}

/// Which stream a kind runs in: process faults, network faults, clock faults.
/// Streams run side by side (as Jepsen's combined nemesis interleaves its
/// packages), so faults of different streams overlap; within a stream they
/// never do, so every undo undoes exactly the fault before it.
fn stream(k: Kind) -> usize {
    match k {
        Kind::Kill | Kind::Pause => 0,
        Kind::Partition | Kind::Delay | Kind::Loss => 1,
        Kind::Clock | Kind::ClockDrift => 2,
        Kind::Rebalance => 3,
    }
}

/// The whole schedule for a client phase of `limit`. Each stream (see
/// [`stream`]) that has faults runs a fault every 1.5 intervals (start at t,
/// undo at t + interval, next start half an interval later), the streams
/// staggered by a third of an interval; the steps are merged by time. Empty
/// when `faults` is empty. Each stream deals its faults from a deck and their
/// targets from a Latin square ([`Targets`]), so a short run still covers
/// every kind and target.
///
/// Clock drift is the exception: alone it harms nothing (a slow leader that
/// still hears its followers is a fine leader), so when another fault of its
/// stream fits after it, its undo waits until that fault's undo (same offset,
/// just after it), which lets partitions of the network stream land while
/// clocks are slowed. A drift that follows a drift is preceded by the first
/// one's undo (at most one drift in place). Streams start clocks first, then
/// the network, then processes, a third of an interval apart; a process fault
/// is undone by the start of the next cycle (5/6 of an interval), so the next
/// clock fault finds the leader running. At the same offset undos run first.
/// Invariant: every fault started is undone within `limit`, and offsets never
/// decrease.
pub fn plan(seed: u64, faults: &[Fault], nodes: usize, interval: Duration, limit: Duration) -> Vec<Step> {
    let c = Cluster {
        nodes,
        dcs: Vec::new(),
    };
    plan_in(seed, faults, &c, interval, limit)
}

/// [`plan`] for a cluster with datacenters: faults without a fixed target
/// draw `dc` as well (every node of one datacenter; a partition between
/// datacenters), so the default mix of a multi-leader run includes them.
pub fn plan_in(seed: u64, faults: &[Fault], c: &Cluster, interval: Duration, limit: Duration) -> Vec<Step> {
    let mut out = Vec::new();
    if faults.is_empty() || c.nodes == 0 || interval.is_zero() {
        return out;
    }
    let iv = (interval.as_millis() as u64).max(1);
    // The clock stream first: the network stream focuses on what it hit, and
    // the process stream defers its fault in the focused cycles of a drift.
    let mut cycles = focus::Cycles::default();
    for g in [2u64, 1, 0, 3] {
        let mine: Vec<Fault> = faults
            .iter()
            .copied()
            .filter(|f| stream(f.kind) as u64 == g)
            .collect();
        if !mine.is_empty() {
            // Clocks first, then the network, then processes (and moves of
            // a sharded store): a clock fault aimed at the leader is in place
            // when a partition of the same cycle isolates it (a lease granted
            // under a slowed clock outlives its election timeout), instead of
            // landing on an already isolated node whose lease had run out.
            let slot = [2, 1, 0, 0][g as usize];
            let offset = slot * iv / 3;
            let spec = StreamSpec {
                seed: seed ^ g.wrapping_mul(0x9e37_79b9),
                iv,
                offset,
                limit,
            };
            out.extend(plan_stream(&spec, &mine, c, g, &mut cycles));
        }
    }
    // At the same instant, what ends a fault runs before what starts one: a cycle's
    // clock fault aimed at the leader would find it still paused or killed by the last
    // cycle's process fault, whose undo is due at that instant, and hit nothing.
    out.sort_by_key(|s| (s.at_ms, !s.action.is_undo()));
    out
}

/// The partition of a focused cycle (see [`focus`]), or `None` when the cycle
/// does not focus on `hit`.
fn focused_partition(hit: &focus::Hit, drift: bool, rng: &mut ChaCha8Rng, n: usize) -> Option<Action> {
    let (target, nodes) = focus::draw(hit, drift, rng, n)?;
    let (drawn, cut) = shape(rng, target);
    let cut = if drift { Cut::Both } else { cut };
    let seed = rng.gen();
    Some(Action::Partition {
        target,
        shape: focus::side_shape(drawn, nodes.as_deref(), n),
        cut,
        seed,
        nodes,
    })
}

/// The next fault of a stream's deck, its target dealt unless fixed, and its undo.
fn dealt(
    deck: &mut Deck<Fault>,
    targets: &mut Targets,
    rng: &mut ChaCha8Rng,
    c: &Cluster,
    iv: u64,
) -> (Fault, Action, Action) {
    let f = deck.draw(rng);
    let target = match f.aim {
        Some(a) => a,
        None if f.kind.is_packet() => Aim::All,
        None => targets.draw(f.kind, rng),
    };
    let (s, undo) = start(f, target, rng, c, iv);
    (f, s, undo)
}

/// One stream's timing: its rng seed, the interval, its offset in a cycle and
/// the client phase's length.
struct StreamSpec {
    seed: u64,
    iv: u64,
    offset: u64,
    limit: Duration,
}

/// One stream (number `g`, see [`stream`]) of [`plan`], its first fault at
/// `offset` + half an interval. The clock stream records in `cycles` what each
/// cycle's fault hit; the network stream may aim its fault there and records
/// the cycles whose process fault waits for the partition's heal ([`focus`]).
fn plan_stream(
    spec: &StreamSpec,
    faults: &[Fault],
    c: &Cluster,
    g: u64,
    cycles: &mut focus::Cycles,
) -> Vec<Step> {
    use rand::SeedableRng;
    let (iv, offset) = (spec.iv, spec.offset);
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed ^ 0x006e_656d_6573_6973);
    let mut out = Vec::new();
    let gap = (iv / 2).max(1);
    let limit_ms = spec.limit.as_millis() as u64;
    let mut t = gap + offset;
    let mut drift_undo: Option<Action> = None;
    let mut deck = Deck::new(faults);
    let mut targets = Targets::new(c.dcs.len() >= 2);
    let can_focus = faults
        .iter()
        .any(|f| f.kind == Kind::Partition && f.aim.is_none());
    let mut cycle = 0usize;
    while t + iv <= limit_ms {
        let k = cycle;
        cycle += 1;
        // A deferred process fault: from the focused partition's heal, as
        // long, undone before the stream's next fault (none if that would
        // outlast the client phase).
        let deferred = g == 0 && cycles.defers(k);
        // No fault outlasts its cycle: the next cycle starts with the clock
        // stream's fault, and one aimed at the leader finds nothing to hit
        // while the process stream still has the leader (or every node)
        // paused or killed; it waited out its 2 s for a leader and missed.
        let lasts = iv.min(iv + gap - offset);
        let (start_at, lasts) = if deferred {
            (t + focus::DEFER_THIRDS * iv / 3, focus::DEFER_THIRDS * iv / 3)
        } else {
            (t, lasts)
        };
        if deferred && start_at + lasts > limit_ms {
            t += iv + gap;
            continue;
        }
        let focused = match cycles.hit(k) {
            Some(hit) if g == 1 && can_focus => focused_partition(hit, cycles.drift(k), &mut rng, c.nodes),
            _ => None,
        };
        if g == 1 {
            cycles.defer.push(focused.is_some() && cycles.drift(k));
        }
        let (f, s, undo) = match focused {
            Some(p) => (
                Fault {
                    kind: Kind::Partition,
                    aim: None,
                },
                p,
                Action::Heal,
            ),
            None => dealt(&mut deck, &mut targets, &mut rng, c, iv),
        };
        if g == 2 {
            cycles.clock.push((s.hit(), f.kind == Kind::ClockDrift));
        }
        if f.kind == Kind::ClockDrift {
            // One drift at a time: the last one's clocks run at real time
            // again first. Piled-up drifts leave several nodes' clocks slow
            // at once, and slow voters stall elections for many timeouts.
            if let Some(prev) = drift_undo.take() {
                out.push(Step {
                    at_ms: t,
                    action: prev,
                });
            }
        }
        out.push(Step {
            at_ms: start_at,
            action: s,
        });
        if f.kind == Kind::Rebalance {
            // A move has no undo: the next one comes an interval later.
            t += iv;
            continue;
        }
        let undo_at = start_at + lasts;
        if f.kind == Kind::ClockDrift && undo_at + gap + iv <= limit_ms {
            // Another fault follows at undo_at + gap: the drift outlasts it.
            drift_undo = Some(undo);
        } else {
            let pending = drift_undo.take();
            for action in std::iter::once(undo).chain(pending) {
                out.push(Step {
                    at_ms: undo_at,
                    action,
                });
            }
        }
        t += iv + gap;
    }
    out
}

#[cfg(test)]
#[path = "schedule_tests.rs"]
mod tests;
