//! Pacing combinators applied per client thread: rate limiting with a
//! seeded stagger (uniform in [0, 2·mean], as Jepsen's `stagger`) and a time limit.

use rand::Rng;
use std::time::{Duration, Instant};

/// Per-client pacing: `rate` is the whole test's target ops/s (0 = unlimited).
#[derive(Clone, Debug)]
pub struct Pace {
    mean: Option<Duration>,
    deadline: Instant,
}

impl Pace {
    /// The longest mean pause between one client's ops (a year).
    pub const MAX_MEAN: Duration = Duration::from_secs(365 * 24 * 3600);

    /// A mean pause past [`Pace::MAX_MEAN`] (a rate too low to mean anything) is held there,
    /// so no rate can overflow a `Duration`; the test config refuses such rates up front.
    pub fn new(rate: f64, clients: usize, deadline: Instant) -> Pace {
        let mean = (rate > 0.0).then(|| {
            Duration::try_from_secs_f64(clients.max(1) as f64 / rate)
                .map_or(Pace::MAX_MEAN, |d| d.min(Pace::MAX_MEAN))
        });
        Pace { mean, deadline }
    }

    /// How long to wait before the next op (zero when unlimited).
    pub fn delay<R: Rng>(&self, rng: &mut R) -> Duration {
        match self.mean {
            Some(m) => m.mul_f64(rng.gen_range(0.0..2.0)),
            None => Duration::ZERO,
        }
    }

    /// True once the time limit passed.
    pub fn expired(&self) -> bool {
        Instant::now() >= self.deadline
    }

    pub fn deadline(&self) -> Instant {
        self.deadline
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn stagger_averages_to_the_rate() {
        let p = Pace::new(100.0, 10, Instant::now());
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let total: Duration = (0..1000).map(|_| p.delay(&mut rng)).sum();
        let mean = total.as_secs_f64() / 1000.0;
        assert!((0.09..0.11).contains(&mean), "{mean}");
        assert!(p.expired());
        assert_eq!(Pace::new(0.0, 4, Instant::now()).delay(&mut rng), Duration::ZERO);
        let slow = Pace::new(1e-300, 4, Instant::now()).delay(&mut rng);
        assert!(slow <= Pace::MAX_MEAN * 2, "{slow:?}");
    }
}
