//! The one place a [`SystemConfig`] becomes a running-ready [`Target`]. Nothing is started
//! here; what can be refused before anything starts (a missing definition file or node
//! binary, a definition whose client is unknown) is refused here or in
//! [`SystemConfig::validate`].

use super::builtin::Builtin;
use super::config::{SystemConfig, SystemKind};
use super::etcd::EtcdTarget;
use super::redis::RedisTarget;
use super::reference::Reference;
use super::{Target, TargetError};
use crate::store::core::Reads;

/// Builds the system `cfg` names. `origin_ns` (CLOCK_MONOTONIC) is the history's time 0,
/// handed to systems whose nodes log events in that base; `tag` marks their processes.
pub fn build(cfg: &SystemConfig, origin_ns: u64, tag: &str) -> Result<Box<dyn Target>, TargetError> {
    cfg.validate().map_err(|e| TargetError::Config(e.to_string()))?;
    // etcd calls what the store calls follower reads serializable.
    let serializable = cfg.builtin.reads == Reads::Follower;
    Ok(match &cfg.kind {
        SystemKind::Builtin => {
            let bin = match &cfg.node_binary {
                Some(b) => b.clone(),
                None => std::env::current_exe().map_err(|source| TargetError::Io {
                    context: "locating the faultline binary".into(),
                    source,
                })?,
            };
            if cfg.builtin.shards.is_sharded() {
                let (m, n) = (cfg.builtin.clone(), cfg.nodes);
                return Ok(Box::new(super::sharded::Sharded::new(bin, m, n, origin_ns, tag)));
            }
            Box::new(Builtin::new(bin, cfg.builtin.clone(), origin_ns, tag))
        }
        SystemKind::Reference => Box::new(Reference::new()),
        SystemKind::Etcd => Box::new(EtcdTarget::new(serializable).map_err(config)?),
        SystemKind::Redis => Box::new(RedisTarget::with_time_origin(origin_ns).map_err(config)?),
        SystemKind::Definition(_) => {
            let (def, path) = cfg
                .definition()
                .map_err(|e| TargetError::Config(e.to_string()))?
                .expect("a definition kind has a definition");
            match def.client.as_str() {
                "command" => Box::new(super::command::CommandTarget::new(def, &path).map_err(config)?),
                "etcd" => Box::new(EtcdTarget::from_def(def, &path, serializable)),
                "redis" => Box::new(RedisTarget::from_def(def, &path, origin_ns)),
                other => {
                    return Err(TargetError::Config(format!(
                        "--target {}: client `{other}` is not one a definition file can use (known: command, etcd, redis)",
                        path.display()
                    )))
                }
            }
        }
    })
}

/// Builds the system `cfg` names with its nodes on `fleet`'s hosts (node i on host i): the
/// built-in store (its binary uploaded), etcd and Redis (installed on the hosts) or a
/// command definition (its start program on the hosts, its command here); any other system
/// is refused before anything starts. `host_clocks` (`--set-host-clocks`): clock offsets
/// of an external system without a clock of its own there step the hosts' clocks.
pub fn build_on_hosts(
    cfg: &SystemConfig,
    origin_ns: u64,
    tag: &str,
    fleet: std::sync::Arc<crate::net::ssh::Fleet>,
    host_clocks: bool,
) -> Result<Box<dyn Target>, TargetError> {
    cfg.validate().map_err(|e| TargetError::Config(e.to_string()))?;
    let serializable = cfg.builtin.reads == Reads::Follower;
    let external = |def: super::external::TargetDef,
                    path: &std::path::Path|
     -> Result<Box<dyn Target>, TargetError> {
        let f = fleet.clone();
        Ok(match def.client.as_str() {
            "etcd" => Box::new(
                super::etcd_remote::etcd_on_hosts(def, path, serializable, f, tag, origin_ns)
                    .map_err(config)?
                    .set_host_clocks(host_clocks)?,
            ),
            "redis" => Box::new(
                super::redis::redis_on_hosts(def, path, f, tag, origin_ns)
                    .map_err(config)?
                    .set_host_clocks(host_clocks)?,
            ),
            "command" => Box::new(
                super::command::command_on_hosts(def, path, f, tag, origin_ns)
                    .map_err(config)?
                    .set_host_clocks(host_clocks)?,
            ),
            other => {
                return Err(TargetError::Config(format!(
                    "--target {}: client `{other}` is not one a definition file can use (known: command, etcd, redis)",
                    path.display()
                )))
            }
        })
    };
    match &cfg.kind {
        SystemKind::Builtin => {}
        SystemKind::Etcd => {
            let (def, path) = super::etcd::definition().map_err(config)?;
            return external(def, &path);
        }
        SystemKind::Redis => {
            let (def, path) = super::redis::definition().map_err(config)?;
            return external(def, &path);
        }
        SystemKind::Definition(_) => {
            let (def, path) = cfg
                .definition()
                .map_err(config)?
                .expect("a definition kind has a definition");
            return external(def, &path);
        }
        _ => {
            return Err(TargetError::unsupported(
                &cfg.kind.label(),
                "--hosts (on remote hosts run the built-in store, etcd, Redis and command targets)",
            ))
        }
    }
    let bin = match &cfg.node_binary {
        Some(b) => b.clone(),
        None => std::env::current_exe().map_err(|source| TargetError::Io {
            context: "locating the faultline binary".into(),
            source,
        })?,
    };
    let remote = super::remote::RemoteNodes::new(fleet, tag, bin.clone());
    Ok(Box::new(
        Builtin::new(bin, cfg.builtin.clone(), origin_ns, tag).on_hosts(remote),
    ))
}

fn config(e: impl std::fmt::Display) -> TargetError {
    TargetError::Config(e.to_string())
}
