//! Property tests over random faults: the safe mode stays safe, with
//! instant disk syncs and with slow ones that a crash can cut short.

use super::*;
use proptest::prelude::*;
use proptest::test_runner::{Config as PtConfig, RngSeed, TestCaseError};

#[derive(Clone, Debug)]
enum Fault {
    Write,
    Crash(usize),
    Restart(usize),
    Isolate(usize),
    Heal,
    Run(u64),
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        4 => Just(Fault::Write),
        1 => (0..5usize).prop_map(Fault::Crash),
        1 => (0..5usize).prop_map(Fault::Restart),
        1 => (0..5usize).prop_map(Fault::Isolate),
        1 => Just(Fault::Heal),
        2 => (1..400u64).prop_map(Fault::Run),
    ]
}

/// Runs `faults` on a 5-node quorum cluster whose syncs take `sync_ms`, heals,
/// and checks: one leader per term, identical committed prefixes, no
/// acknowledged write lost, and the state equals a brute-force replay of the
/// committed log.
fn check_safe(seed: u64, faults: Vec<Fault>, sync_ms: u64) -> Result<(), TestCaseError> {
    let mut s = Sim::new(5, seed, |_| {});
    s.sync_ms = sync_ms;
    s.run(800);
    let mut n = 0i64;
    for f in faults {
        match f {
            Fault::Write => {
                if let Some(l) = s.leaders().into_iter().max_by_key(|id| s.core(id).term) {
                    // A burst, so crashes catch writes in every stage.
                    for _ in 0..3 {
                        n += 1;
                        s.write(&l, &format!("k{}", n % 3), n);
                        s.run(1);
                    }
                }
                s.run(3);
            }
            Fault::Crash(i) => s.crash(&format!("n{}", i + 1)),
            Fault::Restart(i) => {
                let id = format!("n{}", i + 1);
                if s.down.contains(&id) {
                    s.restart(&id);
                }
            }
            Fault::Isolate(i) => s.isolate(&format!("n{}", i + 1)),
            Fault::Heal => s.heal(),
            Fault::Run(ms) => s.run(ms),
        }
    }
    s.heal();
    for id in s.down.clone() {
        s.restart(&id);
    }
    s.run(2000);
    let mut by_term = BTreeMap::new();
    for (node, term, _) in s.events("leader") {
        prop_assert!(
            by_term.insert(term, node).is_none(),
            "two leaders in term {}",
            term
        );
    }
    let l = s.leader();
    let ll = s.core(&l);
    for (id, c) in s.cores() {
        let upto = c.commit.min(ll.commit);
        for i in 1..=upto {
            prop_assert_eq!(
                c.log.get(i),
                ll.log.get(i),
                "{} differs at committed index {}",
                id,
                i
            );
        }
    }
    for (node, term, index) in s.events("ack") {
        let index = index.unwrap_or(0);
        prop_assert!(index <= ll.commit, "ack by {} at {} beyond commit", node, index);
        prop_assert_eq!(ll.log.term_at(index), Some(term), "acked entry {} lost", index);
    }
    let mut oracle = KvState::default();
    for i in 1..=ll.applied {
        if let Some(Entry {
            cmd: Command::Client(op),
            ..
        }) = ll.log.get(i)
        {
            oracle.apply(op);
        }
    }
    prop_assert_eq!(&oracle, &ll.kv);
    Ok(())
}

proptest! {
    #![proptest_config(PtConfig { cases: 48, rng_seed: RngSeed::Fixed(0x5107e), ..PtConfig::default() })]

    #[test]
    fn quorum_mode_is_safe_under_random_faults(seed in any::<u64>(), faults in proptest::collection::vec(fault(), 1..40)) {
        check_safe(seed, faults, 0)?;
    }
}

proptest! {
    #![proptest_config(PtConfig { cases: 48, rng_seed: RngSeed::Fixed(0xd15c), ..PtConfig::default() })]

    /// Crashes that drop writes not yet synced never lose an acknowledged one:
    /// the driver holds votes and append acknowledgements until their sync, and
    /// the leader counts its own copy only once synced.
    #[test]
    fn quorum_mode_is_safe_when_crashes_cut_syncs_short(
        seed in any::<u64>(),
        sync_ms in 1..6u64,
        faults in proptest::collection::vec(fault(), 1..40),
    ) {
        check_safe(seed, faults, sync_ms)?;
    }
}
