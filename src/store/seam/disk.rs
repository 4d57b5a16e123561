//! What a node's disk holds, as every host sees it: the WAL
//! ([`crate::store::wal`]) recovers a [`Stored`], and [`MemDisk`] is the same
//! thing in memory for simulated nodes.
//!
//! Invariant (the contract the WAL keeps on disk): applying a sequence of
//! [`Write`]s to an empty `Stored` with [`Stored::apply`] gives what recovery
//! returns after those writes were made durable.

use super::Write;

/// The durable state of one node: the last snapshot, then the log after it.
#[derive(Clone, Debug, PartialEq)]
pub struct Stored<R, S> {
    pub snapshot: Option<S>,
    pub log: Vec<R>,
}

impl<R, S> Default for Stored<R, S> {
    fn default() -> Self {
        Stored {
            snapshot: None,
            log: Vec::new(),
        }
    }
}

impl<R, S> Stored<R, S> {
    pub fn apply(&mut self, w: Write<R, S>) {
        match w {
            Write::Append(r) => self.log.push(r),
            Write::Snapshot { snapshot, log } => {
                self.snapshot = Some(snapshot);
                self.log = log;
            }
        }
    }
}

/// An in-memory disk for simulated nodes: writes of each driver batch are
/// held until a sync; a crash loses everything not yet synced.
#[derive(Clone, Debug)]
pub struct MemDisk<R, S> {
    synced: Stored<R, S>,
    /// Batches written but not synced: (batch id, writes), oldest first.
    unsynced: Vec<(u64, Vec<Write<R, S>>)>,
}

impl<R, S> Default for MemDisk<R, S> {
    fn default() -> Self {
        MemDisk {
            synced: Stored::default(),
            unsynced: Vec::new(),
        }
    }
}

impl<R: Clone, S: Clone> MemDisk<R, S> {
    /// Writes a batch (not yet durable).
    pub fn write(&mut self, batch: u64, writes: Vec<Write<R, S>>) {
        self.unsynced.push((batch, writes));
    }

    /// Makes every written batch durable (one group commit); returns the
    /// last batch id covered, `None` if nothing was waiting.
    pub fn sync(&mut self) -> Option<u64> {
        self.sync_upto(u64::MAX)
    }

    /// Makes the batches up to `batch` durable (a sync that started before
    /// later batches were written); returns the last batch id covered.
    pub fn sync_upto(&mut self, batch: u64) -> Option<u64> {
        let n = self.unsynced.iter().take_while(|(b, _)| *b <= batch).count();
        let mut last = None;
        for (b, writes) in self.unsynced.drain(..n) {
            writes.into_iter().for_each(|w| self.synced.apply(w));
            last = Some(b);
        }
        last
    }

    pub fn has_unsynced(&self) -> bool {
        !self.unsynced.is_empty()
    }

    /// The oldest batch written and not yet synced.
    pub fn oldest_unsynced(&self) -> Option<u64> {
        self.unsynced.first().map(|(b, _)| *b)
    }

    /// The newest batch written and not yet synced.
    pub fn last_unsynced(&self) -> Option<u64> {
        self.unsynced.last().map(|(b, _)| *b)
    }

    /// The process dies: unsynced writes are gone.
    pub fn crash(&mut self) {
        self.unsynced.clear();
    }

    /// What a restarting node recovers.
    pub fn stored(&self) -> Stored<R, S> {
        self.synced.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crash_keeps_exactly_the_synced_batches() {
        let mut d: MemDisk<u32, Vec<u32>> = MemDisk::default();
        d.write(1, vec![Write::Append(1), Write::Append(2)]);
        d.write(2, vec![Write::Append(3)]);
        assert_eq!(d.sync_upto(1), Some(1));
        assert_eq!(d.stored().log, vec![1, 2]);
        assert_eq!(d.last_unsynced(), Some(2));
        assert_eq!(d.sync(), Some(2));
        assert_eq!(d.sync(), None);
        d.write(
            3,
            vec![Write::Snapshot {
                snapshot: vec![1, 2, 3],
                log: vec![4],
            }],
        );
        d.write(4, vec![Write::Append(5)]);
        assert!(d.has_unsynced());
        d.crash();
        assert_eq!(d.stored().log, vec![1, 2, 3]);
        assert_eq!(d.stored().snapshot, None);
        d.write(
            5,
            vec![Write::Snapshot {
                snapshot: vec![9],
                log: vec![10],
            }],
        );
        d.write(6, vec![Write::Append(11)]);
        assert_eq!(d.sync(), Some(6));
        assert_eq!(
            d.stored(),
            Stored {
                snapshot: Some(vec![9]),
                log: vec![10, 11]
            }
        );
    }
}
