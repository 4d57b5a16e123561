//! Blocking client library for the built-in store (one request at a time).
//!
//! Invariant: an error says whether the request may have executed. Errors
//! before the request left this process (connect failure, encoding) are
//! [`ClientError::is_definite`]; a timeout or a connection lost after sending is not.

use crate::store::frame::{self, FrameError};
use crate::store::ops::{ClientOp, Request, Response};
use serde::Serialize;
use std::io::BufReader;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Certainly not executed: the connection could not be made.
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        addr: SocketAddr,
        source: std::io::Error,
    },
    /// Certainly not executed: the request could not be encoded or sent at all.
    #[error("request not sent: {0}")]
    NotSent(String),
    /// Unknown: no answer within the timeout.
    #[error("timed out waiting for {0}")]
    Timeout(SocketAddr),
    /// Unknown: the connection broke after the request was sent.
    #[error("connection to {addr} lost: {reason}")]
    Lost { addr: SocketAddr, reason: String },
    /// Unknown: the answer could not be understood.
    #[error("bad response from {addr}: {reason}")]
    BadResponse { addr: SocketAddr, reason: String },
}

impl ClientError {
    /// True when the request certainly did not take effect.
    pub fn is_definite(&self) -> bool {
        matches!(self, ClientError::Connect { .. } | ClientError::NotSent(_))
    }
}

/// A request frame as sent: the op and the options flattened beside it.
#[derive(Serialize)]
struct Frame<'a, O> {
    id: u64,
    #[serde(flatten)]
    op: &'a ClientOp,
    #[serde(flatten)]
    opts: &'a O,
}

pub struct StoreClient {
    addr: SocketAddr,
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    next_id: u64,
    /// The socket timeouts last set: set again only when a request asks for
    /// another (two `setsockopt` calls per request otherwise).
    timeout: Option<Duration>,
}

impl StoreClient {
    pub fn connect(addr: SocketAddr, timeout: Duration) -> Result<StoreClient, ClientError> {
        let s = TcpStream::connect_timeout(&addr, timeout)
            .map_err(|source| ClientError::Connect { addr, source })?;
        let _ = s.set_nodelay(true);
        let writer = s
            .try_clone()
            .map_err(|source| ClientError::Connect { addr, source })?;
        Ok(StoreClient {
            addr,
            reader: BufReader::new(s),
            writer,
            next_id: 1,
            timeout: None,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Sends `req` (its id is replaced by a fresh one) and waits for the answer.
    /// After an unknown-outcome error the connection should be dropped.
    pub fn request(&mut self, req: &Request, timeout: Duration) -> Result<Response, ClientError> {
        self.request_with(&req.op, &crate::store::seam::NoOpts {}, timeout)
    }

    /// Sends `op` with a protocol's request options (flattened beside the op
    /// in the frame, e.g. the leaderless store's `w`, `r`, `context`, `local`)
    /// and waits for the answer.
    pub fn request_with<O: Serialize>(
        &mut self,
        op: &ClientOp,
        opts: &O,
        timeout: Duration,
    ) -> Result<Response, ClientError> {
        let addr = self.addr;
        let id = self.next_id;
        self.next_id += 1;
        let req = Frame { id, op, opts };
        let t = Some(timeout.max(Duration::from_millis(1)));
        if self.timeout != t {
            let _ = self.writer.set_write_timeout(t);
            let _ = self.reader.get_ref().set_read_timeout(t);
            self.timeout = t;
        }
        let mut buf = Vec::new();
        frame::encode(&mut buf, &req).map_err(|e| ClientError::NotSent(e.to_string()))?;
        use std::io::Write;
        if let Err(e) = self.writer.write_all(&buf) {
            return Err(lost_or_timeout(addr, e));
        }
        loop {
            let body = match frame::read_frame(&mut self.reader) {
                Ok(b) => b,
                Err(FrameError::Io(e)) => return Err(lost_or_timeout(addr, e)),
                Err(e) => {
                    return Err(ClientError::BadResponse {
                        addr,
                        reason: e.to_string(),
                    })
                }
            };
            let resp: Response = frame::decode(&body).map_err(|e| ClientError::BadResponse {
                addr,
                reason: e.to_string(),
            })?;
            if resp.id == id {
                return Ok(resp);
            }
            // An answer to an earlier, abandoned request: skip it.
        }
    }
}

fn lost_or_timeout(addr: SocketAddr, e: std::io::Error) -> ClientError {
    match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => ClientError::Timeout(addr),
        _ => ClientError::Lost {
            addr,
            reason: e.to_string(),
        },
    }
}
