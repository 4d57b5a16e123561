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
//! - consistent prefix: the session read a value whose write depended, through
//!   other processes' writes, on a later version of `k` (the writer read a
//!   value whose writer had read or written it, and so on: causal order as the
//!   history shows it); the direct cases are named by the two rules above
//!   (pair: the op that observed that version, `r`).
//!
//! Dependencies of a write are the writer's last [`DEPS`] ops on other keys,
//! plus (as consistent-prefix floors) the dependencies of the writes those
//! ops read or wrote, up to [`FRONTIER`] keys. Two writes merely ordered in
//! real time (the second began after the first was acknowledged, neither
//! writer saw the other) are not a dependency: a multi-leader or leaderless
//! store with version vectors may show them in either order, and a read
//! missing an acknowledged write is a stale read (the `stale` checker).

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
/// How many keys a write's dependencies, direct and inherited, cover at most.
pub const FRONTIER: usize = 8;

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

/// A write's dependency on another key: (key, source of the value, span of the
/// op that observed it, the floor kind it sets).
type Dep = (u32, Source, usize, &'static str);

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

/// One session's knowledge: floors per key.
#[derive(Default)]
struct SessionState {
    floors: HashMap<u32, Vec<Floor>>,
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
            self.broken_floor(process, &st, i, u);
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

    /// After read `i` of source `u`: raises its key's floor to `u`, then the floors of the
    /// keys the write it saw depended on.
    fn raise_floors(&self, st: &mut SessionState, i: usize, u: Source) {
        let kid = self.key_of[i];
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
        for (dk, dsrc, dspan, kind) in self.deps.get(&ws).into_iter().flatten() {
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
                kind,
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
        "writes-follow-reads" => 3,
        _ => 4,
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
        ("consistent-prefix", Some(via)) => {
            let seen = &all[via];
            (
                [by.inv, seen.inv],
                format!(
                    "Process {process} read {} (op {}), whose write depended, through other processes' reads and writes, on {} on key {key} (op {}); then process {process} read {} from key {key} (op {}), older than that: it saw a later write without one it depends on.",
                    seen.value, seen.inv, by.value, by.inv, r.value, r.inv
                ),
            )
        }
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

/// For each ok write (by span position): the writer's last [`DEPS`] ok ops on other keys
/// (monotonic-writes and writes-follow-reads floors), then what the writes those ops read
/// or wrote depended on (consistent-prefix floors), newest first, [`FRONTIER`] keys at most.
fn write_deps(all: &[Span], key_of: &[u32], kws: &[&KeyWrites]) -> HashMap<usize, Vec<Dep>> {
    let mut recent: HashMap<u64, Vec<(u32, Source, usize, bool)>> = HashMap::new();
    let mut out: HashMap<usize, Vec<Dep>> = HashMap::new();
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
            let d = frontier(key, r, &out, key_of, kws);
            if !d.is_empty() {
                out.insert(i, d);
            }
        }
        let r = recent.entry(s.process).or_default();
        r.retain(|d| d.0 != key);
        r.push((key, src, i, is_write));
        if r.len() > DEPS {
            r.remove(0);
        }
    }
    out
}

/// The dependencies of a write to `key` by a writer whose last ops are `recent`: those
/// ops themselves, then the dependencies of the writes they observed (already in `out`:
/// spans come in invocation order, and an observed write was invoked before its observer).
fn frontier(
    key: u32,
    recent: &[(u32, Source, usize, bool)],
    out: &HashMap<usize, Vec<Dep>>,
    key_of: &[u32],
    kws: &[&KeyWrites],
) -> Vec<Dep> {
    let mut d: Vec<Dep> = recent
        .iter()
        .rev()
        .filter(|x| x.0 != key)
        .map(|&(k, src, span, was_write)| {
            let kind = if was_write {
                "monotonic-writes"
            } else {
                "writes-follow-reads"
            };
            (k, src, span, kind)
        })
        .collect();
    for &(k, src, _, _) in recent.iter().rev() {
        let Source::Write(w) = src else { continue };
        let ws = kws[k as usize].writes[w].span;
        for &(dk, dsrc, dspan, _) in out.get(&ws).into_iter().flatten() {
            if d.len() >= FRONTIER {
                return d;
            }
            let dkw = kws[dk as usize];
            let covered = d
                .iter()
                .any(|x| x.0 == dk && (x.1 == dsrc || dkw.precedes(dsrc, x.1)));
            if dk != key && !covered && key_of[dspan] == dk {
                d.push((dk, dsrc, dspan, "consistent-prefix"));
            }
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(process, f, key, value)` ops, each invoked and completed ok in turn.
    fn history(ops: &[(u64, &str, &str, Option<i64>)]) -> History {
        let mut text = String::new();
        for (i, (p, f, k, v)) in ops.iter().enumerate() {
            let v = v.map_or("null".to_string(), |x| x.to_string());
            let inv = if *f == "read" {
                "null".to_string()
            } else {
                v.clone()
            };
            for (j, (ty, val)) in [("invoke", inv), ("ok", v)].iter().enumerate() {
                let (index, time) = (2 * i + j, (2 * i + j + 1) * 1000);
                text.push_str(&format!(
                    "{{\"index\":{index},\"time\":{time},\"type\":\"{ty}\",\"process\":{p},\"f\":\"{f}\",\"key\":\"{k}\",\"value\":{val}}}\n"
                ));
            }
        }
        crate::history::jsonl::read(text.as_bytes(), "test").unwrap()
    }

    fn kinds(h: &History) -> Vec<String> {
        let v = Session.check(h, &CheckOptions::default());
        v.anomalies.iter().map(|a| a.kind.clone()).collect()
    }

    /// Writes ordered only by real time are no dependency: a store with version
    /// vectors may show them in either order (the read is stale, which `stale` says).
    /// Through a chain of observations they are, however long the chain.
    #[test]
    fn consistent_prefix_follows_dependencies_not_real_time() {
        let apart = [
            (1, "write", "x", Some(1)),
            (2, "write", "y", Some(2)),
            (3, "read", "y", Some(2)),
            (3, "read", "x", None),
        ];
        assert!(kinds(&history(&apart)).is_empty());
        let stale = crate::checker::stale::Stale.check(&history(&apart), &CheckOptions::default());
        assert_eq!(stale.valid, super::super::Validity::Invalid);
        let mut chain = vec![(1, "write", "x", Some(1))];
        for p in 2..6u64 {
            let prev = ["x", "a", "b", "c"][p as usize - 2];
            let next = ["a", "b", "c", "y"][p as usize - 2];
            chain.push((p, "read", prev, Some(p as i64 - 1)));
            chain.push((p, "write", next, Some(p as i64)));
        }
        chain.push((9, "read", "y", Some(5)));
        chain.push((9, "read", "x", None));
        assert_eq!(kinds(&history(&chain)), ["consistent-prefix"]);
    }
}
