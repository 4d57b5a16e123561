//! The driver alone, no sockets: which sends wait for which sync, what a
//! leader may do before its own sync, group commits, recovery, and the admin
//! endpoint's view.

use super::*;
use crate::store::admin::AdminRequest;
use crate::store::core::{Command, Config, Core, Durable, Entry, Message, Reads, Record, Snapshot};
use crate::store::ops::ClientOp;
use crate::store::seam::solo::{Solo, SoloConfig};
use crate::store::seam::{MemDisk, NoOpts, Role, Stored};
use proptest::prelude::*;
use proptest::test_runner::{Config as PtConfig, RngSeed};
use serde_json::json;
use std::collections::BTreeMap;

const MS: u64 = 1_000_000;

fn raft(id: &str, tweak: impl Fn(&mut Config)) -> Driver<Core> {
    let mut c = Config::new(id, &["n1", "n2", "n3"]);
    tweak(&mut c);
    Driver::start(c, Stored::default(), HostTime::at(0), 0).0
}

fn vote(term: u64) -> Message {
    Message::Vote {
        term,
        last_index: 0,
        last_term: 0,
    }
}

fn peer(from: &str, msg: Message) -> Input<Message> {
    Input::Peer {
        from: from.into(),
        msg,
    }
}

fn granted(msgs: &[(NodeId, Message)]) -> Vec<(&str, bool)> {
    msgs.iter()
        .filter_map(|(to, m)| match m {
            Message::VoteReply { granted, .. } => Some((to.as_str(), *granted)),
            _ => None,
        })
        .collect()
}

#[test]
fn the_first_ready_carries_the_start_event_with_the_recovered_term() {
    let disk = Stored {
        snapshot: None,
        log: vec![Record::Hard { term: 7, vote: None }],
    };
    let (mut d, summary) = Driver::<Core>::start(Config::new("n1", &["n1"]), disk, HostTime::at(5), 0);
    assert!(summary.contains("term 7"), "{summary}");
    let r = d.ready(HostTime::at(6));
    assert_eq!(r.events, vec![Event::new("start", 7)]);
    assert!(r.persist.is_none() && r.send.is_empty() && r.replies.is_empty());
}

#[test]
fn a_followers_vote_reply_waits_for_the_sync_of_its_batch() {
    let mut d = raft("n2", |_| {});
    d.ready(HostTime::at(0));
    let t = HostTime::at(MS);
    d.step(t, peer("n1", vote(1)));
    let r = d.ready(t);
    let b = r.persist.expect("the vote is persisted");
    assert_eq!(
        b.writes.last(),
        Some(&Durable::Append(Record::Hard {
            term: 1,
            vote: Some("n1".into())
        }))
    );
    assert!(b.inline, "a follower with nothing in flight syncs inline");
    assert!(r.send.is_empty(), "nothing leaves before the sync: {:?}", r.send);
    assert!(d.take_released().is_empty());
    // A second candidate's request arrives before the sync is reported: its
    // refusal persists nothing but still waits behind the vote's batch.
    d.step(t, peer("n3", vote(1)));
    let r = d.ready(t);
    assert!(r.persist.is_none() && r.send.is_empty());
    assert!(d.take_released().is_empty(), "batch {} still in flight", b.id);
    d.synced(t, b.id);
    assert_eq!(granted(&d.take_released()), vec![("n1", true), ("n3", false)]);
}

#[test]
fn a_later_batch_waits_for_its_own_sync_not_an_earlier_one() {
    let mut d = raft("n2", |_| {});
    let t = HostTime::at(MS);
    d.step(t, peer("n1", vote(1)));
    let b1 = d.ready(t).persist.expect("batch 1");
    d.step(t, peer("n3", vote(2)));
    let b2 = d.ready(t).persist.expect("batch 2: the newer term and vote");
    assert!(!b2.inline, "batch {} is still in flight", b1.id);
    assert!(b2.id > b1.id);
    d.synced(t, b1.id);
    assert_eq!(granted(&d.take_released()), vec![("n1", true)]);
    d.synced(t, b2.id);
    assert_eq!(granted(&d.take_released()), vec![("n3", true)]);
}

/// Elects n1 (ticks past its timeout, the votes' sync, n2's vote) and returns
/// the time and the ready carrying its first appends.
fn elect_n1(d: &mut Driver<Core>) -> (HostTime, ReadyOf<Core>) {
    let t = HostTime::at(400 * MS);
    d.step(t, Input::Tick { jitter_ns: 0 });
    let r = d.ready(t);
    let b = r.persist.expect("term and self-vote persisted");
    assert!(r.send.is_empty(), "vote requests wait for the self-vote's sync");
    d.synced(t, b.id);
    let asks = d.take_released();
    assert_eq!(asks.len(), 2, "{asks:?}");
    d.step(
        t,
        peer(
            "n2",
            Message::VoteReply {
                term: 1,
                granted: true,
            },
        ),
    );
    let r = d.ready(t);
    assert_eq!(d.status(t).map(|s| s.role), Ok(Role::Leader));
    (t, r)
}

#[test]
fn a_leaders_appends_leave_before_its_sync_and_its_write_is_answered_after() {
    let mut d = raft("n1", |_| {});
    let (t, r) = elect_n1(&mut d);
    assert_eq!(r.send.len(), 2, "the no-op goes to both followers at once");
    let noop = r.persist.expect("the no-op is persisted");
    assert!(!noop.inline, "a leader syncs in the background");
    d.step(
        t,
        Input::Client {
            req: 7,
            op: ClientOp::Write {
                key: json!("k"),
                value: json!(1),
            },
            opts: NoOpts {},
        },
    );
    let r = d.ready(t);
    let write = r.persist.expect("the write is persisted");
    assert!(
        r.send
            .iter()
            .all(|(_, m)| matches!(m, Message::Append { entries, .. } if entries.len() == 1)),
        "{:?}",
        r.send
    );
    assert_eq!(r.send.len(), 2);
    // n2 has both entries: with the leader's own copy that is a majority,
    // but the leader's copy is not synced yet.
    d.step(
        t,
        peer(
            "n2",
            Message::AppendReply {
                term: 1,
                success: true,
                index: 2,
                read_seq: 1,
            },
        ),
    );
    let r = d.ready(t);
    assert!(r.replies.is_empty(), "acknowledged before the leader's own sync");
    // One group commit covers both batches.
    d.synced(t, write.id);
    assert!(noop.id < write.id);
    let r = d.ready(t);
    assert_eq!(r.replies, vec![(7, Outcome::Ok { value: Value::Null })]);
    let acks: Vec<_> = r.events.iter().filter(|e| e.kind == "ack").collect();
    assert_eq!(acks.len(), 1);
    assert_eq!((acks[0].term, acks[0].index), (1, Some(2)));
}

#[test]
fn admin_shows_the_cores_status_and_sets_the_nodes_clock() {
    let mut d = raft("n1", |c| c.reads = Reads::Lease);
    elect_n1(&mut d);
    let t = HostTime::at(500 * MS);
    let (resp, line) = d.admin(t, AdminRequest::Status);
    let AdminResponse::Status(s) = resp else {
        panic!("{resp:?}")
    };
    assert!(line.is_none());
    assert_eq!((s.id.as_str(), s.role, s.term), ("n1", Role::Leader, 1));
    assert_eq!(s.leader.as_deref(), Some("n1"));
    assert_eq!((s.last_log_index, s.commit_index), (1, 0));
    assert!(
        s.lease_expires_in_ms.is_some(),
        "lease leaders report their lease"
    );
    assert!(s.detail.is_empty(), "{:?}", s.detail);
    let (resp, line) = d.admin(t, AdminRequest::SetClockOffset { ms: -250 });
    assert_eq!(
        (resp, line.as_deref()),
        (AdminResponse::Ok, Some("clock offset set to -250 ms"))
    );
    let (resp, _) = d.admin(t, AdminRequest::SetClockRate { rate: 0.5 });
    assert_eq!(resp, AdminResponse::Ok);
    let (resp, line) = d.admin(t, AdminRequest::SetClockRate { rate: -1.0 });
    assert!(matches!(resp, AdminResponse::Error { reason } if reason.contains("-1")));
    assert!(line.is_none());
    let AdminResponse::Status(s) = d.admin(t, AdminRequest::Status).0 else {
        panic!("no status")
    };
    assert_eq!((s.clock_offset_ms, s.clock_rate), (-250, 0.5));
    // The core now reads the drifted clock: 100 ms of host time are 50 ms.
    let before = d.clock.now(t).mono_ns;
    assert_eq!(d.clock.now(HostTime::at(600 * MS)).mono_ns - before, 50 * MS);
}

/// A protocol without a log still reports through the same admin schema.
#[test]
fn admin_status_of_a_topology_without_a_log_keeps_its_own_fields() {
    let cfg = SoloConfig {
        id: "solo".into(),
        snapshot_every: 0,
    };
    let (mut d, _) = Driver::<Solo>::start(cfg, Stored::default(), HostTime::at(0), 0);
    let s = d.status(HostTime::at(1)).unwrap();
    assert_eq!((s.role, s.commit_index), (Role::Leader, 0));
    assert_eq!(s.detail.get("keys"), Some(&json!(0)));
    let text = serde_json::to_string(&AdminResponse::Status(s.clone())).unwrap();
    let back: AdminResponse = serde_json::from_str(&text).unwrap();
    assert_eq!(
        back,
        AdminResponse::Status(s),
        "round trip through the wire: {text}"
    );
}

#[derive(Clone, Debug)]
enum Step {
    Write,
    Read(usize),
    /// A group commit of everything written.
    Sync,
    /// A sync that started before the later batches were written.
    SyncOldest,
    Crash,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        5 => Just(Step::Write),
        2 => (0..64usize).prop_map(Step::Read),
        2 => Just(Step::Sync),
        2 => Just(Step::SyncOldest),
        1 => Just(Step::Crash),
    ]
}

/// A host for [`Solo`] with an in-memory disk: syncs only when told to
/// (inline or not), and a crash loses what is not synced.
struct SoloHost {
    cfg: SoloConfig,
    driver: Driver<Solo>,
    disk: MemDisk<ClientOp, crate::store::ops::KvState>,
    now: u64,
    /// Replies, by request.
    replies: BTreeMap<u64, Outcome>,
}

impl SoloHost {
    fn new(snapshot_every: u64) -> SoloHost {
        let cfg = SoloConfig {
            id: "solo".into(),
            snapshot_every,
        };
        let (driver, _) = Driver::start(cfg.clone(), Stored::default(), HostTime::at(0), 0);
        SoloHost {
            cfg,
            driver,
            disk: MemDisk::default(),
            now: 0,
            replies: BTreeMap::new(),
        }
    }

    fn host(&mut self) -> HostTime {
        self.now += MS;
        HostTime::at(self.now)
    }

    fn perform(&mut self) {
        let t = self.host();
        let r = self.driver.ready(t);
        self.replies.extend(r.replies);
        if let Some(b) = r.persist {
            self.disk.write(b.id, b.writes);
        }
    }

    fn request(&mut self, req: u64, op: ClientOp) {
        let t = self.host();
        self.driver.step(
            t,
            Input::Client {
                req,
                op,
                opts: NoOpts {},
            },
        );
        self.perform();
    }

    fn sync(&mut self, upto: u64) {
        if let Some(last) = self.disk.sync_upto(upto) {
            let t = self.host();
            self.driver.synced(t, last);
            self.perform();
        }
    }

    fn crash_and_restart(&mut self) {
        self.disk.crash();
        let t = self.host();
        self.driver = Driver::start(self.cfg.clone(), self.disk.stored(), t, 0).0;
        self.perform();
    }
}

proptest! {
    #![proptest_config(PtConfig { cases: 64, rng_seed: RngSeed::Fixed(0xc4a54), ..PtConfig::default() })]

    /// Whatever the interleaving of requests, syncs and crashes: every write
    /// acknowledged survives, every value a read returned survives, and
    /// nothing unwritten appears (keys are written once each).
    #[test]
    fn crashes_never_lose_what_was_acknowledged(
        steps in proptest::collection::vec(step(), 1..80),
        snapshot_every in 0..4u64,
    ) {
        let mut h = SoloHost::new(snapshot_every);
        let mut written = 0u64;
        let mut req = 0u64;
        let mut ops = BTreeMap::new();
        for s in steps {
            match s {
                Step::Write => {
                    written += 1;
                    req += 1;
                    let op = ClientOp::Write { key: json!(format!("k{written}")), value: json!(written) };
                    ops.insert(req, op.clone());
                    h.request(req, op);
                }
                Step::Read(i) if written > 0 => {
                    req += 1;
                    let op = ClientOp::Read { key: json!(format!("k{}", i as u64 % written + 1)) };
                    ops.insert(req, op.clone());
                    h.request(req, op);
                }
                Step::Read(_) => {}
                Step::Sync => h.sync(u64::MAX),
                Step::SyncOldest => h.sync(h.disk.oldest_unsynced().unwrap_or(0)),
                Step::Crash => h.crash_and_restart(),
            }
        }
        h.crash_and_restart();
        let kv = h.driver.core().kv().clone();
        for (r, outcome) in &h.replies {
            let Outcome::Ok { value } = outcome else {
                prop_assert!(false, "request {} failed: {:?}", r, outcome);
                continue;
            };
            match &ops[r] {
                ClientOp::Write { key, value: v } => prop_assert_eq!(&kv.get(key), v, "acked write lost"),
                ClientOp::Read { key } if !value.is_null() => prop_assert_eq!(&kv.get(key), value, "read value lost"),
                _ => {}
            }
        }
        for (k, v) in &kv.data {
            prop_assert_eq!(k, &format!("k{v}"), "only written keys appear");
        }
    }
}

#[test]
fn an_unsynced_write_is_neither_answered_nor_kept_by_a_crash() {
    let mut h = SoloHost::new(0);
    let w = |n: u64| ClientOp::Write {
        key: json!(format!("k{n}")),
        value: json!(n),
    };
    h.request(1, w(1));
    h.sync(u64::MAX);
    h.request(2, w(2));
    assert_eq!(h.replies.keys().copied().collect::<Vec<_>>(), vec![1]);
    h.crash_and_restart();
    let kv = h.driver.core().kv();
    assert_eq!(kv.get(&json!("k1")), json!(1));
    assert_eq!(
        kv.get(&json!("k2")),
        Value::Null,
        "the crash lost the unsynced write"
    );
}

#[test]
fn a_snapshot_write_replaces_the_log_on_recovery() {
    let mut h = SoloHost::new(2);
    for n in 1..=5u64 {
        h.request(
            n,
            ClientOp::Write {
                key: json!(format!("k{n}")),
                value: json!(n),
            },
        );
    }
    h.sync(u64::MAX);
    let stored = h.disk.stored();
    assert_eq!(stored.snapshot.as_ref().map(|s| s.data.len()), Some(4));
    assert_eq!(stored.log.len(), 1, "only the write after the last snapshot");
    h.crash_and_restart();
    assert_eq!(h.driver.core().kv().data.len(), 5);
    assert_eq!(h.replies.len(), 5);
}

/// Recovery from a single-leader WAL: the snapshot, then the records after
/// it (entries it covers are skipped; later entries replace conflicting ones).
#[test]
fn single_leader_recovery_replays_records_over_the_snapshot() {
    let e = |term, index| Entry {
        term,
        index,
        cmd: Command::Noop,
    };
    let disk = Stored {
        snapshot: Some(Snapshot {
            index: 2,
            term: 1,
            data: Default::default(),
        }),
        log: vec![
            Record::Entries(vec![e(1, 1), e(1, 2), e(1, 3), e(1, 4)]),
            Record::Hard {
                term: 3,
                vote: Some("n2".into()),
            },
            Record::Truncate { from: 4 },
            Record::Entries(vec![e(3, 4), e(3, 5)]),
            Record::Entries(vec![e(3, 5)]),
        ],
    };
    let rec = crate::store::core::Recovered::from_stored(disk);
    assert_eq!((rec.term, rec.vote.as_deref()), (3, Some("n2")));
    let got: Vec<_> = rec.entries.iter().map(|e| (e.index, e.term)).collect();
    assert_eq!(got, vec![(3, 1), (4, 3), (5, 3)]);
}
