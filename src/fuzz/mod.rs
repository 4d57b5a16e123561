//! A fuzz harness for everything faultline reads from a user (issue 19):
//! history files of every format and test plans.
//!
//! [`corpus`] builds seeded hostile files from the fixture histories, each
//! with what a correct reader must make of it; [`exec`] runs the real binary
//! on each (a separate process, so an abort shows as one) with a timeout,
//! measuring wall time and peak RSS; [`judge`] holds every outcome to its
//! expectation and the bounds (no abort or panic, within the default check
//! budget, under 4 GiB, a damaged op never a verdict). [`plans`] mutates
//! plan files in-process. `faultline bench fuzz` drives it (the long run);
//! tests/fuzz/hostile.rs runs a small seeded corpus in CI.

pub mod corpus;
pub mod exec;
pub mod judge;
pub mod mutate;
pub mod oracle;
pub mod plans;

use corpus::{Case, Expect};
use judge::{judge, outcome, Outcome, Tally};
use plans::PlanTally;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What to run.
#[derive(Clone, Debug)]
pub struct Options {
    /// The faultline binary under test.
    pub bin: PathBuf,
    /// `tests/fixtures` of a checkout.
    pub fixtures: PathBuf,
    /// Where the plans are (`workloads/`, `targets/`): a checkout's root.
    pub root: PathBuf,
    /// Where the corpus and the outputs go.
    pub dir: PathBuf,
    pub files: usize,
    pub plans: usize,
    pub seed: u64,
    /// Also the two big histories (8 MB set, 40 info writes).
    pub big: bool,
    /// A run is killed after this long.
    pub timeout: Duration,
}

/// Generates the corpus into `o.dir`, runs it, and tallies; `progress` hears
/// about every case.
pub fn run(o: &Options, mut progress: impl FnMut(usize, &Case)) -> std::io::Result<(Tally, PlanTally)> {
    std::fs::create_dir_all(&o.dir)?;
    let bases = corpus::bases(&o.fixtures);
    let mut cases = corpus::generate(&bases, o.files, o.seed);
    if o.big {
        cases.extend(corpus::big_cases(cases.len()));
    }
    let mut base_runs: HashMap<usize, Outcome> = HashMap::new();
    let mut t = Tally::default();
    for (i, case) in cases.iter().enumerate() {
        progress(i, case);
        let file = o.dir.join(&case.name);
        std::fs::write(&file, &case.bytes)?;
        let got = outcome(&o.bin, &file, &o.dir, o.timeout)?;
        let base = match (case.expect == Expect::Same, case.base) {
            (true, Some(b)) => {
                if let std::collections::hash_map::Entry::Vacant(e) = base_runs.entry(b) {
                    let copy = o.dir.join(format!("base-{b}.{}", ext(&bases[b].path)));
                    std::fs::copy(&bases[b].path, &copy)?;
                    e.insert(outcome(&o.bin, &copy, &o.dir, o.timeout)?);
                }
                base_runs.get(&b)
            }
            _ => None,
        };
        let reference = match &case.reference {
            Some(bytes) => {
                let r = o.dir.join(format!("{}.ref", case.name));
                std::fs::write(&r, bytes)?;
                let out = o.dir.join(format!("{}.ref.out", case.name));
                Some(exec::run(
                    &o.bin,
                    &["check".as_ref(), r.as_os_str()],
                    &out,
                    o.timeout,
                )?)
            }
            None => None,
        };
        judge(&mut t, case, &got, base, reference.as_ref());
    }
    let p = plans::fuzz(&o.root, &o.dir, o.plans, o.seed);
    Ok((t, p))
}

fn ext(p: &Path) -> String {
    p.extension()
        .and_then(|e| e.to_str())
        .unwrap_or("txt")
        .to_string()
}

/// The summary a person reads (and the issue note quotes).
pub fn summary(o: &Options, t: &Tally, p: &PlanTally) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "fuzz: {} hostile files (seed {}), {} runs of faultline; {} mutated plans",
        t.files, o.seed, t.runs, p.files
    );
    let classes: Vec<String> = t.classes.iter().map(|(k, n)| format!("{k} {n}")).collect();
    let _ = writeln!(s, "  expectations: {}", classes.join(", "));
    for (i, cmd) in judge::COMMANDS.iter().enumerate() {
        let e = t.exits[i];
        let _ = writeln!(
            s,
            "  {:<42} exit 0: {:>4}  1: {:>4}  2: {:>4}  3: {:>4}",
            format!("faultline {cmd}"),
            e[0],
            e[1],
            e[2],
            e[3]
        );
    }
    let _ = writeln!(s, "  aborts (signals):            {}", t.aborts);
    let _ = writeln!(s, "  panics:                      {}", t.panics + p.panics);
    let _ = writeln!(s, "  killed at the timeout:       {}", t.timeouts);
    let _ = writeln!(
        s,
        "  past the default budget:     {} (longest run {:.2} s)",
        t.over_budget,
        t.max_wall.as_secs_f64()
    );
    let _ = writeln!(
        s,
        "  peak RSS above 4 GiB:        {} (highest {} MiB)",
        t.over_memory,
        t.max_rss_kib >> 10
    );
    let _ = writeln!(s, "  damaged histories valid:     {}", t.damaged_valid);
    let _ = writeln!(s, "  plans: {} accepted, {} refused", p.accepted, p.rejected);
    let _ = writeln!(
        s,
        "  violations:                  {}",
        t.violations.len() + p.violations.len()
    );
    for v in t.violations.iter().chain(&p.violations).take(50) {
        let _ = writeln!(s, "    {}", crate::util::text::clip(v, 400));
    }
    s
}
