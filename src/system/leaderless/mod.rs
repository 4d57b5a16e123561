//! The built-in store's leaderless topology as a system under test: its
//! settings (`--topology leaderless --n --w --r --conflict --read-repair
//! --anti-entropy-ms --sloppy-quorum`), the node flags they become, and the
//! client ([`client`]) that speaks to any node (every node coordinates).

/// The client; its sibling-merging helpers are shared with the simulator (`sim::leaderless`).
pub(crate) mod client;

pub use client::LeaderlessClient;

use crate::store::conflict::ConflictMode;
use crate::store::leaderless::ReadRepair;
use crate::store::leaderless::Ring;
use crate::store::ops::key_str;
use crate::util::Invalid;
use crate::workload::WorkloadKind;
use serde_json::Value;

/// The leaderless store's knobs. Defaults: N=3, W=R=2 (strict, overlapping
/// quorums), siblings (nothing acknowledged is lost), async read repair,
/// anti-entropy every second, no sloppy quorum: the safe configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct LeaderlessModes {
    pub n: usize,
    pub w: usize,
    pub r: usize,
    pub conflict: ConflictMode,
    pub read_repair: ReadRepair,
    /// 0 = off.
    pub anti_entropy_ms: u64,
    pub sloppy_quorum: bool,
}

impl Default for LeaderlessModes {
    fn default() -> Self {
        LeaderlessModes {
            n: 3,
            w: 2,
            r: 2,
            conflict: ConflictMode::Siblings,
            read_repair: ReadRepair::Async,
            anti_entropy_ms: 1000,
            sloppy_quorum: false,
        }
    }
}

impl LeaderlessModes {
    /// The `faultline node` flags of these settings.
    pub fn argv(&self) -> Vec<String> {
        let mut v: Vec<String> = [
            "--topology".to_string(),
            "leaderless".into(),
            "--n".into(),
            self.n.to_string(),
            "--w".into(),
            self.w.to_string(),
            "--r".into(),
            self.r.to_string(),
            "--conflict".into(),
            value_name(&self.conflict),
            "--read-repair".into(),
            value_name(&self.read_repair),
            "--anti-entropy-ms".into(),
            self.anti_entropy_ms.to_string(),
        ]
        .into();
        if self.sloppy_quorum {
            v.push("--sloppy-quorum".into());
        }
        v
    }

    /// Quorums that fit N and N that fits the cluster, named by flag and key.
    pub fn validate(&self, nodes: usize) -> Result<(), Invalid> {
        let (n, w, r) = (self.n, self.w, self.r);
        for (q, name) in [(n, "n"), (w, "w"), (r, "r")] {
            if q == 0 {
                return Err(bad(name, format!("must be at least 1 (got {q})")));
            }
        }
        if n > nodes {
            return Err(bad(
                "n",
                format!("N={n} is greater than the number of nodes ({nodes})"),
            ));
        }
        if w > n {
            return Err(bad("w", format!("W={w} is greater than N={n}")));
        }
        if r > n {
            return Err(bad("r", format!("R={r} is greater than N={n}")));
        }
        if self.conflict == ConflictMode::Avoid {
            return Err(bad(
                "conflict",
                "`avoid` needs datacenters with home keys: it is a mode of --topology multi-leader".into(),
            ));
        }
        Ok(())
    }
}

/// Workloads a leaderless store can run: no transactions, no transfers.
pub fn check_workload(leaderless: bool, w: WorkloadKind) -> Result<(), Invalid> {
    match w {
        WorkloadKind::Register
        | WorkloadKind::Session
        | WorkloadKind::Causal
        | WorkloadKind::Set
        | WorkloadKind::Counter => Ok(()),
        other if leaderless => Err(Invalid::new(
            "--workload",
            "workload",
            format!(
                "the leaderless store has no multi-key transactions, so it cannot run `{}` \
                 (it runs register, session, causal, set and counter)",
                other.name()
            ),
        )),
        _ => Ok(()),
    }
}

/// The store key a workload's op acts on (`set` and `counter` keep one
/// collection each; register keys are used as they are).
pub fn store_key(workload: &str, key: &Value) -> String {
    match workload {
        "set" => "set".into(),
        "counter" => "counter".into(),
        _ => key_str(key),
    }
}

/// The N replicas of `store_key` (its preference list) in a cluster of
/// `nodes`, as every node of that cluster computes it.
pub fn replicas(m: &LeaderlessModes, nodes: &[String], store_key: &str) -> Vec<String> {
    let ids: Vec<&str> = nodes.iter().map(String::as_str).collect();
    let Some(first) = ids.first() else {
        return Vec::new();
    };
    let cfg = crate::store::leaderless::Config::new(first, &ids);
    Ring::new(&cfg.nodes, cfg.vnodes).preference_list(store_key, m.n.min(nodes.len()))
}

/// The name a clap value enum is written with on the command line.
fn value_name<T: clap::ValueEnum>(v: &T) -> String {
    v.to_possible_value()
        .map(|p| p.get_name().to_string())
        .unwrap_or_default()
}

fn bad(name: &str, m: String) -> Invalid {
    let flag = format!("--{}", name.replace('_', "-"));
    Invalid::new(&flag, &format!("target.{name}"), m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quorums_beyond_n_and_n_beyond_the_cluster_are_refused_by_flag() {
        let ok = LeaderlessModes::default();
        assert!(ok.validate(3).is_ok());
        let e = ok.validate(2).unwrap_err().to_string();
        assert!(e.contains("--n") && e.contains("N=3"), "{e}");
        let w = LeaderlessModes { w: 4, ..ok.clone() };
        assert!(w.validate(5).unwrap_err().to_string().contains("--w"));
        let r = LeaderlessModes { r: 4, ..ok.clone() };
        assert!(r.validate(5).unwrap_err().to_string().contains("--r"));
        let z = LeaderlessModes { r: 0, ..ok.clone() };
        assert!(z.validate(5).unwrap_err().to_string().contains("--r"));
        let s = LeaderlessModes {
            sloppy_quorum: true,
            conflict: ConflictMode::Lww,
            ..ok
        };
        let argv = s.argv().join(" ");
        assert!(
            argv.contains("--conflict lww") && argv.ends_with("--sloppy-quorum"),
            "{argv}"
        );
    }

    #[derive(Debug, serde::Deserialize, serde::Serialize, PartialEq)]
    struct Plan {
        target: crate::system::SystemConfig,
    }

    #[test]
    fn target_table_keys_round_trip_and_are_refused_without_the_topology() {
        let p: Plan = toml::from_str("[target]\nnodes = 3\nn = 3\n").unwrap();
        let e = p.target.validate().unwrap_err().to_string();
        assert!(e.contains("--n") && e.contains("--topology leaderless"), "{e}");
        let text = "[target]\nnodes = 5\ntopology = \"leaderless\"\nw = 1\nconflict = \"lww\"\n";
        let p: Plan = toml::from_str(text).unwrap();
        p.target.validate().unwrap();
        let l = &p.target.builtin.leaderless;
        assert_eq!((l.n, l.w, l.r, l.conflict), (3, 1, 2, ConflictMode::Lww));
        let back: Plan = toml::from_str(&toml::to_string(&p).unwrap()).unwrap();
        assert_eq!(back, p);
        let single = toml::to_string(&Plan {
            target: Default::default(),
        })
        .unwrap();
        assert!(!single.contains("conflict"), "{single}");
        let bad: Plan = toml::from_str("[target]\nnodes = 2\ntopology = \"leaderless\"\n").unwrap();
        assert!(bad.target.validate().unwrap_err().to_string().contains("--n"));
        assert!(check_workload(true, WorkloadKind::Bank).is_err());
        assert!(check_workload(true, WorkloadKind::Set).is_ok());
        assert!(check_workload(false, WorkloadKind::Bank).is_ok());
    }
}
