//! `faultline bench elle`: times the Elle checker on a generated list-append
//! (or rw-register) history and reports peak memory. Valid by default;
//! `--non-strict` shuffles real-time order so the search meets many
//! `-realtime` cycles (serializable, not strictly), and `--unread-tail`
//! leaves the last appends unread.

use crate::checker::elle::{check, ElleOptions, Model};
use crate::testkit::elle as gen;
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
    /// Shuffle the real-time order (serializable but not strictly: many -realtime cycles to name).
    #[arg(long)]
    pub non_strict: bool,
    /// The last N transactions only append, so their appends are never read.
    #[arg(long, default_value_t = 0)]
    pub unread_tail: usize,
    /// Generate rw-register transactions instead of list-append.
    #[arg(long)]
    pub rw_register: bool,
}

/// A /proc/self/status field in KiB (`VmHWM` = peak RSS, `VmRSS` = current).
fn status_kib(field: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn peak_rss_kib() -> Option<u64> {
    status_kib("VmHWM:")
}

/// User + system CPU seconds of this process so far.
fn cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes into the struct we pass.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) } != 0 {
        return 0.0;
    }
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(u.ru_utime) + t(u.ru_stime)
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
        strict: !a.non_strict,
        unread_tail: a.unread_tail,
        model: if a.rw_register {
            Model::RwRegister
        } else {
            Model::ListAppend
        },
        ..gen::GenConfig::default()
    };
    let t0 = Instant::now();
    let h = gen::generate(&cfg);
    let gen_s = t0.elapsed().as_secs_f64();
    let rss_after_gen = peak_rss_kib();
    let rss_before = status_kib("VmRSS:").unwrap_or(0);
    let (t1, cpu1) = (Instant::now(), cpu_seconds());
    let v = check(&h, &ElleOptions::default())?;
    let check_s = t1.elapsed().as_secs_f64();
    let check_cpu = cpu_seconds() - cpu1;
    let rss = peak_rss_kib();
    println!(
        "elle {}: {} txns ({} ops), {} keys at once, {} micro-ops/txn, concurrency {}{}",
        cfg.model.name(),
        a.txns,
        h.len(),
        a.keys,
        a.ops_per_txn,
        a.concurrency,
        if a.non_strict {
            ", real-time order shuffled"
        } else {
            ""
        }
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
    println!("check CPU: {check_cpu:.2} s (user+sys; wall time above depends on machine load)");
    println!(
        "checker's own memory: about {} MiB above the {} MiB history",
        (rss.unwrap_or(0).saturating_sub(rss_before)) / 1024,
        rss_before / 1024
    );
    println!(
        "graph:    {} data edges, {} with order edges, {} components; anomalies {}",
        v.details["data_edges"], v.details["edges"], v.details["sccs"], v.details["counts"]
    );
    println!("phases:   {} (ms)", v.details["phase_ms"]);
    Ok(v.valid.exit_code())
}
