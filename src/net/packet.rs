//! Packet faults on node-to-node links, as data: delay with jitter, and loss.
//! The proxy back end applies them per forwarded chunk. Over TCP a lost packet
//! is retransmitted, so loss shows to the nodes as a retransmission stall
//! (200 ms, doubling while losses repeat on a connection), never as a hole in
//! the byte stream. Duplication is not offered: TCP drops duplicate segments,
//! so a duplicated packet never reaches a node over a stream.

use rand::Rng;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// TCP's minimum retransmission timeout on Linux.
pub const RTO_MS: u64 = 200;
/// Repeated losses stop doubling the stall here.
const MAX_RTO_MS: u64 = 3_200;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Packets {
    /// Added to every chunk, each way.
    pub delay_ms: u64,
    /// Each chunk gets a further uniform 0..=jitter_ms.
    pub jitter_ms: u64,
    /// Per chunk, the chance (percent) that its first transmission is lost.
    pub loss_percent: u8,
}

impl Packets {
    pub fn is_none(&self) -> bool {
        *self == Packets::default()
    }

    /// How long to hold the next chunk; `losses` counts consecutive losses on
    /// this connection (updated here).
    pub fn hold<R: Rng>(&self, rng: &mut R, losses: &mut u32) -> Duration {
        let mut ms = self.delay_ms;
        if self.jitter_ms > 0 {
            ms += rng.gen_range(0..=self.jitter_ms);
        }
        if self.loss_percent > 0 && rng.gen_range(0..100u8) < self.loss_percent {
            ms += (RTO_MS << (*losses).min(4)).min(MAX_RTO_MS);
            *losses += 1;
        } else {
            *losses = 0;
        }
        Duration::from_millis(ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn holds_are_delay_plus_jitter_plus_retransmission_stalls() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut losses = 0;
        let p = Packets {
            delay_ms: 50,
            jitter_ms: 20,
            loss_percent: 0,
        };
        for _ in 0..200 {
            let h = p.hold(&mut rng, &mut losses).as_millis();
            assert!((50..=70).contains(&h), "{h}");
        }
        let lossy = Packets {
            delay_ms: 0,
            jitter_ms: 0,
            loss_percent: 30,
        };
        let holds: Vec<u128> = (0..1000)
            .map(|_| lossy.hold(&mut rng, &mut losses).as_millis())
            .collect();
        let lost = holds.iter().filter(|h| **h > 0).count();
        assert!((230..370).contains(&lost), "{lost}");
        assert!(holds.iter().all(|h| *h == 0 || (200..=3200).contains(h)));
        assert!(holds.contains(&400), "a second loss in a row doubles the stall");
        assert!(Packets::default().is_none());
    }
}
