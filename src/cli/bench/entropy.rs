//! `faultline bench anti-entropy`: one Merkle exchange between two replicas
//! of `--keys` keys that differ in `--differing` of them, through the
//! leaderless core ([`crate::store::leaderless::bench`]): bytes on the wire
//! against one replica's data, messages, keys repaired and time.

use crate::store::leaderless::bench::anti_entropy;

/// Arguments of `faultline bench anti-entropy`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Keys each replica holds.
    #[arg(long, default_value_t = 1_000_000)]
    pub keys: usize,
    /// Keys whose states differ between the replicas.
    #[arg(long, default_value_t = 100)]
    pub differing: usize,
}

pub fn run(a: Args) -> anyhow::Result<i32> {
    if a.keys == 0 || a.differing > a.keys {
        anyhow::bail!("--keys must be positive and --differing at most --keys");
    }
    let r = anti_entropy(a.keys, a.differing);
    println!("anti-entropy: {r}");
    println!(
        "{}",
        serde_json::json!({"keys": r.keys, "differing": r.differing, "data_bytes": r.data_bytes,
            "transferred_bytes": r.transferred_bytes, "transferred_share": r.transferred_share(),
            "messages": r.messages, "repaired_keys": r.repaired_keys, "converged": r.converged,
            "exchange_ms": r.exchange.as_secs_f64() * 1e3, "setup_secs": r.setup.as_secs_f64()})
    );
    Ok(if r.converged && r.repaired_keys == r.differing {
        crate::exit::VALID
    } else {
        crate::exit::INVALID
    })
}
