//! One connection to one Redis (or Sentinel) server: the `redis` crate speaks RESP, this type
//! bounds every step by the op's deadline and says which errors left the command unsent.
//!
//! Invariant: after any [`RedisError::Lost`] the connection must be dropped, never reused.
//! A command that timed out may still be answered later, and on a reused connection that late
//! reply would be read as the next command's (redis-rs issue #1252); the crate also tracks
//! skipped replies, but a harness must not depend on that bookkeeping to attribute replies.

use redis::{Client, Cmd, ConnectionAddr, ConnectionInfo, ConnectionLike, IntoConnectionInfo, Value};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum RedisError {
    /// The connection was never made: nothing was sent.
    #[error("connect to {addr}: {source}")]
    Connect {
        addr: SocketAddr,
        source: redis::RedisError,
    },
    /// The deadline had passed when the command was due; it is treated as lost, as before
    /// (a caller that needs "not sent" checks the deadline itself).
    #[error("timed out")]
    Timeout,
    /// Sent (or partly sent), then no complete reply: a timeout, a reset, a closed connection
    /// or a reply that does not parse. The outcome is unknown.
    #[error("{}", lost_text(.0))]
    Lost(redis::RedisError),
}

fn lost_text(e: &redis::RedisError) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else {
        format!("connection: {e}")
    }
}

/// The connection settings every harness connection uses: plain TCP, `TCP_NODELAY`, and no
/// `CLIENT SETINFO` after connecting (Redis before 7.2 and Sentinel reject it; it would only
/// add a round trip that can fail).
pub fn connection_info(addr: SocketAddr) -> Result<ConnectionInfo, redis::RedisError> {
    let info = ConnectionAddr::Tcp(addr.ip().to_string(), addr.port()).into_connection_info()?;
    let redis = info.redis_settings().clone().set_skip_set_lib_name();
    let tcp = info.tcp_settings().clone().set_nodelay(true);
    Ok(info.set_redis_settings(redis).set_tcp_settings(tcp))
}

/// One connection to one server, and the address it was opened to (which names the node).
pub struct Conn {
    pub addr: SocketAddr,
    con: redis::Connection,
}

impl Conn {
    /// Connects within `timeout`; failure means nothing was sent.
    pub fn connect(addr: SocketAddr, timeout: Duration) -> Result<Conn, RedisError> {
        let connect = |source| RedisError::Connect { addr, source };
        let client = Client::open(connection_info(addr).map_err(connect)?).map_err(connect)?;
        let con = client
            .get_connection_with_timeout(timeout.max(Duration::from_millis(1)))
            .map_err(connect)?;
        Ok(Conn { addr, con })
    }

    /// Sends one command and reads its reply before `deadline`. An error reply from the server
    /// is `Ok(Value::ServerError)`: it was read in full, and the connection is still in step.
    pub fn call(&mut self, cmd: &Cmd, deadline: Instant) -> Result<Value, RedisError> {
        let left = deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or(RedisError::Timeout)?;
        self.con.set_write_timeout(Some(left)).map_err(RedisError::Lost)?;
        self.con.set_read_timeout(Some(left)).map_err(RedisError::Lost)?;
        self.con.req_command(cmd).map_err(RedisError::Lost)
    }

    /// `call` with string arguments.
    pub fn cmd(&mut self, args: &[&str], deadline: Instant) -> Result<Value, RedisError> {
        let mut c = redis::cmd(args[0]);
        for a in &args[1..] {
            c.arg(*a);
        }
        self.call(&c, deadline)
    }

    /// One command on a fresh connection to `addr`, all within `timeout`.
    pub fn once(addr: SocketAddr, args: &[&str], timeout: Duration) -> Result<Value, RedisError> {
        let deadline = Instant::now() + timeout;
        Conn::connect(addr, timeout)?.cmd(args, deadline)
    }
}

/// A text view of simple and bulk strings (and integers), for small protocol answers.
pub fn text(v: &Value) -> Option<String> {
    match v {
        Value::SimpleString(s) => Some(s.clone()),
        Value::Okay => Some("OK".into()),
        Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::VerbatimString { text, .. } => Some(text.clone()),
        Value::Int(i) => Some(i.to_string()),
        _ => None,
    }
}

/// An error reply as the server sent it: `READONLY You can't write against a read only replica.`
pub fn server_error_text(e: &redis::ServerError) -> String {
    match e.details() {
        Some(d) => format!("{} {d}", e.code()),
        None => e.code().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fake::{now, Fake};
    use super::*;
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn text_reads_strings_and_integers_only() {
        assert_eq!(
            text(&Value::SimpleString("master".into())).as_deref(),
            Some("master")
        );
        assert_eq!(text(&Value::BulkString(b"abc".to_vec())).as_deref(), Some("abc"));
        assert_eq!(text(&Value::Int(42)).as_deref(), Some("42"));
        assert_eq!(text(&Value::Okay).as_deref(), Some("OK"));
        assert_eq!(text(&Value::Nil), None);
        assert_eq!(text(&Value::Array(vec![])), None);
    }

    #[test]
    fn refused_connection_is_a_connect_error() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        drop(l);
        let e = Conn::connect(addr, SECOND).err().expect("refused");
        assert!(matches!(e, RedisError::Connect { .. }), "{e:?}");
    }

    #[test]
    fn error_replies_are_values_and_no_setinfo_is_sent() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let fake = Fake::start(move |cmd, _| {
            log.lock().unwrap().push(cmd.to_string());
            if cmd.contains("SET") {
                now(b"-READONLY You can't write against a read only replica.\r\n")
            } else {
                now(b"+OK\r\n")
            }
        });
        let mut c = Conn::connect(fake.addr, SECOND).unwrap();
        let d = Instant::now() + SECOND;
        match c.cmd(&["SET", "k", "v"], d).unwrap() {
            Value::ServerError(e) => assert_eq!(
                server_error_text(&e),
                "READONLY You can't write against a read only replica."
            ),
            other => panic!("{other:?}"),
        }
        // The connection is still in step after an error reply.
        assert_eq!(c.cmd(&["PING"], d).unwrap(), Value::Okay);
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert!(seen[0].starts_with("*3\r\n$3\r\nSET"), "{seen:?}");
    }

    #[test]
    fn a_closed_connection_or_garbage_is_lost() {
        for answer in [now(b"?what\r\n"), (Duration::ZERO, None)] {
            let fake = Fake::start(move |_, _| answer.clone());
            let mut c = Conn::connect(fake.addr, SECOND).unwrap();
            let e = c.cmd(&["PING"], Instant::now() + SECOND).unwrap_err();
            assert!(matches!(e, RedisError::Lost(_)), "{e:?}");
        }
    }

    #[test]
    fn a_silent_server_times_out_within_the_deadline() {
        let fake = Fake::start(|_, _| (Duration::from_secs(3), None));
        let mut c = Conn::connect(fake.addr, SECOND).unwrap();
        let t = Instant::now();
        let e = c.cmd(&["PING"], t + Duration::from_millis(200)).unwrap_err();
        assert!(t.elapsed() < Duration::from_millis(1500), "{:?}", t.elapsed());
        assert!(matches!(e, RedisError::Lost(ref r) if r.is_timeout()), "{e:?}");
        assert_eq!(e.to_string(), "timed out");
    }
}
