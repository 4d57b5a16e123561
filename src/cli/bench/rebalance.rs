//! `faultline bench rebalance`: the share of keys whose owner changes when a
//! group is added (K -> K+1), per partitioner, against theory
//! ([`crate::store::shard::rebalance`]), over `--keys` uniform keys.

use crate::store::shard::rebalance::{table, uniform_keys};
use std::time::Instant;

/// Arguments of `faultline bench rebalance`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Keys (8 random letters each, uniform).
    #[arg(long, default_value_t = 1_000_000)]
    pub keys: usize,
    /// Groups before one is added (comma-separated for several rows).
    #[arg(long, value_delimiter = ',', default_value = "3,10")]
    pub groups: Vec<usize>,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

pub fn run(a: Args) -> anyhow::Result<i32> {
    if a.keys == 0 || a.groups.contains(&0) {
        anyhow::bail!("--keys and every --groups value must be positive");
    }
    let t0 = Instant::now();
    let keys = uniform_keys(a.keys, a.seed);
    println!(
        "{:<22} {:>6} {:>10} {:>9} {:>9} {:>8}",
        "scheme", "K->K+1", "moved", "share", "theory", "formula"
    );
    let mut rows = Vec::new();
    for &k in &a.groups {
        for r in table(k, &keys) {
            println!(
                "{:<22} {:>6} {:>10} {:>8.2}% {:>8.2}% {:>8}",
                r.scheme,
                format!("{k}->{}", k + 1),
                r.moved,
                100.0 * r.share(),
                100.0 * r.theory,
                r.why
            );
            rows.push(
                serde_json::json!({"scheme": r.scheme, "groups": k, "keys": r.keys,
                "moved": r.moved, "share": r.share(), "theory": r.theory}),
            );
        }
    }
    println!(
        "({} keys, seed {}, {:.1} s)",
        a.keys,
        a.seed,
        t0.elapsed().as_secs_f64()
    );
    println!("{}", serde_json::Value::Array(rows));
    Ok(crate::exit::VALID)
}
