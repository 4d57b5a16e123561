//! RESP2, the Redis wire protocol: commands as arrays of bulk strings, replies as simple
//! strings, errors, integers, bulk strings (or nil) and arrays. Small enough to hand-write, and
//! writing it keeps every timeout and connection error under our control.

use super::RedisError;
use crate::system::external::NetError;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// One reply.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Reply>>),
}

impl Reply {
    /// A string view of simple and bulk strings (and integers), for small protocol answers.
    pub fn as_text(&self) -> Option<String> {
        match self {
            Reply::Simple(s) => Some(s.clone()),
            Reply::Bulk(Some(b)) => Some(String::from_utf8_lossy(b).into_owned()),
            Reply::Int(i) => Some(i.to_string()),
            _ => None,
        }
    }
}

/// Encodes a command.
pub fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Reads one reply.
pub fn read_reply<R: BufRead>(r: &mut R) -> Result<Reply, RedisError> {
    let mut line = Vec::new();
    r.read_until(b'\n', &mut line).map_err(RedisError::from_io)?;
    if line.is_empty() {
        return Err(RedisError::Closed);
    }
    if !line.ends_with(b"\r\n") {
        return Err(RedisError::Protocol(format!(
            "line cut short: {:?}",
            String::from_utf8_lossy(&line)
        )));
    }
    let text = String::from_utf8_lossy(&line[1..line.len() - 2]).into_owned();
    let int = |t: &str| {
        t.parse::<i64>()
            .map_err(|_| RedisError::Protocol(format!("bad integer {t:?}")))
    };
    match line[0] {
        b'+' => Ok(Reply::Simple(text)),
        b'-' => Ok(Reply::Error(text)),
        b':' => Ok(Reply::Int(int(&text)?)),
        b'$' => {
            let n = int(&text)?;
            if n < 0 {
                return Ok(Reply::Bulk(None));
            }
            let mut buf = vec![0u8; n as usize + 2];
            r.read_exact(&mut buf).map_err(RedisError::from_io)?;
            buf.truncate(n as usize);
            Ok(Reply::Bulk(Some(buf)))
        }
        b'*' => {
            let n = int(&text)?;
            if n < 0 {
                return Ok(Reply::Array(None));
            }
            let items = (0..n).map(|_| read_reply(r)).collect::<Result<Vec<_>, _>>()?;
            Ok(Reply::Array(Some(items)))
        }
        other => Err(RedisError::Protocol(format!(
            "unknown reply type byte {other:#x}"
        ))),
    }
}

/// One connection to one Redis (or Sentinel) server.
pub struct Conn {
    pub addr: SocketAddr,
    stream: BufReader<TcpStream>,
}

impl Conn {
    /// Connects within `timeout`; failure means nothing was sent.
    pub fn connect(addr: SocketAddr, timeout: Duration) -> Result<Conn, RedisError> {
        let s = TcpStream::connect_timeout(&addr, timeout.max(Duration::from_millis(1)))
            .map_err(|source| NetError::Connect { addr, source })?;
        let _ = s.set_nodelay(true);
        Ok(Conn {
            addr,
            stream: BufReader::new(s),
        })
    }

    /// Sends one command and reads its reply before `deadline`. Any error after connecting
    /// leaves the outcome unknown; the caller must drop the connection.
    pub fn call(&mut self, args: &[&[u8]], deadline: Instant) -> Result<Reply, RedisError> {
        let left = deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or(NetError::Timeout)?;
        let s = self.stream.get_mut();
        s.set_write_timeout(Some(left)).map_err(RedisError::from_io)?;
        s.set_read_timeout(Some(left)).map_err(RedisError::from_io)?;
        s.write_all(&encode(args)).map_err(RedisError::from_io)?;
        read_reply(&mut self.stream)
    }

    /// `call` with string arguments.
    pub fn cmd(&mut self, args: &[&str], deadline: Instant) -> Result<Reply, RedisError> {
        let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        self.call(&a, deadline)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_and_parses_every_reply_type() {
        assert_eq!(encode(&[b"GET", b"k"]), b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
        let input = b"*5\r\n+OK\r\n-ERR no\r\n:42\r\n$-1\r\n$3\r\nabc\r\n";
        let r = read_reply(&mut &input[..]).unwrap();
        assert_eq!(
            r,
            Reply::Array(Some(vec![
                Reply::Simple("OK".into()),
                Reply::Error("ERR no".into()),
                Reply::Int(42),
                Reply::Bulk(None),
                Reply::Bulk(Some(b"abc".to_vec())),
            ]))
        );
        assert!(matches!(read_reply(&mut &b""[..]), Err(RedisError::Closed)));
        assert!(read_reply(&mut &b"?x\r\n"[..]).is_err());
        assert!(read_reply(&mut &b"$5\r\nab"[..]).is_err());
    }
}
