//! The node process's time source: what it feeds its driver's clock
//! ([`crate::store::driver::NodeClock`], where the nemesis's offset and rate
//! apply) with each input.

use crate::store::driver::HostTime;

/// CLOCK_MONOTONIC in nanoseconds: the base of core time and of event times.
pub use crate::util::clock::monotonic_ns;

/// This machine's time now: CLOCK_MONOTONIC and the system (wall) clock.
pub fn host_time() -> HostTime {
    let unix_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    HostTime {
        mono_ns: monotonic_ns(),
        unix_ns,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::driver::NodeClock;

    #[test]
    fn a_node_clock_fed_real_time_runs_at_its_rate() {
        let mut c = NodeClock::default();
        assert_eq!(c.rate(), 1.0);
        c.set_rate(host_time(), 0.5).unwrap();
        let (h0, c0) = {
            let h = host_time();
            (h, c.now(h).mono_ns)
        };
        std::thread::sleep(std::time::Duration::from_millis(200));
        let h1 = host_time();
        let c1 = c.now(h1).mono_ns;
        let ratio = (c1 - c0) as f64 / (h1.mono_ns - h0.mono_ns) as f64;
        assert!((0.45..0.55).contains(&ratio), "ran at {ratio}, not 0.5");
        c.set_rate(host_time(), 1.0).unwrap();
        assert!(
            c.now(host_time()).mono_ns >= c1,
            "no jump back when the rate returns to 1"
        );
        let wall = c.wall_ms(host_time());
        c.set_offset_ms(60_000);
        assert!(
            (c.wall_ms(host_time()) - wall - 60_000).abs() < 1_000,
            "offset applied"
        );
    }
}
