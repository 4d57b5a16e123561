//! The anti-entropy efficiency figure (for `faultline bench`): two replicas
//! of `keys` keys that differ in `differing` of them run one exchange through
//! the real core; the report says how many bytes crossed the wire (JSON, as
//! the node sends it) against the data one replica holds, and how long the
//! exchange took.

use super::types::{Action, Config, Input, Msg, Now, Record};
use super::Core;
use crate::store::conflict::{KeyState, LwwRegister};
use serde::Serialize;
use serde_json::json;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

#[derive(Clone, Debug, Serialize)]
pub struct AeReport {
    pub keys: usize,
    pub differing: usize,
    /// Encoded size of one replica's keys and states.
    pub data_bytes: u64,
    /// Encoded size of every anti-entropy message of the exchange.
    pub transferred_bytes: u64,
    pub messages: u64,
    /// Keys whose state changed on either side.
    pub repaired_keys: usize,
    /// Both replicas hold identical states afterwards.
    pub converged: bool,
    /// Building the two replicas and their Merkle trees (not part of the exchange).
    pub setup: Duration,
    /// The exchange alone, messages delivered back to back, trees already
    /// built (as on a running node).
    pub exchange: Duration,
}

impl AeReport {
    pub fn transferred_share(&self) -> f64 {
        self.transferred_bytes as f64 / self.data_bytes.max(1) as f64
    }
}

impl std::fmt::Display for AeReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} keys, {} differing: {} of {} bytes transferred ({:.4}%), {} messages, \
             {} keys repaired, converged {}; exchange {:.1} ms (setup {:.1} s)",
            self.keys,
            self.differing,
            self.transferred_bytes,
            self.data_bytes,
            100.0 * self.transferred_share(),
            self.messages,
            self.repaired_keys,
            self.converged,
            self.exchange.as_secs_f64() * 1e3,
            self.setup.as_secs_f64()
        )
    }
}

fn state(i: usize, version: u64) -> KeyState {
    KeyState::Lww(LwwRegister::new(
        1_700_000_000_000_000_000 + version,
        "n1",
        json!(i),
    ))
}

/// Runs the exchange. Keys `k0..k{keys}`; of the `differing` keys (spread
/// evenly) a third is missing on the second replica, the rest newer there.
pub fn anti_entropy(keys: usize, differing: usize) -> AeReport {
    let t0 = Instant::now();
    let nodes = ["n1", "n2"];
    let mut cfg = Config::new("n1", &nodes);
    cfg.n = 2;
    cfg.anti_entropy_ms = 0;
    let stride = (keys / differing.max(1)).max(1);
    let is_diff = |i: usize| differing > 0 && i.is_multiple_of(stride) && i / stride < differing;
    let mut data_bytes = 0u64;
    let a_records: Vec<Record> = (0..keys)
        .map(|i| {
            let key = format!("k{i}");
            let st = state(i, 0);
            data_bytes += (key.len() + st.wire_bytes()) as u64;
            Record::Merge {
                key,
                state: st,
                hint: None,
            }
        })
        .collect();
    let b_records = (0..keys).filter_map(|i| {
        let key = format!("k{i}");
        match (is_diff(i), (i / stride) % 3) {
            (true, 0) => None,
            (true, _) => Some(Record::Merge {
                key,
                state: state(i, 1),
                hint: None,
            }),
            (false, _) => Some(Record::Merge {
                key,
                state: state(i, 0),
                hint: None,
            }),
        }
    });
    let now = Now::default();
    let mut a = Core::new(cfg.clone(), a_records, now, 1);
    cfg.id = "n2".into();
    let mut b = Core::new(cfg, b_records, now, 2);
    // A live node's trees are current (each round only rehashes the paths
    // above leaves written since the last): build them before timing.
    a.status();
    b.status();
    let setup = t0.elapsed();

    let t1 = Instant::now();
    let (mut messages, mut bytes, mut repaired) = (0u64, 0u64, 0usize);
    let mut queue: VecDeque<(bool, Msg)> = VecDeque::new();
    a.start_exchange("n2");
    let mut pending: Vec<Action> = std::mem::take(&mut a.out);
    let mut from_a = true;
    loop {
        for act in pending.drain(..) {
            match act {
                Action::Send { msg, .. } => queue.push_back((from_a, msg)),
                Action::Event(e) if e.kind == "ae-repair" => repaired += 1,
                _ => {}
            }
        }
        let Some((sender_a, msg)) = queue.pop_front() else {
            break;
        };
        messages += 1;
        bytes += msg.wire_bytes() as u64;
        let (to, from) = if sender_a { (&mut b, "n1") } else { (&mut a, "n2") };
        pending = to.step(
            now,
            Input::Peer {
                from: from.into(),
                msg,
            },
        );
        from_a = !sender_a;
    }
    let exchange = t1.elapsed();
    let converged = a.store().len() == b.store().len()
        && a.store()
            .iter()
            .all(|(k, _)| a.store().digest(k) == b.store().digest(k));
    AeReport {
        keys,
        differing,
        data_bytes,
        transferred_bytes: bytes,
        messages,
        repaired_keys: repaired,
        converged,
        setup,
        exchange,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exchange_ships_under_one_percent_of_the_data_and_converges() {
        let r = anti_entropy(50_000, 20);
        assert!(r.converged, "{r:?}");
        assert_eq!(
            r.repaired_keys, 20,
            "exactly the differing keys are repaired: {r:?}"
        );
        assert!(
            r.transferred_share() < 0.01,
            "{:.4} of the data transferred: {r:?}",
            r.transferred_share()
        );
    }

    #[test]
    fn identical_replicas_exchange_only_their_roots_and_the_in_sync_answer() {
        let r = anti_entropy(5_000, 0);
        assert!(r.converged);
        assert_eq!((r.messages, r.repaired_keys), (2, 0), "{r:?}");
    }

    /// The figure: 1,000,000 keys differing in 100 (about 9 s in
    /// release; `faultline bench anti-entropy` prints bytes and time).
    #[test]
    fn one_million_keys_differing_in_one_hundred() {
        let r = anti_entropy(1_000_000, 100);
        println!("{r}");
        assert!(
            r.converged && r.repaired_keys == 100 && r.transferred_share() < 0.01,
            "{r:?}"
        );
    }
}
