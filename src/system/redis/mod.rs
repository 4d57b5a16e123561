//! Redis with Sentinel as a target: one primary, replicas (`replicaof`), a Sentinel per node,
//! and a client that follows the primary through Sentinel. The classic case of acknowledged
//! writes lost on failover (asynchronous replication), which the set workload must expose.
//! Clock faults via libfaketime (Redis is C, so preloading works). Failovers and primaries
//! are read back from the logs as node events ([`events`]), so lost writes can be tied to them.
//! The wire protocol is the `redis` crate's ([`conn`] bounds it by the op's deadline); following
//! the primary through Sentinel is ours ([`client`] says why).

mod client;
mod cluster;
pub mod conn;
pub mod events;
#[cfg(test)]
mod fake;
mod hosts;
pub mod logparse;
mod target;

pub use client::{RedisClient, RedisClientConfig, RedisWorkload};
pub use cluster::{Redis, RedisCluster, RedisNodeSpec};
pub use hosts::{redis_on_hosts, RedisOnHosts};
pub use target::{definition, RedisTarget};

pub use conn::RedisError;
