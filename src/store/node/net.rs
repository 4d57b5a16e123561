//! The node's TCP sides: peer links (one outbound connection per peer, any
//! number inbound), the client port and the admin port.
//!
//! Invariants: a malformed client frame gets an `error` reply and never takes
//! the node down; peer messages may be lost or delayed (the core tolerates it),
//! so a peer's queue drops messages when full or disconnected.

use super::{Ev, NodeError};
use crate::store::admin::{AdminRequest, AdminResponse};
use crate::store::frame::{self, FrameError};
use crate::store::ops::{Outcome, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};

/// A client request as the node reads it: [`crate::store::ops::Request`] plus the protocol's
/// options, flattened beside the op (absent: their defaults).
#[derive(Deserialize)]
struct ClientFrame<O> {
    id: u64,
    /// The routing epoch a router stamped the request with (sharded stores).
    #[serde(default)]
    epoch: Option<u64>,
    #[serde(flatten)]
    op: crate::store::ops::ClientOp,
    #[serde(flatten)]
    opts: O,
}

/// What travels between peers: the sender's id and one core message.
#[derive(Deserialize)]
struct PeerFrame<M> {
    from: String,
    msg: M,
}

/// [`PeerFrame`] as the sender writes it, borrowing its id.
#[derive(Serialize)]
struct PeerFrameOut<'a, M> {
    from: &'a str,
    msg: M,
}

pub(super) async fn bind(what: &'static str, addr: SocketAddr) -> Result<TcpListener, NodeError> {
    let sock = tokio::net::TcpSocket::new_v4().map_err(|source| NodeError::Bind { what, addr, source })?;
    let _ = sock.set_reuseaddr(true);
    sock.bind(addr)
        .and_then(|_| sock.listen(1024))
        .map_err(|source| NodeError::Bind { what, addr, source })
}

pub(super) async fn accept_peers<M, O>(l: TcpListener, tx: mpsc::UnboundedSender<Ev<M, O>>)
where
    M: DeserializeOwned + Send + 'static,
    O: Send + 'static,
{
    while let Ok((s, _)) = l.accept().await {
        let tx = tx.clone();
        tokio::spawn(async move {
            let _ = s.set_nodelay(true);
            let mut r = BufReader::with_capacity(1 << 16, s);
            while let Ok(Some(body)) = frame::read_frame_async(&mut r).await {
                let Ok(PeerFrame { from, msg }) = frame::decode(&body) else {
                    break;
                };
                if tx.send(Ev::Peer { from, msg }).is_err() {
                    break;
                }
            }
        });
    }
}

/// Starts the outbound link to one peer; returns its (bounded, lossy) queue.
/// With `send_timeout_ms`, a connection whose sent data stays unacknowledged
/// that long is dropped with what it held (see
/// [`crate::store::seam::CoreConfig::peer_send_timeout_ms`]).
pub(super) fn spawn_peer<M: Serialize + Send + 'static>(
    me: String,
    addr: String,
    send_timeout_ms: Option<u32>,
) -> mpsc::Sender<M> {
    let (tx, mut rx) = mpsc::channel::<M>(8192);
    tokio::spawn(async move {
        loop {
            let conn = tokio::time::timeout(Duration::from_millis(500), TcpStream::connect(&addr)).await;
            let mut s = match conn {
                Ok(Ok(s)) => s,
                _ => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    // Drop what queued up while the peer was unreachable.
                    while rx.try_recv().is_ok() {}
                    continue;
                }
            };
            let _ = s.set_nodelay(true);
            if let Some(ms) = send_timeout_ms {
                set_user_timeout(&s, ms);
            }
            let mut buf = Vec::new();
            loop {
                let Some(msg) = rx.recv().await else { return };
                buf.clear();
                let mut pending = Some(msg);
                while let Some(msg) = pending.take() {
                    let _ = frame::encode(&mut buf, &PeerFrameOut { from: &me, msg });
                    if buf.len() < (1 << 20) {
                        pending = rx.try_recv().ok();
                    }
                }
                if s.write_all(&buf).await.is_err() {
                    break;
                }
            }
        }
    });
    tx
}

/// TCP_USER_TIMEOUT: the kernel aborts the connection when transmitted data
/// stays unacknowledged for `ms` (the next write fails and the link reconnects).
fn set_user_timeout(s: &TcpStream, ms: u32) {
    use std::os::fd::AsRawFd;
    let v: libc::c_uint = ms;
    // SAFETY: a valid socket fd, an option value of the size given.
    unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_USER_TIMEOUT,
            &v as *const libc::c_uint as *const libc::c_void,
            std::mem::size_of::<libc::c_uint>() as libc::socklen_t,
        );
    }
}

/// Where one client request's answer goes: its connection's writer, tagged
/// with the request's id (answers may leave in another order than requests
/// came, e.g. a read before an earlier write commits).
pub(crate) struct ReplyTo {
    tx: mpsc::UnboundedSender<Answer>,
    id: u64,
    /// One of the connection's [`MAX_IN_FLIGHT`] slots, freed with the answer.
    _slot: tokio::sync::OwnedSemaphorePermit,
}

/// Requests one connection may have pending: past this the reader stops
/// reading (TCP pushes back on the client) instead of queueing without bound.
const MAX_IN_FLIGHT: usize = 1024;

impl ReplyTo {
    pub(crate) fn send(self, outcome: Outcome) {
        let _ = self.tx.send(Answer {
            id: self.id,
            outcome,
            close: false,
        });
    }
}

/// One response frame to write, and whether the connection closes after it.
pub(crate) struct Answer {
    id: u64,
    outcome: Outcome,
    close: bool,
}

/// Client connections. Requests are read as they come and handed to the event
/// loop without waiting for earlier answers, so a client may pipeline several
/// on one connection (each answer carries its request's id); a writer task
/// sends answers as they are ready, all that are ready in one write.
pub(super) async fn accept_clients<M, O>(l: TcpListener, tx: mpsc::UnboundedSender<Ev<M, O>>, node: String)
where
    M: Send + 'static,
    O: DeserializeOwned + Send + 'static,
{
    while let Ok((s, _)) = l.accept().await {
        let tx = tx.clone();
        let _ = s.set_nodelay(true);
        let (r, w) = s.into_split();
        let (atx, arx) = mpsc::unbounded_channel::<Answer>();
        tokio::spawn(write_answers(w, arx, node.clone()));
        tokio::spawn(async move {
            let mut r = BufReader::new(r);
            let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_IN_FLIGHT));
            loop {
                let Ok(slot) = slots.clone().acquire_owned().await else {
                    return;
                };
                let body = match frame::read_frame_async(&mut r).await {
                    Ok(Some(body)) => body,
                    Ok(None) | Err(FrameError::Io(_)) | Err(FrameError::Json(_)) => return,
                    Err(FrameError::TooLarge(n)) => {
                        let outcome = bad(format!("frame of {n} bytes is too large"));
                        let _ = atx.send(Answer {
                            id: 0,
                            outcome,
                            close: true,
                        });
                        return;
                    }
                };
                match frame::decode::<ClientFrame<O>>(&body) {
                    Err(e) => {
                        let id = serde_json::from_slice::<serde_json::Value>(&body)
                            .ok()
                            .and_then(|v| v.get("id").and_then(|i| i.as_u64()))
                            .unwrap_or(0);
                        let outcome = bad(format!("malformed request: {e}"));
                        let _ = atx.send(Answer {
                            id,
                            outcome,
                            close: false,
                        });
                    }
                    Ok(req) => {
                        let reply = ReplyTo {
                            tx: atx.clone(),
                            id: req.id,
                            _slot: slot,
                        };
                        let (op, opts, epoch) = (req.op, req.opts, req.epoch);
                        if tx
                            .send(Ev::Client {
                                op,
                                opts,
                                epoch,
                                reply,
                            })
                            .is_err()
                        {
                            return;
                        }
                    }
                }
            }
        });
    }
}

/// Writes a connection's answers until every sender is gone (the reader has
/// stopped and no request of the connection is still pending) or a write fails.
async fn write_answers(mut w: OwnedWriteHalf, mut rx: mpsc::UnboundedReceiver<Answer>, node: String) {
    let mut buf = Vec::new();
    while let Some(first) = rx.recv().await {
        buf.clear();
        let mut next = Some(first);
        let mut close = false;
        while let Some(a) = next.take() {
            close = a.close;
            let resp = Response {
                id: a.id,
                node: node.clone(),
                outcome: a.outcome,
            };
            if frame::encode(&mut buf, &resp).is_err() {
                return;
            }
            if !close && buf.len() < (1 << 20) {
                next = rx.try_recv().ok();
            }
        }
        if w.write_all(&buf).await.is_err() || close {
            return;
        }
    }
}

fn bad(reason: String) -> Outcome {
    Outcome::Error { reason }
}

pub(super) async fn accept_admin<M, O>(l: TcpListener, tx: mpsc::UnboundedSender<Ev<M, O>>)
where
    M: Send + 'static,
    O: Send + 'static,
{
    while let Ok((s, _)) = l.accept().await {
        let tx = tx.clone();
        tokio::spawn(async move {
            let (r, mut w) = s.into_split();
            let mut r = BufReader::new(r);
            while let Ok(Some(body)) = frame::read_frame_async(&mut r).await {
                let resp = match frame::decode::<AdminRequest>(&body) {
                    Err(e) => AdminResponse::Error {
                        reason: format!("malformed admin request: {e}"),
                    },
                    Ok(req) => {
                        let (otx, orx) = oneshot::channel();
                        if tx.send(Ev::Admin { req, tx: otx }).is_err() {
                            return;
                        }
                        orx.await.unwrap_or(AdminResponse::Error {
                            reason: "node shutting down".into(),
                        })
                    }
                };
                let mut buf = Vec::new();
                if frame::encode(&mut buf, &resp).is_err() || w.write_all(&buf).await.is_err() {
                    return;
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ops::ClientOp;
    use crate::store::seam::NoOpts;

    #[derive(Debug, Default, Deserialize, PartialEq)]
    struct Opts {
        #[serde(default)]
        w: Option<usize>,
    }

    #[test]
    fn a_request_frame_carries_the_protocols_options_beside_the_op() {
        let plain = br#"{"id":1,"f":"read","key":"k"}"#;
        let f: ClientFrame<NoOpts> = frame::decode(plain).unwrap();
        assert_eq!((f.id, f.op), (1, ClientOp::Read { key: "k".into() }));
        let with = br#"{"id":2,"f":"write","key":"k","value":3,"w":2}"#;
        let f: ClientFrame<NoOpts> = frame::decode(with).unwrap();
        assert_eq!(f.id, 2, "options a protocol does not know are ignored");
        let f: ClientFrame<Opts> = frame::decode(with).unwrap();
        assert_eq!(f.opts, Opts { w: Some(2) });
        let f: ClientFrame<Opts> = frame::decode(plain).unwrap();
        assert_eq!(f.opts, Opts::default(), "absent options are the defaults");
        let bad = br#"{"id":3,"f":"read","key":"k","w":"two"}"#;
        assert!(frame::decode::<ClientFrame<Opts>>(bad).is_err());
    }
}
