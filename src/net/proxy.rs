//! The proxy back end: nodes listen on 127.0.0.1, and every node-to-node link
//! (node a dialling node b's peer port) goes through a TCP proxy thread owned
//! by the harness. No privileges needed; proxies die with the harness.
//!
//! A link is cut when the grudge cuts it in either direction: open
//! connections are closed and new ones are accepted and closed at once (a
//! byte stream cannot lose single messages without corrupting framing, so an
//! asymmetric grudge is enforced as a symmetric cut). Latency delays every
//! forwarded chunk in both directions.

use super::null::free_port;
use super::{Grudge, Layout, NetBackend, NetError, NodeNet};
use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

#[derive(Default)]
struct Shared {
    grudge: RwLock<Grudge>,
    latency_ms: AtomicU64,
    shutdown: AtomicBool,
}

impl Shared {
    fn cut(&self, a: &str, b: &str) -> bool {
        self.grudge.read().map(|g| g.cut(a, b)).unwrap_or(false)
    }
}

#[derive(Default)]
pub struct Proxy {
    shared: Arc<Shared>,
    acceptors: Vec<JoinHandle<()>>,
}

impl Proxy {
    pub fn new() -> Proxy {
        Proxy::default()
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream, shared: Arc<Shared>, a: String, b: String) {
    let _ = from.set_read_timeout(Some(Duration::from_millis(100)));
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        if shared.shutdown.load(Ordering::Relaxed) || shared.cut(&a, &b) {
            break;
        }
        match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                let lat = shared.latency_ms.load(Ordering::Relaxed);
                if lat > 0 {
                    std::thread::sleep(Duration::from_millis(lat));
                }
                if shared.cut(&a, &b) || to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

fn accept_loop(l: TcpListener, upstream: SocketAddr, shared: Arc<Shared>, a: String, b: String) {
    let _ = l.set_nonblocking(true);
    while !shared.shutdown.load(Ordering::Relaxed) {
        match l.accept() {
            Ok((down, _)) => {
                let _ = down.set_nonblocking(false);
                if shared.cut(&a, &b) {
                    let _ = down.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(up) = TcpStream::connect_timeout(&upstream, Duration::from_millis(500)) else {
                    let _ = down.shutdown(Shutdown::Both);
                    continue;
                };
                let _ = up.set_nodelay(true);
                let _ = down.set_nodelay(true);
                if let (Ok(d2), Ok(u2)) = (down.try_clone(), up.try_clone()) {
                    let (s1, s2) = (shared.clone(), shared.clone());
                    let (a1, b1, a2, b2) = (a.clone(), b.clone(), a.clone(), b.clone());
                    std::thread::spawn(move || pump(down, up, s1, a1, b1));
                    std::thread::spawn(move || pump(u2, d2, s2, a2, b2));
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(10)),
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

impl NetBackend for Proxy {
    fn kind(&self) -> &'static str {
        "proxy"
    }

    fn setup(&mut self, layout: &Layout) -> Result<Vec<NodeNet>, NetError> {
        let mut nodes = super::null::loopback_layout(layout)?;
        let direct: BTreeMap<String, SocketAddr> = nodes
            .iter()
            .map(|n| (n.id.clone(), n.listen[&layout.peer]))
            .collect();
        for n in &mut nodes {
            for (other, addr) in &direct {
                if *other == n.id {
                    continue;
                }
                let l = TcpListener::bind(free_port()?).map_err(|source| NetError::Io {
                    context: "binding a proxy port on 127.0.0.1".into(),
                    source,
                })?;
                let local = l.local_addr().map_err(|source| NetError::Io {
                    context: "proxy port".into(),
                    source,
                })?;
                n.peers.insert(other.clone(), local);
                let (shared, up, a, b) = (self.shared.clone(), *addr, n.id.clone(), other.clone());
                self.acceptors
                    .push(std::thread::spawn(move || accept_loop(l, up, shared, a, b)));
            }
        }
        Ok(nodes)
    }

    fn enter_client(&self) -> Result<(), NetError> {
        Ok(())
    }

    fn partition(&self, g: &Grudge) -> Result<(), NetError> {
        if let Ok(mut cur) = self.shared.grudge.write() {
            *cur = g.clone();
        }
        Ok(())
    }

    fn heal(&self) -> Result<(), NetError> {
        self.shared.latency_ms.store(0, Ordering::Relaxed);
        self.partition(&Grudge::default())
    }

    fn set_latency(&self, ms: u64) -> Result<(), NetError> {
        self.shared.latency_ms.store(ms, Ordering::Relaxed);
        Ok(())
    }

    fn teardown(&mut self) -> Result<(), NetError> {
        self.shared.shutdown.store(true, Ordering::Relaxed);
        for h in self.acceptors.drain(..) {
            let _ = h.join();
        }
        Ok(())
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.teardown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn echo_server() -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let a = l.local_addr().unwrap();
        std::thread::spawn(move || {
            for s in l.incoming().flatten() {
                std::thread::spawn(move || {
                    let mut s = s;
                    let mut b = [0u8; 1024];
                    while let Ok(n) = s.read(&mut b) {
                        if n == 0 || s.write_all(&b[..n]).is_err() {
                            break;
                        }
                    }
                });
            }
        });
        a
    }

    fn roundtrip(addr: SocketAddr) -> bool {
        let Ok(mut s) = TcpStream::connect(addr) else {
            return false;
        };
        s.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
        let mut b = [0u8; 4];
        s.write_all(b"ping").is_ok() && s.read_exact(&mut b).is_ok() && &b == b"ping"
    }

    #[test]
    fn links_cut_heal_and_delay() {
        let mut p = Proxy::new();
        let nets = p
            .setup(&Layout {
                nodes: vec!["n1".into(), "n2".into(), "n3".into()],
                ports: vec!["peer".into()],
                peer: "peer".into(),
            })
            .unwrap();
        // Route n1's view of n2 to an echo server standing in for n2.
        let echo = echo_server();
        let link = nets[0].peers["n2"];
        assert_ne!(link, nets[1].listen["peer"], "peers go through the proxy");
        assert_eq!(nets[0].peers["n1"], nets[0].listen["peer"]);
        // Re-point: build a dedicated acceptor to the echo server for this check.
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let via = l.local_addr().unwrap();
        let sh = p.shared.clone();
        std::thread::spawn(move || accept_loop(l, echo, sh, "n1".into(), "n2".into()));
        assert!(roundtrip(via));
        let mut held = TcpStream::connect(via).unwrap();
        held.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
        p.partition(&Grudge::isolate(&["n1".into(), "n2".into()], "n2"))
            .unwrap();
        std::thread::sleep(Duration::from_millis(250));
        let mut b = [0u8; 4];
        let _ = held.write_all(b"ping");
        assert!(held.read_exact(&mut b).is_err(), "open connection was cut");
        assert!(!roundtrip(via), "new connections refused while cut");
        p.heal().unwrap();
        assert!(roundtrip(via));
        p.set_latency(200).unwrap();
        let t = std::time::Instant::now();
        assert!(roundtrip(via));
        assert!(t.elapsed() >= Duration::from_millis(350));
        p.teardown().unwrap();
    }
}
