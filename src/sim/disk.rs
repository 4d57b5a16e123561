//! A simulated node's disk, with the WAL's durability rules per fsync policy
//! (see `store::wal`): under `always` and `batch` a batch is durable once a
//! sync that covers it completes (group commit: one sync takes every batch
//! queued when it starts); under `never` the WAL reports at once and records
//! sit in the process's buffer until a mebibyte has gathered, so a crash
//! loses them.
//!
//! A crash loses every batch no sync has started on; of the writes under a
//! sync it keeps, when the world says so, a prefix (the OS wrote part of them
//! and tore the last, which recovery's checksum cuts off), else none of them.
//! Snapshot writes are atomic, as the WAL's rename makes them.

use crate::store::seam::{Stored, Write};
use crate::store::wal::FsyncPolicy;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// What `fsync never` buffers before writing (the WAL's `NEVER_FLUSH_BYTES`).
const NEVER_FLUSH_BYTES: usize = 1 << 20;

pub struct SimDisk<R, S> {
    policy: FsyncPolicy,
    durable: Stored<R, S>,
    /// Batches written, no sync started on them: (batch id, writes).
    queued: Vec<(u64, Vec<Write<R, S>>)>,
    /// The sync under way: the last batch it covers and its writes in order.
    syncing: Option<(u64, Vec<Write<R, S>>)>,
    /// `never`: records in the process buffer and their framed size.
    buffered: Vec<Write<R, S>>,
    buffered_bytes: usize,
}

impl<R: Clone + Serialize, S: Clone + Serialize> SimDisk<R, S> {
    pub fn new(policy: FsyncPolicy) -> SimDisk<R, S> {
        SimDisk {
            policy,
            durable: Stored::default(),
            queued: Vec::new(),
            syncing: None,
            buffered: Vec::new(),
            buffered_bytes: 0,
        }
    }

    /// Hands batch `id` to the disk (not yet durable).
    pub fn write(&mut self, id: u64, writes: Vec<Write<R, S>>) {
        if self.policy != FsyncPolicy::Never {
            self.queued.push((id, writes));
            return;
        }
        for w in writes {
            match w {
                Write::Append(r) => {
                    self.buffered_bytes += serde_json::to_vec(&r).map_or(0, |b| b.len()) + 8;
                    self.buffered.push(Write::Append(r));
                }
                snapshot => {
                    // Written to files at once (no sync), replacing the buffered log.
                    self.buffered.clear();
                    self.buffered_bytes = 0;
                    self.durable.apply(snapshot);
                }
            }
        }
        if self.buffered_bytes >= NEVER_FLUSH_BYTES {
            self.buffered.drain(..).for_each(|w| self.durable.apply(w));
            self.buffered_bytes = 0;
        }
        self.queued.push((id, Vec::new()));
    }

    /// Starts a sync of everything queued, if none is under way; returns the
    /// last batch it covers.
    pub fn start_sync(&mut self) -> Option<u64> {
        if self.syncing.is_some() || self.queued.is_empty() {
            return None;
        }
        let last = self.queued.last().map_or(0, |q| q.0);
        let writes = self.queued.drain(..).flat_map(|(_, w)| w).collect();
        self.syncing = Some((last, writes));
        Some(last)
    }

    pub fn syncing(&self) -> bool {
        self.syncing.is_some()
    }

    /// The sync under way completes: its writes are durable; returns the last batch it covered.
    pub fn complete_sync(&mut self) -> Option<u64> {
        let (last, writes) = self.syncing.take()?;
        writes.into_iter().for_each(|w| self.durable.apply(w));
        Some(last)
    }

    /// Writes not yet durable (queued, buffered or under sync): what a crash now may lose.
    pub fn unsynced(&self) -> usize {
        let queued: usize = self.queued.iter().map(|q| q.1.len()).sum();
        queued + self.buffered.len() + self.syncing.as_ref().map_or(0, |s| s.1.len())
    }

    /// The node dies. Returns what the crash did to unsynced data, for the node's log.
    pub fn crash(&mut self, rng: &mut ChaCha8Rng, torn: f64) -> String {
        let lost_queued: usize = self.queued.drain(..).map(|q| q.1.len()).sum();
        let lost_buffered = self.buffered.len();
        self.buffered.clear();
        self.buffered_bytes = 0;
        let mut text = format!("lost {} queued and {lost_buffered} buffered writes", lost_queued);
        if let Some((_, writes)) = self.syncing.take() {
            let n = writes.len();
            let kept = if torn > 0.0 && rng.gen_bool(torn) {
                rng.gen_range(0..=n)
            } else {
                0
            };
            writes.into_iter().take(kept).for_each(|w| self.durable.apply(w));
            text.push_str(&format!(
                "; kept {kept} of {n} writes under sync{}",
                if kept < n { " (the next one torn)" } else { "" }
            ));
        }
        text
    }

    /// What a restarting node recovers.
    pub fn stored(&self) -> Stored<R, S> {
        self.durable.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    type D = SimDisk<u32, Vec<u32>>;

    #[test]
    fn batch_durable_only_once_a_covering_sync_completes() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut d = D::new(FsyncPolicy::Batch);
        d.write(1, vec![Write::Append(1)]);
        assert_eq!(d.start_sync(), Some(1));
        d.write(2, vec![Write::Append(2)]);
        assert_eq!(d.start_sync(), None, "one sync at a time");
        assert_eq!(d.complete_sync(), Some(1));
        assert_eq!(d.stored().log, vec![1]);
        d.write(3, vec![Write::Append(3)]);
        assert_eq!(d.start_sync(), Some(3), "group commit of 2 and 3");
        d.crash(&mut rng, 0.0);
        assert_eq!(d.stored().log, vec![1], "no torn prefix kept");
        assert!(!d.syncing());
    }

    #[test]
    fn a_torn_crash_keeps_a_prefix_of_the_sync_under_way() {
        let mut prefixes = std::collections::BTreeSet::new();
        for seed in 0..50 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mut d = D::new(FsyncPolicy::Always);
            d.write(1, vec![Write::Append(1), Write::Append(2), Write::Append(3)]);
            d.start_sync();
            d.write(2, vec![Write::Append(4)]);
            d.crash(&mut rng, 1.0);
            let log = d.stored().log;
            assert!([1, 2, 3][..log.len()] == log[..], "{log:?}");
            prefixes.insert(log.len());
        }
        assert_eq!(prefixes.len(), 4, "{prefixes:?}");
    }

    #[test]
    fn never_loses_the_buffer_but_keeps_snapshots() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut d = D::new(FsyncPolicy::Never);
        d.write(1, vec![Write::Append(1)]);
        assert_eq!(d.start_sync(), Some(1));
        assert_eq!(d.complete_sync(), Some(1), "reported at once");
        d.write(
            2,
            vec![
                Write::Snapshot {
                    snapshot: vec![1],
                    log: vec![],
                },
                Write::Append(2),
            ],
        );
        d.crash(&mut rng, 1.0);
        assert_eq!(d.stored().snapshot, Some(vec![1]));
        assert!(d.stored().log.is_empty(), "the acknowledged append is gone");
    }
}
