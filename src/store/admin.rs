//! The admin endpoint (harness only): node status, the clock offset the
//! nemesis uses to skew a node's wall clock, and the rate of the node's core
//! clock (the time leases and election timeouts are measured in), which the
//! nemesis changes to make a node's clock drift.

use crate::store::client::ClientError;
use crate::store::frame::{self, FrameError};
use crate::store::seam::Role;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::io::BufReader;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeStatus {
    pub id: String,
    pub role: Role,
    pub term: u64,
    pub leader: Option<String>,
    /// Log positions of topologies with a replicated log (0 elsewhere).
    #[serde(default)]
    pub commit_index: u64,
    #[serde(default)]
    pub applied_index: u64,
    #[serde(default)]
    pub last_log_index: u64,
    pub clock_offset_ms: i64,
    /// How fast the node's core clock runs relative to real time (1.0 unless
    /// the nemesis drifts it). Absent in older status JSON, which means 1.0.
    #[serde(default = "unit_rate")]
    pub clock_rate: f64,
    /// `--reads lease` leaders: milliseconds until the read lease expires
    /// (negative once expired, the leader then confirms reads with a majority),
    /// measured on the node's own core clock (so at `clock_rate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_expires_in_ms: Option<f64>,
    /// Whatever else the node's topology reports (see
    /// [`crate::store::seam::ProtocolStatus::detail`]).
    #[serde(flatten)]
    pub detail: Map<String, Value>,
}

fn unit_rate() -> f64 {
    1.0
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "kebab-case")]
pub enum AdminRequest {
    Status,
    SetClockOffset {
        ms: i64,
    },
    /// From now on the node's core clock runs at `rate` times real time
    /// (continuously, no jump). The node refuses a rate that is not finite
    /// and above 0 with an `Error` reply naming it.
    SetClockRate {
        rate: f64,
    },
    /// Sharded stores: the node belongs to `group` and the routing is `table`
    /// from now on (ignored when the node knows a newer epoch). The node
    /// shell keeps it and fences client requests by it
    /// ([`crate::store::shard::Fence`]).
    SetRouting {
        group: usize,
        table: crate::store::shard::TableSpec,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum AdminResponse {
    Status(NodeStatus),
    Ok,
    Error { reason: String },
}

pub struct AdminClient {
    addr: SocketAddr,
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl AdminClient {
    pub fn connect(addr: SocketAddr, timeout: Duration) -> Result<AdminClient, ClientError> {
        let s = TcpStream::connect_timeout(&addr, timeout)
            .map_err(|source| ClientError::Connect { addr, source })?;
        let t = Some(timeout.max(Duration::from_millis(1)));
        let _ = s.set_read_timeout(t);
        let _ = s.set_write_timeout(t);
        let writer = s
            .try_clone()
            .map_err(|source| ClientError::Connect { addr, source })?;
        Ok(AdminClient {
            addr,
            reader: BufReader::new(s),
            writer,
        })
    }

    fn call(&mut self, req: &AdminRequest) -> Result<AdminResponse, ClientError> {
        let addr = self.addr;
        let io = |e: FrameError| ClientError::Lost {
            addr,
            reason: e.to_string(),
        };
        frame::write_frame(&mut self.writer, req).map_err(io)?;
        let body = frame::read_frame(&mut self.reader).map_err(io)?;
        frame::decode(&body).map_err(|e| ClientError::BadResponse {
            addr,
            reason: e.to_string(),
        })
    }

    pub fn status(&mut self) -> Result<NodeStatus, ClientError> {
        match self.call(&AdminRequest::Status)? {
            AdminResponse::Status(s) => Ok(s),
            other => Err(ClientError::BadResponse {
                addr: self.addr,
                reason: format!("{other:?}"),
            }),
        }
    }

    pub fn set_clock_offset(&mut self, ms: i64) -> Result<(), ClientError> {
        self.expect_ok(&AdminRequest::SetClockOffset { ms })
    }

    /// Sets the node's core clock rate. A rate JSON cannot carry (NaN,
    /// infinities) is refused here, naming it, since on the wire it would
    /// arrive as `null`; the node itself refuses the rest (0, negatives).
    pub fn set_clock_rate(&mut self, rate: f64) -> Result<(), ClientError> {
        if !rate.is_finite() {
            return Err(ClientError::NotSent(format!(
                "clock rate must be finite and above 0 (got {rate})"
            )));
        }
        self.expect_ok(&AdminRequest::SetClockRate { rate })
    }

    /// Tells the node its group and the routing table (see [`AdminRequest::SetRouting`]).
    pub fn set_routing(
        &mut self,
        group: usize,
        table: crate::store::shard::TableSpec,
    ) -> Result<(), ClientError> {
        self.expect_ok(&AdminRequest::SetRouting { group, table })
    }

    /// Sends `req`; anything but `Ok` (an `Error` reply included) is an error.
    fn expect_ok(&mut self, req: &AdminRequest) -> Result<(), ClientError> {
        match self.call(req)? {
            AdminResponse::Ok => Ok(()),
            other => Err(ClientError::BadResponse {
                addr: self.addr,
                reason: format!("{other:?}"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_status_json_without_a_rate_reads_as_rate_one() {
        let old = r#"{"status":"status","id":"n1","role":"leader","term":3,"leader":"n1",
            "commit_index":5,"applied_index":5,"last_log_index":5,"clock_offset_ms":0}"#;
        let AdminResponse::Status(s) = serde_json::from_str(old).unwrap() else {
            panic!("not a status");
        };
        assert_eq!(s.clock_rate, 1.0);
        assert!(s.detail.is_empty(), "every field is known: {:?}", s.detail);
        let req = serde_json::to_string(&AdminRequest::SetClockRate { rate: 0.25 }).unwrap();
        assert_eq!(req, r#"{"cmd":"set-clock-rate","rate":0.25}"#);
    }
}
