//! The router's routing tables: one shared table the harness replaces when it
//! rebalances, and each client connection's cached copy of it.
//!
//! A connection routes by its cached copy, refreshed when it is older than
//! [`CACHE_TTL`] or when a group refuses a request as fenced (then it waits
//! briefly for a newer table and retries: a fenced request ran nowhere). So a
//! routing change reaches a busy connection at the latest a TTL later; in
//! between, only the groups' fences keep it from writing to a group that gave
//! its keys away. Without them (`--no-shard-fencing`) those writes land at
//! the old owner, where nobody reads them: the stale-cache bug of request
//! routing tiers.
//!
//! Invariant: the shared table's epoch only grows.

use crate::store::shard::RoutingTable;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// How long a connection routes by its cached table before it looks again.
pub const CACHE_TTL: Duration = Duration::from_millis(1000);

/// How long a fenced request waits for the router to learn a newer table.
const FENCE_WAIT: Duration = Duration::from_millis(600);
const FENCE_POLL: Duration = Duration::from_millis(20);

/// The table every connection refreshes from.
#[derive(Clone)]
pub struct Shared(Arc<RwLock<RoutingTable>>);

impl Shared {
    pub fn new(t: RoutingTable) -> Shared {
        Shared(Arc::new(RwLock::new(t)))
    }

    pub fn get(&self) -> RoutingTable {
        self.0
            .read()
            .map(|t| t.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Installs `t` if it is newer; returns the epoch now in force.
    pub fn install(&self, t: RoutingTable) -> u64 {
        let mut cur = self.0.write().unwrap_or_else(|p| p.into_inner());
        if t.epoch() > cur.epoch() {
            *cur = t;
        }
        cur.epoch()
    }
}

/// One connection's cached table.
pub struct Cached {
    shared: Shared,
    table: RoutingTable,
    fetched: Instant,
}

impl Cached {
    pub fn new(shared: Shared) -> Cached {
        Cached {
            table: shared.get(),
            shared,
            fetched: Instant::now(),
        }
    }

    /// The table to route by: the cached one, refreshed once it is a TTL old.
    pub fn table(&mut self) -> &RoutingTable {
        if self.fetched.elapsed() >= CACHE_TTL {
            self.table = self.shared.get();
            self.fetched = Instant::now();
        }
        &self.table
    }

    /// After a fence: waits up to [`FENCE_WAIT`] for a table newer than the
    /// cached one; returns whether one came.
    pub fn refresh_after_fence(&mut self) -> bool {
        let end = Instant::now() + FENCE_WAIT;
        loop {
            let t = self.shared.get();
            if t.epoch() > self.table.epoch() {
                self.table = t;
                self.fetched = Instant::now();
                return true;
            }
            if Instant::now() >= end {
                return false;
            }
            std::thread::sleep(FENCE_POLL);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::shard::{KeyRange, PartitionerKind};

    #[test]
    fn a_cached_table_is_stale_until_its_ttl_or_a_fence() {
        let t1 = RoutingTable::new(PartitionerKind::Hash, 2).unwrap();
        let shared = Shared::new(t1.clone());
        let mut c = Cached::new(shared.clone());
        let to = 1 - t1.owner("set");
        let t2 = t1.move_range(KeyRange::new("s", Some("t")).unwrap(), to).unwrap();
        assert_eq!(shared.install(t2.clone()), 2);
        assert_eq!(shared.install(t1), 2, "an older table is not installed");
        assert_eq!(c.table().epoch(), 1, "the cache is stale within its TTL");
        assert!(c.refresh_after_fence());
        assert_eq!(c.table().owner("set"), to);
        assert!(!c.refresh_after_fence(), "nothing newer to wait for");
    }
}
