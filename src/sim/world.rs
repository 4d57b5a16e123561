//! The simulated world a seed draws: how the network, the disks and the clocks
//! behave for one run. Swarm testing: each kind of trouble (loss, duplication,
//! reordering, slow disks, torn writes, clock skew) is switched on or off per
//! seed and its strength drawn, so a sweep visits calm worlds and hostile ones,
//! and a failing seed names the world it failed in ([`World::describe`]).
//!
//! Invariants: everything here is drawn from the seed alone; natural clock
//! rates stay well inside the stores' default drift bound (10%), so a safe
//! mode is never blamed for what only a faster nemesis may do.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

const US: u64 = 1_000;
const MS: u64 = 1_000_000;

/// One direction of one peer link.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Link {
    /// Least one-way delay, ns.
    pub base_ns: u64,
    /// Mean of the exponential delay added to `base_ns`, ns.
    pub jitter_ns: u64,
}

/// How a seed's world behaves.
#[derive(Clone, Debug, PartialEq)]
pub struct World {
    /// `links[a][b]`: messages from node `a` to node `b`.
    pub links: Vec<Vec<Link>>,
    /// Client to node (and back): never partitioned, never lossy (TCP on one host).
    pub client: Link,
    /// Chance a peer message is dropped.
    pub loss: f64,
    /// Chance a peer message arrives twice.
    pub duplicate: f64,
    /// Messages on one link may overtake each other (else each link is FIFO, like TCP).
    pub reorder: bool,
    /// Chance a message is delayed ten times its usual delay (a congested moment).
    pub spike: f64,
    /// Disk sync latency: least and mean extra, ns.
    pub sync: Link,
    /// Chance a sync is slow (50 to 200 ms: a stalled disk).
    pub slow_sync: f64,
    /// Chance a crash keeps part of the writes whose sync was under way (their
    /// last write torn and cut off by recovery's checksum), instead of none.
    pub torn: f64,
    /// Per node: core clock rate (1 ± a few percent).
    pub rates: Vec<f64>,
    /// Per node: wall clock offset, ms.
    pub offsets_ms: Vec<i64>,
}

fn maybe<R: Rng>(rng: &mut R, p: f64, f: impl FnOnce(&mut R) -> f64) -> f64 {
    if rng.gen_bool(p) {
        f(rng)
    } else {
        0.0
    }
}

impl World {
    /// The world of a run with `nodes` nodes, drawn from `rng` (seeded from the test seed).
    pub fn draw(rng: &mut ChaCha8Rng, nodes: usize) -> World {
        let base = rng.gen_range(50..1_000) * US;
        let jitter = rng.gen_range(20..2_000) * US;
        let uneven = rng.gen_bool(0.5);
        let link = |rng: &mut ChaCha8Rng| {
            if uneven {
                Link {
                    base_ns: rng.gen_range(base / 2..base * 3),
                    jitter_ns: rng.gen_range(jitter / 2..jitter * 3),
                }
            } else {
                Link {
                    base_ns: base,
                    jitter_ns: jitter,
                }
            }
        };
        let links = (0..nodes)
            .map(|_| (0..nodes).map(|_| link(rng)).collect())
            .collect();
        let loss = maybe(rng, 0.4, |r| r.gen_range(0.001..0.05));
        let duplicate = maybe(rng, 0.3, |r| r.gen_range(0.001..0.02));
        let reorder = rng.gen_bool(0.4);
        let spike = maybe(rng, 0.4, |r| r.gen_range(0.001..0.02));
        let sync = Link {
            base_ns: rng.gen_range(20..2_000) * US,
            jitter_ns: rng.gen_range(10..3_000) * US,
        };
        let slow_sync = maybe(rng, 0.3, |r| r.gen_range(0.001..0.02));
        let torn = maybe(rng, 0.6, |r| r.gen_range(0.2..1.0));
        let skew = rng.gen_bool(0.5);
        let rates = (0..nodes)
            .map(|_| {
                if skew {
                    1.0 + rng.gen_range(-0.02..0.02)
                } else {
                    1.0
                }
            })
            .collect();
        let offsets_ms = (0..nodes)
            .map(|_| if skew { rng.gen_range(-50..=50) } else { 0 })
            .collect();
        World {
            links,
            client: Link {
                base_ns: rng.gen_range(20..300) * US,
                jitter_ns: rng.gen_range(10..500) * US,
            },
            loss,
            duplicate,
            reorder,
            spike,
            sync,
            slow_sync,
            torn,
            rates,
            offsets_ms,
        }
    }

    /// One delay on `link`.
    pub fn delay(&self, rng: &mut ChaCha8Rng, link: Link) -> u64 {
        let u: f64 = rng.gen_range(f64::EPSILON..1.0);
        let extra = (-u.ln() * link.jitter_ns as f64) as u64;
        let d = link.base_ns + extra.min(100 * link.jitter_ns.max(US));
        if self.spike > 0.0 && rng.gen_bool(self.spike) {
            d * 10
        } else {
            d
        }
    }

    /// How long one disk sync takes.
    pub fn sync_delay(&self, rng: &mut ChaCha8Rng) -> u64 {
        if self.slow_sync > 0.0 && rng.gen_bool(self.slow_sync) {
            return rng.gen_range(50..200) * MS;
        }
        let u: f64 = rng.gen_range(f64::EPSILON..1.0);
        self.sync.base_ns + ((-u.ln() * self.sync.jitter_ns as f64) as u64).min(20 * MS)
    }

    /// A one-line summary for results.json and the report.
    pub fn describe(&self) -> String {
        let (lo, hi) = self.links.iter().flatten().fold((u64::MAX, 0), |(lo, hi), l| {
            (lo.min(l.base_ns), hi.max(l.base_ns))
        });
        let jitter = self
            .links
            .iter()
            .flatten()
            .map(|l| l.jitter_ns)
            .max()
            .unwrap_or(0);
        let max_rate = self.rates.iter().map(|r| (r - 1.0).abs()).fold(0.0, f64::max);
        let max_off = self.offsets_ms.iter().map(|o| o.abs()).max().unwrap_or(0);
        format!(
            "simulated: links {:.2}-{:.2} ms + exp(<= {:.2} ms), loss {:.1}%, duplicates {:.1}%, \
             spikes {:.1}%, {}; disk sync {:.2} ms + exp({:.2} ms), stalls {:.1}%, torn crashes {:.0}%; \
             clocks rate +-{:.1}%, offset +-{} ms",
            lo as f64 / 1e6,
            hi as f64 / 1e6,
            jitter as f64 / 1e6,
            self.loss * 100.0,
            self.duplicate * 100.0,
            self.spike * 100.0,
            if self.reorder { "reordering" } else { "FIFO links" },
            self.sync.base_ns as f64 / 1e6,
            self.sync.jitter_ns as f64 / 1e6,
            self.slow_sync * 100.0,
            self.torn * 100.0,
            max_rate * 100.0,
            max_off
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn a_seed_draws_one_world_and_seeds_differ() {
        let w = |s| World::draw(&mut ChaCha8Rng::seed_from_u64(s), 5);
        assert_eq!(w(1), w(1));
        let worlds: Vec<World> = (0..40).map(w).collect();
        assert!(worlds.iter().any(|w| w.loss > 0.0) && worlds.iter().any(|w| w.loss == 0.0));
        assert!(worlds.iter().any(|w| w.reorder) && worlds.iter().any(|w| !w.reorder));
        for w in &worlds {
            assert_eq!((w.links.len(), w.rates.len()), (5, 5));
            assert!(w.rates.iter().all(|r| (r - 1.0).abs() < 0.05), "{:?}", w.rates);
            assert!(w.describe().starts_with("simulated: "));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let l = Link {
            base_ns: MS,
            jitter_ns: MS,
        };
        let calm = World { spike: 0.0, ..w(3) };
        let d: Vec<u64> = (0..1000).map(|_| calm.delay(&mut rng, l)).collect();
        assert!(d.iter().all(|&x| (MS..=101 * MS).contains(&x)));
        let mean = d.iter().sum::<u64>() as f64 / 1000.0 / 1e6;
        assert!((1.8..2.2).contains(&mean), "{mean}");
    }
}
