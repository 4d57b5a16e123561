//! The gate that keeps the tests of one module apart from every other module's.
//!
//! Each integration-test file used to be its own binary, and `cargo test` runs binaries one
//! after another; now an area's files are modules of one binary, whose tests libtest runs on
//! parallel threads. Several start real clusters (node processes, namespaces, proxies, etcd,
//! Redis) and are timing-sensitive on a small machine, so every test enters its module's gate
//! first: tests of one module run beside each other as they did in their own binary (one
//! thread per core), never beside another module's. libtest starts tests in name order, so a
//! module's tests are taken together and a waiting test only waits for the previous module.
//!
//! A group of one test (`serial_alone!()`, named by its call site) runs beside no other test.
//!
//! Invariant: while `inside > 0`, every test running holds a gate of `group`.

use std::sync::{Condvar, Mutex, MutexGuard};

struct State {
    group: Option<&'static str>,
    inside: usize,
}

static STATE: Mutex<State> = Mutex::new(State {
    group: None,
    inside: 0,
});
static FREED: Condvar = Condvar::new();

/// Held by a running test; dropping it (also when the test panics) lets other modules in.
pub struct Gate;

fn state() -> MutexGuard<'static, State> {
    // A panicking test never holds the lock itself (only a `Gate`), so poison is harmless.
    STATE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Waits until no test of another group runs, then enters `group`'s gate.
pub fn enter(group: &'static str) -> Gate {
    let mut s = state();
    while s.inside > 0 && s.group != Some(group) {
        s = FREED.wait(s).unwrap_or_else(|e| e.into_inner());
    }
    s.group = Some(group);
    s.inside += 1;
    Gate
}

impl Drop for Gate {
    fn drop(&mut self) {
        let mut s = state();
        s.inside -= 1;
        if s.inside == 0 {
            s.group = None;
            FREED.notify_all();
        }
    }
}
