//! The node's clocks as the nemesis sets them: a wall clock with an offset
//! (last-write-wins timestamps, plain log lines) and the core clock, whose
//! *rate* can be changed (leases, election timeouts, heartbeats).
//!
//! Both live in the node process only, so killing the process (end of a run,
//! `faultline cleanup`) also removes any skew or drift.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;

/// CLOCK_MONOTONIC in nanoseconds: the base of core time and of event times.
pub use crate::util::clock::monotonic_ns;

/// A clock that runs at `rate` times CLOCK_MONOTONIC.
///
/// Invariants: readings never decrease (not across rate changes either: a
/// change re-anchors at the current reading, `base + (mono - anchor) * rate`),
/// and the rate is always finite and positive. At rate 1 with no change ever
/// made a reading equals the monotonic time it was taken at, so an undrifted
/// node's core time is exactly CLOCK_MONOTONIC as before.
#[derive(Clone, Debug, PartialEq)]
pub struct RateClock {
    /// Monotonic time of the last rate change.
    anchor: u64,
    /// The reading at `anchor`.
    base: u64,
    rate: f64,
    /// The largest reading handed out (guards against a monotonic time older
    /// than `anchor`, e.g. one taken by a caller before a concurrent change).
    last: u64,
}

impl Default for RateClock {
    fn default() -> RateClock {
        RateClock {
            anchor: 0,
            base: 0,
            rate: 1.0,
            last: 0,
        }
    }
}

impl RateClock {
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// The reading at monotonic time `mono`.
    pub fn read(&mut self, mono: u64) -> u64 {
        let elapsed = mono.saturating_sub(self.anchor);
        let t = self.base.saturating_add((elapsed as f64 * self.rate) as u64);
        self.last = self.last.max(t);
        self.last
    }

    /// From monotonic time `mono` on, runs at `rate` (continuously: the
    /// reading at `mono` stays what it was). `rate` must be finite and positive;
    /// anything else is refused and changes nothing.
    pub fn set_rate(&mut self, mono: u64, rate: f64) -> Result<(), f64> {
        if !(rate.is_finite() && rate > 0.0) {
            return Err(rate);
        }
        self.base = self.read(mono);
        self.anchor = mono.max(self.anchor);
        self.rate = rate;
        Ok(())
    }
}

/// The node's clocks. Shared (behind an `Arc`) by the event loop and the log.
#[derive(Debug, Default)]
pub struct Clock {
    offset_ms: AtomicI64,
    core: Mutex<RateClock>,
}

impl Clock {
    pub fn offset_ms(&self) -> i64 {
        self.offset_ms.load(Ordering::Relaxed)
    }
    pub fn set_offset_ms(&self, ms: i64) {
        self.offset_ms.store(ms, Ordering::Relaxed)
    }
    /// Milliseconds since the Unix epoch as this node believes (system time
    /// plus the nemesis's offset).
    pub fn wall_ms(&self) -> i64 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        now + self.offset_ms()
    }

    fn core_clock(&self) -> std::sync::MutexGuard<'_, RateClock> {
        // A poisoned lock still holds a consistent clock: every update is a
        // few assignments that cannot panic half-way.
        self.core.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Core time in nanoseconds: what the driver passes the protocol core as
    /// `now`. Runs at [`Clock::rate`] times CLOCK_MONOTONIC; never decreases.
    pub fn core_ns(&self) -> u64 {
        let mut c = self.core_clock();
        c.read(monotonic_ns())
    }
    pub fn rate(&self) -> f64 {
        self.core_clock().rate()
    }
    /// Changes the core clock's rate from now on; `Err(rate)` for a rate
    /// that is not finite and positive (the clock is then unchanged).
    pub fn set_rate(&self, rate: f64) -> Result<(), f64> {
        let mut c = self.core_clock();
        c.set_rate(monotonic_ns(), rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    #[test]
    fn runs_at_the_set_rate_and_never_goes_back() {
        let mut c = RateClock::default();
        assert_eq!(c.read(5 * S), 5 * S, "rate 1 from the start: monotonic time");
        c.set_rate(10 * S, 0.25).unwrap();
        assert_eq!(c.read(10 * S), 10 * S, "continuous at the change");
        assert_eq!(c.read(14 * S), 11 * S, "4 s of real time are 1 s at 0.25");
        c.set_rate(14 * S, 2.0).unwrap();
        assert_eq!(c.read(15 * S), 13 * S);
        // Back to 1.0: no jump either way.
        c.set_rate(15 * S, 1.0).unwrap();
        assert_eq!(c.read(15 * S), 13 * S);
        assert_eq!(c.read(16 * S), 14 * S);
        // A monotonic time from before the last change does not go backwards.
        assert_eq!(c.read(12 * S), 14 * S);
        let mut prev = 0;
        for (i, rate) in [0.3, 1.7, 0.01, 1.0, 5.0].into_iter().enumerate() {
            let at = 20 * S + i as u64 * S;
            c.set_rate(at, rate).unwrap();
            for k in 0..100 {
                let t = c.read(at + k * 7_777_777);
                assert!(t >= prev, "rate {rate}: {t} < {prev}");
                prev = t;
            }
        }
    }

    #[test]
    fn refuses_a_rate_that_is_not_finite_and_positive() {
        let mut c = RateClock::default();
        c.set_rate(S, 0.5).unwrap();
        let before = c.clone();
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let e = c.set_rate(2 * S, bad).unwrap_err();
            assert!(e.is_nan() || e == bad);
            assert_eq!(c, before, "a refused rate changes nothing");
        }
        assert_eq!(c.rate(), 0.5);
    }

    #[test]
    fn the_shared_clock_tracks_real_time_at_its_rate() {
        let c = Clock::default();
        assert_eq!(c.rate(), 1.0);
        c.set_rate(0.5).unwrap();
        let (m0, c0) = (monotonic_ns(), c.core_ns());
        std::thread::sleep(std::time::Duration::from_millis(200));
        let (m1, c1) = (monotonic_ns(), c.core_ns());
        let ratio = (c1 - c0) as f64 / (m1 - m0) as f64;
        assert!((0.45..0.55).contains(&ratio), "ran at {ratio}, not 0.5");
        assert!(c.set_rate(0.0).is_err());
        assert_eq!(c.rate(), 0.5);
        c.set_rate(1.0).unwrap();
        assert!(c.core_ns() >= c1, "no jump back when the rate returns to 1");
    }
}
