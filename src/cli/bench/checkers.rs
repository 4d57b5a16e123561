//! `faultline bench checkers`: anomaly checkers on generated correct histories.
//!
//! Times only the check (generation is reported separately). Example:
//! `faultline bench checkers --set 1000000 --stale 1000000`.

use crate::checker::{run_one, CheckOptions, Checker, Validity, Verdict};
use crate::testkit::synth::{register_history, set_history, Shape};
use std::time::Instant;

/// Arguments of `faultline bench checkers`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Adds in the set benchmark (0 skips it).
    #[arg(long, default_value_t = 1_000_000)]
    pub set: usize,
    /// Reads spread through the set history (each lists the set as it was), plus two final reads.
    #[arg(long, default_value_t = 10)]
    pub set_reads: usize,
    /// Ops in the stale-read (and session) benchmark (0 skips it).
    #[arg(long, default_value_t = 1_000_000)]
    pub stale: usize,
    /// Keys in the register history.
    #[arg(long, default_value_t = 1_000)]
    pub keys: usize,
    /// Client processes.
    #[arg(long, default_value_t = 10)]
    pub processes: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// CPU time (user + system) of the calling thread, in ms: on a shared machine
/// wall time also counts other people's builds.
fn thread_cpu_ms() -> f64 {
    // SAFETY: getrusage only writes into the struct we pass.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut u) } != 0 {
        return f64::NAN;
    }
    let tv = |t: libc::timeval| t.tv_sec as f64 * 1e3 + t.tv_usec as f64 / 1e3;
    tv(u.ru_utime) + tv(u.ru_stime)
}

fn time(c: &dyn Checker, h: &crate::history::History) -> Verdict {
    let cpu = thread_cpu_ms();
    let v = run_one(c, h, &CheckOptions::default());
    let cpu = thread_cpu_ms() - cpu;
    println!(
        "  {:<8} {:>8.1} ms wall {:>8.1} ms cpu  valid={}  {}",
        c.name(),
        v.elapsed_ms,
        cpu,
        v.valid,
        v.summary
    );
    v
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let shape = |ops| Shape {
        seed: args.seed,
        processes: args.processes,
        ops,
        info_rate: 0.01,
        max_latency: 1_000_000,
    };
    let mut all_valid = true;
    if args.set > 0 {
        let t = Instant::now();
        let ops = args.set + args.set_reads;
        let rate = (args.set_reads as f64 / ops as f64).min(1.0);
        let h = set_history(&shape(ops), rate);
        let read_elems: usize = h
            .ops
            .iter()
            .filter(|o| o.f == "read")
            .filter_map(|o| o.value.as_array().map(Vec::len))
            .sum();
        println!(
            "set: {} history lines ({} add ops, {} elements in reads), generated in {:.1} s",
            h.len(),
            h.ops.iter().filter(|o| o.f == "add" && o.is_invoke()).count(),
            read_elems,
            t.elapsed().as_secs_f64()
        );
        all_valid &= time(&crate::checker::set::SetChecker, &h).valid == Validity::Valid;
    }
    if args.stale > 0 {
        let t = Instant::now();
        let h = register_history(&shape(args.stale), args.keys);
        println!(
            "register: {} ops over {} keys, generated in {:.1} s",
            h.len(),
            args.keys,
            t.elapsed().as_secs_f64()
        );
        all_valid &= time(&crate::checker::stale::Stale, &h).valid == Validity::Valid;
        all_valid &= time(&crate::checker::session::Session, &h).valid == Validity::Valid;
        all_valid &= time(&crate::checker::perf::Perf, &h).valid == Validity::Valid;
    }
    if !all_valid {
        anyhow::bail!("a checker flagged a generated correct history: a checker bug");
    }
    Ok(crate::exit::VALID)
}
