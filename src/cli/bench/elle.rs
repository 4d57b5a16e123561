//! `faultline bench elle`: times the Elle checker on a generated, valid
//! list-append history and reports peak memory.

use crate::checker::elle::{check, gen, ElleOptions};
use std::time::Instant;

/// Arguments of `faultline bench elle`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Transactions to generate.
    #[arg(long, default_value_t = 100_000)]
    pub txns: usize,
    /// Keys in use at once (each retired after --max-writes-per-key appends, as Jepsen's append workload does).
    #[arg(long, default_value_t = 1000)]
    pub keys: usize,
    /// Micro-ops per transaction.
    #[arg(long, default_value_t = 4)]
    pub ops_per_txn: usize,
    #[arg(long, default_value_t = 32)]
    pub max_writes_per_key: usize,
    /// Concurrent client processes.
    #[arg(long, default_value_t = 10)]
    pub concurrency: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// Peak resident set size in KiB (VmHWM), if /proc says.
fn peak_rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

pub fn run(a: Args) -> anyhow::Result<i32> {
    if a.txns == 0 || a.keys == 0 || a.ops_per_txn == 0 || a.concurrency == 0 {
        anyhow::bail!("--txns, --keys, --ops-per-txn and --concurrency must be positive");
    }
    let cfg = gen::GenConfig {
        txns: a.txns,
        keys: a.keys,
        ops_per_txn: a.ops_per_txn,
        max_writes_per_key: a.max_writes_per_key,
        concurrency: a.concurrency,
        seed: a.seed,
        ..gen::GenConfig::default()
    };
    let t0 = Instant::now();
    let h = gen::generate(&cfg);
    let gen_s = t0.elapsed().as_secs_f64();
    let rss_after_gen = peak_rss_kib();
    let t1 = Instant::now();
    let v = check(&h, &ElleOptions::default())?;
    let check_s = t1.elapsed().as_secs_f64();
    let rss = peak_rss_kib();
    println!(
        "elle list-append: {} txns ({} ops), {} keys at once, {} micro-ops/txn, concurrency {}",
        a.txns,
        h.len(),
        a.keys,
        a.ops_per_txn,
        a.concurrency
    );
    println!(
        "generate: {gen_s:.2} s (peak RSS so far {} MiB)",
        rss_after_gen.unwrap_or(0) / 1024
    );
    println!("check:    {check_s:.2} s  -> {} ({})", v.valid, v.summary);
    println!(
        "peak RSS: {} MiB (VmHWM, includes the in-memory history)",
        rss.unwrap_or(0) / 1024
    );
    println!("phases:   {} (ms)", v.details["phase_ms"]);
    Ok(v.valid.exit_code())
}
