//! The host inventory: which machines a test's nodes run on and how to reach each over SSH
//! (`--hosts hosts.toml`, or a `[hosts]` table in a plan; the same keys either way).
//!
//! ```toml
//! user = "root"                    # defaults for every host (each may override them)
//! identity = "~/.ssh/faultline"    # private key; default: ssh's own (agent, ~/.ssh/id_*)
//! port = 22
//! sudo = false                     # true: run privileged commands through `sudo -n`
//! dir = "/tmp/faultline"           # per-run directories and the uploaded binary go here
//! known_hosts = "known_hosts"      # default: ssh's own; unknown keys are accepted once
//! base_port = 7000                 # the nodes' peer, client and admin ports: 7000, 7001, 7002
//!
//! [[host]]
//! name = "db1"
//! address = "10.0.0.11"
//! [[host]]
//! name = "db2"
//! address = "db2.example.com"
//! user = "admin"
//! sudo = true
//! ```
//!
//! Node `n<i>` runs on the i-th host. Everything is checked by [`Inventory::validate`] before
//! anything connects: a bad key is refused naming the file and the key. Paths starting with
//! `~/` are under `$HOME`; other relative paths are relative to the working directory.

use crate::util::Invalid;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Where node processes, their data and the uploaded binary go unless `dir` says.
pub const DEFAULT_DIR: &str = "/tmp/faultline";
/// The first node port unless `base_port` says (peer; client and admin follow).
pub const DEFAULT_BASE_PORT: u16 = 7000;
/// The most hosts an inventory may list (the most nodes a test may have).
pub const MAX_HOSTS: usize = 100;

#[derive(Debug, Error)]
pub enum HostsError {
    #[error("reading hosts file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("hosts file {path}: {message}")]
    Parse { path: String, message: String },
    #[error("hosts file {path}: {invalid}")]
    Invalid { path: String, invalid: Invalid },
}

/// The settings a host takes (its own, else the inventory's defaults, else built-in ones).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostSettings {
    pub user: Option<String>,
    pub port: Option<u16>,
    pub identity: Option<PathBuf>,
    pub sudo: Option<bool>,
    pub dir: Option<String>,
    pub known_hosts: Option<PathBuf>,
}

/// One `[[host]]` entry as written: a name, an address and any of [`HostSettings`]'s keys.
/// (Written out rather than `#[serde(flatten)]`, which would lose `deny_unknown_fields`.)
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostEntry {
    pub name: String,
    pub address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sudo: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_hosts: Option<PathBuf>,
}

impl HostEntry {
    fn settings(&self) -> HostSettings {
        HostSettings {
            user: self.user.clone(),
            port: self.port,
            identity: self.identity.clone(),
            sudo: self.sudo,
            dir: self.dir.clone(),
            known_hosts: self.known_hosts.clone(),
        }
    }
}

/// The inventory as written (a hosts file, or a plan's `[hosts]` table): defaults for every
/// host, then the hosts in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sudo: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_hosts: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_port: Option<u16>,
    #[serde(rename = "host", default)]
    pub hosts: Vec<HostEntry>,
}

/// One host, every setting resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Host {
    pub name: String,
    pub address: String,
    pub user: String,
    pub port: u16,
    /// `None`: whatever ssh offers by itself (agent, `~/.ssh/id_*`).
    pub identity: Option<PathBuf>,
    pub sudo: bool,
    pub dir: String,
    pub known_hosts: Option<PathBuf>,
}

impl Host {
    /// `user@address:port`, for messages.
    pub fn login(&self) -> String {
        format!("{}@{}:{}", self.user, self.address, self.port)
    }
}

impl std::fmt::Display for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "host {} ({})", self.name, self.login())
    }
}

/// `~/x` under `$HOME`; anything else as given.
pub fn expand(p: &Path) -> PathBuf {
    match (p.strip_prefix("~"), std::env::var_os("HOME")) {
        (Ok(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => p.to_path_buf(),
    }
}

fn word_ok(s: &str) -> bool {
    !s.is_empty() && !s.starts_with('-') && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

impl Inventory {
    /// Reads, parses and checks a hosts file; every error names the file (and line or key).
    pub fn load(path: &Path) -> Result<Inventory, HostsError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| HostsError::Read {
            path: shown.clone(),
            source,
        })?;
        let inv: Inventory = toml::from_str(&text).map_err(|e| HostsError::Parse {
            path: shown.clone(),
            message: e.to_string(),
        })?;
        inv.validate("")
            .map_err(|invalid| HostsError::Invalid { path: shown, invalid })?;
        Ok(inv)
    }

    /// The base of the nodes' ports.
    pub fn base_port(&self) -> u16 {
        self.base_port.unwrap_or(DEFAULT_BASE_PORT)
    }

    /// Every host with its settings resolved, in file order.
    pub fn hosts(&self) -> Vec<Host> {
        self.hosts.iter().map(|h| self.resolve(h)).collect()
    }

    fn defaults(&self) -> HostSettings {
        HostSettings {
            user: self.user.clone(),
            port: self.port,
            identity: self.identity.clone(),
            sudo: self.sudo,
            dir: self.dir.clone(),
            known_hosts: self.known_hosts.clone(),
        }
    }

    fn resolve(&self, h: &HostEntry) -> Host {
        let (s, d) = (&h.settings(), &self.defaults());
        Host {
            name: h.name.clone(),
            address: h.address.clone(),
            user: s.user.clone().or(d.user.clone()).unwrap_or_else(|| "root".into()),
            port: s.port.or(d.port).unwrap_or(22),
            identity: s.identity.as_ref().or(d.identity.as_ref()).map(|p| expand(p)),
            sudo: s.sudo.or(d.sudo).unwrap_or(false),
            dir: s
                .dir
                .clone()
                .or(d.dir.clone())
                .unwrap_or_else(|| DEFAULT_DIR.into()),
            known_hosts: s
                .known_hosts
                .as_ref()
                .or(d.known_hosts.as_ref())
                .map(|p| expand(p)),
        }
    }

    /// Everything that can be refused before connecting. `prefix` is prepended to key names
    /// (`hosts.` in a plan, empty in a hosts file).
    pub fn validate(&self, prefix: &str) -> Result<(), Invalid> {
        let key = |k: &str| format!("{prefix}{k}");
        if self.hosts.is_empty() {
            return Err(Invalid::new(
                "--hosts",
                &key("host"),
                "lists no host (add [[host]] entries)",
            ));
        }
        if self.hosts.len() > MAX_HOSTS {
            return Err(Invalid::new(
                "--hosts",
                &key("host"),
                format!("lists {} hosts (at most {MAX_HOSTS})", self.hosts.len()),
            ));
        }
        let base = self.base_port();
        if base == 0 || base > u16::MAX - 2 {
            return Err(Invalid::new(
                "--hosts",
                &key("base_port"),
                format!("must be between 1 and {} (got {base})", u16::MAX - 2),
            ));
        }
        check_settings(&self.defaults(), &key(""))?;
        let mut names = std::collections::BTreeSet::new();
        for (i, e) in self.hosts.iter().enumerate() {
            let at = key(&format!("host[{i}]."));
            let ok_name = !e.name.is_empty()
                && e.name.len() <= 64
                && e.name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
            if !ok_name {
                return Err(Invalid::new(
                    "--hosts",
                    &format!("{at}name"),
                    format!("`{}`: 1 to 64 letters, digits, `.`, `_` or `-`", e.name),
                ));
            }
            if !names.insert(e.name.as_str()) {
                return Err(Invalid::new(
                    "--hosts",
                    &format!("{at}name"),
                    format!("`{}` is listed twice", e.name),
                ));
            }
            if !word_ok(&e.address) {
                return Err(Invalid::new(
                    "--hosts",
                    &format!("{at}address"),
                    format!("host {}: `{}` is not an address or host name", e.name, e.address),
                ));
            }
            check_settings(&e.settings(), &at).map_err(|mut inv| {
                inv.message = format!("host {}: {}", e.name, inv.message);
                inv
            })?;
        }
        Ok(())
    }
}

/// Checks one settings block; `at` prefixes its keys.
fn check_settings(s: &HostSettings, at: &str) -> Result<(), Invalid> {
    let bad = |k: &str, m: String| Err(Invalid::new("--hosts", &format!("{at}{k}"), m));
    if let Some(u) = &s.user {
        if !word_ok(u) || u.contains('@') {
            return bad("user", format!("`{u}` is not a user name"));
        }
    }
    if s.port == Some(0) {
        return bad("port", "must be between 1 and 65535 (got 0)".into());
    }
    if let Some(id) = &s.identity {
        let p = expand(id);
        if let Err(e) = std::fs::File::open(&p) {
            return bad("identity", format!("cannot read the key {}: {e}", p.display()));
        }
    }
    if let Some(d) = &s.dir {
        let ok = d.starts_with('/') && d.trim_end_matches('/').len() > 1 && !d.contains("..");
        if !ok
            || d.chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '\'')
        {
            return bad(
                "dir",
                format!("`{d}`: an absolute directory other than `/`, without `..`, spaces or quotes"),
            );
        }
    }
    if let Some(k) = &s.known_hosts {
        let p = expand(k);
        let parent = p
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if !parent.is_dir() {
            return bad(
                "known_hosts",
                format!("{}: its directory does not exist", p.display()),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Inventory {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn defaults_apply_unless_a_host_overrides_them() {
        let inv = parse(
            "user = \"ops\"\nsudo = true\ndir = \"/var/tmp/fl\"\n\
             [[host]]\nname = \"a\"\naddress = \"10.0.0.1\"\n\
             [[host]]\nname = \"b\"\naddress = \"b.example\"\nuser = \"root\"\nsudo = false\nport = 2222\n",
        );
        inv.validate("").unwrap();
        let hs = inv.hosts();
        assert_eq!(hs[0].login(), "ops@10.0.0.1:22");
        assert!(hs[0].sudo && !hs[1].sudo);
        assert_eq!(hs[1].login(), "root@b.example:2222");
        assert_eq!(hs[1].dir, "/var/tmp/fl");
        assert_eq!(inv.base_port(), DEFAULT_BASE_PORT);
        // The same keys round-trip (a plan's [hosts] table, test.toml).
        let text = toml::to_string(&inv).unwrap();
        assert_eq!(parse(&text), inv, "{text}");
    }

    #[test]
    fn each_bad_key_is_named() {
        let key_of = |text: &str| parse(text).validate("hosts.").unwrap_err().key;
        let h = "[[host]]\nname = \"a\"\naddress = \"10.0.0.1\"\n";
        assert_eq!(key_of(""), "hosts.host");
        assert_eq!(key_of(&format!("{h}{h}")), "hosts.host[1].name");
        assert_eq!(
            key_of("[[host]]\nname = \"a b\"\naddress = \"x\"\n"),
            "hosts.host[0].name"
        );
        assert_eq!(
            key_of("[[host]]\nname = \"a\"\naddress = \"\"\n"),
            "hosts.host[0].address"
        );
        assert_eq!(key_of(&format!("port = 0\n{h}")), "hosts.port");
        assert_eq!(key_of(&format!("base_port = 65535\n{h}")), "hosts.base_port");
        assert_eq!(key_of(&format!("dir = \"relative\"\n{h}")), "hosts.dir");
        assert_eq!(key_of(&format!("dir = \"/\"\n{h}")), "hosts.dir");
        let missing = format!("{h}identity = \"/nonexistent/key\"\n");
        let e = parse(&missing).validate("").unwrap_err();
        assert_eq!(e.key, "host[0].identity");
        assert!(
            e.message.contains("/nonexistent/key") && e.message.contains("host a"),
            "{e}"
        );
        assert_eq!(
            key_of(&format!("{h}user = \"-oProxyCommand=x\"\n")),
            "hosts.host[0].user"
        );
    }

    #[test]
    fn a_file_with_an_unknown_key_or_bad_syntax_is_refused_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("hosts.toml");
        std::fs::write(&p, "[[host]]\nname = \"a\"\naddres = \"x\"\n").unwrap();
        let e = Inventory::load(&p).unwrap_err().to_string();
        assert!(e.contains("hosts.toml") && e.contains("addres"), "{e}");
        std::fs::write(
            &p,
            "[[host]]\nname = \"a\"\naddress = \"x\"\nidentity = \"nokey\"\n",
        )
        .unwrap();
        let e = Inventory::load(&p).unwrap_err().to_string();
        assert!(e.contains("hosts.toml") && e.contains("host[0].identity"), "{e}");
        let e = Inventory::load(&dir.path().join("none.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("none.toml"), "{e}");
    }
}
