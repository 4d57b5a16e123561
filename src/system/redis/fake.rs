//! A scripted stand-in for a Redis or Sentinel server, for unit tests of the client: it
//! answers each command it reads by a function of the command's text and the connection's
//! number, and counts the connections it accepted (a dropped connection shows as a new one).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// What to send back: after `delay`, these bytes (`None`: close the connection).
pub type Answer = (Duration, Option<Vec<u8>>);

pub struct Fake {
    pub addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
}

impl Fake {
    /// `answer(command_text, connection_number)`; connections are numbered from 1.
    pub fn start(answer: impl Fn(&str, usize) -> Answer + Send + Sync + 'static) -> Fake {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = l.local_addr().expect("bound");
        let accepted = Arc::new(AtomicUsize::new(0));
        let (count, answer) = (accepted.clone(), Arc::new(answer));
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(mut s) = s else { return };
                let n = count.fetch_add(1, Ordering::SeqCst) + 1;
                let answer = answer.clone();
                std::thread::spawn(move || {
                    let mut buf = [0u8; 4096];
                    loop {
                        let k = match s.read(&mut buf) {
                            Ok(0) | Err(_) => return,
                            Ok(k) => k,
                        };
                        let (delay, bytes) = answer(&String::from_utf8_lossy(&buf[..k]), n);
                        std::thread::sleep(delay);
                        match bytes {
                            Some(b) if s.write_all(&b).is_ok() => {}
                            _ => return,
                        }
                    }
                });
            }
        });
        Fake { addr, accepted }
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

/// A reply sent at once.
pub fn now(bytes: &[u8]) -> Answer {
    (Duration::ZERO, Some(bytes.to_vec()))
}

/// A Sentinel that names `primary` for every master name.
pub fn sentinel(primary: SocketAddr) -> Fake {
    let (ip, port) = (primary.ip().to_string(), primary.port().to_string());
    let reply = format!("*2\r\n${}\r\n{ip}\r\n${}\r\n{port}\r\n", ip.len(), port.len());
    Fake::start(move |_, _| now(reply.as_bytes()))
}
