//! What every external (non built-in) target shares: the TOML target definition, command
//! templates, a generic cluster of node processes and its runner target, plus the checks that
//! turn misconfiguration into a clear error before anything is started. etcd, Redis and the
//! command adapter build on this (in their own folders); this module knows none of them.
//!
//! Invariant: every process started here is owned by the cluster's
//! [`crate::system::process::Supervisor`]; dropping it kills and reaps the processes, so an
//! early return on error leaves nothing behind.

mod checks;
mod cluster;
mod def;
mod error;
mod net;
mod outcome;
mod target;

pub use checks::{check_binary, check_ports_free, free_ports, wait_until, Retry};
pub(crate) use cluster::spec_fields;
pub use cluster::{Cluster, NodeSpec, System};
pub use def::{render, NodeVars, TargetDef};
pub use error::ExternalError;
pub use net::NetError;
pub use outcome::{cas_args, Outcome};
pub use target::{addr, load_def, te, ExternalTarget, TargetSystem};
