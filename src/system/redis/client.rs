//! The Redis client adapter: follows the current primary through Sentinel
//! (`SENTINEL get-master-addr-by-name`), checks it with `ROLE`, and keeps that connection until
//! it fails or the server says `READONLY` (it was demoted): then it asks Sentinel again.
//!
//! Sticking to a connection is deliberate and is what Jepsen's clients did: a client cut off
//! with an old primary keeps writing to it, those writes are acknowledged, and they vanish when
//! the old primary rejoins as a replica. `WAIT n ms` (optional) asks for synchronous
//! acknowledgement by `n` replicas; fewer than `n` leaves the write `info`, since it may survive.
//!
//! Op mapping: register `read`/`write`/`cas` = GET/SET/EVAL compare-and-set; set `add` = SADD,
//! `read` = SMEMBERS. Values are stored as their JSON text.
//! Outcomes: connect errors and error replies (`READONLY`, `NOREPLICAS`, ...) are `fail`
//! (Redis rejects before executing); a timeout or a lost connection after sending is `info`
//! (reads: `fail`). Any error short of a complete reply drops the connection (see [`super::conn`]).
//!
//! Why not `redis::sentinel`: its sync lookup (`Sentinel::master_for`, `SentinelClient`, redis
//! 1.8) connects to Sentinels and runs `ROLE` on the named primary with no connect or read
//! timeout, and offers no way to set one. With a Sentinel or the named primary paused (SIGSTOP,
//! the kernel still accepts the connection) it blocks for the whole pause, far past the op's
//! timeout; under a partition, for the kernel's TCP retries. So the lookup below is ours, over
//! the crate's connections, every step bounded by the op's deadline.

use super::conn::{server_error_text, text, Conn};
use crate::client::{Client, Completion};
use crate::history::Op;
use crate::system::external::{cas_args, Outcome};
use redis::Value as Reply;
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const CAS_SCRIPT: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2]) return 1 else return 0 end";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RedisWorkload {
    Register,
    Set,
}

impl RedisWorkload {
    pub fn from_name(name: &str) -> Option<RedisWorkload> {
        match name {
            "register" | "cas-register" | "kv" => Some(RedisWorkload::Register),
            "set" => Some(RedisWorkload::Set),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct RedisClientConfig {
    pub workload: RedisWorkload,
    /// Sentinels to ask for the primary, in order.
    pub sentinels: Vec<SocketAddr>,
    /// The Sentinel master name.
    pub master: String,
    /// `WAIT replicas timeout_ms` after each write, if set.
    pub wait: Option<(u32, u64)>,
    pub prefix: String,
    /// Address → node name, for the `node` field of completions.
    pub names: BTreeMap<SocketAddr, String>,
}

pub struct RedisClient {
    cfg: RedisClientConfig,
    conn: Option<Conn>,
    /// The node the current op's last command went to, kept when its connection is dropped.
    sent_to: Option<String>,
}

impl RedisClient {
    pub fn new(cfg: RedisClientConfig) -> RedisClient {
        RedisClient {
            cfg,
            conn: None,
            sent_to: None,
        }
    }

    /// The node the client is connected to, if any.
    pub fn node(&self) -> Option<String> {
        let c = self.conn.as_ref()?;
        Some(
            self.cfg
                .names
                .get(&c.addr)
                .cloned()
                .unwrap_or_else(|| c.addr.to_string()),
        )
    }

    /// Asks the Sentinels, in order, where the primary is.
    pub fn primary_addr(&self, deadline: Instant) -> Result<SocketAddr, String> {
        let mut why = Vec::new();
        for s in &self.cfg.sentinels {
            let left = deadline
                .saturating_duration_since(Instant::now())
                .min(Duration::from_secs(1));
            let r = Conn::connect(*s, left).and_then(|mut c| {
                c.cmd(
                    &["SENTINEL", "get-master-addr-by-name", &self.cfg.master],
                    deadline,
                )
            });
            match r {
                Ok(Reply::Array(a)) if a.len() == 2 => {
                    let ip = text(&a[0]).unwrap_or_default();
                    let port = text(&a[1]).unwrap_or_default();
                    match format!("{ip}:{port}").parse() {
                        Ok(addr) => return Ok(addr),
                        Err(_) => why.push(format!("{s}: bad address {ip}:{port}")),
                    }
                }
                Ok(other) => why.push(format!("{s}: {other:?}")),
                Err(e) => why.push(format!("{s}: {e}")),
            }
        }
        Err(format!("no Sentinel named a primary: {}", why.join("; ")))
    }

    fn ensure_conn(&mut self, deadline: Instant) -> Result<(), Outcome> {
        if self.conn.is_none() {
            let addr = self.primary_addr(deadline).map_err(Outcome::Fail)?;
            let left = deadline.saturating_duration_since(Instant::now());
            let mut c = Conn::connect(addr, left).map_err(|e| Outcome::Fail(e.to_string()))?;
            // ROLE changes nothing; any error here is still a definite failure of the op.
            match c.cmd(&["ROLE"], deadline) {
                Ok(Reply::Array(a)) if a.first().and_then(text).as_deref() == Some("master") => {}
                Ok(r) => {
                    return Err(Outcome::Fail(format!(
                        "Sentinel named {addr} but it is not a primary: {r:?}"
                    )))
                }
                Err(e) => return Err(Outcome::Fail(format!("ROLE on {addr}: {e}"))),
            }
            self.conn = Some(c);
        }
        Ok(())
    }

    /// Runs one command on the primary. `mutating` decides whether a lost reply is `info`.
    fn run(&mut self, args: &[&[u8]], mutating: bool, deadline: Instant) -> Result<Reply, Outcome> {
        self.ensure_conn(deadline)?;
        self.sent_to = self.node();
        let conn = self.conn.as_mut().expect("ensured above");
        let mut cmd = redis::Cmd::new();
        for a in args {
            cmd.arg(*a);
        }
        match conn.call(&cmd, deadline) {
            Ok(Reply::ServerError(e)) => {
                let e = server_error_text(&e);
                if e.starts_with("READONLY") || e.starts_with("MASTERDOWN") || e.starts_with("LOADING") {
                    self.conn = None; // demoted or not ready: ask Sentinel next time
                }
                Err(Outcome::Fail(e))
            }
            Ok(r) => Ok(r),
            Err(e) => {
                self.conn = None; // never reused: a late reply would answer the next op
                if mutating {
                    Err(Outcome::Info(e.to_string()))
                } else {
                    Err(Outcome::Fail(e.to_string()))
                }
            }
        }
    }

    fn key(&self, op: &Op, default: &str) -> String {
        format!(
            "{}{}",
            self.cfg.prefix,
            op.key_string().unwrap_or_else(|| default.into())
        )
    }

    /// After an acknowledged write: `WAIT`, if configured.
    fn wait(&mut self, deadline: Instant) -> Result<(), Outcome> {
        let Some((n, ms)) = self.cfg.wait else {
            return Ok(());
        };
        let (n_s, ms_s) = (n.to_string(), ms.to_string());
        match self.run(&[b"WAIT", n_s.as_bytes(), ms_s.as_bytes()], true, deadline) {
            Ok(Reply::Int(k)) if k >= i64::from(n) => Ok(()),
            Ok(r) => Err(Outcome::Info(format!(
                "WAIT {n} {ms}: {r:?} (written, not replicated)"
            ))),
            // The write itself was acknowledged; whatever WAIT says, it may survive.
            Err(Outcome::Fail(e)) | Err(Outcome::Info(e)) => Err(Outcome::Info(format!("WAIT: {e}"))),
        }
    }

    fn apply(&mut self, op: &Op, deadline: Instant) -> Result<Value, Outcome> {
        match (self.cfg.workload, op.f.as_str()) {
            (RedisWorkload::Set, "add") => {
                let key = self.key(op, "set");
                let v = op.value.to_string();
                self.run(&[b"SADD", key.as_bytes(), v.as_bytes()], true, deadline)?;
                self.wait(deadline)?;
                Ok(op.value.clone())
            }
            (RedisWorkload::Set, "read") => {
                let key = self.key(op, "set");
                match self.run(&[b"SMEMBERS", key.as_bytes()], false, deadline)? {
                    Reply::Array(items) => {
                        let mut elems: Vec<Value> = items.iter().map(parse_value).collect();
                        elems.sort_by(|a, b| match (a.as_i64(), b.as_i64()) {
                            (Some(x), Some(y)) => x.cmp(&y),
                            _ => a.to_string().cmp(&b.to_string()),
                        });
                        Ok(Value::Array(elems))
                    }
                    r => Err(Outcome::Fail(format!("SMEMBERS answered {r:?}"))),
                }
            }
            (_, "read") => {
                let key = self.key(op, "r");
                match self.run(&[b"GET", key.as_bytes()], false, deadline)? {
                    Reply::Nil => Ok(Value::Null),
                    r @ Reply::BulkString(_) => Ok(parse_value(&r)),
                    r => Err(Outcome::Fail(format!("GET answered {r:?}"))),
                }
            }
            (_, "write") => {
                let key = self.key(op, "r");
                let v = op.value.to_string();
                self.run(&[b"SET", key.as_bytes(), v.as_bytes()], true, deadline)?;
                self.wait(deadline)?;
                Ok(op.value.clone())
            }
            (_, "cas") => {
                let (old, new) = cas_args(op)?;
                let key = self.key(op, "r");
                let (o, n) = (old.to_string(), new.to_string());
                let args: [&[u8]; 6] = [
                    b"EVAL",
                    CAS_SCRIPT.as_bytes(),
                    b"1",
                    key.as_bytes(),
                    o.as_bytes(),
                    n.as_bytes(),
                ];
                match self.run(&args, true, deadline)? {
                    Reply::Int(1) => {
                        self.wait(deadline)?;
                        Ok(op.value.clone())
                    }
                    _ => Err(Outcome::Fail("compare failed".into())),
                }
            }
            (_, "add") => {
                let key = self.key(op, "set");
                let v = op.value.to_string();
                self.run(&[b"SADD", key.as_bytes(), v.as_bytes()], true, deadline)?;
                self.wait(deadline)?;
                Ok(op.value.clone())
            }
            (_, f) => Err(Outcome::Fail(format!("redis client does not know op `{f}`"))),
        }
    }
}

fn parse_value(r: &Reply) -> Value {
    let t = text(r).unwrap_or_default();
    serde_json::from_str(&t).unwrap_or(Value::String(t))
}

impl Client for RedisClient {
    fn invoke(&mut self, op: &Op, timeout: Duration) -> Completion {
        let deadline = Instant::now() + timeout;
        // Name the node before the op: a failed op drops the connection.
        let before = self.node();
        self.sent_to = None;
        let r = self.apply(op, deadline);
        let node = self.sent_to.take().or_else(|| self.node()).or(before);
        let c = Outcome::complete(op, r);
        match node {
            Some(n) => c.on(n),
            None => c,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fake::{self, now, Answer, Fake};
    use super::*;
    use crate::history::{OpType, Process};
    use serde_json::json;

    const ROLE_MASTER: &[u8] = b"*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n";
    const SECOND: Duration = Duration::from_secs(1);

    /// A primary answering `ROLE` as a master and everything else by `answer`, its Sentinel,
    /// and a register client following them.
    fn setup(answer: impl Fn(&str, usize) -> Answer + Send + Sync + 'static) -> (Fake, Fake, RedisClient) {
        let primary = Fake::start(move |cmd, n| {
            if cmd.contains("ROLE") {
                now(ROLE_MASTER)
            } else {
                answer(cmd, n)
            }
        });
        let sentinel = fake::sentinel(primary.addr);
        let c = RedisClient::new(RedisClientConfig {
            workload: RedisWorkload::Register,
            sentinels: vec![sentinel.addr],
            master: "fl".into(),
            wait: None,
            prefix: "t/".into(),
            names: [(primary.addr, "n1".to_string())].into(),
        });
        (primary, sentinel, c)
    }

    fn op(f: &str, value: Value) -> Op {
        Op::new(OpType::Invoke, Process::Client(0), f, value)
    }

    /// The hazard of redis-rs issue #1252: a timed-out command's late reply must never be read
    /// as the next command's. The write is `info`, its connection is dropped, and the read
    /// that follows gets its own reply on a new connection.
    #[test]
    fn a_timed_out_write_is_info_and_the_next_op_gets_its_own_reply() {
        let (primary, _s, mut c) = setup(|cmd, conn| {
            if cmd.contains("SET") && conn == 1 {
                (Duration::from_millis(500), Some(b"+OK\r\n".to_vec()))
            } else if cmd.contains("GET") {
                now(b"$1\r\n7\r\n")
            } else {
                now(b"+OK\r\n")
            }
        });
        let w = c.invoke(&op("write", json!(5)), Duration::from_millis(200));
        assert_eq!((w.ty, w.node.as_deref()), (OpType::Info, Some("n1")), "{w:?}");
        std::thread::sleep(Duration::from_millis(500)); // the late +OK is sent by now
        let r = c.invoke(&op("read", Value::Null), SECOND);
        assert_eq!((r.ty, &r.value), (OpType::Ok, &json!(7)), "{r:?}");
        assert_eq!(primary.accepted(), 2, "the timed-out connection was reused");
        let w = c.invoke(&op("write", json!(8)), SECOND);
        assert_eq!(w.ty, OpType::Ok, "{w:?}");
        assert_eq!(primary.accepted(), 2, "a healthy connection is kept");
    }

    #[test]
    fn a_timed_out_read_is_fail() {
        let (_p, _s, mut c) = setup(|_, _| (Duration::from_millis(500), Some(b"$-1\r\n".to_vec())));
        let r = c.invoke(&op("read", Value::Null), Duration::from_millis(200));
        assert_eq!(r.ty, OpType::Fail, "{r:?}");
    }

    #[test]
    fn a_connection_lost_after_a_write_is_sent_is_info() {
        let (_p, _s, mut c) = setup(|_, _| (Duration::ZERO, None));
        let w = c.invoke(&op("write", json!(1)), SECOND);
        assert_eq!(w.ty, OpType::Info, "{w:?}");
    }

    /// Error replies are definite failures; READONLY (demoted) also sends the client back to
    /// Sentinel, other errors keep the connection.
    #[test]
    fn error_replies_are_fail_and_readonly_drops_the_connection() {
        let (primary, sentinel, mut c) = setup(|cmd, _| {
            if cmd.contains("\"ro\"") {
                now(b"-READONLY You can't write against a read only replica.\r\n")
            } else {
                now(b"-NOREPLICAS Not enough good replicas to write.\r\n")
            }
        });
        let w = c.invoke(&op("write", json!("nr")), SECOND);
        assert_eq!(w.ty, OpType::Fail, "{w:?}");
        assert!(
            w.error.as_deref().unwrap_or("").starts_with("NOREPLICAS"),
            "{w:?}"
        );
        let w = c.invoke(&op("write", json!("ro")), SECOND);
        assert_eq!(w.ty, OpType::Fail, "{w:?}");
        assert_eq!((primary.accepted(), sentinel.accepted()), (1, 1));
        let _ = c.invoke(&op("write", json!("nr")), SECOND);
        assert_eq!((primary.accepted(), sentinel.accepted()), (2, 2));
    }

    #[test]
    fn an_unreachable_primary_or_sentinel_is_fail() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let sentinel = fake::sentinel(closed);
        for sentinels in [vec![sentinel.addr], vec![closed]] {
            let mut c = RedisClient::new(RedisClientConfig {
                workload: RedisWorkload::Set,
                sentinels,
                master: "fl".into(),
                wait: None,
                prefix: "t/".into(),
                names: BTreeMap::new(),
            });
            let w = c.invoke(&op("add", json!(1)), SECOND);
            assert_eq!(w.ty, OpType::Fail, "{w:?}");
        }
    }
}
