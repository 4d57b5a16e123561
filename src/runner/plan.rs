//! Plan files: TOML a user passes with `faultline test --plan FILE` (repeatable;
//! later files win) instead of flags. Every key is optional; a key a plan sets
//! overrides the corresponding flag. Unknown keys are errors, so a typo never
//! silently runs a different test. See `targets/*.toml` and `workloads/*.toml`.

use super::config::TestConfig;
use serde::Deserialize;
use std::path::Path;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum PlanError {
    #[error("reading plan {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("plan {path}: {source}")]
    Parse { path: String, source: toml::de::Error },
}

/// The `[target]` table: which system and its store modes.
#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TargetPlan {
    pub name: Option<String>,
    pub nodes: Option<usize>,
    pub replication: Option<String>,
    pub reads: Option<String>,
    pub fencing: Option<bool>,
    pub fsync: Option<String>,
}

#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    pub workload: Option<String>,
    /// Comma-separated kinds, as `--nemesis`.
    pub nemesis: Option<String>,
    pub nemesis_interval: Option<f64>,
    pub time_limit: Option<f64>,
    pub concurrency: Option<usize>,
    pub rate: Option<f64>,
    /// Checkers to run instead of the workload's default list.
    pub checkers: Option<Vec<String>>,
    #[serde(default)]
    pub target: TargetPlan,
}

impl Plan {
    pub fn load(path: &Path) -> Result<Plan, PlanError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| PlanError::Read {
            path: p.clone(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| PlanError::Parse { path: p, source })
    }

    /// Overrides `cfg` with every key this plan sets. `nemesis` is given
    /// already expanded by the caller's parser.
    pub fn apply(&self, cfg: &mut TestConfig, expand_nemesis: impl Fn(&str) -> Vec<String>) {
        let t = &self.target;
        macro_rules! set {
            ($src:expr, $dst:expr) => {
                if let Some(v) = &$src {
                    $dst = v.clone();
                }
            };
        }
        set!(self.workload, cfg.workload);
        set!(self.nemesis_interval, cfg.nemesis_interval_s);
        set!(self.time_limit, cfg.time_limit_s);
        set!(self.concurrency, cfg.concurrency);
        set!(self.rate, cfg.rate);
        set!(self.checkers, cfg.checkers);
        set!(t.name, cfg.target);
        set!(t.nodes, cfg.nodes);
        set!(t.replication, cfg.store.replication);
        set!(t.reads, cfg.store.reads);
        set!(t.fencing, cfg.store.fencing);
        set!(t.fsync, cfg.store.fsync);
        if let Some(n) = &self.nemesis {
            cfg.nemesis = expand_nemesis(n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_override_only_what_they_set_and_reject_typos() {
        let p: Plan = toml::from_str(
            "workload = \"set\"\nnemesis = \"kill-all\"\n[target]\nfsync = \"never\"\nnodes = 3\n",
        )
        .unwrap();
        let mut cfg = TestConfig::default();
        p.apply(&mut cfg, |s| vec![s.to_string()]);
        assert_eq!(cfg.workload, "set");
        assert_eq!(cfg.nemesis, vec!["kill-all"]);
        assert_eq!(cfg.store.fsync, "never");
        assert_eq!(cfg.nodes, 3);
        assert_eq!(cfg.store.replication, "quorum");
        assert_eq!(cfg.time_limit_s, 30.0);
        assert!(toml::from_str::<Plan>("workload = \"set\"\nworkoad = 1\n").is_err());
        assert!(toml::from_str::<Plan>("[target]\nfencng = false\n").is_err());
    }

    #[test]
    fn shipped_plans_parse() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut n = 0;
        for dir in ["targets", "workloads"] {
            for e in std::fs::read_dir(root.join(dir)).unwrap() {
                let path = e.unwrap().path();
                if path.extension().and_then(|x| x.to_str()) != Some("toml") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                if dir == "targets" && !text.contains("[target]") {
                    // An external system's target definition, not a plan.
                    crate::target::external::TargetDef::parse(&text, &path).unwrap_or_else(|e| panic!("{e}"));
                    n += 1;
                    continue;
                }
                let p = Plan::load(&path).unwrap_or_else(|e| panic!("{e}"));
                if dir == "workloads" {
                    let w = p.workload.clone().unwrap();
                    assert_eq!(path.file_stem().unwrap().to_str(), Some(w.as_str()));
                    crate::workload::build(&w).unwrap();
                }
                if let Some(c) = &p.checkers {
                    crate::checker::registry::build_list(&c.join(",")).unwrap();
                }
                n += 1;
            }
        }
        assert!(n >= 7, "{n} plan files");
    }
}
