//! A node's clocks as the nemesis sets them, as pure arithmetic over the
//! host's time: a wall clock with an offset (last-write-wins timestamps,
//! plain log lines) and the core clock, whose *rate* can change (leases,
//! election timeouts, heartbeats). The node process feeds it real time, the
//! simulator simulated time; neither keeps a second clock model.
//!
//! The clock lives with the node's driver, so restarting the node (a new
//! process, or a simulated restart) also removes any skew or drift.

/// The host's own time, read once per input: a real node reads
/// CLOCK_MONOTONIC and the system clock, the simulator its simulated time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HostTime {
    /// Monotonic nanoseconds: the base of core time.
    pub mono_ns: u64,
    /// Nanoseconds since the Unix epoch: the base of the wall clock.
    pub unix_ns: u64,
}

impl HostTime {
    /// A host whose monotonic clock and epoch coincide (simulations, tests).
    pub fn at(ns: u64) -> HostTime {
        HostTime {
            mono_ns: ns,
            unix_ns: ns,
        }
    }
}

/// A clock that runs at `rate` times the host's monotonic clock.
///
/// Invariants: readings never decrease (not across rate changes either: a
/// change re-anchors at the current reading, `base + (mono - anchor) * rate`),
/// and the rate is always finite and positive. At rate 1 with no change ever
/// made a reading equals the monotonic time it was taken at, so an undrifted
/// node's core time is exactly the host's monotonic time.
#[derive(Clone, Debug, PartialEq)]
pub struct RateClock {
    /// Monotonic time of the last rate change.
    anchor: u64,
    /// The reading at `anchor`.
    base: u64,
    rate: f64,
    /// The largest reading handed out (guards against a monotonic time older
    /// than `anchor`, e.g. one taken by a caller before a change).
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

/// One node's clocks: the wall clock's offset and the core clock's rate.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodeClock {
    offset_ms: i64,
    core: RateClock,
}

impl NodeClock {
    /// What the core sees at host time `host`.
    pub fn now(&mut self, host: HostTime) -> crate::store::seam::Now {
        let wall = host.unix_ns as i128 + self.offset_ms as i128 * 1_000_000;
        crate::store::seam::Now {
            mono_ns: self.core.read(host.mono_ns),
            wall_ns: wall.clamp(0, u64::MAX as i128) as u64,
        }
    }

    /// Milliseconds since the Unix epoch as this node believes.
    pub fn wall_ms(&self, host: HostTime) -> i64 {
        (host.unix_ns / 1_000_000) as i64 + self.offset_ms
    }

    pub fn offset_ms(&self) -> i64 {
        self.offset_ms
    }

    pub fn set_offset_ms(&mut self, ms: i64) {
        self.offset_ms = ms;
    }

    pub fn rate(&self) -> f64 {
        self.core.rate()
    }

    /// Changes the core clock's rate from `host` on; `Err(rate)` for a rate
    /// that is not finite and positive (the clock is then unchanged).
    pub fn set_rate(&mut self, host: HostTime, rate: f64) -> Result<(), f64> {
        self.core.set_rate(host.mono_ns, rate)
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
    fn offset_moves_the_wall_clock_and_rate_the_core_clock_only() {
        let mut c = NodeClock::default();
        let h = |s: u64| HostTime {
            mono_ns: s * S,
            unix_ns: 1_700_000_000 * S + s * S,
        };
        let n = c.now(h(10));
        assert_eq!(n.mono_ns, 10 * S);
        assert_eq!(c.wall_ms(h(10)), (n.wall_ns / 1_000_000) as i64);
        c.set_offset_ms(-5_000);
        c.set_rate(h(10), 0.5).unwrap();
        let m = c.now(h(20));
        assert_eq!(m.mono_ns, 15 * S, "10 s at half speed");
        assert_eq!(m.wall_ns - n.wall_ns, 5 * S, "10 s later, 5 s behind");
        assert_eq!(c.wall_ms(h(20)), (m.wall_ns / 1_000_000) as i64);
        assert_eq!((c.offset_ms(), c.rate()), (-5_000, 0.5));
        assert!(c.set_rate(h(21), f64::NAN).is_err());
        assert_eq!(c.rate(), 0.5);
    }
}
