//! `causal`: the seeds' consistent-prefix scenario (a question, then an answer
//! by someone who read it, then an observer). Every key is written once
//! (`c0`, `c1`, ... value 1); a client writes the next fresh key or reads one
//! of the last [`RECENT`] keys handed out, by anyone. A write depends on the
//! keys its client read since its previous write. A read picks the key's age (in
//! keys handed out since) log-uniformly up to [`RECENT`]: a store whose replication
//! lags by L shows the overtaking write only to a reader whose dependency is about L
//! old, and L is unknown here, so every scale of age is read about equally often
//! (uniform over the last 32 keys read only keys younger than a few hundred ms at
//! a few hundred ops/s, and a 300 ms lag was never seen). A client that has just read
//! a key next reads one its writer (or that writer's writer) had read, as an
//! observer checking that the question is there when the answer is. Since no
//! key is overwritten, a read that misses such a key after its dependant was
//! seen is certainly out of order: the session checker names it
//! (writes-follow-reads when the writer read that key itself, consistent-prefix
//! through a chain of others). Shapes as in `register`: `write` (value 1),
//! `read` (value null, then the value or null).

use super::Workload;
use crate::history::{Op, OpType, Process};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use std::collections::{BTreeMap, VecDeque};

/// Keys a read picks from: the most recently handed out (at 100-200 writes/s, the
/// last 5-10 s).
pub const RECENT: usize = 1024;
/// One op in this many writes a fresh key.
pub const WRITE_ONE_IN: u32 = 4;
/// Keys a client's write depends on at most (its reads since its last write).
const READS_KEPT: usize = 4;
/// Dependencies remembered per key (direct and through others).
const MAX_DEPS: usize = 12;

#[derive(Default)]
pub struct Causal {
    next: u64,
    recent: VecDeque<u64>,
    /// Per client: the keys read since its last write.
    read: BTreeMap<u64, Vec<u64>>,
    /// Per recent key: the keys its writer had read, and theirs (one hop more).
    deps: BTreeMap<u64, Vec<u64>>,
    /// Per client: the key to read next (a dependency of the key it just read).
    follow: BTreeMap<u64, u64>,
}

fn key_op(p: Process, f: &str, value: Value, k: u64) -> Op {
    Op::new(OpType::Invoke, p, f, value).with_key(json!(format!("c{k}")))
}

impl Workload for Causal {
    fn name(&self) -> &str {
        "causal"
    }

    fn next_op(&mut self, rng: &mut ChaCha8Rng, process: u64) -> Op {
        let p = Process::Client(process);
        if let Some(k) = self.follow.remove(&process) {
            return key_op(p, "read", Value::Null, k);
        }
        if self.recent.is_empty() || rng.gen_ratio(1, WRITE_ONE_IN) {
            let k = self.next;
            self.next += 1;
            let read = self.read.remove(&process).unwrap_or_default();
            let mut deps: Vec<u64> = read
                .iter()
                .flat_map(|r| self.deps.get(r).cloned().unwrap_or_default())
                .collect();
            deps.extend(read);
            deps.dedup();
            // The direct ones (last) and the deepest that fit.
            let cut = deps.len().saturating_sub(MAX_DEPS);
            deps.drain(..cut);
            self.deps.insert(k, deps);
            self.recent.push_back(k);
            if self.recent.len() > RECENT {
                if let Some(old) = self.recent.pop_front() {
                    self.deps.remove(&old);
                }
            }
            return key_op(p, "write", json!(1), k);
        }
        let k = self.recent[self.recent.len() - age(rng, self.recent.len())];
        let read = self.read.entry(process).or_default();
        read.push(k);
        if read.len() > READS_KEPT {
            read.remove(0);
        }
        // Prefer the deepest dependency (a chain through others), else any.
        if let Some(d) = self.deps.get(&k).filter(|d| !d.is_empty()) {
            let pick = if rng.gen_bool(0.5) {
                d[0]
            } else {
                d[rng.gen_range(0..d.len())]
            };
            self.follow.insert(process, pick);
        }
        key_op(p, "read", Value::Null, k)
    }
}

/// A key age in `1..=len` (1: the newest), log-uniform: as likely 1-10 as 100-1000.
fn age(rng: &mut ChaCha8Rng, len: usize) -> usize {
    let a = (rng.gen::<f64>() * (len as f64).ln()).exp() as usize;
    a.clamp(1, len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use std::collections::BTreeSet;

    #[test]
    fn keys_are_written_once_and_a_read_is_followed_by_one_of_its_dependencies() {
        let mut w = Causal::default();
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let mut written: Vec<String> = Vec::new();
        let mut last: BTreeMap<u64, (String, String)> = BTreeMap::new();
        let (mut reads, mut follows) = (0, 0);
        for i in 0..3000 {
            let p = i % 5;
            let op = w.next_op(&mut rng, p);
            let k = op.key_string().unwrap();
            if op.f == "write" {
                written.push(k.clone());
            } else {
                let at = written
                    .iter()
                    .position(|x| *x == k)
                    .expect("read of a written key");
                reads += 1;
                // Following a read: a key written before the one just read.
                if let Some((f, prev)) = last.get(&p) {
                    if f == "read" && written.iter().position(|x| x == prev).is_some_and(|b| at < b) {
                        follows += 1;
                    }
                }
            }
            last.insert(p, (op.f.clone(), k));
        }
        assert_eq!(written.iter().collect::<BTreeSet<_>>().len(), written.len());
        let ages: Vec<usize> = (0..10_000).map(|_| age(&mut rng, RECENT)).collect();
        let within = |lo: usize, hi: usize| ages.iter().filter(|a| (lo..hi).contains(*a)).count();
        assert!(ages.iter().all(|a| (1..=RECENT).contains(a)));
        // log-uniform: each factor-of-ten band about as likely as the others.
        let (young, mid, old) = (within(1, 10), within(10, 100), within(100, 1000));
        assert!(
            [young, mid, old].iter().all(|n| (2_500..4_100).contains(n)),
            "{young} {mid} {old}"
        );
        assert!(
            written.len() > 300 && reads > 1500 && follows > 300,
            "{} {reads} {follows}",
            written.len()
        );
    }
}
