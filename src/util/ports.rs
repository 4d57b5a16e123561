//! Picking free TCP ports on 127.0.0.1 for nodes the harness starts.
//!
//! Why not just bind port 0: the kernel hands out the same ephemeral range
//! (`ip_local_port_range`, 32768–60999 here) as the local ports of outgoing
//! connections. A port picked that way and released until its node starts
//! can be taken meanwhile by any client connection on the machine (a busy
//! test suite opens thousands), and the node then fails to bind. Ports are
//! therefore drawn at random from below that range, where only listeners
//! that ask for them by number ever land, and checked by binding them.

use rand::Rng;
use std::net::{SocketAddr, TcpListener};

/// Ports are drawn from here: above the well-known services, below the
/// kernel's ephemeral range.
pub const RANGE: std::ops::Range<u16> = 15_000..32_000;

/// Binds a listener on a free 127.0.0.1 port outside the ephemeral range
/// (falling back to one the kernel picks if none of many draws is free).
/// Hold it to keep the port reserved; drop it just before the node binds.
pub fn reserve() -> std::io::Result<TcpListener> {
    let mut rng = rand::thread_rng();
    for _ in 0..200 {
        let port = rng.gen_range(RANGE);
        if let Ok(l) = TcpListener::bind(("127.0.0.1", port)) {
            return Ok(l);
        }
    }
    TcpListener::bind(("127.0.0.1", 0))
}

/// `n` distinct free ports (all reserved together, then released).
pub fn free_ports(n: usize) -> std::io::Result<Vec<u16>> {
    let held = (0..n).map(|_| reserve()).collect::<std::io::Result<Vec<_>>>()?;
    held.iter().map(|l| l.local_addr().map(|a| a.port())).collect()
}

/// One free 127.0.0.1 address.
pub fn free_addr() -> std::io::Result<SocketAddr> {
    reserve()?.local_addr()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_distinct_bindable_and_outside_the_ephemeral_range() {
        let ports = free_ports(50).unwrap();
        let distinct: std::collections::BTreeSet<_> = ports.iter().collect();
        assert_eq!(distinct.len(), 50);
        assert!(ports.iter().all(|p| RANGE.contains(p)), "{ports:?}");
        for p in ports.iter().take(5) {
            TcpListener::bind(("127.0.0.1", *p)).expect("released, so free again");
        }
    }
}
