//! What every external (non built-in) target shares: the TOML target definition, command
//! templates, and real OS processes for nodes (spawn, kill, pause, resume, logs), plus the
//! checks that turn misconfiguration into a clear error before anything is started.
//!
//! Invariant: every process started here is owned by a [`NodeProcess`]; dropping it kills and
//! reaps the process, so an early return on error leaves nothing behind.

mod cluster;
mod def;
mod error;
pub mod faketime;
mod net;
mod outcome;
mod process;
mod target;

pub(crate) use cluster::spec_fields;
pub use cluster::{Cluster, NodeSpec, System};
pub use def::{render, NodeVars, TargetDef};
pub use error::ExternalError;
pub use net::NetError;
pub use outcome::{cas_args, Outcome};
pub use process::{
    check_binary, check_ports_free, free_ports, wait_until, NodeProcess, Retry, FAKETIME_LIB,
    FAKETIME_PRELOAD,
};
pub use target::{load_def, EtcdTarget, ExternalTarget, RedisTarget, TargetSystem};
