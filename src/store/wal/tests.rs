//! WAL recovery: replay, torn tails, padding, snapshots, and the generic
//! contract that reopening gives what [`Stored::apply`] of the synced writes gives.

use super::*;
use crate::store::core::{Command, Durable, Entry, Record, Recovered, Snapshot};
use crate::store::ops::ClientOp;
use serde_json::json;

type RaftWal = Wal<Record, Snapshot>;

/// Opens a single-leader core's WAL and replays it as the core does.
fn open(dir: &Path, policy: FsyncPolicy) -> (RaftWal, Recovered, Option<Corruption>) {
    let (w, stored, bad) = Wal::open(dir, policy).unwrap();
    (w, Recovered::from_stored(stored), bad)
}

fn append(es: Vec<Entry>) -> Durable {
    Durable::Append(Record::Entries(es))
}

fn entry(term: u64, index: u64) -> Entry {
    Entry {
        term,
        index,
        cmd: Command::Client(ClientOp::Write {
            key: json!("k"),
            value: json!(index),
        }),
    }
}

#[test]
fn replay_truncate_and_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (mut w, rec, bad) = open(dir.path(), FsyncPolicy::Batch);
        assert!(bad.is_none() && rec.entries.is_empty());
        w.write(&Durable::Append(Record::Hard {
            term: 2,
            vote: Some("n1".into()),
        }))
        .unwrap();
        w.write(&append((1..=4).map(|i| entry(1, i)).collect())).unwrap();
        w.write(&Durable::Append(Record::Truncate { from: 3 })).unwrap();
        w.write(&append(vec![entry(2, 3)])).unwrap();
        w.commit().unwrap();
    }
    let path = dir.path().join(WAL_FILE);
    let good_len = log_end(&path);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), CHUNK, "one padded chunk");
    // A torn append: half a record where the next one would go.
    let f = OpenOptions::new().write(true).open(&path).unwrap();
    f.write_all_at(&[50, 0, 0, 0, 1, 2, 3, 4, b'{'], good_len)
        .unwrap();
    drop(f);
    let (_w, rec, bad) = open(dir.path(), FsyncPolicy::Batch);
    let bad = bad.expect("torn tail reported");
    assert_eq!(bad.offset, good_len);
    assert!(bad.to_string().contains("wal.log"));
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        good_len,
        "tail truncated"
    );
    assert_eq!((rec.term, rec.vote.as_deref()), (2, Some("n1")));
    let got: Vec<_> = rec.entries.iter().map(|e| (e.index, e.term)).collect();
    assert_eq!(got, vec![(1, 1), (2, 1), (3, 2)]);
}

/// The end of the valid records of a WAL file (where padding starts).
fn log_end(path: &Path) -> u64 {
    parse::<Record>(&std::fs::read(path).unwrap()).1
}

#[test]
fn chunk_padded_file_recovers_and_appends_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(WAL_FILE);
    let big = |i: u64| append(vec![entry(1, i)]);
    {
        let (mut w, _, _) = open(dir.path(), FsyncPolicy::Batch);
        for i in 1..=5 {
            w.write(&big(i)).unwrap();
            w.commit().unwrap();
        }
    }
    assert_eq!(std::fs::metadata(&path).unwrap().len(), CHUNK);
    let end = log_end(&path);
    assert!(end > 0 && end < CHUNK);
    {
        let (mut w, _, _) = open(dir.path(), FsyncPolicy::Batch);
        w.preallocate().unwrap();
        assert_eq!(w.allocated, CHUNK, "more than half a chunk left: no growth");
        w.end = CHUNK - 1;
        w.preallocate().unwrap();
        assert_eq!(w.allocated, 2 * CHUNK, "grown ahead of need");
        // Back to a chunk-sized file (still zero-padded after `end`).
        w.file.set_len(CHUNK).unwrap();
    }
    {
        let (mut w, rec, bad) = open(dir.path(), FsyncPolicy::Batch);
        assert!(bad.is_none(), "zero padding is not corruption: {bad:?}");
        assert_eq!(rec.entries.len(), 5);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), CHUNK, "padding kept");
        // Appends go where the log ends, not after the padding, and
        // growing past the chunk adds another zeroed chunk.
        for i in 6..=8 {
            w.write(&big(i)).unwrap();
        }
        let filler = "x".repeat(CHUNK as usize);
        w.write(&append(vec![Entry {
            term: 1,
            index: 9,
            cmd: Command::Client(ClientOp::Write {
                key: json!("big"),
                value: json!(filler),
            }),
        }]))
        .unwrap();
        w.commit().unwrap();
    }
    let len = std::fs::metadata(&path).unwrap().len();
    assert_eq!(len % CHUNK, 0);
    assert!(len >= 2 * CHUNK);
    let (_w, rec, bad) = open(dir.path(), FsyncPolicy::Batch);
    assert!(bad.is_none(), "{bad:?}");
    let got: Vec<u64> = rec.entries.iter().map(|e| e.index).collect();
    assert_eq!(got, (1..=9).collect::<Vec<_>>());
}

#[test]
fn data_after_the_padding_is_reported_and_cut() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(WAL_FILE);
    {
        let (mut w, _, _) = open(dir.path(), FsyncPolicy::Batch);
        w.write(&append(vec![entry(1, 1)])).unwrap();
        w.commit().unwrap();
    }
    let end = log_end(&path);
    // Junk at the very end of the file, behind zeros.
    let mut f = OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(b"junk").unwrap();
    drop(f);
    let (mut w, rec, bad) = open(dir.path(), FsyncPolicy::Batch);
    let bad = bad.expect("junk behind the padding reported");
    assert_eq!(bad.offset, end);
    assert!(bad.reason.contains("zero padding"), "{}", bad.reason);
    assert_eq!(rec.entries.len(), 1);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), end, "cut");
    w.write(&append(vec![entry(1, 2)])).unwrap();
    w.commit().unwrap();
    drop(w);
    let (_w, rec, bad) = open(dir.path(), FsyncPolicy::Batch);
    assert!(bad.is_none(), "{bad:?}");
    assert_eq!(rec.entries.len(), 2);
}

#[test]
fn crc_flip_in_the_middle_keeps_prefix() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (mut w, _, _) = open(dir.path(), FsyncPolicy::Always);
        for i in 1..=3 {
            w.write(&append(vec![entry(1, i)])).unwrap();
        }
    }
    let path = dir.path().join(WAL_FILE);
    let mut data = std::fs::read(&path).unwrap();
    let (recs, _, _) = parse::<Record>(&data);
    assert_eq!(recs.len(), 3);
    let second = {
        let l = u32::from_le_bytes(data[0..4].try_into().unwrap()) as usize;
        8 + l
    };
    data[second + 10] ^= 0xff;
    std::fs::write(&path, &data).unwrap();
    let (_w, rec, bad) = open(dir.path(), FsyncPolicy::Batch);
    assert_eq!(bad.unwrap().offset, second as u64);
    assert_eq!(rec.entries.len(), 1);
}

#[test]
fn snapshot_compacts_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (mut w, _, _) = open(dir.path(), FsyncPolicy::Batch);
        w.write(&append((1..=5).map(|i| entry(1, i)).collect())).unwrap();
        let mut data = crate::store::ops::KvState::default();
        data.apply(&ClientOp::Write {
            key: json!("k"),
            value: json!(4),
        });
        let snapshot = Snapshot {
            index: 4,
            term: 1,
            data,
        };
        w.write(&Durable::Snapshot {
            snapshot,
            log: vec![
                Record::Hard { term: 1, vote: None },
                Record::Entries(vec![entry(1, 5)]),
            ],
        })
        .unwrap();
        w.write(&append(vec![entry(1, 6)])).unwrap();
        w.commit().unwrap();
    }
    let (_w, rec, bad) = open(dir.path(), FsyncPolicy::Batch);
    assert!(bad.is_none());
    assert_eq!(rec.snapshot.unwrap().index, 4);
    assert_eq!(
        rec.entries.iter().map(|e| e.index).collect::<Vec<_>>(),
        vec![5, 6]
    );
}

mod generic {
    //! The WAL against its in-memory oracle, with another protocol's types.
    use super::super::*;
    use crate::store::ops::{ClientOp, KvState};
    use proptest::prelude::*;
    use proptest::test_runner::{Config as PtConfig, RngSeed};
    use serde_json::json;

    #[derive(Clone, Debug)]
    enum Op {
        /// Append a write whose value is this many bytes long.
        Append(usize),
        Snapshot,
        Commit,
        /// Commit, close and reopen.
        Reopen,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (0..6000usize).prop_map(Op::Append),
            1 => Just(Op::Snapshot),
            2 => Just(Op::Commit),
            1 => Just(Op::Reopen),
        ]
    }

    type SoloWal = Wal<ClientOp, KvState>;

    proptest! {
        #![proptest_config(PtConfig { cases: 32, rng_seed: RngSeed::Fixed(0x3a1), ..PtConfig::default() })]

        /// After each commit, reopening recovers exactly what applying the
        /// writes so far to an empty `Stored` gives, under both syncing policies.
        #[test]
        fn reopening_recovers_what_the_writes_describe(
            ops in proptest::collection::vec(op(), 1..40),
            always in any::<bool>(),
        ) {
            let policy = if always { FsyncPolicy::Always } else { FsyncPolicy::Batch };
            let dir = tempfile::tempdir().unwrap();
            let (mut wal, first, bad): Opened<ClientOp, KvState> = SoloWal::open(dir.path(), policy).unwrap();
            prop_assert!(bad.is_none() && first == Stored::default());
            let mut oracle: Stored<ClientOp, KvState> = Stored::default();
            let mut kv = KvState::default();
            for (n, op) in ops.into_iter().enumerate() {
                let w = match op {
                    Op::Append(len) => {
                        let op = ClientOp::Write { key: json!(format!("k{}", n % 7)), value: json!("x".repeat(len)) };
                        kv.apply(&op);
                        Write::Append(op)
                    }
                    Op::Snapshot => Write::Snapshot { snapshot: kv.clone(), log: Vec::new() },
                    Op::Commit => {
                        wal.commit().unwrap();
                        continue;
                    }
                    Op::Reopen => {
                        wal.commit().unwrap();
                        drop(wal);
                        let (w, got, bad) = SoloWal::open(dir.path(), policy).unwrap();
                        prop_assert!(bad.is_none(), "{:?}", bad);
                        prop_assert_eq!(&got, &oracle);
                        wal = w;
                        continue;
                    }
                };
                wal.write(&w).unwrap();
                oracle.apply(w);
            }
            wal.commit().unwrap();
            drop(wal);
            let (_, got, bad) = SoloWal::open(dir.path(), policy).unwrap();
            prop_assert!(bad.is_none(), "{:?}", bad);
            prop_assert_eq!(got, oracle);
        }
    }
}
