//! The one clock every part of a run agrees on.

/// CLOCK_MONOTONIC in nanoseconds: time 0 of a history is a reading of it, and the nodes the
/// harness starts stamp their events in the same base (they are told the origin), so node
/// logs and the history line up without comparing wall clocks.
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}
