//! Node events from Redis and Sentinel logs: failovers and primaries, in the history's time
//! base, written as event lines (see [`crate::history::node_event`]) to
//! `nodes/sentinel-events.log`, where the set checker ties lost writes to failover windows and
//! the report draws them.
//!
//! Kinds written (the contract with the report and checkers):
//! - `failover-start`: node = the old primary, `term` = the Sentinel epoch, at `+try-failover`
//!   (or `+elected-leader`), the earliest over all Sentinels; `value.sentinel` = who led it;
//! - `failover-end`: node = the promoted primary, same epoch, at the leader's `+failover-end`
//!   (else the first `+switch-master`, else `+promoted-slave`); an aborted failover ends at its
//!   `-failover-abort-*` with node = the old primary and `value.aborted` = the reason;
//! - `leader`: a data server became primary (its own `MASTER MODE enabled`, term = the epoch of
//!   the failover that promoted it; or it started without `replicaof`, term 0, since no
//!   Sentinel epoch made it primary);
//! - `step-down`: a primary became a replica (`REPLICAOF`/`Connecting to MASTER`) or restarted
//!   (`value.reason` = `restart`; the time is then the restart's).
//!
//! Invariant: the file is rewritten whole (temp file + rename), so a reader never sees half a
//! line; [`EventJournal`] rewrites it every [`FLUSH_EVERY`] while the run goes on (a killed
//! harness keeps what was flushed) and once more at teardown, before the checkers run.

use super::logparse::{sentinel_obs, server_obs, AddrNames, SentinelObs, ServerObs, TimeBase};
use crate::history::node_event::NodeEvent;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often the journal rewrites the events file during a run.
pub const FLUSH_EVERY: Duration = Duration::from_secs(2);

/// The file name of the derived events, beside the node logs.
pub const EVENTS_FILE: &str = "sentinel-events.log";

/// Clock offsets injected per node over time, to undo in log timestamps: under a clock fault
/// libfaketime skews the realtime clock the node logs with. Per node, `(real wall ms when the
/// offset was set, offset ms)`, in the order set.
#[derive(Clone, Debug, Default)]
pub struct Skews(pub BTreeMap<String, Vec<(i64, i64)>>);

impl Skews {
    /// Records that `node`'s clock runs `offset_ms` ahead from now on.
    pub fn record(&mut self, node: &str, offset_ms: i64) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        self.0.entry(node.to_string()).or_default().push((now, offset_ms));
    }

    /// The real wall time of a line `node` logged at (skewed) `wall` ms: the offset in force
    /// is that of the last change whose skewed start (`set + offset`) is not after `wall`.
    /// (libfaketime re-reads its file about once a second, so times near a change may be off
    /// by up to that.)
    pub fn unskew(&self, node: &str, wall: i64) -> i64 {
        let offset = self
            .0
            .get(node)
            .and_then(|v| v.iter().rev().find(|(set, o)| set + o <= wall))
            .map_or(0, |(_, o)| *o);
        wall - offset
    }
}

/// One failover as the Sentinels together saw it (wall-clock ms).
#[derive(Clone, Debug, Default)]
struct Failover {
    start: i64,
    old: String,
    sentinel: String,
    new: Option<String>,
    promoted_at: Option<i64>,
    end: Option<i64>,
    switch: Option<i64>,
    abort: Option<(i64, String)>,
}

impl Failover {
    /// When and how it ended: `(time, aborted reason)`.
    fn ended(&self) -> Option<(i64, Option<String>)> {
        if let Some(t) = self.end.or(self.switch).or(self.promoted_at) {
            return Some((t, None));
        }
        self.abort.clone().map(|(t, r)| (t, Some(r)))
    }
}

fn min_into(slot: &mut Option<i64>, t: i64) {
    *slot = Some(slot.map_or(t, |x| x.min(t)));
}

/// Failovers by epoch, from `(sentinel node, its log text)` pairs.
fn failovers(sentinels: &[(String, String)], skews: &Skews) -> BTreeMap<u64, Failover> {
    let mut all: Vec<(i64, String, SentinelObs)> = sentinels
        .iter()
        .flat_map(|(s, text)| {
            sentinel_obs(text)
                .into_iter()
                .map(move |(t, o)| (skews.unskew(s, t), s.clone(), o))
        })
        .collect();
    all.sort_by_key(|x| x.0);
    let mut fo: BTreeMap<u64, Failover> = BTreeMap::new();
    for (t, s, o) in &all {
        if let SentinelObs::Start { epoch, old } = o {
            let f = fo.entry(*epoch).or_insert_with(|| Failover {
                start: *t,
                old: old.clone(),
                sentinel: s.clone(),
                ..Failover::default()
            });
            if *t < f.start {
                (f.start, f.sentinel) = (*t, s.clone());
            }
        }
    }
    for (t, _, o) in &all {
        match o {
            SentinelObs::Start { .. } => {}
            SentinelObs::Promoted { epoch, new, done } => {
                if let Some(f) = fo.get_mut(epoch) {
                    f.new = Some(new.clone());
                    if *done {
                        min_into(&mut f.promoted_at, *t);
                    }
                }
            }
            SentinelObs::End { epoch, .. } => {
                if let Some(f) = fo.get_mut(epoch) {
                    min_into(&mut f.end, *t);
                }
            }
            SentinelObs::Switch { epoch, old, new } => {
                // A Sentinel that learnt the switch second-hand may not know the epoch: take the
                // latest failover of the same old primary that had started by then.
                let key = match fo.get(epoch) {
                    Some(f) if f.old == *old => Some(*epoch),
                    _ => fo
                        .iter()
                        .filter(|(_, f)| f.old == *old && f.start <= *t)
                        .map(|(e, _)| *e)
                        .next_back(),
                };
                if let Some(f) = key.and_then(|k| fo.get_mut(&k)) {
                    min_into(&mut f.switch, *t);
                    f.new.get_or_insert_with(|| new.clone());
                }
            }
            SentinelObs::Abort { epoch, reason } => {
                if let Some(f) = fo.get_mut(epoch) {
                    f.abort.get_or_insert((*t, reason.clone()));
                }
            }
        }
    }
    fo
}

/// All events of one run, sorted by time. `servers` and `sentinels` are `(node, log text)`;
/// `names` maps data-server addresses to node names (unknown ones keep their address); `skews`
/// are the clock faults to undo in each node's timestamps.
pub fn events(
    servers: &[(String, String)],
    sentinels: &[(String, String)],
    names: &AddrNames,
    tb: &TimeBase,
    skews: &Skews,
) -> Vec<NodeEvent> {
    let name = |a: &str| names.get(a).cloned().unwrap_or_else(|| a.to_string());
    let ev = |event: &str, node: String, term: u64, wall: i64, value: Value| NodeEvent {
        event: event.into(),
        node,
        term,
        index: None,
        time: tb.history_ns(wall),
        f: None,
        key: None,
        value,
    };
    let fo = failovers(sentinels, skews);
    let mut out = Vec::new();
    for (epoch, f) in &fo {
        out.push(ev(
            "failover-start",
            name(&f.old),
            *epoch,
            f.start,
            json!({"sentinel": f.sentinel}),
        ));
        if let Some((t, aborted)) = f.ended() {
            let mut v = json!({"sentinel": f.sentinel});
            let to = match (&aborted, &f.new) {
                (None, Some(n)) => name(n),
                _ => name(&f.old),
            };
            if let Some(r) = aborted {
                v["aborted"] = json!(r);
            }
            out.push(ev("failover-end", to, *epoch, t.max(f.start), v));
        }
    }
    // The epoch that made `node` primary at `t`: its own failover, else the latest one begun.
    let epoch_of = |node: &str, t: i64| {
        let begun = fo.iter().filter(|(_, f)| f.start <= t);
        begun
            .clone()
            .filter(|(_, f)| f.new.as_deref().map(name).as_deref() == Some(node))
            .map(|(e, _)| *e)
            .next_back()
            .or_else(|| begun.map(|(e, _)| *e).next_back())
            .unwrap_or(0)
    };
    for (node, text) in servers {
        let mut primary: Option<u64> = None;
        for (t, o) in server_obs(text) {
            let t = skews.unskew(node, t);
            match o {
                ServerObs::Starting => {
                    if let Some(term) = primary.take() {
                        out.push(ev(
                            "step-down",
                            node.clone(),
                            term,
                            t,
                            json!({"reason": "restart"}),
                        ));
                    }
                }
                ServerObs::ReadyAsPrimary if primary.is_none() => {
                    primary = Some(0);
                    out.push(ev("leader", node.clone(), 0, t, Value::Null));
                }
                ServerObs::Promoted if primary.is_none() => {
                    let term = epoch_of(node, t);
                    primary = Some(term);
                    out.push(ev("leader", node.clone(), term, t, Value::Null));
                }
                ServerObs::Replica => {
                    if let Some(term) = primary.take() {
                        out.push(ev("step-down", node.clone(), term, t, Value::Null));
                    }
                }
                _ => {}
            }
        }
    }
    out.sort_by_key(|e| e.time);
    out
}

/// Where the logs are and where the events go.
#[derive(Clone, Debug)]
pub struct Sources {
    /// `(node, server log)`.
    pub servers: Vec<(String, PathBuf)>,
    /// `(node, Sentinel log)`.
    pub sentinels: Vec<(String, PathBuf)>,
    pub names: AddrNames,
    pub time: TimeBase,
    /// Clock faults injected so far (shared with the target, which records them).
    pub skews: Arc<Mutex<Skews>>,
    pub out: PathBuf,
}

impl Sources {
    fn read(files: &[(String, PathBuf)]) -> Vec<(String, String)> {
        files
            .iter()
            .map(|(n, p)| (n.clone(), std::fs::read_to_string(p).unwrap_or_default()))
            .collect()
    }

    /// Re-reads every log and rewrites the events file; returns how many events it holds.
    pub fn flush(&self) -> std::io::Result<usize> {
        let evs = events(
            &Self::read(&self.servers),
            &Self::read(&self.sentinels),
            &self.names,
            &self.time,
            &self.skews.lock().unwrap_or_else(|p| p.into_inner()).clone(),
        );
        let mut text = String::new();
        for e in &evs {
            text.push_str(&e.to_line());
            text.push('\n');
        }
        let tmp = self.out.with_extension("log.tmp");
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, &self.out)?;
        Ok(evs.len())
    }
}

/// Keeps the events file current during a run; [`EventJournal::finish`] writes it a last time.
pub struct EventJournal {
    sources: Arc<Sources>,
    stop: Arc<AtomicBool>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl EventJournal {
    /// Starts the periodic flush.
    pub fn start(sources: Sources) -> EventJournal {
        let sources = Arc::new(sources);
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (sources.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut last = Instant::now();
            while !st.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(100));
                if last.elapsed() >= FLUSH_EVERY {
                    let _ = s.flush();
                    last = Instant::now();
                }
            }
        });
        EventJournal {
            sources,
            stop,
            thread: Mutex::new(Some(thread)),
        }
    }

    pub fn path(&self) -> &std::path::Path {
        &self.sources.out
    }

    /// Stops the periodic flush and writes the file once more. Idempotent.
    pub fn finish(&self) -> std::io::Result<usize> {
        self.stop.store(true, Ordering::SeqCst);
        let t = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(t) = t {
            let _ = t.join();
        }
        self.sources.flush()
    }
}

impl Drop for EventJournal {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::super::logparse::tests::{FOLLOWER_SENTINEL, LEADER_SENTINEL, OLD_PRIMARY, PROMOTED};
    use super::*;

    fn names() -> AddrNames {
        [
            ("127.0.0.1:17001", "n1"),
            ("127.0.0.1:17002", "n2"),
            ("127.0.0.1:17003", "n3"),
        ]
        .iter()
        .map(|(a, n)| (a.to_string(), n.to_string()))
        .collect()
    }

    /// A time base whose origin is the wall-clock time of the first log line.
    fn tb() -> TimeBase {
        let t0 = super::super::logparse::parse_line(OLD_PRIMARY.lines().next().unwrap())
            .unwrap()
            .wall_ms;
        TimeBase {
            realtime_minus_mono_ns: 0,
            origin_ns: t0 as u64 * 1_000_000,
        }
    }

    fn row(e: &NodeEvent) -> (String, String, u64, u64) {
        (e.event.clone(), e.node.clone(), e.term, e.time / 1_000_000)
    }

    #[test]
    fn a_sentinel_failover_becomes_a_window_and_role_changes() {
        let servers = vec![
            ("n1".to_string(), OLD_PRIMARY.to_string()),
            ("n3".into(), PROMOTED.into()),
        ];
        let sentinels = vec![
            ("n1".to_string(), FOLLOWER_SENTINEL.to_string()),
            ("n3".into(), LEADER_SENTINEL.into()),
        ];
        let ev = events(&servers, &sentinels, &names(), &tb(), &Skews::default());
        let rows: Vec<_> = ev.iter().map(row).collect();
        let s = |a: &str, n: &str, t: u64, ms: u64| (a.to_string(), n.to_string(), t, ms);
        // Origin 19:56:28.667; try-failover 19:57:02.181 = 33_514 ms later.
        assert_eq!(
            rows,
            vec![
                s("leader", "n1", 0, 22),
                s("failover-start", "n1", 1, 33_514),
                s("leader", "n3", 1, 33_802),
                s("failover-end", "n3", 1, 35_720),
                s("step-down", "n1", 0, 50_850),
            ]
        );
        assert_eq!(ev[1].value["sentinel"], "n3");
        // Every line parses back as an event.
        for e in &ev {
            let back: NodeEvent = serde_json::from_str(&e.to_line()).unwrap();
            assert_eq!(&back, e);
        }
    }

    #[test]
    fn without_the_leaders_log_the_switch_ends_the_window_and_aborts_end_at_the_old_primary() {
        // Only a follower's view: no +try-failover, so no window at all.
        let ev = events(
            &[],
            &[("n1".into(), FOLLOWER_SENTINEL.into())],
            &names(),
            &tb(),
            &Skews::default(),
        );
        assert!(ev.is_empty(), "{ev:?}");
        // Leader's log without +failover-end and +promoted-slave: the follower's switch ends it.
        let cut: String = LEADER_SENTINEL
            .lines()
            .filter(|l| {
                !l.contains("+failover-end")
                    && !l.contains("+promoted-slave")
                    && !l.contains("+switch-master")
            })
            .map(|l| format!("{l}\n"))
            .collect();
        let ev = events(
            &[],
            &[("n1".into(), FOLLOWER_SENTINEL.into()), ("n3".into(), cut)],
            &names(),
            &tb(),
            &Skews::default(),
        );
        let end = ev.iter().find(|e| e.event == "failover-end").unwrap();
        assert_eq!(
            (end.node.as_str(), end.term, end.time / 1_000_000),
            ("n3", 1, 34_702)
        );
        let aborted = "1:X 28 Nov 2026 19:57:02.181 # +new-epoch 2\n\
                       1:X 28 Nov 2026 19:57:02.181 # +try-failover master fl 127.0.0.1 17002\n\
                       1:X 28 Nov 2026 19:57:12.181 # -failover-abort-not-elected master fl 127.0.0.1 17002\n";
        let ev = events(
            &[],
            &[("n2".into(), aborted.into())],
            &names(),
            &tb(),
            &Skews::default(),
        );
        let end = ev.iter().find(|e| e.event == "failover-end").unwrap();
        assert_eq!((end.node.as_str(), end.term), ("n2", 2));
        assert_eq!(end.value["aborted"], "not-elected");
    }

    #[test]
    fn a_restarted_primary_steps_down_at_its_restart() {
        let log = "\
1:C 28 Nov 2026 19:56:28.667 # oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo
1:M 28 Nov 2026 19:56:28.689 * Ready to accept connections
2:C 28 Nov 2026 19:56:40.000 # oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo
2:M 28 Nov 2026 19:56:40.100 * Ready to accept connections
";
        let ev = events(
            &[("n1".into(), log.into())],
            &[],
            &names(),
            &tb(),
            &Skews::default(),
        );
        let rows: Vec<_> = ev
            .iter()
            .map(|e| (e.event.as_str(), e.time / 1_000_000))
            .collect();
        assert_eq!(
            rows,
            vec![("leader", 22), ("step-down", 11_333), ("leader", 11_433)]
        );
        assert_eq!(ev[1].value["reason"], "restart");
    }

    #[test]
    fn clock_faults_are_undone_in_log_times() {
        // n1's clock ran 5 s ahead from 19:56:30.000 (real) on: its restart line, logged at
        // 19:56:40.000 skewed, really happened at 19:56:35.000.
        let log = "\
1:C 28 Nov 2026 19:56:28.667 # oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo
1:M 28 Nov 2026 19:56:28.689 * Ready to accept connections
2:C 28 Nov 2026 19:56:40.000 # oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo
";
        let at = |l: &str| super::super::logparse::parse_line(l).unwrap().wall_ms;
        let set = at("1:C 28 Nov 2026 19:56:30.000 # x");
        let mut skews = Skews::default();
        skews.0.insert("n1".into(), vec![(set, 5000)]);
        let ev = events(&[("n1".into(), log.into())], &[], &names(), &tb(), &skews);
        let rows: Vec<_> = ev
            .iter()
            .map(|e| (e.event.as_str(), e.time / 1_000_000))
            .collect();
        assert_eq!(rows, vec![("leader", 22), ("step-down", 6_333)]);
        assert_eq!(skews.unskew("n2", 1234), 1234, "other nodes untouched");
        let mut r = Skews::default();
        r.record("n1", -300);
        assert_eq!(r.0["n1"].len(), 1);
    }

    #[test]
    fn the_journal_writes_event_lines_and_finishes_idempotently() {
        let dir = tempfile::tempdir().unwrap();
        let p = |f: &str| dir.path().join(f);
        std::fs::write(p("n1.log"), OLD_PRIMARY).unwrap();
        std::fs::write(p("n3-sentinel.log"), LEADER_SENTINEL).unwrap();
        let j = EventJournal::start(Sources {
            servers: vec![("n1".into(), p("n1.log")), ("n2".into(), p("missing.log"))],
            sentinels: vec![("n3".into(), p("n3-sentinel.log"))],
            names: names(),
            time: tb(),
            skews: Arc::default(),
            out: p(EVENTS_FILE),
        });
        assert_eq!(j.finish().unwrap(), 4);
        assert_eq!(j.finish().unwrap(), 4);
        let read = crate::history::node_event::read_events(j.path()).unwrap();
        let kinds: Vec<_> = read.iter().map(|e| e.event.as_str()).collect();
        assert_eq!(kinds, ["leader", "failover-start", "failover-end", "step-down"]);
    }
}
