//! `faultline sim --shrink SEED [test flags]`: shrinks a failing seed (see `sim::shrink`),
//! writes the smallest case as a plan file, replays that file as `faultline test --sim
//! --plan FILE` would, and prints faults and ops before and after, the anomaly and the
//! replay command. Exit 1 when a case was shrunk (it is invalid), 0 when the seed does not
//! fail (nothing to shrink), 3 when the flags are bad or the written plan does not replay.

use crate::runner::{plan::Resolver, TestConfig};
use crate::sim::shrink::{self, Outcome, Shrunk};
use anyhow::Context;
use std::path::{Path, PathBuf};

pub fn shrink(cfg: &TestConfig, threads: usize, out: Option<&Path>) -> anyhow::Result<i32> {
    let note = |s: &str| eprintln!("{s}");
    let s = match shrink::shrink(cfg, threads, &note)? {
        Outcome::Passes(v) => {
            let how = match v {
                crate::checker::Validity::Valid => "passes".to_string(),
                v => format!("is {v}, not invalid"),
            };
            println!("seed {} {how}; nothing to shrink", cfg.seed);
            return Ok(crate::exit::VALID);
        }
        Outcome::Shrunk(s) => s,
    };
    let path = out
        .map(PathBuf::from)
        .unwrap_or_else(|| cfg.store_dir.join(format!("shrunk-{}.toml", cfg.seed)));
    write_plan(&path, &s.after)?;
    let replay = replayed(&path)?;
    let again = shrink::trial(&replay)?;
    let p = path.display();
    println!("seed {}: {}", cfg.seed, s.signature);
    println!("  faults: {} -> {}", s.faults[0], s.faults[1]);
    println!("  client ops: {} -> {}", s.ops[0], s.ops[1]);
    let (b, a) = (&s.before, &s.after);
    println!(
        "  clients: {} at {} ops/s -> {} at {} ops/s; client phase: {} s -> {} s; {} simulations",
        b.concurrency, b.rate, a.concurrency, a.rate, b.time_limit, a.time_limit, s.runs
    );
    println!("  anomaly: {}", s.anomaly);
    println!("  plan: {p}");
    println!("  replay: faultline test --sim --plan {p}");
    println!("  real run: {}", real_note(&s, &path));
    if !s.signature.holds(&again.composed) {
        eprintln!(
            "error: the written plan {p} did not replay to {} (a simulator bug: please report it)",
            s.signature
        );
        return Ok(crate::exit::HARNESS);
    }
    Ok(crate::exit::INVALID)
}

/// The shrunk config as a plan file: test.toml's keys plus `ops` and `[[faults]]`, for a
/// real run unless `--sim` is given (so `simulated` is left out).
fn write_plan(path: &Path, after: &TestConfig) -> anyhow::Result<()> {
    let plan = TestConfig {
        simulated: false,
        name: format!("{}-shrunk", after.name.trim_start_matches("sim-")),
        ..after.clone()
    };
    let text = toml::to_string_pretty(&plan).context("writing the shrunk plan as TOML")?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let head = format!(
        "# Written by `faultline sim --shrink {}`: replay with `faultline test --sim --plan {}`.\n",
        after.seed,
        path.display()
    );
    std::fs::write(path, head + &text).with_context(|| format!("writing {}", path.display()))
}

/// The plan file resolved as `faultline test --sim --plan FILE` resolves it.
fn replayed(path: &Path) -> anyhow::Result<TestConfig> {
    let mut r = Resolver::new();
    r.plan(path)?;
    let mut flags = toml::Table::new();
    flags.insert("simulated".into(), toml::Value::Boolean(true));
    r.flags(flags)?;
    Ok(r.finish()?)
}

/// Whether and how the plan's faults run for real.
fn real_note(s: &Shrunk, path: &Path) -> String {
    let packets = s.after.nemesis.faults().iter().any(|f| f.kind.is_packet());
    let net = if packets && s.after.net != crate::net::NetKind::Proxy {
        " --net proxy"
    } else {
        ""
    };
    format!(
        "`faultline test --plan {}{net}` applies the same {} fault steps through the real nemesis \
         (every step is one the real nemesis takes; real timing is not deterministic, so the \
         anomaly is likely there, not certain)",
        path.display(),
        s.faults[1]
    )
}
