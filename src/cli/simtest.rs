//! `faultline test --sim` and `--check-determinism`: the simulator's side of
//! `faultline test` (the flags and plan files are `test`'s own; the sweep is `cli::sim`).

use crate::checker::Validity;
use crate::runner::TestConfig;
use crate::sim;

/// Simulates one resolved config and prints its verdict as `faultline test` does.
pub fn run_one(cfg: &TestConfig) -> anyhow::Result<Validity> {
    let out = sim::execute(cfg)?;
    let r = &out.results;
    for v in &r.results {
        eprintln!("  {:<14} {:<8} {}", v.checker, v.valid.to_string(), v.summary);
    }
    for w in &r.warnings {
        eprintln!("  warning: {w}");
    }
    let cov = &out.sim.coverage;
    let reached: Vec<String> = crate::sim::coverage::COUNTERS
        .iter()
        .filter(|c| cov.get(c.0) > 0)
        .map(|c| format!("{} {}", c.0, cov.get(c.0)))
        .collect();
    eprintln!(
        "  coverage: {}",
        if reached.is_empty() {
            "nothing interesting reached".into()
        } else {
            reached.join(", ")
        }
    );
    let simulated = out.sim.end_ns as f64 / 1e9;
    eprintln!(
        "  {}; {} events, {} messages ({} dropped, {} duplicated), {} crashes ({} of a failed sync)",
        out.sim.world,
        out.sim.stats.events,
        out.sim.stats.messages,
        out.sim.stats.dropped,
        out.sim.stats.duplicated,
        out.sim.stats.crashes,
        out.sim.stats.fsync_failures
    );
    eprintln!(
        "  simulated {simulated:.1} s in {:.0} ms of wall time ({:.0}x), {:.0} ms with check and report",
        out.sim_wall.as_secs_f64() * 1000.0,
        simulated / out.sim_wall.as_secs_f64().max(1e-9),
        out.wall.as_secs_f64() * 1000.0
    );
    println!(
        "{}: {} ({} ops, seed {}, simulated) in {}",
        r.name,
        r.valid,
        r.ops,
        cfg.seed,
        out.dir.path().display()
    );
    Ok(r.valid)
}

/// Simulates `count` seeds (from the config's, as `--test-count` derives them) twice
/// each; exit 0 when every pair agrees event for event, else 3.
pub fn determinism(base: &TestConfig, count: usize) -> anyhow::Result<i32> {
    let mut bad = 0;
    for i in 0..count {
        let mut cfg = base.clone();
        cfg.seed = nth_seed(base.seed, i);
        let d = sim::check_determinism(&cfg)?;
        if d.ok() {
            println!(
                "seed {}: deterministic ({} events, digest {:016x})",
                cfg.seed, d.events[0], d.digests[0]
            );
        } else {
            bad += 1;
            let (n, ta, tb) = d.first_difference.unwrap_or((0, None, None));
            println!(
                "seed {}: NOT deterministic: digests {:016x} and {:016x}; event {n} differs (at {} vs {} ns)",
                cfg.seed,
                d.digests[0],
                d.digests[1],
                ta.map_or("-".into(), |t| t.to_string()),
                tb.map_or("-".into(), |t| t.to_string())
            );
        }
    }
    Ok(if bad == 0 {
        crate::exit::VALID
    } else {
        crate::exit::HARNESS
    })
}

/// The seed of test `i` of `--test-count` (the first is `--seed` itself).
pub fn nth_seed(seed: u64, i: usize) -> u64 {
    if i == 0 {
        return seed;
    }
    seed.wrapping_add(i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 1
}
