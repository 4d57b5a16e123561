//! The proxy back end: nodes listen on 127.0.0.1, and every node-to-node link
//! (node a dialling node b's peer port) goes through a TCP proxy thread owned
//! by the harness. No privileges needed; proxies die with the harness.
//!
//! Grudges are enforced per direction, as dropped packets would be: while the
//! receiver of a direction drops its sender, the bytes that direction carries
//! are read and thrown away (the other direction keeps flowing, so a one-way
//! cut is one-way on connections that were open). A connection that lost
//! bytes is closed once its direction is healed (a byte stream with a hole in
//! it would corrupt framing; TCP would have given up on it too). New
//! connections over a link cut in either direction are closed at once, as a
//! handshake cannot complete through a one-way drop. Latency delays every
//! forwarded chunk in both directions.

use super::null::free_port;
use super::{Grudge, Layout, NetBackend, NetError, NodeNet, Packets};
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
    packets: RwLock<Packets>,
    latency_ms: AtomicU64,
    shutdown: AtomicBool,
}

impl Shared {
    fn cut(&self, a: &str, b: &str) -> bool {
        self.grudge.read().map(|g| g.cut(a, b)).unwrap_or(false)
    }

    /// True when `to` drops what `from` sends.
    fn drops(&self, to: &str, from: &str) -> bool {
        self.grudge.read().map(|g| g.drops(to, from)).unwrap_or(false)
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

/// Forwards what node `sender` writes on `from` to node `receiver` on `to`.
fn pump(mut from: TcpStream, mut to: TcpStream, shared: Arc<Shared>, sender: String, receiver: String) {
    let _ = from.set_read_timeout(Some(Duration::from_millis(100)));
    let mut buf = vec![0u8; 64 * 1024];
    let mut lost = false;
    let (mut rng, mut losses) = (rand::thread_rng(), 0u32);
    loop {
        let dropped = shared.drops(&receiver, &sender);
        if shared.shutdown.load(Ordering::Relaxed) || (lost && !dropped) {
            break;
        }
        match from.read(&mut buf) {
            Ok(0) => break,
            Ok(_) if shared.drops(&receiver, &sender) => lost = true,
            Ok(n) => {
                let lat = shared.latency_ms.load(Ordering::Relaxed);
                let packets = shared.packets.read().map(|p| *p).unwrap_or_default();
                let hold = Duration::from_millis(lat) + packets.hold(&mut rng, &mut losses);
                if !hold.is_zero() {
                    std::thread::sleep(hold);
                }
                if shared.drops(&receiver, &sender) {
                    lost = true;
                } else if to.write_all(&buf[..n]).is_err() {
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
                    // `a` dialled `b`: down carries a's bytes, up carries b's.
                    std::thread::spawn(move || pump(down, up, s1, a1, b1));
                    std::thread::spawn(move || pump(u2, d2, s2, b2, a2));
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(10)),
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// A listener on a free 127.0.0.1 port that is none of `taken`.
fn bind_avoiding(taken: &std::collections::BTreeSet<u16>) -> Result<TcpListener, NetError> {
    loop {
        let l = TcpListener::bind(free_port()?).map_err(|source| NetError::Io {
            context: "binding a proxy port on 127.0.0.1".into(),
            source,
        })?;
        let port = l
            .local_addr()
            .map_err(|source| NetError::Io {
                context: "proxy port".into(),
                source,
            })?
            .port();
        if !taken.contains(&port) {
            return Ok(l);
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
        // The nodes' ports are free until the nodes start: a proxy must not take one.
        let taken: std::collections::BTreeSet<u16> = nodes
            .iter()
            .flat_map(|n| n.listen.values().map(|a| a.port()))
            .collect();
        for n in &mut nodes {
            for (other, addr) in &direct {
                if *other == n.id {
                    continue;
                }
                let l = bind_avoiding(&taken)?;
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
        self.set_packets(&Packets::default())?;
        self.partition(&Grudge::default())
    }

    fn set_packets(&self, p: &Packets) -> Result<(), NetError> {
        if let Ok(mut cur) = self.shared.packets.write() {
            *cur = *p;
        }
        Ok(())
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

    /// A server that echoes and remembers everything it received.
    fn recording_echo() -> (SocketAddr, Arc<std::sync::Mutex<Vec<u8>>>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let a = l.local_addr().unwrap();
        let got = Arc::new(std::sync::Mutex::new(Vec::new()));
        let g = got.clone();
        std::thread::spawn(move || {
            for s in l.incoming().flatten() {
                let g = g.clone();
                std::thread::spawn(move || {
                    let mut s = s;
                    let mut b = [0u8; 1024];
                    while let Ok(n) = s.read(&mut b) {
                        g.lock().unwrap().extend_from_slice(&b[..n]);
                        if n == 0 || s.write_all(&b[..n]).is_err() {
                            break;
                        }
                    }
                });
            }
        });
        (a, got)
    }

    #[test]
    fn one_way_cuts_drop_one_direction_of_open_connections() {
        let p = Proxy::new();
        let (server, got) = recording_echo();
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let via = l.local_addr().unwrap();
        let sh = p.shared.clone();
        // n1 dials n2 (the server) through the proxy.
        std::thread::spawn(move || accept_loop(l, server, sh, "n1".into(), "n2".into()));
        let ns: Vec<String> = vec!["n1".into(), "n2".into()];
        let mut c = TcpStream::connect(via).unwrap();
        c.set_read_timeout(Some(Duration::from_millis(400))).unwrap();
        let mut b = [0u8; 4];
        c.write_all(b"ping").unwrap();
        c.read_exact(&mut b).unwrap();
        // n1 deaf: what n1 sends still arrives, the replies are lost.
        p.partition(&Grudge::one_way(&ns[..1], &ns[1..])).unwrap();
        std::thread::sleep(Duration::from_millis(250));
        c.write_all(b"deaf").unwrap();
        assert!(c.read_exact(&mut b).is_err(), "the reply crossed a one-way cut");
        assert!(got.lock().unwrap().ends_with(b"deaf"), "n2 heard n1");
        assert!(!roundtrip(via), "no new connection through a one-way cut");
        // Healed: the connection that lost bytes is closed; new ones work.
        p.heal().unwrap();
        std::thread::sleep(Duration::from_millis(250));
        assert!(c.write_all(b"more").is_err() || c.read_exact(&mut b).is_err());
        assert!(roundtrip(via));
        // n1 mute: nothing n1 sends arrives.
        let mut c = TcpStream::connect(via).unwrap();
        c.set_read_timeout(Some(Duration::from_millis(400))).unwrap();
        c.write_all(b"ping").unwrap();
        c.read_exact(&mut b).unwrap();
        p.partition(&Grudge::one_way(&ns[1..], &ns[..1])).unwrap();
        std::thread::sleep(Duration::from_millis(250));
        c.write_all(b"mute").unwrap();
        std::thread::sleep(Duration::from_millis(250));
        assert!(!got.lock().unwrap().ends_with(b"mute"), "n2 heard a muted n1");
        p.heal().unwrap();
    }
}
