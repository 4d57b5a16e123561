//! Test plan files under the same treatment: seeded mutations of the plans
//! in `workloads/` and `targets/builtin.toml`, each loaded, applied and
//! validated in-process. None may panic; one that validates must hold only
//! durations a run can represent (a plan that passes validation and then
//! panics when the run converts `time_limit = 1e20` to a `Duration` is the
//! class issue 19 item 4 names).

use crate::runner::plan::Resolver;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Totals over the mutated plans.
#[derive(Debug, Default)]
pub struct PlanTally {
    pub files: usize,
    pub accepted: usize,
    pub rejected: usize,
    pub panics: usize,
    pub violations: Vec<String>,
}

/// The plan files under `root` (a checkout) the fuzzer mutates.
pub fn plan_files(root: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root.join("workloads"))
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.push(root.join("targets/builtin.toml"));
    v.retain(|p| p.extension().is_some_and(|e| e == "toml") && p.is_file());
    v.sort();
    v
}

/// One hostile rewrite of a plan's text.
fn mutate(rng: &mut ChaCha8Rng, text: &str) -> (String, Vec<u8>) {
    let mut b = text.as_bytes().to_vec();
    match rng.gen_range(0..6) {
        0 if !b.is_empty() => {
            let at = rng.gen_range(0..b.len());
            b[at] ^= 1 << rng.gen_range(0..8);
            (format!("bit flip at {at}"), b)
        }
        1 => {
            let at = rng.gen_range(0..=b.len());
            b.truncate(at);
            (format!("cut at {at}"), b)
        }
        2 => {
            // A top-level key: replace its line, or set it before any table.
            let keys = ["time_limit", "nemesis_interval", "rate", "concurrency"];
            let vals = [
                "1e20",
                "inf",
                "nan",
                "-5",
                "1e400",
                "18446744073709551616",
                "0",
                "1e-300",
                "\"x\"",
            ];
            let (k, v) = (keys.choose(rng).unwrap(), vals.choose(rng).unwrap());
            let set = format!("{k} = {v}");
            let mut lines: Vec<String> = text
                .lines()
                .filter(|l| {
                    !l.trim_start().starts_with(&format!("{k} "))
                        && !l.trim_start().starts_with(&format!("{k}="))
                })
                .map(str::to_string)
                .collect();
            lines.insert(0, set.clone());
            (set, lines.join("\n").into_bytes())
        }
        3 => {
            let d = [50, 10_000][rng.gen_range(0..2)];
            b.extend_from_slice(format!("\nchecker = {}{}\n", "[".repeat(d), "]".repeat(d)).as_bytes());
            (format!("array nested {d} deep"), b)
        }
        4 => {
            b.insert(rng.gen_range(0..=b.len()), 0xff);
            ("invalid UTF-8".into(), b)
        }
        _ => ("CR line ends".into(), text.replace('\n', "\r").into_bytes()),
    }
}

/// Loads, applies and validates `path` as `faultline test --plan` would.
/// `Ok(true)` if accepted, `Ok(false)` if refused with an error, `Err` when
/// it accepted a config a run could not represent.
fn try_plan(path: &Path) -> Result<bool, String> {
    let mut resolver = Resolver::new();
    if resolver.plan(path).is_err() {
        return Ok(false);
    }
    let Ok(cfg) = resolver.finish() else {
        return Ok(false);
    };
    let pace = if cfg.rate > 0.0 {
        cfg.concurrency as f64 / cfg.rate
    } else {
        0.0
    };
    for (key, secs) in [
        ("time_limit", cfg.time_limit.get()),
        ("nemesis_interval", cfg.nemesis_interval.get()),
        ("recovery", cfg.recovery.get()),
        ("rate (the pause between one client's ops)", pace),
    ] {
        if Duration::try_from_secs_f64(secs).is_err() {
            return Err(format!(
                "validation accepted {key} = {secs} s, which a run cannot wait"
            ));
        }
    }
    Ok(true)
}

/// `n` mutated plans from the files under `root`, seeded.
pub fn fuzz(root: &Path, dir: &Path, n: usize, seed: u64) -> PlanTally {
    let mut t = PlanTally::default();
    let files = plan_files(root);
    if files.is_empty() {
        return t;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x706c_616e);
    for i in 0..n {
        let src = &files[i % files.len()];
        let Ok(text) = std::fs::read_to_string(src) else {
            continue;
        };
        let (what, bytes) = mutate(&mut rng, &text);
        let path = dir.join(format!("plan-{i:04}.toml"));
        if std::fs::write(&path, &bytes).is_err() {
            continue;
        }
        t.files += 1;
        let name = src
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        match catch_unwind(AssertUnwindSafe(|| try_plan(&path))) {
            Ok(Ok(true)) => t.accepted += 1,
            Ok(Ok(false)) => t.rejected += 1,
            Ok(Err(why)) => {
                t.accepted += 1;
                t.violations
                    .push(format!("{} ({name}, {what}): {why}", path.display()));
            }
            Err(_) => {
                t.panics += 1;
                t.violations
                    .push(format!("{} ({name}, {what}): panicked", path.display()));
            }
        }
    }
    t
}
