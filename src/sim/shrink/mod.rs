//! Shrinking a failing seed (`faultline sim --shrink SEED`): the seed's run, then smaller
//! and smaller variants of it, each simulated from scratch, keeping a variant only if the
//! same checker still reports the same anomaly kind ([`Signature`]).
//!
//! The seed's fault schedule is made explicit first (`TestConfig::faults`: the very steps
//! `nemesis::plan` drew, so the first variant is the seed's run, event for event); then the
//! faults are reduced (ddmin over which faults to keep, each fault shortened, all of them
//! moved earlier), then the operations (fewer clients, an op budget `ops`, a shorter client
//! phase). Both rounds repeat until neither changes anything. The result is a config, so it
//! is written as a plan file that `faultline test --sim --plan FILE` replays.

pub mod ddmin;
pub mod faults;

use super::run::admitted;
use super::sweep::anomaly_line;
use super::{simulate, SimError};
use crate::checker::{Composed, Validity};
use crate::history::{History, OpType, Process};
use crate::nemesis::{Fault, Kinds, Step};
use crate::runner::TestConfig;
use crate::util::Secs;
use ddmin::{ddmin, descend, Parallel};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The anomaly class a shrunk case must keep: the first checker that found the seed
/// invalid and the kind of its first anomaly (empty if it named none).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    pub checker: String,
    pub kind: String,
}

impl Signature {
    pub fn of(c: &Composed) -> Option<Signature> {
        let v = c.results.iter().find(|v| v.valid == Validity::Invalid)?;
        Some(Signature {
            checker: v.checker.clone(),
            kind: v.anomalies.first().map(|a| a.kind.clone()).unwrap_or_default(),
        })
    }

    /// Whether `c` shows this anomaly: the same checker invalid, with an anomaly of this kind.
    pub fn holds(&self, c: &Composed) -> bool {
        c.results.iter().any(|v| {
            v.checker == self.checker
                && v.valid == Validity::Invalid
                && (self.kind.is_empty() || v.anomalies.iter().any(|a| a.kind == self.kind))
        })
    }
}

impl std::fmt::Display for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.kind.is_empty() {
            write!(f, "{} invalid", self.checker)
        } else {
            write!(f, "{}: {}", self.checker, self.kind)
        }
    }
}

/// Client operations in a history (invocations, final reads included).
pub fn client_ops(h: &History) -> usize {
    h.ops
        .iter()
        .filter(|o| o.ty == OpType::Invoke && matches!(o.process, Process::Client(_)))
        .count()
}

/// What one simulation of a config showed.
pub struct Trial {
    pub composed: Composed,
    pub faults: usize,
    pub ops: usize,
}

/// Simulates and checks `cfg`.
pub fn trial(cfg: &TestConfig) -> Result<Trial, SimError> {
    let s = simulate(cfg, None, false)?;
    let composed = s.check(cfg)?;
    let faults = crate::runner::faults::count(&admitted(cfg)?.schedule(cfg.system.nodes));
    Ok(Trial {
        composed,
        faults,
        ops: client_ops(&s.history),
    })
}

/// A finished shrink.
pub struct Shrunk {
    pub signature: Signature,
    /// The seed's run with its schedule made explicit, and the smallest variant found.
    pub before: TestConfig,
    pub after: TestConfig,
    pub faults: [usize; 2],
    pub ops: [usize; 2],
    /// The smallest variant's anomaly, as a sweep prints it.
    pub anomaly: String,
    /// Simulations run.
    pub runs: usize,
}

pub enum Outcome {
    /// The seed's run is not invalid (its verdict): nothing to shrink.
    Passes(Validity),
    Shrunk(Box<Shrunk>),
}

/// Shrinks `cfg`'s seed on `threads` threads (0: one per core), calling `note` on every
/// reduction kept.
pub fn shrink(cfg: &TestConfig, threads: usize, note: &(dyn Fn(&str) + Sync)) -> Result<Outcome, SimError> {
    let first = trial(cfg)?;
    let Some(signature) = Signature::of(&first.composed) else {
        return Ok(Outcome::Passes(first.composed.valid));
    };
    let mut before = admitted(cfg)?;
    before.faults = Some(before.schedule(before.system.nodes));
    before.nemesis = kinds_of(before.faults.as_deref().unwrap_or_default());
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| SimError::Config(format!("cannot start the shrinker's threads: {e}")))?;
    let s = Shrinker {
        signature,
        runs: AtomicUsize::new(1),
        pool,
        note,
    };
    if !s.fails(&before) {
        return Err(SimError::Config(format!(
            "seed {}: the seed's schedule, made explicit, no longer shows {} (a simulator bug: please report it)",
            cfg.seed, s.signature
        )));
    }
    note(&format!(
        "seed {}: {}; {} faults, {} client ops",
        cfg.seed, s.signature, first.faults, first.ops
    ));
    let mut cur = before.clone();
    cur.ops = Some(first.ops as u64);
    for _ in 0..4 {
        let was = cur.clone();
        cur = s.fault_round(cur);
        cur = s.op_round(cur);
        if cur == was {
            break;
        }
    }
    let last = trial(&cur)?;
    let anomaly = anomaly_line(&last.composed).unwrap_or_else(|| s.signature.to_string());
    Ok(Outcome::Shrunk(Box::new(Shrunk {
        signature: s.signature,
        before,
        faults: [first.faults, last.faults],
        ops: [first.ops, last.ops],
        after: cur,
        anomaly,
        runs: s.runs.load(Ordering::Relaxed) + 1,
    })))
}

/// The fault kinds a list uses, as `nemesis` names them (`none` for an empty list).
pub fn kinds_of(steps: &[Step]) -> Kinds {
    let mut faults: Vec<Fault> = steps
        .iter()
        .filter_map(|s| crate::runner::faults::kind_of(&s.action))
        .map(|kind| Fault { kind, aim: None })
        .collect();
    faults.sort();
    faults.dedup();
    if faults.is_empty() {
        Kinds::none()
    } else {
        Kinds::new(faults)
    }
}

struct Shrinker<'a> {
    signature: Signature,
    runs: AtomicUsize,
    pool: rayon::ThreadPool,
    note: &'a (dyn Fn(&str) + Sync),
}

fn with_faults(cfg: &TestConfig, steps: Vec<Step>) -> TestConfig {
    TestConfig {
        nemesis: kinds_of(&steps),
        faults: Some(steps),
        ..cfg.clone()
    }
}

fn steps(cfg: &TestConfig) -> Vec<Step> {
    cfg.faults.clone().unwrap_or_default()
}

impl Shrinker<'_> {
    /// Whether `cfg` still shows the anomaly (a config that cannot run does not).
    fn fails(&self, cfg: &TestConfig) -> bool {
        self.runs.fetch_add(1, Ordering::Relaxed);
        trial(cfg).is_ok_and(|t| self.signature.holds(&t.composed))
    }

    fn first(&self) -> Parallel<'_> {
        Parallel(&self.pool)
    }

    fn kept(&self, what: &str, cfg: &TestConfig) {
        let f = crate::runner::faults::count(&steps(cfg));
        (self.note)(&format!(
            "  {what}: {f} faults, ops budget {}, {} clients at {} ops/s, {} s",
            cfg.ops.map_or("-".into(), |o| o.to_string()),
            cfg.concurrency,
            cfg.rate,
            cfg.time_limit
        ));
    }

    /// Fewer faults (ddmin), each shorter, all earlier.
    fn fault_round(&self, cfg: TestConfig) -> TestConfig {
        let all = steps(&cfg);
        let keep = ddmin(
            faults::starts(&all),
            &|keep: &[usize]| self.fails(&with_faults(&cfg, faults::keep_only(&all, keep))),
            &self.first(),
        );
        let mut cfg = with_faults(&cfg, faults::keep_only(&all, &keep));
        self.kept("faults kept", &cfg);
        for k in 0..faults::starts(&steps(&cfg)).len() {
            let list = steps(&cfg);
            let start = faults::starts(&list)[k];
            let Some(undo) = faults::undo_index(&list, start) else {
                continue;
            };
            let lasts = list[undo].at_ms - list[start].at_ms;
            let fails = |ms: &u64| {
                faults::shorten(&list, start, *ms).is_some_and(|l| self.fails(&with_faults(&cfg, l)))
            };
            let ms = descend(lasts, 1, &fails, &self.first());
            if let Some(l) = faults::shorten(&list, start, ms) {
                cfg = with_faults(&cfg, l);
            }
        }
        let list = steps(&cfg);
        if let Some(&i) = faults::starts(&list).first() {
            let at = list[i].at_ms;
            let fails = |v: &u64| self.fails(&with_faults(&cfg, faults::earlier(&list, at - v)));
            let v = descend(at, 0, &fails, &self.first());
            cfg = with_faults(&cfg, faults::earlier(&list, at - v));
        }
        self.kept("faults shortened", &cfg);
        cfg
    }

    /// Fewer clients, fewer ops, a shorter client phase.
    fn op_round(&self, cfg: TestConfig) -> TestConfig {
        let mut cfg = cfg;
        let clients = |c: &u64| {
            self.fails(&TestConfig {
                concurrency: *c as usize,
                ..cfg.clone()
            })
        };
        cfg.concurrency = descend(cfg.concurrency as u64, 1, &clients, &self.first()) as usize;
        cfg = self.fewer_ops(cfg);
        // Slower clients spread the same ops over more time, so ops that only filled the
        // time before the faults can go; then the budget again.
        if cfg.rate >= 2.0 {
            let rate = |r: &u64| {
                self.fails(&TestConfig {
                    rate: *r as f64,
                    ..cfg.clone()
                })
            };
            let r = descend(cfg.rate.floor() as u64, 1, &rate, &self.first());
            if (r as f64) < cfg.rate.floor() {
                cfg.rate = r as f64;
                cfg = self.fewer_ops(cfg);
            }
        }
        let tenths = (cfg.time_limit.get() * 10.0).ceil() as u64;
        let shorter = |t: u64| {
            let limit = Secs::new(t as f64 / 10.0).unwrap_or(cfg.time_limit);
            let list = faults::within(&steps(&cfg), t * 100);
            TestConfig {
                time_limit: limit,
                ..with_faults(&cfg, list)
            }
        };
        let t = descend(tenths, 1, &|t: &u64| self.fails(&shorter(*t)), &self.first());
        if t < tenths {
            cfg = shorter(t);
        }
        self.kept("ops reduced", &cfg);
        cfg
    }

    /// The smallest op budget that still fails.
    fn fewer_ops(&self, cfg: TestConfig) -> TestConfig {
        let Some(budget) = cfg.ops else { return cfg };
        let ops = |b: &u64| {
            self.fails(&TestConfig {
                ops: Some(*b),
                ..cfg.clone()
            })
        };
        TestConfig {
            ops: Some(descend(budget, 1, &ops, &self.first())),
            ..cfg
        }
    }
}
