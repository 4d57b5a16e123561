//! `faultline bench fuzz`: the hostile corpus (see [`crate::fuzz`]) through
//! the real binary. Exits 1 when any run aborted, panicked, ran past the
//! default budget or 4 GiB, or read a file otherwise than it must (a damaged
//! history called valid, above all).
//!
//! The issue-19 figure: `faultline bench fuzz --files 400 --big` from the
//! repository root. CI runs a small corpus (tests/fuzz/hostile.rs).

use crate::fuzz::{self, Options};
use std::path::PathBuf;
use std::time::Duration;

/// Arguments of `faultline bench fuzz`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Hostile history files to generate and run (each through four commands).
    #[arg(long, default_value_t = 400)]
    pub files: usize,
    /// Mutated plan files to load and validate.
    #[arg(long, default_value_t = 200)]
    pub plans: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Also run the two big histories (an 8 MB set history, 40 info writes).
    #[arg(long)]
    pub big: bool,
    /// The fixture histories to mutate.
    #[arg(long, default_value = "tests/fixtures")]
    pub fixtures: PathBuf,
    /// The checkout whose `workloads/` and `targets/` plans to mutate.
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// Keep the corpus and every output here (default: a temporary directory).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The binary under test (default: this one).
    #[arg(long)]
    pub bin: Option<PathBuf>,
    /// Kill a run after this many seconds (the default check budget is 120).
    #[arg(long, default_value_t = 180)]
    pub timeout: u64,
}

pub fn run(a: Args) -> anyhow::Result<i32> {
    if !a.fixtures.is_dir() {
        anyhow::bail!(
            "--fixtures {}: not a directory (run from the repository root, or pass --fixtures)",
            a.fixtures.display()
        );
    }
    let tmp = tempfile::tempdir()?;
    let dir = a.out.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    let o = Options {
        bin: match a.bin {
            Some(b) => b,
            None => std::env::current_exe()?,
        },
        fixtures: a.fixtures,
        root: a.root,
        dir,
        files: a.files,
        plans: a.plans,
        seed: a.seed,
        big: a.big,
        timeout: Duration::from_secs(a.timeout),
    };
    let (t, p) = fuzz::run(&o, |i, c| {
        if i % 50 == 0 {
            eprintln!("fuzz: {i} files ({}: {})", c.name, c.what);
        }
    })?;
    print!("{}", fuzz::summary(&o, &t, &p));
    Ok(if t.clean() && p.panics == 0 && p.violations.is_empty() {
        crate::exit::VALID
    } else {
        crate::exit::INVALID
    })
}
