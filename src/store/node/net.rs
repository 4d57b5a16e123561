//! The node's TCP sides: peer links (one outbound connection per peer, any
//! number inbound), the client port and the admin port.
//!
//! Invariants: a malformed client frame gets an `error` reply and never takes
//! the node down; peer messages may be lost or delayed (the core tolerates it),
//! so a peer's queue drops messages when full or disconnected.

use super::{Ev, NodeError};
use crate::store::admin::{AdminRequest, AdminResponse};
use crate::store::core::Message;
use crate::store::frame::{self, FrameError};
use crate::store::ops::{Outcome, Request, Response};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};

/// What travels between peers: the sender's id and one core message.
#[derive(Serialize, Deserialize)]
struct PeerFrame {
    from: String,
    msg: Message,
}

pub(super) async fn bind(what: &'static str, addr: SocketAddr) -> Result<TcpListener, NodeError> {
    let sock = tokio::net::TcpSocket::new_v4().map_err(|source| NodeError::Bind { what, addr, source })?;
    let _ = sock.set_reuseaddr(true);
    sock.bind(addr)
        .and_then(|_| sock.listen(1024))
        .map_err(|source| NodeError::Bind { what, addr, source })
}

pub(super) async fn accept_peers(l: TcpListener, tx: mpsc::UnboundedSender<Ev>) {
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
pub(super) fn spawn_peer(me: String, addr: String) -> mpsc::Sender<Message> {
    let (tx, mut rx) = mpsc::channel::<Message>(8192);
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
            let mut buf = Vec::new();
            loop {
                let Some(msg) = rx.recv().await else { return };
                buf.clear();
                let mut pending = Some(msg);
                while let Some(msg) = pending.take() {
                    let _ = frame::encode(
                        &mut buf,
                        &PeerFrame {
                            from: me.clone(),
                            msg,
                        },
                    );
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

pub(super) async fn accept_clients(l: TcpListener, tx: mpsc::UnboundedSender<Ev>, node: String) {
    while let Ok((s, _)) = l.accept().await {
        let tx = tx.clone();
        let node = node.clone();
        tokio::spawn(async move {
            let _ = s.set_nodelay(true);
            let (r, mut w) = s.into_split();
            let mut r = BufReader::new(r);
            loop {
                let (id, outcome, close) = match frame::read_frame_async(&mut r).await {
                    Ok(None) => return,
                    Err(FrameError::TooLarge(n)) => {
                        (0, bad(format!("frame of {n} bytes is too large")), true)
                    }
                    Err(_) => return,
                    Ok(Some(body)) => match frame::decode::<Request>(&body) {
                        Err(e) => {
                            let id = serde_json::from_slice::<serde_json::Value>(&body)
                                .ok()
                                .and_then(|v| v.get("id").and_then(|i| i.as_u64()))
                                .unwrap_or(0);
                            (id, bad(format!("malformed request: {e}")), false)
                        }
                        Ok(req) => {
                            let (otx, orx) = oneshot::channel();
                            if tx.send(Ev::Client { op: req.op, tx: otx }).is_err() {
                                return;
                            }
                            let outcome = orx.await.unwrap_or(Outcome::Unknown {
                                reason: "node shutting down".into(),
                            });
                            (req.id, outcome, false)
                        }
                    },
                };
                let resp = Response {
                    id,
                    node: node.clone(),
                    outcome,
                };
                let mut buf = Vec::new();
                if frame::encode(&mut buf, &resp).is_err() || w.write_all(&buf).await.is_err() || close {
                    return;
                }
            }
        });
    }
}

fn bad(reason: String) -> Outcome {
    Outcome::Error { reason }
}

pub(super) async fn accept_admin(l: TcpListener, tx: mpsc::UnboundedSender<Ev>) {
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
