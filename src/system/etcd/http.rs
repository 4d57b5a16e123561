//! A minimal HTTP/1.1 client for etcd's JSON gateway: one POST per connection
//! (`Connection: close`), bounded by a deadline; and [`Conn`], a keep-alive connection for
//! `faultline bench etcd`.
//!
//! Why the test adapter does not keep connections alive: a request sent on a reused connection that the server had already closed
//! fails in a way indistinguishable from "sent, outcome unknown", which would turn harmless
//! reconnects into `info` ops. One connection per request keeps the rule simple: a failed
//! connect means the request was certainly not sent (`fail`); anything after is ambiguous.

use super::EtcdError;
use crate::system::external::NetError;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Status and body of one response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

fn remaining(deadline: Instant) -> Result<Duration, EtcdError> {
    let now = Instant::now();
    if now >= deadline {
        return Err(NetError::Timeout.into());
    }
    Ok((deadline - now).max(Duration::from_millis(1)))
}

/// Sends `method path` with a JSON `body` to `addr` and reads the whole response.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &[u8],
    deadline: Instant,
) -> Result<Response, EtcdError> {
    let mut s = TcpStream::connect_timeout(&addr, remaining(deadline)?)
        .map_err(|source| NetError::Connect { addr, source })?;
    let _ = s.set_nodelay(true);
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let mut req = head.into_bytes();
    req.extend_from_slice(body);
    s.set_write_timeout(Some(remaining(deadline)?))
        .map_err(NetError::Io)?;
    s.write_all(&req).map_err(io_or_timeout)?;
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 8192];
    loop {
        s.set_read_timeout(Some(remaining(deadline)?))
            .map_err(NetError::Io)?;
        match s.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                if complete(&buf) {
                    break;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_or_timeout(e)),
        }
    }
    parse(&buf)
}

fn io_or_timeout(e: std::io::Error) -> EtcdError {
    NetError::from_io(e).into()
}

fn split_head(buf: &[u8]) -> Option<(&[u8], &[u8])> {
    let pos = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    Some((&buf[..pos], &buf[pos + 4..]))
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// True once a Content-Length or chunked body is all here (lets us stop before the server
/// closes).
fn complete(buf: &[u8]) -> bool {
    message_len(buf).is_some()
}

/// The length of the first whole response in `buf`, once it is all here; `None` while it is
/// not, or when its end is only the connection's end (no length, not chunked).
fn message_len(buf: &[u8]) -> Option<usize> {
    let (head, body) = split_head(buf)?;
    let start = head.len() + 4;
    let head = String::from_utf8_lossy(head);
    if header(&head, "transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        return chunked_len(body).map(|n| start + n);
    }
    let n = header(&head, "content-length")?.parse::<usize>().ok()?;
    (body.len() >= n).then_some(start + n)
}

/// The length of a whole chunked body (through its final CRLF), once it is all here.
fn chunked_len(body: &[u8]) -> Option<usize> {
    let mut pos = 0;
    loop {
        let eol = pos + body[pos..].windows(2).position(|w| w == b"\r\n")?;
        let line = String::from_utf8_lossy(&body[pos..eol]);
        let size = usize::from_str_radix(line.split(';').next()?.trim(), 16).ok()?;
        pos = eol + 2;
        if size == 0 {
            // Optional trailers, then an empty line.
            let rest = &body[pos..];
            return if rest.starts_with(b"\r\n") {
                Some(pos + 2)
            } else {
                rest.windows(4)
                    .position(|w| w == b"\r\n\r\n")
                    .map(|p| pos + p + 4)
            };
        }
        pos += size + 2;
        if pos > body.len() {
            return None;
        }
    }
}

/// One keep-alive HTTP/1.1 connection carrying one request at a time: what a benchmark's
/// closed-loop client needs, so that it measures etcd and not a TCP handshake per request.
/// After any error the connection's state is unknown: drop it and connect again.
pub struct Conn {
    addr: SocketAddr,
    s: TcpStream,
    /// Bytes read past the end of the last response (none while one request is outstanding).
    buf: Vec<u8>,
}

impl Conn {
    pub fn connect(addr: SocketAddr, deadline: Instant) -> Result<Conn, EtcdError> {
        let s = TcpStream::connect_timeout(&addr, remaining(deadline)?)
            .map_err(|source| NetError::Connect { addr, source })?;
        let _ = s.set_nodelay(true);
        Ok(Conn {
            addr,
            s,
            buf: Vec::with_capacity(1024),
        })
    }

    /// Sends `method path` with a JSON `body` and reads its response.
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        body: &[u8],
        deadline: Instant,
    ) -> Result<Response, EtcdError> {
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            self.addr,
            body.len()
        )
        .into_bytes();
        req.extend_from_slice(body);
        self.s
            .set_write_timeout(Some(remaining(deadline)?))
            .map_err(NetError::Io)?;
        self.s.write_all(&req).map_err(io_or_timeout)?;
        let mut chunk = [0u8; 8192];
        loop {
            if let Some(n) = message_len(&self.buf) {
                let r = parse(&self.buf[..n]);
                self.buf.drain(..n);
                return r;
            }
            self.s
                .set_read_timeout(Some(remaining(deadline)?))
                .map_err(NetError::Io)?;
            match self.s.read(&mut chunk) {
                Ok(0) => {
                    return Err(EtcdError::Malformed(format!(
                        "{} closed the connection before a whole response ({} bytes)",
                        self.addr,
                        self.buf.len()
                    )))
                }
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io_or_timeout(e)),
            }
        }
    }
}

/// Parses a full response: status line, headers, body by Content-Length, chunks, or to EOF.
pub fn parse(buf: &[u8]) -> Result<Response, EtcdError> {
    let (head, body) = split_head(buf).ok_or_else(|| EtcdError::Malformed("no end of headers".into()))?;
    let head = String::from_utf8_lossy(head);
    let status = head
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| EtcdError::Malformed(format!("bad status line in {head:?}")))?;
    let body = if header(&head, "transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        dechunk(body)?
    } else if let Some(n) = header(&head, "content-length").and_then(|v| v.parse::<usize>().ok()) {
        if body.len() < n {
            return Err(EtcdError::Malformed(format!(
                "body cut short: {} of {n} bytes",
                body.len()
            )));
        }
        body[..n].to_vec()
    } else {
        body.to_vec()
    };
    Ok(Response { status, body })
}

fn dechunk(mut body: &[u8]) -> Result<Vec<u8>, EtcdError> {
    let mut out = Vec::new();
    loop {
        let eol = body
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| EtcdError::Malformed("chunk size line cut short".into()))?;
        let size_str = String::from_utf8_lossy(&body[..eol]);
        let size = usize::from_str_radix(size_str.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| EtcdError::Malformed(format!("bad chunk size {size_str:?}")))?;
        body = &body[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        if body.len() < size + 2 {
            return Err(EtcdError::Malformed("chunk cut short".into()));
        }
        out.extend_from_slice(&body[..size]);
        body = &body[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_content_length_and_chunked_bodies() {
        let r = parse(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}").unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"{}"[..]));
        let r =
            parse(b"HTTP/1.1 503 X\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
                .unwrap();
        assert_eq!((r.status, r.body.as_slice()), (503, &b"abcde"[..]));
        assert!(parse(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n{}").is_err());
        assert!(parse(b"garbage").is_err());
        assert!(complete(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"));
        assert!(!complete(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n{}"));
    }

    #[test]
    fn message_len_finds_the_end_of_each_response() {
        let two = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}HTTP/1.1 200 OK\r\n";
        assert_eq!(message_len(two), Some(40));
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
        assert_eq!(message_len(chunked), Some(chunked.len()));
        assert_eq!(message_len(&chunked[..chunked.len() - 1]), None);
        assert_eq!(message_len(&chunked[..chunked.len() - 8]), None);
        let trailer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: y\r\n\r\n";
        assert_eq!(message_len(trailer), Some(trailer.len()));
        assert_eq!(message_len(b"HTTP/1.1 200 OK\r\n\r\nuntil close"), None);
    }

    #[test]
    fn conn_reuses_one_connection_for_several_requests() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut got = Vec::new();
            let mut chunk = [0u8; 1024];
            // Two requests on this one connection, answered one length-framed, one chunked.
            for answer in [
                &b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n{1}"[..],
                &b"HTTP/1.1 500 X\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{2}\r\n0\r\n\r\n"[..],
            ] {
                let before = got.windows(2).filter(|w| w == b"{}").count();
                while got.windows(2).filter(|w| w == b"{}").count() == before {
                    let n = s.read(&mut chunk).unwrap();
                    assert!(n > 0, "client closed early");
                    got.extend_from_slice(&chunk[..n]);
                }
                s.write_all(answer).unwrap();
            }
            String::from_utf8(got).unwrap()
        });
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut c = Conn::connect(addr, deadline).unwrap();
        let r = c.request("POST", "/a", b"{}", deadline).unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"{1}"[..]));
        let r = c.request("POST", "/b", b"{}", deadline).unwrap();
        assert_eq!((r.status, r.body.as_slice()), (500, &b"{2}"[..]));
        let sent = server.join().unwrap();
        assert!(sent.starts_with("POST /a HTTP/1.1\r\n"), "{sent}");
        assert!(sent.contains("POST /b HTTP/1.1\r\n"), "{sent}");
        assert!(!sent.to_ascii_lowercase().contains("connection: close"), "{sent}");
    }

    #[test]
    fn refused_connection_is_a_connect_error() {
        let port = crate::system::external::free_ports(1).unwrap()[0];
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let e = request(addr, "POST", "/", b"{}", Instant::now() + Duration::from_secs(1));
        assert!(
            matches!(e, Err(EtcdError::Net(NetError::Connect { .. }))),
            "{e:?}"
        );
    }
}
