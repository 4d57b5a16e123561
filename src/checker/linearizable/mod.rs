//! Linearizability checking: a Wing-Gong-Lowe search with memoisation
//! ([`search`]), per-key partitions checked in parallel ([`partition`]), and
//! a witness a person can follow ([`witness`]).
//!
//! Soundness of partitioning: linearizability is P-compositional, so a keyed
//! history is linearizable iff each key's sub-history is. With
//! `CheckOptions::partition` off, the whole history is one map-valued state
//! ([`crate::model::Keyed`]). Budgets (`time_limit`, `memory_limit`) turn into
//! `unknown` naming the undecided keys; the first invalid partition stops the
//! others.

mod cache;
mod compile;
mod partition;
mod search;
mod witness;

pub use compile::{prepare, reduce, Prepared};
pub use partition::{partitions, Item, Partition};
pub use search::{search, Entry, Limits, Outcome, Search, Stats, Stuck};

use super::{Anomaly, CheckOptions, Checker, InputError, Validity, Verdict};
use crate::history::{History, PairingError};
use crate::model::{
    infer, CasRegister, FifoQueue, Keyed, Kv, Model, ModelError, ModelKind, Mutex, Register, Set,
};
use rayon::prelude::*;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;
use thiserror::Error;

const NAME: &str = "linearizable";

/// Bad input for this checker (the CLI maps it to exit code 3).
#[derive(Debug, Error)]
pub enum LinError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Pairing(#[from] PairingError),
    #[error("cannot start the worker pool: {0}")]
    Pool(String),
}

/// The linearizability checker; the model comes from [`CheckOptions::model`]
/// or is inferred from the f names.
pub struct Linearizable;

impl Checker for Linearizable {
    fn name(&self) -> &str {
        NAME
    }
    fn check(&self, h: &History, opts: &CheckOptions) -> Verdict {
        check(h, opts).unwrap_or_else(|e| Verdict::unknown(NAME, format!("cannot check: {e}")))
    }
    fn validate(&self, h: &History, opts: &CheckOptions) -> Result<(), InputError> {
        validate(h, opts).map(|_| ()).map_err(|e| InputError {
            index: e.index(),
            message: e.to_string(),
        })
    }
}

impl LinError {
    /// The history index of the op to blame, when one is.
    pub fn index(&self) -> Option<u64> {
        match self {
            LinError::Model(e) => e.index(),
            LinError::Pairing(e) => Some(e.index()),
            LinError::Pool(_) => None,
        }
    }
}

/// The model `opts` names, or the one inferred from the f names (and whether it was inferred).
fn model_kind(h: &History, opts: &CheckOptions) -> Result<(ModelKind, bool), ModelError> {
    match &opts.model {
        Some(m) => Ok((ModelKind::parse(m)?, false)),
        None => Ok((infer(h)?, true)),
    }
}

/// Evaluates `$body` with the type `$m` standing for the model of `$kind`.
macro_rules! with_model {
    ($kind:expr, $m:ident => $body:expr) => {
        match $kind {
            ModelKind::Register => {
                type $m = Register;
                $body
            }
            ModelKind::CasRegister => {
                type $m = CasRegister;
                $body
            }
            ModelKind::Kv => {
                type $m = Kv;
                $body
            }
            ModelKind::Set => {
                type $m = Set;
                $body
            }
            ModelKind::FifoQueue => {
                type $m = FifoQueue;
                $body
            }
            ModelKind::Mutex => {
                type $m = Mutex;
                $body
            }
        }
    };
}

/// Checks, without searching, that the model exists and every op compiles
/// for it: what [`check`] would otherwise only report as `unknown`.
pub fn validate(h: &History, opts: &CheckOptions) -> Result<ModelKind, LinError> {
    let (kind, _) = model_kind(h, opts)?;
    let parts = partitions(h, true)?;
    with_model!(kind, M => {
        for p in &parts {
            prepare(&mut M::default(), h, &p.items)?;
        }
    });
    Ok(kind)
}

/// The result of one partition.
enum PartVerdict {
    Valid,
    Invalid(Box<Anomaly>),
    Unknown(String),
    Cancelled,
}

struct PartReport {
    key: Option<String>,
    verdict: PartVerdict,
    ops: usize,
    /// Indeterminate ops left out before the search ([`reduce`]).
    dropped: usize,
    stats: Stats,
}

/// Checks `h`; `Err` only for bad input (unknown model, malformed op, bad pairing).
pub fn check(h: &History, opts: &CheckOptions) -> Result<Verdict, LinError> {
    let start = Instant::now();
    let (kind, inferred) = model_kind(h, opts)?;
    let keyed = h.client_ops().any(|o| o.key.is_some());
    let parts = partitions(h, opts.partition)?;
    let keyed_state = keyed && !opts.partition;
    let run = || -> Result<Vec<PartReport>, LinError> {
        with_model!(kind, M => if keyed_state {
            run_all::<Keyed<M>>(h, parts, opts, start)
        } else {
            run_all::<M>(h, parts, opts, start)
        })
    };
    let reports = if opts.threads > 0 {
        rayon::ThreadPoolBuilder::new()
            .num_threads(opts.threads)
            .build()
            .map_err(|e| LinError::Pool(e.to_string()))?
            .install(run)?
    } else {
        run()?
    };
    let mut v = summarise(h, kind, inferred, opts.partition && keyed, reports);
    v.elapsed_ms = start.elapsed().as_secs_f64() * 1000.0;
    Ok(v)
}

/// One partition in flight.
struct Task<M: Model> {
    key: Option<String>,
    model: M,
    entries: Vec<Entry<M::Op>>,
    items: Vec<Item>,
    search: Option<Search<M>>,
    /// The only partition of the check.
    alone: bool,
    dropped: usize,
    stats: Stats,
    done: Option<PartVerdict>,
}

/// First quantum of steps per partition; it grows 4x per round.
const FIRST_QUANTUM: u64 = 20_000;

/// Checks every partition. Rounds of growing step quanta interleave the
/// partitions (in parallel within a round), so an easy violation on one key
/// stops the search on a hard key instead of waiting behind it.
fn run_all<M: Model>(
    h: &History,
    parts: Vec<Partition>,
    opts: &CheckOptions,
    start: Instant,
) -> Result<Vec<PartReport>, LinError> {
    let stop = AtomicBool::new(false);
    let used = AtomicU64::new(0);
    let budget = Limits {
        deadline: opts.time_limit.map(|t| start + t),
        memory_limit: opts.memory_limit,
        memory_used: &used,
        stop: &stop,
    };
    let mut tasks: Vec<Task<M>> = parts
        .into_par_iter()
        .map(|p| {
            let mut model = M::default();
            let prepared = prepare(&mut model, h, &p.items)?;
            let ((entries, items), dropped) = reduce(&model, prepared);
            Ok(Task {
                key: p.key,
                model,
                entries,
                items,
                search: None,
                alone: false,
                dropped,
                stats: Stats::default(),
                done: None,
            })
        })
        .collect::<Result<_, LinError>>()?;
    // Big partitions first within a round: better load balance.
    tasks.sort_by_key(|t| std::cmp::Reverse(t.entries.len()));
    if let [only] = tasks.as_mut_slice() {
        only.alone = true;
    }
    let mut quantum = FIRST_QUANTUM;
    while tasks.iter().any(|t| t.done.is_none()) {
        tasks
            .par_iter_mut()
            .filter(|t| t.done.is_none())
            .for_each(|t| step_task(h, t, &budget, quantum));
        quantum = quantum.saturating_mul(4);
    }
    Ok(tasks
        .into_iter()
        .map(|t| PartReport {
            key: t.key,
            ops: t.entries.len(),
            dropped: t.dropped,
            stats: t.stats,
            verdict: t.done.unwrap_or(PartVerdict::Cancelled),
        })
        .collect())
}

fn step_task<M: Model>(h: &History, t: &mut Task<M>, budget: &Limits<'_>, quantum: u64) {
    if budget.stop.load(Ordering::Relaxed) {
        t.search = None;
        t.done = Some(PartVerdict::Cancelled);
        return;
    }
    // A lone partition records its witness on the first pass (saves a second
    // search); among many, the copies would cost more than the rare re-run.
    let witness = t.alone;
    let search = t
        .search
        .get_or_insert_with(|| Search::new(&mut t.model, &t.entries, witness));
    let Some(outcome) = search.run(&mut t.model, &t.entries, budget, quantum) else {
        return;
    };
    t.stats = search.stats;
    t.search = None; // frees the cache
    t.done = Some(match outcome {
        Outcome::Linearizable => PartVerdict::Valid,
        Outcome::Cancelled => PartVerdict::Cancelled,
        Outcome::OutOfBudget(why) => PartVerdict::Unknown(why),
        Outcome::Violation(Some(stuck)) => {
            budget.stop.store(true, Ordering::Relaxed);
            PartVerdict::Invalid(Box::new(witness::anomaly(
                h,
                &mut t.model,
                t.key.as_deref(),
                &t.entries,
                &t.items,
                Some(&stuck),
            )))
        }
        Outcome::Violation(None) => {
            budget.stop.store(true, Ordering::Relaxed);
            // Search again, recording the furthest point reached; its own stop
            // flag, so the early stop of others does not cut it short.
            let own_stop = AtomicBool::new(false);
            let again = Limits {
                stop: &own_stop,
                ..*budget
            };
            let stuck = match search::search(&mut t.model, &t.entries, &again, true).0 {
                Outcome::Violation(s) => s,
                _ => None,
            };
            PartVerdict::Invalid(Box::new(witness::anomaly(
                h,
                &mut t.model,
                t.key.as_deref(),
                &t.entries,
                &t.items,
                stuck.as_ref(),
            )))
        }
    });
}

fn key_name(k: &Option<String>) -> Value {
    match k {
        Some(k) => Value::String(k.clone()),
        None => Value::Null,
    }
}

fn summarise(
    h: &History,
    kind: ModelKind,
    inferred: bool,
    partitioned: bool,
    reports: Vec<PartReport>,
) -> Verdict {
    let ops: usize = reports.iter().map(|r| r.ops).sum();
    let dropped: usize = reports.iter().map(|r| r.dropped).sum();
    let steps: u64 = reports.iter().map(|r| r.stats.steps).sum();
    let cached: usize = reports.iter().map(|r| r.stats.cache_entries).sum();
    let mut invalid_keys = Vec::new();
    let mut undecided = Vec::new();
    let mut unchecked = Vec::new();
    let mut reasons = Vec::new();
    let mut anomalies = Vec::new();
    for r in reports {
        match r.verdict {
            PartVerdict::Valid => {}
            PartVerdict::Invalid(a) => {
                invalid_keys.push(key_name(&r.key));
                anomalies.push(*a);
            }
            PartVerdict::Unknown(why) => {
                undecided.push(key_name(&r.key));
                if !reasons.contains(&why) {
                    reasons.push(why);
                }
            }
            PartVerdict::Cancelled => unchecked.push(key_name(&r.key)),
        }
    }
    let mut model = format!(
        "model {}{}",
        kind.name(),
        if inferred {
            " (inferred from the f names)"
        } else {
            ""
        }
    );
    if dropped > 0 {
        model.push_str(&format!(
            "; {dropped} indeterminate op(s) no other op could observe left out"
        ));
    }
    let (valid, summary) = if !anomalies.is_empty() {
        (
            Validity::Invalid,
            if partitioned {
                format!("not linearizable: {} key(s) violate the {model}", anomalies.len())
            } else {
                format!("not linearizable: the history violates the {model}")
            },
        )
    } else if !undecided.is_empty() {
        (
            Validity::Unknown,
            format!(
                "undecided: {} for {} key(s) ({model})",
                reasons.join("; "),
                undecided.len()
            ),
        )
    } else if ops == 0 {
        (
            Validity::Valid,
            format!("linearizable: no client ops to check ({model})"),
        )
    } else {
        (Validity::Valid, format!("linearizable: {ops} ops ({model})"))
    };
    let mut v = Verdict::new(NAME, valid, summary).with_details(json!({
        "model": kind.name(),
        "model_inferred": inferred,
        "partitioned": partitioned,
        "history_ops": h.len(),
        "ops_checked": ops,
        "unobserved_info_ops_left_out": dropped,
        "steps": steps,
        "cached_states": cached,
        "invalid_keys": invalid_keys,
        "undecided_keys": undecided,
        "unchecked_keys": unchecked,
        "unknown_reasons": reasons,
    }));
    for a in anomalies {
        v.push_anomaly(a);
    }
    v
}
