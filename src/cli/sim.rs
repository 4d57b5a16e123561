//! `faultline sim`: a sweep of seeds in the simulator, with `faultline test`'s flags.

use crate::checker::Validity;
use crate::sim;

/// Arguments of `faultline sim`: the seeds (or one seed to shrink), then any flags of `faultline test`.
#[derive(clap::Args, Debug)]
pub struct SweepArgs {
    /// Seeds to simulate: `A..B` (A to B, both included) or a single seed.
    #[arg(long, value_parser = parse_seeds, required_unless_present = "shrink", conflicts_with = "shrink")]
    pub seeds: Option<std::ops::RangeInclusive<u64>>,
    /// Shrink this failing seed: fewer and shorter faults, fewer operations, while the same
    /// checker still finds the same anomaly; writes the smallest case as a plan file.
    #[arg(long, value_parser = super::args::seed)]
    pub shrink: Option<u64>,
    /// Where `--shrink` writes its plan (default `shrunk-<seed>.toml` in --store-dir).
    #[arg(long, requires = "shrink")]
    pub out: Option<std::path::PathBuf>,
    /// Worker threads (default: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    #[command(flatten)]
    pub test: super::test::Args,
}

fn parse_seeds(s: &str) -> Result<std::ops::RangeInclusive<u64>, String> {
    let (a, b) = s.split_once("..").unwrap_or((s, s));
    let b = b.strip_prefix('=').unwrap_or(b);
    let a = super::args::seed(a.trim())?;
    let b = super::args::seed(b.trim())?;
    if b < a {
        return Err(format!("`{s}`: the last seed is below the first"));
    }
    Ok(a..=b)
}

/// The command that replays one seed of this sweep: `faultline test --sim` with the
/// sweep's own flags (seeds and threads left out).
fn replay_prefix(args: &[String]) -> String {
    let mut out = vec!["faultline".to_string(), "test".into(), "--sim".into()];
    let mut skip = false;
    for a in args.iter().skip_while(|a| *a != "sim").skip(1) {
        if std::mem::take(&mut skip) {
            continue;
        }
        let name = a.split('=').next().unwrap_or("");
        match name {
            "--seeds" | "--seed" | "--threads" | "--shrink" | "--out" => skip = !a.contains('='),
            "--sim" | "--check-determinism" => {}
            _ => out.push(quote(a)),
        }
    }
    out.join(" ")
}

fn quote(a: &str) -> String {
    if a.chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_=./,:+".contains(c))
    {
        a.to_string()
    } else {
        format!("'{}'", a.replace('\'', r"'\''"))
    }
}

/// `faultline sim`: the sweep, printing each failing seed with its anomaly and replay command.
pub fn sweep(a: SweepArgs, m: &clap::ArgMatches) -> anyhow::Result<i32> {
    let mut base = super::test::config(&a.test, m)?;
    base.simulated = true;
    if let Some(seed) = a.shrink {
        base.seed = seed;
        return super::sim_shrink::shrink(&base, a.threads, a.out.as_deref());
    }
    if a.out.is_some() {
        anyhow::bail!("--out: only `faultline sim --shrink SEED` writes a plan");
    }
    let Some(seeds) = a.seeds else {
        anyhow::bail!("faultline sim: give --seeds A..B or --shrink SEED");
    };
    let (first, last) = (*seeds.start(), *seeds.end());
    let replay = replay_prefix(&std::env::args().collect::<Vec<_>>());
    let total = last - first + 1;
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} seeds {per_sec} eta {eta} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let failed = std::sync::atomic::AtomicUsize::new(0);
    let s = sim::sweep::sweep(&base, first..last + 1, a.threads, |r| {
        if r.failed() {
            let n = failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            bar.set_message(format!("{n} failing"));
            let verdict = match &r.valid {
                Ok(v) => v.to_string(),
                Err(e) => format!("error: {e}"),
            };
            // Printed to stdout (also when stderr, where the bar draws, is not a terminal).
            bar.suspend(|| {
                println!(
                    "seed {}: {verdict}{}\n  replay: {replay} --seed {}",
                    r.seed,
                    r.anomaly.as_deref().map(|x| format!(": {x}")).unwrap_or_default(),
                    r.seed
                )
            });
        }
        bar.inc(1);
    })?;
    bar.finish_and_clear();
    let (inv, unk, err) = (s.count(Validity::Invalid), s.count(Validity::Unknown), s.errors());
    println!(
        "{} seeds ({first}..{last}) of {}: {} valid, {inv} invalid, {unk} unknown, {err} errors; \
         {:.1} s wall, {:.0} seeds/minute, {:.0}x simulated time",
        s.results.len(),
        base.name,
        s.count(Validity::Valid),
        s.wall.as_secs_f64(),
        s.seeds_per_minute(),
        s.speedup()
    );
    let cov = s.coverage();
    println!(
        "coverage (\"sometimes\" counters over {} seeds; count, and seeds reaching it):",
        cov.runs()
    );
    for l in cov.lines() {
        println!("  {l}");
    }
    Ok(if inv > 0 {
        crate::exit::INVALID
    } else if err > 0 {
        crate::exit::HARNESS
    } else if unk > 0 {
        crate::exit::UNKNOWN
    } else {
        crate::exit::VALID
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_and_the_replay_command() {
        assert_eq!(parse_seeds("1..1000").unwrap(), 1..=1000);
        assert_eq!(parse_seeds("5").unwrap(), 5..=5);
        assert_eq!(parse_seeds("3..=4").unwrap(), 3..=4);
        assert!(parse_seeds("9..2").is_err());
        assert!(parse_seeds("x..2").is_err());
        let args: Vec<String> = [
            "/bin/faultline",
            "sim",
            "--seeds",
            "1..9",
            "--replication",
            "async",
            "--seed=4",
            "--threads",
            "2",
            "--name",
            "a b",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            replay_prefix(&args),
            "faultline test --sim --replication async --name 'a b'"
        );
    }
}
