//! The `targets/*.toml` definition of an external target and its command templates.
//!
//! A definition says how to install the system (a hint shown when a binary is missing), how to
//! start one node (an argv template), how long a cluster may take to become healthy, how to stop
//! it, where logs go, whether clock faults apply, and which client adapter talks to it. The
//! adapter-specific parts (etcd's peer list, Redis's Sentinels) live in `[adapter]`.
//!
//! Templates use `{var}`; the variables are those of [`NodeVars`] (`node`, `addr`, `data_dir`,
//! `dir`, `peers`, `port.<name>`, plus any adapter-specific ones). An unknown variable is an
//! error naming the file, never a silent empty string.

use super::ExternalError;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn default_nodes() -> usize {
    3
}
fn default_health_ms() -> u64 {
    20_000
}
fn default_grace_ms() -> u64 {
    2_000
}
fn default_logs() -> String {
    "{dir}/{node}.log".into()
}

/// One `targets/<name>.toml`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetDef {
    pub name: String,
    /// Shown when a binary is missing, e.g. `apt-get install etcd-server etcd-client`.
    pub install: String,
    /// Binaries that must be on PATH before anything starts.
    #[serde(default)]
    pub binaries: Vec<String>,
    /// Client adapter: `etcd`, `redis`, `command` (or `builtin`).
    pub client: String,
    /// For `client = "command"`: the user's executable and its arguments (a template).
    #[serde(default)]
    pub command: Vec<String>,
    #[serde(default = "default_nodes")]
    pub nodes: usize,
    /// First port; node `i` (0-based) gets `port_base + i * ports.len() + j` for its `j`th port.
    /// `0` picks free ports from the kernel.
    #[serde(default)]
    pub port_base: u16,
    /// Names of the ports each node needs, e.g. `["client", "peer"]`.
    #[serde(default)]
    pub ports: Vec<String>,
    /// Argv template to start one node.
    #[serde(default)]
    pub start: Vec<String>,
    /// Template of one entry of `{peers}` (joined with `,`).
    #[serde(default)]
    pub peer: String,
    #[serde(default = "default_health_ms")]
    pub health_timeout_ms: u64,
    /// SIGTERM grace before SIGKILL when stopping.
    #[serde(default = "default_grace_ms")]
    pub stop_grace_ms: u64,
    /// Log file template (stdout and stderr of the node).
    #[serde(default = "default_logs")]
    pub logs: String,
    /// Whether clock faults can be injected (libfaketime: C programs yes, Go programs no).
    #[serde(default)]
    pub clock_faults: bool,
    /// Seconds a fault lasts when the test does not say (`--nemesis-interval`): a system that
    /// takes seconds to fail over (Redis Sentinel) sees no failover in faults shorter than that.
    #[serde(default)]
    pub nemesis_interval: Option<crate::util::secs::Secs>,
    /// Adapter-specific settings.
    #[serde(default)]
    pub adapter: toml::Table,
}

impl TargetDef {
    pub fn load(path: &Path) -> Result<TargetDef, ExternalError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ExternalError::io(format!("read target definition {}", path.display()), e))?;
        TargetDef::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<TargetDef, ExternalError> {
        let def: TargetDef = toml::from_str(text).map_err(|e| ExternalError::BadDefinition {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
        let bad = |detail: &str| ExternalError::BadDefinition {
            path: path.to_path_buf(),
            detail: detail.into(),
        };
        if def.nodes == 0 {
            return Err(bad("`nodes` must be at least 1"));
        }
        if def.nemesis_interval.is_some_and(|s| s.is_zero()) {
            return Err(bad("`nemesis_interval` must be a positive number of seconds"));
        }
        Ok(def)
    }

    /// An adapter setting as a string (`[adapter] key = ...`), or `default`.
    pub fn adapter_str(&self, key: &str, default: &str) -> String {
        match self.adapter.get(key) {
            Some(toml::Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => default.to_string(),
        }
    }

    /// An adapter setting as an integer, or `default`.
    pub fn adapter_int(&self, key: &str, default: i64) -> i64 {
        self.adapter
            .get(key)
            .and_then(|v| v.as_integer())
            .unwrap_or(default)
    }

    /// An adapter setting as a list of strings (an argv template), empty when absent.
    pub fn adapter_argv(&self, key: &str) -> Vec<String> {
        match self.adapter.get(key) {
            Some(toml::Value::Array(a)) => a
                .iter()
                .map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// The variables a template can use for one node.
#[derive(Clone, Debug, Default)]
pub struct NodeVars {
    pub vars: BTreeMap<String, String>,
}

impl NodeVars {
    pub fn new(node: &str, addr: &str, dir: &Path, data_dir: &Path) -> NodeVars {
        let mut vars = BTreeMap::new();
        vars.insert("node".into(), node.into());
        vars.insert("addr".into(), addr.into());
        vars.insert("dir".into(), dir.display().to_string());
        vars.insert("data_dir".into(), data_dir.display().to_string());
        NodeVars { vars }
    }

    pub fn set(mut self, key: &str, value: impl Into<String>) -> NodeVars {
        self.vars.insert(key.into(), value.into());
        self
    }

    /// Renders an argv template. An element with variables that renders empty is dropped; one that is
    /// exactly one variable whose value has spaces becomes several arguments (so an optional
    /// `{replicaof}` can be nothing or `--replicaof ip port`).
    pub fn argv(&self, template: &[String], path: &Path) -> Result<Vec<String>, ExternalError> {
        let mut out = Vec::new();
        for t in template {
            let r = render(t, self, path)?;
            let whole_var = t.starts_with('{') && t.ends_with('}') && t.matches('{').count() == 1;
            if whole_var {
                out.extend(r.split_whitespace().map(str::to_string));
            } else if !r.is_empty() || !t.contains('{') {
                // A literal "" stays (e.g. Redis's `--save ""`); a variable that rendered empty goes.
                out.push(r);
            }
        }
        Ok(out)
    }

    pub fn path(&self, template: &str, path: &Path) -> Result<PathBuf, ExternalError> {
        Ok(PathBuf::from(render(template, self, path)?))
    }
}

/// Replaces every `{var}` in `template`; `path` names the definition in errors.
pub fn render(template: &str, vars: &NodeVars, path: &Path) -> Result<String, ExternalError> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            return Err(ExternalError::BadDefinition {
                path: path.to_path_buf(),
                detail: format!("unclosed `{{` in template `{template}`"),
            });
        };
        let name = &after[..close];
        let value = vars.vars.get(name).ok_or_else(|| ExternalError::BadDefinition {
            path: path.to_path_buf(),
            detail: format!(
                "unknown variable `{{{name}}}` in template `{template}` (known: {})",
                vars.vars.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        })?;
        out.push_str(value);
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_vars_drops_empty_and_splits_whole_vars() {
        let v = NodeVars::new("n1", "127.0.0.1", Path::new("/d"), Path::new("/d/n1"))
            .set("port.client", "2379")
            .set("replicaof", "--replicaof 127.0.0.1 7000")
            .set("empty", "");
        let t: Vec<String> = [
            "--name",
            "{node}",
            "http://{addr}:{port.client}",
            "{replicaof}",
            "{empty}",
            "",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let argv = v.argv(&t, Path::new("x.toml")).unwrap();
        assert_eq!(
            argv,
            [
                "--name",
                "n1",
                "http://127.0.0.1:2379",
                "--replicaof",
                "127.0.0.1",
                "7000",
                ""
            ]
        );
        let e = render("{nope}", &v, Path::new("x.toml")).unwrap_err().to_string();
        assert!(e.contains("x.toml") && e.contains("{nope}"), "{e}");
    }

    #[test]
    fn bad_definition_names_the_file() {
        let e = TargetDef::parse("name = 3", Path::new("targets/bad.toml")).unwrap_err();
        assert!(e.to_string().contains("targets/bad.toml"));
        let e = TargetDef::parse(
            "name='x'\ninstall='i'\nclient='etcd'\nnodes=0\n",
            Path::new("t.toml"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("nodes"));
    }

    #[test]
    fn shipped_definitions_parse() {
        for f in ["etcd.toml", "redis-sentinel.toml", "command-example.toml"] {
            let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("targets").join(f);
            let d = TargetDef::load(&p).unwrap_or_else(|e| panic!("{e}"));
            assert!(!d.install.is_empty());
        }
    }
}
