//! Resolving a test from layers, lowest first: a replayed `test.toml` (`--replay DIR`), plan
//! files (`--plan FILE`, repeatable, later files win), then the flags given on the command
//! line. A layer is any subset of [`TestConfig`]'s keys (a plan is a partial config; a
//! test.toml is a whole one, and is a valid plan too). What no layer sets takes its default;
//! the seed, if nobody set it, is drawn at random.
//!
//! Each layer is checked on its own as it is added, so an error names the file (with line
//! and column, or the key) or the flag that brought the bad value, before anything starts.
//! Unknown keys are errors, so a typo never silently runs a different test.

use super::config::TestConfig;
use crate::system::external::{ExternalError, TargetDef};
use crate::system::SystemKind;
use crate::util::secs::Secs;
use crate::util::Invalid;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use thiserror::Error;
use toml::{Table, Value};

#[derive(Debug, Error)]
pub enum PlanError {
    #[error("reading {path}: {source}")]
    Read { path: String, source: std::io::Error },
    /// A file that is not a (partial) test config; the message has line and column.
    #[error("{origin}: {message}")]
    Parse { origin: String, message: String },
    /// A value no test may have; `origin` is the file that set it, or the command line.
    #[error("{origin}: {invalid}")]
    Invalid { origin: String, invalid: Invalid },
}

/// The layers added so far, merged key by key.
#[derive(Debug, Default)]
pub struct Resolver {
    table: Table,
}

impl Resolver {
    pub fn new() -> Resolver {
        Resolver::default()
    }

    /// Adds `DIR/test.toml`, the whole config of a recorded run (old layouts upgraded).
    pub fn replay(&mut self, test_toml: &Path) -> Result<(), PlanError> {
        let origin = test_toml.display().to_string();
        let text = read(test_toml)?;
        let mut t: Table = toml::from_str(&text).map_err(|e| parse_err(&origin, e))?;
        upgrade_legacy(&mut t);
        self.add(t, &origin)
    }

    /// Adds a plan file.
    pub fn plan(&mut self, path: &Path) -> Result<(), PlanError> {
        let origin = format!("plan {}", path.display());
        let text = read(path)?;
        // Typed first, from the text: a bad value or an unknown key gets its line and column.
        toml::from_str::<TestConfig>(&text).map_err(|e| parse_err(&origin, e))?;
        let t: Table = toml::from_str(&text).map_err(|e| parse_err(&origin, e))?;
        self.add(t, &origin)
    }

    /// Adds the flags given on the command line (a table of the keys they set).
    pub fn flags(&mut self, flags: Table) -> Result<(), PlanError> {
        self.add(flags, "on the command line")
    }

    fn add(&mut self, layer: Table, origin: &str) -> Result<(), PlanError> {
        let mut merged = self.table.clone();
        merge(&mut merged, layer);
        let cfg = typed(&merged, origin)?;
        cfg.validate().map_err(|invalid| PlanError::Invalid {
            origin: origin.to_string(),
            invalid,
        })?;
        self.table = merged;
        Ok(())
    }

    /// Whether some layer set `key` (dotted: `target.nodes`).
    fn set(&self, key: &str) -> bool {
        let mut t = &self.table;
        let mut parts = key.split('.').peekable();
        while let Some(p) = parts.next() {
            match (t.get(p), parts.peek()) {
                (Some(_), None) => return true,
                (Some(Value::Table(inner)), Some(_)) => t = inner,
                _ => return false,
            }
        }
        false
    }

    /// The resolved config: defaults for what no layer set, a random seed unless one was
    /// given, the node count and fault length of a definition file unless given, and the default name.
    pub fn finish(self) -> Result<TestConfig, PlanError> {
        let mut cfg = typed(&self.table, "test plan")?;
        if !self.set("seed") {
            cfg.seed = rand::random::<u64>() >> 1;
        }
        let invalid = |invalid| PlanError::Invalid {
            origin: "test plan".into(),
            invalid,
        };
        let def = cfg.system.definition().map_err(invalid)?;
        if let (Some((d, _)), false) = (&def, self.set("target.nodes")) {
            cfg.system.nodes = d.nodes;
        }
        if !self.set("nemesis_interval") {
            if let Some(s) = fault_length(&cfg.system.kind, def.as_ref().map(|d| &d.0)).map_err(invalid)? {
                cfg.nemesis_interval = s;
            }
        }
        if cfg.name.is_empty() {
            let target = match (&def, &cfg.system.kind) {
                // The default name becomes a directory: the definition's name, not its path.
                (Some((d, _)), _) => d.name.clone(),
                (None, kind) => kind.label(),
            };
            cfg.name = cfg.default_name(&target);
        }
        cfg.validate().map_err(invalid)?;
        Ok(cfg)
    }
}

/// How long a fault lasts by default for `kind`, where its definition says (`def` for a
/// definition file; etcd and Redis read theirs, the working directory's or the built-in copy).
fn fault_length(kind: &SystemKind, def: Option<&TargetDef>) -> Result<Option<Secs>, Invalid> {
    let load = |d: Result<(TargetDef, PathBuf), ExternalError>| {
        d.map(|(d, _)| d.nemesis_interval)
            .map_err(|e| Invalid::new("--target", "target.name", e.to_string()))
    };
    match kind {
        SystemKind::Redis => load(crate::system::redis::definition()),
        SystemKind::Etcd => load(crate::system::etcd::definition()),
        _ => Ok(def.and_then(|d| d.nemesis_interval)),
    }
}

fn read(path: &Path) -> Result<String, PlanError> {
    std::fs::read_to_string(path).map_err(|source| PlanError::Read {
        path: path.display().to_string(),
        source,
    })
}

fn parse_err(origin: &str, e: impl std::fmt::Display) -> PlanError {
    PlanError::Parse {
        origin: origin.to_string(),
        message: e.to_string(),
    }
}

fn typed(t: &Table, origin: &str) -> Result<TestConfig, PlanError> {
    let mut cfg = TestConfig::deserialize(Value::Table(t.clone())).map_err(|e| parse_err(origin, e))?;
    // With hosts, a test has one node per host unless some layer says how many.
    let nodes_set = t
        .get("target")
        .and_then(Value::as_table)
        .is_some_and(|x| x.contains_key("nodes"));
    if let (Some(h), false) = (&cfg.hosts, nodes_set) {
        cfg.system.nodes = h.hosts.len();
    }
    Ok(cfg)
}

/// `over` onto `base`: tables merge key by key, anything else replaces.
fn merge(base: &mut Table, over: Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(Value::Table(b)), Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// test.toml as faultline wrote it before plans and test.toml shared one shape:
/// `target = "NAME"`, `nodes`, `node_binary` and a `[store]` table of modes at the top,
/// `*_s` seconds keys. Rewritten in place to today's keys; a current file is left alone.
fn upgrade_legacy(t: &mut Table) {
    for (old, new) in [
        ("time_limit_s", "time_limit"),
        ("nemesis_interval_s", "nemesis_interval"),
        ("recovery_s", "recovery"),
    ] {
        if let Some(v) = t.remove(old) {
            t.insert(new.into(), v);
        }
    }
    if let Some(Value::String(name)) = t.get("target").cloned() {
        let mut target = Table::new();
        target.insert("name".into(), Value::String(name));
        for k in ["nodes", "node_binary"] {
            if let Some(v) = t.remove(k) {
                target.insert(k.into(), v);
            }
        }
        if let Some(Value::Table(store)) = t.remove("store") {
            target.extend(store);
        }
        t.insert("target".into(), Value::Table(target));
    }
}

/// The plan files shipped in the repository, for tests: `targets/*.toml` that are plans
/// (not system definitions) and `workloads/*.toml`.
pub fn shipped_plans(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in ["targets", "workloads"] {
        let Ok(rd) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for e in rd.flatten() {
            let path = e.path();
            let is_plan = path.extension().is_some_and(|x| x == "toml")
                && std::fs::read_to_string(&path).is_ok_and(|t| dir == "workloads" || t.contains("[target]"));
            if is_plan {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nemesis::Kinds;
    use crate::store::core::Replication;
    use crate::store::wal::FsyncPolicy;
    use crate::workload::WorkloadKind;

    fn file(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn plans_override_only_what_they_set_later_files_win_and_flags_win_over_plans() {
        let d = tempfile::tempdir().unwrap();
        let a = file(
            d.path(),
            "a.toml",
            "workload = \"set\"\nnemesis = \"kill-all\"\ntime_limit = 7\n[target]\nfsync = \"never\"\nnodes = 3\n",
        );
        let b = file(d.path(), "b.toml", "time_limit = 9\n");
        let mut r = Resolver::new();
        r.plan(&a).unwrap();
        r.plan(&b).unwrap();
        let mut flags = Table::new();
        flags.insert("workload".into(), Value::String("bank".into()));
        r.flags(flags).unwrap();
        let cfg = r.finish().unwrap();
        assert_eq!(cfg.workload, WorkloadKind::Bank, "the flag wins over the plan");
        assert_eq!(cfg.nemesis, "kill-all".parse::<Kinds>().unwrap());
        assert_eq!(cfg.time_limit.get(), 9.0, "the later plan wins");
        assert_eq!(cfg.system.builtin.fsync, FsyncPolicy::Never);
        assert_eq!(cfg.system.builtin.replication, Replication::Quorum);
        assert_eq!(cfg.system.nodes, 3);
        assert_eq!(cfg.name, "builtin-bank-kill-all");
        assert!(cfg.seed <= i64::MAX as u64);
    }

    #[test]
    fn a_definition_sets_the_fault_length_unless_a_layer_does() {
        let d = tempfile::tempdir().unwrap();
        let def = |extra: &str| {
            let text = format!(
                "name = \"x\"\ninstall = \"-\"\nclient = \"command\"\ncommand = [\"true\"]\n\
                 start = [\"true\"]\nnodes = 2\n{extra}"
            );
            file(d.path(), "def.toml", &text)
        };
        let resolve = |def: &Path, flags: &[(&str, Value)]| {
            let mut r = Resolver::new();
            let mut t = Table::new();
            let mut target = Table::new();
            target.insert("name".into(), Value::String(def.display().to_string()));
            t.insert("target".into(), Value::Table(target));
            for (k, v) in flags {
                t.insert(k.to_string(), v.clone());
            }
            r.flags(t)?;
            r.finish()
        };
        let p = def("nemesis_interval = 4.5\n");
        let cfg = resolve(&p, &[]).unwrap();
        assert_eq!((cfg.nemesis_interval.get(), cfg.system.nodes), (4.5, 2));
        let given = resolve(&p, &[("nemesis_interval", Value::Float(2.0))]).unwrap();
        assert_eq!(given.nemesis_interval.get(), 2.0, "the flag wins");
        let plain = resolve(&def(""), &[]).unwrap();
        assert_eq!(plain.nemesis_interval, TestConfig::default().nemesis_interval);
        let e = resolve(&def("nemesis_interval = 0\n"), &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("def.toml") && e.contains("nemesis_interval"), "{e}");
    }

    #[test]
    fn bad_plans_are_refused_naming_the_file_and_the_key() {
        let d = tempfile::tempdir().unwrap();
        for (text, needle) in [
            ("workload = \"set\"\nworkoad = 1\n", "workoad"),
            ("[target]\nfencng = false\n", "fencng"),
            ("time_limit = 1e20\n", "too long"),
            ("nemesis_interval = inf\n", "line 1"),
            ("recovery = -1\n", "negative"),
            ("concurrency = -3\n", "line 1"),
            ("workload = \"nope\"\n", "nope"),
            ("time_limit = 0\n", "time_limit"),
            ("name = \"../../escape\"\n", "name"),
            ("op_timeout_ms = 0\n", "op_timeout_ms"),
            ("[target]\nnodes = 0\n", "target.nodes"),
        ] {
            let p = file(d.path(), "bad.toml", text);
            let e = Resolver::new().plan(&p).unwrap_err().to_string();
            assert!(e.contains("bad.toml") && e.contains(needle), "{text:?}: {e}");
        }
        assert!(Resolver::new().plan(&d.path().join("missing.toml")).is_err());
    }

    #[test]
    fn a_test_toml_is_a_plan_and_old_test_tomls_still_replay() {
        let d = tempfile::tempdir().unwrap();
        let cfg = TestConfig {
            name: "x".into(),
            seed: 5,
            ..TestConfig::default()
        };
        let p = file(d.path(), "test.toml", &toml::to_string_pretty(&cfg).unwrap());
        let mut r = Resolver::new();
        r.plan(&p).unwrap();
        assert_eq!(r.finish().unwrap(), cfg);
        let old = file(
            d.path(),
            "old.toml",
            "name = \"\"\ntarget = \"builtin\"\nnodes = 3\nconcurrency = 4\ntime_limit_s = 2.5\nrate = 50.0\n\
             workload = \"set\"\nnemesis = [\"kill\", \"partition\"]\nnemesis_interval_s = 1.0\nseed = 77\n\
             net = \"proxy\"\nstore_dir = \"st\"\nop_timeout_ms = 500\nrecovery_s = 1.0\n\n[store]\n\
             replication = \"async\"\nreads = \"linearizable\"\nfencing = true\nfsync = \"batch\"\n\
             heartbeat_ms = 50\nelection_timeout_ms = 500\n",
        );
        let mut r = Resolver::new();
        r.replay(&old).unwrap();
        let c = r.finish().unwrap();
        assert_eq!((c.seed, c.system.nodes, c.time_limit.get()), (77, 3, 2.5));
        assert_eq!(c.system.builtin.replication, Replication::Async);
        assert_eq!(c.name, "builtin-set-partition+kill");
    }

    #[test]
    fn shipped_plans_resolve() {
        let plans = shipped_plans(Path::new(env!("CARGO_MANIFEST_DIR")));
        assert!(plans.len() >= 7, "{plans:?}");
        for p in &plans {
            let mut r = Resolver::new();
            r.plan(p).unwrap_or_else(|e| panic!("{e}"));
            let cfg = r.finish().unwrap();
            if p.parent().is_some_and(|d| d.ends_with("workloads")) {
                assert_eq!(p.file_stem().and_then(|s| s.to_str()), Some(cfg.workload.name()));
            }
        }
        // The definitions beside them still parse as definitions.
        for e in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("targets")).unwrap() {
            let p = e.unwrap().path();
            if !plans.contains(&p) {
                crate::system::external::TargetDef::load(&p).unwrap_or_else(|e| panic!("{e}"));
            }
        }
    }
}
