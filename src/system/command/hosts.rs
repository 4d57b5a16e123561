//! Command targets on remote hosts (`faultline test --target FILE.toml --hosts`, with
//! `client = "command"`): the user's `start` template rendered as locally, with each host's
//! addresses and paths, and run there by the generic [`OnHosts`] layer; the `command`
//! (the client) runs on this machine, as every client does. The start program must be
//! installed on every host (checked before anything starts, exit 3 naming the host), except
//! `faultline`, which means the harness's own binary, uploaded as for the built-in store.
//! Clock offsets only by stepping the hosts' clocks with `--set-host-clocks` (see [`OnHosts`]).

use super::target::{CommandSystem, CommandTarget};
use crate::system::external::{Cluster, ExternalError, TargetDef};
use crate::system::on_hosts::{HostsSystem, OnHosts};
use crate::system::remote::{Launch, Program};
use std::path::Path;
use std::sync::Arc;

/// A command target's nodes on hosts.
pub type CommandOnHosts = OnHosts<CommandSystem>;

impl HostsSystem for CommandSystem {
    /// The start program (the definition's `binaries` are what the `command` needs here).
    fn program(def: &TargetDef, path: &Path) -> Result<Program, ExternalError> {
        let Some(first) = def.start.first() else {
            return Err(ExternalError::BadDefinition {
                path: path.to_path_buf(),
                detail: "`start` is empty".into(),
            });
        };
        if first == "faultline" {
            let me =
                std::env::current_exe().map_err(|e| ExternalError::io("locating the faultline binary", e))?;
            return Ok(Program::Upload(me));
        }
        Ok(Program::Installed {
            binaries: vec![first.clone()],
            install: def.install.clone(),
        })
    }

    fn launches(
        c: &Cluster<CommandSystem>,
        s: &super::CommandNodeSpec,
        binary: &str,
        _clocks: bool,
    ) -> Result<Vec<Launch>, ExternalError> {
        let mut argv = c.vars(s)?.argv(&c.def.start, &c.def_path)?;
        if argv.first().map(String::as_str) == Some("faultline") {
            argv[0] = binary.to_string();
        }
        Ok(vec![Launch::main(&s.id, &argv)])
    }
}

/// The nodes of command definition `def` (read from `path`) on `fleet`'s hosts, node i on
/// host i; the definition is checked as for a local run.
pub fn command_on_hosts(
    def: TargetDef,
    path: &Path,
    fleet: Arc<crate::net::ssh::Fleet>,
    tag: &str,
    origin_ns: u64,
) -> Result<CommandOnHosts, ExternalError> {
    OnHosts::new(CommandTarget::new(def, path)?, fleet, tag, origin_ns)
}
