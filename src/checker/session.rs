//! Session guarantees per client process on register histories:
//! read-your-writes, monotonic reads, monotonic writes, writes-follow-reads
//! and consistent prefix, each named with the pair of ops that breaks it.
//!
//! Sessions are per process number (a client that got `info` continues under a
//! new number, so a new session). Versions are ordered only where certain (see
//! [`super::register`]): `a` precedes `b` when `a`'s write was acknowledged
//! before `b`'s was invoked. That is the order of any store whose writes take
//! effect within their call (any leader-based store); a store that reorders
//! writes against real time (last-write-wins on skewed clocks) may be reported
//! here for what is really a lost update. Rules, for a read `r` of key `k`
//! returning `u`, each only when `u` certainly precedes the floor:
//! - read-your-writes: the session's last write to `k` (pair: that write, `r`);
//! - monotonic reads: the session's last read of `k` (pair: that read, `r`);
//! - monotonic writes: the writer of a value the session read had, before that
//!   write, written `k` (pair: the two writes; the reads are evidence);
//! - writes-follow-reads: the writer of a value the session read had, before
//!   that write, read `k` (pair: that read, the write);
//! - consistent prefix: the session read a value whose write began after some
//!   other write to `k` was acknowledged (pair: the read that saw the later
//!   write, `r`).
//!
//! Dependencies of a write are the writer's last [`DEPS`] ops on other keys.

use super::register::{index_writes, KeyWrites, Source};
use super::span::{over_budget, spans, Outcome, Span};
use super::{Anomaly, CheckOptions, Checker, Verdict};
use crate::history::History;
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

const MAX_LISTED: usize = 100;
/// How many of a writer's previous ops (on other keys) a write depends on.
pub const DEPS: usize = 4;

pub struct Session;

/// A lower bound a session has established for a key, and where it came from.
#[derive(Clone, Debug)]
struct Floor {
    src: Source,
    /// Position (in spans) of the op that set the floor.
    by: usize,
    /// For dependency floors: the read through which the session learned it.
    via: Option<usize>,
    kind: &'static str,
}

/// A writer's earlier op on another key: (key, source of the value, span, was it a write).
type Dep = (u32, Source, usize, bool);

impl Checker for Session {
    fn name(&self) -> &str {
        "session"
    }

    fn check(&self, h: &History, opts: &CheckOptions) -> Verdict {
        let started = Instant::now();
        let all = match spans(h) {
            Ok(s) => s,
            Err(e) => return Verdict::unknown("session", format!("history cannot be paired: {e}")),
        };
        let writes = index_writes(&all);
        let empty = KeyWrites::default();
        let (key_of, kws) = key_ids(&all, &writes, &empty);
        let deps = write_deps(&all, &key_of, &kws);
        let sessions = sessions_of(&all);
        let mut walk = Walk {
            all: &all,
            key_of: &key_of,
            kws: &kws,
            deps: &deps,
            v: Verdict::valid("session", ""),
            counts: BTreeMap::new(),
        };
        for (process, ops) in &sessions {
            if over_budget(opts, started) {
                return Verdict::unknown("session", super::time_ran_out());
            }
            walk.session(*process, ops);
        }
        let Walk { mut v, counts, .. } = walk;
        let total: usize = counts.values().sum();
        v.summary = if total == 0 {
            format!("{} sessions, no session guarantee broken", sessions.len())
        } else {
            format!(
                "{} sessions: {}",
                sessions.len(),
                counts
                    .iter()
                    .map(|(k, n)| format!("{n} {k}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        v.with_details(json!({"sessions": sessions.len(), "violations": counts}))
    }
}

/// Keys as small integers, resolved once per op (strings only for messages): each span's
/// key id, and the writes of each key id.
fn key_ids<'w>(
    all: &[Span],
    writes: &'w HashMap<String, KeyWrites>,
    empty: &'w KeyWrites,
) -> (Vec<u32>, Vec<&'w KeyWrites>) {
    let mut ids: HashMap<String, u32> = HashMap::new();
    let mut kws: Vec<&KeyWrites> = Vec::new();
    let key_of = all
        .iter()
        .map(|s| {
            let k = s.key_str();
            *ids.entry(k).or_insert_with_key(|k| {
                kws.push(writes.get(k).unwrap_or(empty));
                (kws.len() - 1) as u32
            })
        })
        .collect();
    (key_of, kws)
}

/// The sessions: each process's ok reads, writes and cas, in history order.
fn sessions_of(all: &[Span]) -> BTreeMap<u64, Vec<usize>> {
    let mut sessions: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    for (i, s) in all.iter().enumerate() {
        if s.outcome == Outcome::Ok && matches!(s.f, "read" | "write" | "cas") {
            sessions.entry(s.process).or_default().push(i);
        }
    }
    sessions
}

/// One session's knowledge: floors per key, and the latest start of a write it has read
/// (with that read), for consistent prefix.
#[derive(Default)]
struct SessionState {
    floors: HashMap<u32, Vec<Floor>>,
    seen_start: Option<(u64, usize)>,
}

/// The walk over all sessions: the indexed history, and the verdict so far.
struct Walk<'a, 'h> {
    all: &'a [Span<'h>],
    key_of: &'a [u32],
    kws: &'a [&'a KeyWrites],
    deps: &'a HashMap<usize, Vec<Dep>>,
    v: Verdict,
    counts: BTreeMap<&'static str, usize>,
}

impl Walk<'_, '_> {
    /// Walks one session's ops in order: writes raise floors; each read is held to them.
    fn session(&mut self, process: u64, ops: &[usize]) {
        let mut st = SessionState::default();
        for &i in ops {
            let s = &self.all[i];
            let kid = self.key_of[i];
            let kw = self.kws[kid as usize];
            if s.f != "read" {
                if let Some(w) = super::register::written_value(s) {
                    let src = kw.source(w);
                    let fl = st.floors.entry(kid).or_default();
                    fl.retain(|f| !kw.precedes(f.src, src));
                    fl.push(Floor {
                        src,
                        by: i,
                        via: None,
                        kind: "read-your-writes",
                    });
                }
                continue;
            }
            let u = kw.source(s.value);
            if !self.broken_floor(process, &st, i, u) {
                self.consistent_prefix(process, &st, i, u);
            }
            self.raise_floors(&mut st, i, u);
        }
    }

    /// Counts a violation of `kind`; lists it while fewer than [`MAX_LISTED`] are.
    fn found(&mut self, kind: &'static str, anomaly: impl FnOnce() -> Anomaly) {
        *self.counts.entry(kind).or_default() += 1;
        if self.counts[kind] <= MAX_LISTED {
            self.v.push_anomaly(anomaly());
        } else {
            self.v.valid = super::Validity::Invalid;
        }
    }

    /// Whether read `i` (of source `u`) breaks a floor of its key; reports the most
    /// specific guarantee it breaks (several floors may be broken at once).
    fn broken_floor(&mut self, process: u64, st: &SessionState, i: usize, u: Source) -> bool {
        let (all, kid) = (self.all, self.key_of[i]);
        let kw = self.kws[kid as usize];
        let Some(fl) = st.floors.get(&kid) else {
            return false;
        };
        let broken = fl
            .iter()
            .filter(|f| kw.precedes(u, f.src))
            .min_by_key(|f| priority(f.kind));
        let Some(f) = broken else { return false };
        let kind = match f.kind {
            "monotonic-reads" if same_writer(kw, u, f.src) => "monotonic-writes",
            k => k,
        };
        let s = &all[i];
        self.found(kind, || floor_anomaly(kind, process, &s.key_str(), f, s, all));
        true
    }

    /// Consistent prefix: read `i` returned a value older than a write acknowledged before
    /// the start of a write the session has already read.
    fn consistent_prefix(&mut self, process: u64, st: &SessionState, i: usize, u: Source) {
        let (all, kw) = (self.all, self.kws[self.key_of[i] as usize]);
        let Some((t, via)) = st.seen_start else { return };
        let Some((end, w)) = kw.first_acked_after(u) else {
            return;
        };
        if end >= t {
            return;
        }
        let s = &all[i];
        self.found("consistent-prefix", || {
            let newer = &all[kw.writes[w].span];
            let key = s.key_str();
            let mut ops = all[via].ops();
            ops.extend(s.ops());
            ops.extend(newer.ops());
            Anomaly {
                kind: "consistent-prefix".into(),
                explanation: format!(
                    "Process {process} read {} (op {}), whose write began after write {} to key {key} was acknowledged, then read {} from key {key} (op {}), older than that write: it saw a later write without an earlier one.",
                    all[via].value, all[via].inv, newer.inv, s.value, s.inv
                ),
                ops,
                data: json!({"process": process, "key": key, "pair": [all[via].inv, s.inv]}),
            }
        });
    }

    /// After read `i` of source `u`: raises its key's floor to `u`, then the floors of the
    /// keys the write it saw depended on.
    fn raise_floors(&self, st: &mut SessionState, i: usize, u: Source) {
        let (all, kid) = (self.all, self.key_of[i]);
        let kw = self.kws[kid as usize];
        let fl = st.floors.entry(kid).or_default();
        if !fl.iter().any(|f| kw.precedes(u, f.src)) {
            fl.retain(|f| !kw.precedes(f.src, u));
            fl.push(Floor {
                src: u,
                by: i,
                via: None,
                kind: "monotonic-reads",
            });
        }
        let Source::Write(w) = u else { return };
        let ws = kw.writes[w].span;
        let start = all[ws].start;
        if st.seen_start.is_none_or(|(t, _)| start > t) {
            st.seen_start = Some((start, i));
        }
        for (dk, dsrc, dspan, was_write) in self.deps.get(&ws).into_iter().flatten() {
            let dkw = self.kws[*dk as usize];
            let fl = st.floors.entry(*dk).or_default();
            if fl.iter().any(|f| dkw.precedes(*dsrc, f.src) || f.src == *dsrc) {
                continue;
            }
            fl.retain(|f| !dkw.precedes(f.src, *dsrc));
            fl.push(Floor {
                src: *dsrc,
                by: *dspan,
                via: Some(i),
                kind: if *was_write {
                    "monotonic-writes"
                } else {
                    "writes-follow-reads"
                },
            });
        }
    }
}

/// Which guarantee to name first when one read breaks several.
fn priority(kind: &str) -> u8 {
    match kind {
        "read-your-writes" => 0,
        "monotonic-reads" => 1,
        "monotonic-writes" => 2,
        _ => 3,
    }
}

/// True when both values were written by the same process (so their order is that session's).
fn same_writer(kw: &KeyWrites, a: Source, b: Source) -> bool {
    match (a, b) {
        (Source::Write(x), Source::Write(y)) => kw.writes[x].process == kw.writes[y].process,
        _ => false,
    }
}

fn floor_anomaly(kind: &str, process: u64, key: &str, f: &Floor, r: &Span, all: &[Span]) -> Anomaly {
    let by = &all[f.by];
    let (pair, text) = match (kind, f.via) {
        ("read-your-writes", _) => (
            [by.inv, r.inv],
            format!(
                "Process {process} wrote {} to key {key} (op {}), then read {} (op {}), an older value.",
                by.value, by.inv, r.value, r.inv
            ),
        ),
        (_, Some(via)) => {
            let seen = &all[via];
            let what = if kind == "monotonic-writes" {
                "had written"
            } else {
                "had read"
            };
            (
                [by.inv, seen.inv],
                format!(
                    "Process {process} read {} (op {}), written by a process that {what} {} on key {key} (op {}) before writing it; then process {process} read {} from key {key} (op {}), older than that.",
                    seen.value, seen.inv, by.value, by.inv, r.value, r.inv
                ),
            )
        }
        _ => (
            [by.inv, r.inv],
            format!(
                "Process {process} read {} from key {key} (op {}), then {} (op {}), an older value.",
                by.value, by.inv, r.value, r.inv
            ),
        ),
    };
    let mut ops = by.ops();
    if let Some(via) = f.via {
        ops.extend(all[via].ops());
    }
    ops.extend(r.ops());
    Anomaly {
        kind: kind.into(),
        explanation: text,
        ops,
        data: json!({"process": process, "key": key, "pair": pair}),
    }
}

/// For each ok write (by span position): the writer's last [`DEPS`] ok ops on other keys.
fn write_deps(all: &[Span], key_of: &[u32], kws: &[&KeyWrites]) -> HashMap<usize, Vec<Dep>> {
    let mut recent: HashMap<u64, Vec<Dep>> = HashMap::new();
    let mut out = HashMap::new();
    for (i, s) in all.iter().enumerate() {
        if s.outcome != Outcome::Ok || !matches!(s.f, "read" | "write" | "cas") {
            continue;
        }
        let key = key_of[i];
        let kw = kws[key as usize];
        let is_write = s.f != "read";
        let src = if is_write {
            match super::register::written_value(s) {
                Some(w) => kw.source(w),
                None => continue,
            }
        } else {
            kw.source(s.value)
        };
        let r = recent.entry(s.process).or_default();
        if is_write {
            let d: Vec<Dep> = r.iter().filter(|d| d.0 != key).cloned().collect();
            if !d.is_empty() {
                out.insert(i, d);
            }
        }
        r.retain(|d| d.0 != key);
        r.push((key, src, i, is_write));
        if r.len() > DEPS {
            r.remove(0);
        }
    }
    out
}
