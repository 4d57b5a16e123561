//! Redis with Sentinel as a target: one primary, replicas (`replicaof`), a Sentinel per node,
//! and a client that follows the primary through Sentinel. The classic case of acknowledged
//! writes lost on failover (asynchronous replication), which the set workload must expose.
//! Clock faults via libfaketime (Redis is C, so preloading works). Failovers and primaries
//! are read back from the logs as node events ([`events`]), so lost writes can be tied to them.

mod client;
mod cluster;
pub mod events;
pub mod logparse;
pub mod resp;
mod target;

pub use client::{RedisClient, RedisClientConfig, RedisWorkload};
pub use cluster::{Redis, RedisCluster, RedisNodeSpec};
pub use target::RedisTarget;

use crate::system::external::NetError;

#[derive(Debug, thiserror::Error)]
pub enum RedisError {
    #[error(transparent)]
    Net(#[from] NetError),
    #[error("connection closed by the server")]
    Closed,
    #[error("RESP protocol error: {0}")]
    Protocol(String),
}

impl RedisError {
    fn from_io(e: std::io::Error) -> RedisError {
        match e.kind() {
            std::io::ErrorKind::UnexpectedEof => RedisError::Closed,
            _ => NetError::from_io(e).into(),
        }
    }
}
