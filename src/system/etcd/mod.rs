//! etcd as a target: a cluster of real `etcd` processes started by the harness, and a v3 client
//! adapter over the JSON gateway. etcd is the reference for linearizable consensus: its
//! linearizable reads must pass, its serializable reads from an isolated member must be caught
//! stale. It gets no clock faults (Go ignores libfaketime).

mod b64;
mod client;
mod cluster;
pub mod http;
mod target;

pub use client::{prefix_end, put_body, EtcdClient, EtcdClientConfig, EtcdWorkload};
pub use cluster::{Etcd, EtcdCluster, EtcdNodeSpec};
pub use target::{client_config, definition, EtcdTarget};

use crate::system::external::{ExternalError, NetError};

#[derive(Debug, thiserror::Error)]
pub enum EtcdError {
    #[error(transparent)]
    Net(#[from] NetError),
    #[error("bad HTTP response: {0}")]
    Malformed(String),
    #[error("etcd answered HTTP {status}, grpc code {code}: {message}")]
    Server { status: u16, code: i64, message: String },
    #[error(transparent)]
    External(#[from] ExternalError),
}
