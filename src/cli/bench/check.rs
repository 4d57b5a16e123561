//! `faultline bench check`: per-file median times of the linearizability
//! checker over a corpus (expected.tsv lists file, format, model, verdict),
//! and a generated keyed cas-register history with elapsed time and peak RSS.
//! Run it on a release build.

use crate::checker::linearizable::check;
use crate::checker::{CheckOptions, Validity, Verdict};
use crate::history::import::read_path;
use crate::history::{jsonl, History};
use crate::testkit::linearizable::{generate, GenSpec};
use anyhow::{bail, Context};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Arguments of `faultline bench check`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Corpus directory holding expected.tsv.
    #[arg(long, default_value = "tests/fixtures/histories/porcupine")]
    pub corpus: PathBuf,
    /// Runs per file; the median is reported.
    #[arg(long, default_value_t = 11)]
    pub runs: usize,
    /// Also check the keyed (kv) files with partitioning off.
    #[arg(long)]
    pub no_partition: bool,
    /// Time limit in seconds for each partition-off check.
    #[arg(long, default_value_t = 60.0)]
    pub time_limit: f64,
    /// Instead of the corpus, generate a keyed cas-register history of this many ops.
    #[arg(long)]
    pub generate: Option<usize>,
    #[arg(long, default_value_t = 1000)]
    pub keys: usize,
    #[arg(long, default_value_t = 20)]
    pub clients: usize,
    #[arg(long, default_value_t = 0.05)]
    pub info_rate: f64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    if cfg!(debug_assertions) {
        eprintln!("warning: debug build; measure with `cargo run --release -- bench check`");
    }
    match args.generate {
        Some(n) => generated(&args, n),
        None => corpus(&args),
    }
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Median over `runs` checks; stops repeating once one run takes over 5 s.
fn time_check(h: &History, opts: &CheckOptions, runs: usize) -> anyhow::Result<(f64, Verdict)> {
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        let v = check(h, opts)?;
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        times.push(ms);
        last = Some(v);
        if ms > 5000.0 {
            break;
        }
    }
    Ok((median(times), last.expect("at least one run")))
}

fn corpus(args: &Args) -> anyhow::Result<i32> {
    let tsv = args.corpus.join("expected.tsv");
    let text = std::fs::read_to_string(&tsv).with_context(|| format!("reading {}", tsv.display()))?;
    let mut etcd_sum = 0.0;
    let mut wrong = 0;
    println!(
        "{:<24} {:<13} {:<9} {:<9} {:>10}",
        "file", "mode", "expected", "got", "median ms"
    );
    for (n, line) in text.lines().enumerate().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() < 4 {
            bail!("{}:{}: expected 4 tab-separated fields", tsv.display(), n + 1);
        }
        let h = read_path(&args.corpus.join(f[0]), None)?;
        let mut modes = vec![true];
        if args.no_partition && f[2] == "kv" {
            modes.push(false);
        }
        for partition in modes {
            let mut opts = CheckOptions {
                model: Some(f[2].to_string()),
                partition,
                ..CheckOptions::default()
            };
            if !partition {
                opts.time_limit = Some(Duration::from_secs_f64(args.time_limit));
            }
            let (ms, v) = time_check(&h, &opts, args.runs)?;
            let got = match v.valid {
                Validity::Valid => "valid",
                Validity::Invalid => "invalid",
                Validity::Unknown => "unknown",
            };
            if got != f[3] && got != "unknown" {
                wrong += 1;
            }
            if f[0].starts_with("etcd/") {
                etcd_sum += ms;
            }
            let mode = if partition { "partitioned" } else { "no-partition" };
            println!("{:<24} {mode:<13} {:<9} {got:<9} {ms:>10.3}", f[0], f[3]);
        }
    }
    println!("etcd sum of medians: {etcd_sum:.1} ms");
    if wrong > 0 {
        println!("WRONG verdicts: {wrong}");
        return Ok(crate::exit::INVALID);
    }
    Ok(crate::exit::VALID)
}

fn peak_rss_mib() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn generated(args: &Args, n: usize) -> anyhow::Result<i32> {
    let spec = GenSpec {
        ops: n,
        keys: args.keys,
        clients: args.clients,
        info_rate: args.info_rate,
        seed: args.seed,
    };
    let t = Instant::now();
    let h = generate(&spec);
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("generated.jsonl");
    jsonl::write_file(&h, &path)?;
    drop(h);
    println!(
        "generated {n} ops ({spec:?}) in {:.2} s",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let h = jsonl::read_file(&path)?;
    let parse = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let v = check(&h, &CheckOptions::default())?;
    let checking = t.elapsed().as_secs_f64();
    println!(
        "parse {parse:.2} s + check {checking:.2} s = {:.2} s; verdict {}; peak RSS {:.0} MiB",
        parse + checking,
        v.valid,
        peak_rss_mib().unwrap_or(f64::NAN)
    );
    println!("{}", v.summary);
    Ok(v.valid.exit_code())
}
