//! The admin endpoint (harness only): node status and the clock offset the
//! nemesis uses to skew a node's wall clock.

use crate::store::client::ClientError;
use crate::store::core::Role;
use crate::store::frame::{self, FrameError};
use serde::{Deserialize, Serialize};
use std::io::BufReader;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeStatus {
    pub id: String,
    pub role: Role,
    pub term: u64,
    pub leader: Option<String>,
    pub commit_index: u64,
    pub applied_index: u64,
    pub last_log_index: u64,
    pub clock_offset_ms: i64,
    /// `--reads lease` leaders: milliseconds until the read lease expires
    /// (negative once expired, the leader then confirms reads with a majority).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_expires_in_ms: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "kebab-case")]
pub enum AdminRequest {
    Status,
    SetClockOffset { ms: i64 },
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
        match self.call(&AdminRequest::SetClockOffset { ms })? {
            AdminResponse::Ok => Ok(()),
            other => Err(ClientError::BadResponse {
                addr: self.addr,
                reason: format!("{other:?}"),
            }),
        }
    }
}
