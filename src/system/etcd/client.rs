//! The etcd v3 client adapter, over etcd's JSON gateway (`/v3/kv/range`, `/v3/kv/put`,
//! `/v3/kv/txn`, `/v3/lease/grant`, `/v3/lease/revoke`).
//!
//! Why the JSON gateway and not gRPC: the gRPC client needs tonic + prost + protoc at build
//! time, a heavy addition for six unary calls; the gateway is part of every etcd v3 server
//! (3.4 serves it at `/v3/`), speaks the same KV/lease semantics, and a small HTTP/1.1 client
//! on `std::net::TcpStream` is enough (see [`super::http`]).
//!
//! Op mapping (values are stored as their JSON text, base64-encoded as the gateway wants):
//! - register: `read` = range (linearizable, or `serializable: true` when configured),
//!   `write` = put, `cas [old, new]` = txn comparing the value.
//! - set: `add e` = put `<prefix>/<e>`; `read` = range over the prefix.
//! - mutex: `acquire` = lease grant + txn `create_revision(lock) == 0` → put with the lease;
//!   `release` = txn `lease(lock) == mine` → delete, then revoke the lease. The lease is not
//!   kept alive: a holder paused past its TTL silently loses the lock, which is etcd's
//!   documented limit of lease-based locks without fencing and what the mutex checker exposes.
//!
//! Outcomes: a refused connection, `etcdserver: no leader` and any failed read are `fail`
//! (nothing took effect); a timeout or lost connection after the request was sent is `info`.

use super::{b64, http, EtcdError};
use crate::client::{Client, Completion};
use crate::history::Op;
use crate::system::external::{cas_args, NetError, Outcome};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Which op shapes a client speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EtcdWorkload {
    Register,
    Set,
    Mutex,
}

impl EtcdWorkload {
    /// Maps a workload name (`register`, `cas-register`, `kv`, `set`, `mutex`, `lock`, `leader`).
    pub fn from_name(name: &str) -> Option<EtcdWorkload> {
        match name {
            "register" | "cas-register" | "kv" | "linearizable-register" => Some(EtcdWorkload::Register),
            "set" => Some(EtcdWorkload::Set),
            "mutex" | "lock" | "leader" | "leader-election" => Some(EtcdWorkload::Mutex),
            _ => None,
        }
    }
}

/// Client settings.
#[derive(Clone, Debug)]
pub struct EtcdClientConfig {
    pub workload: EtcdWorkload,
    /// Register reads with `serializable: true` (served by the local member, may be stale).
    pub serializable: bool,
    /// Lease TTL of a mutex holder, seconds.
    pub lease_ttl_s: i64,
    /// Every key this client touches starts with this.
    pub prefix: String,
}

impl Default for EtcdClientConfig {
    fn default() -> Self {
        EtcdClientConfig {
            workload: EtcdWorkload::Register,
            serializable: false,
            lease_ttl_s: 10,
            prefix: "fl/".into(),
        }
    }
}

/// One client process bound to one etcd member.
pub struct EtcdClient {
    node: String,
    addr: SocketAddr,
    cfg: EtcdClientConfig,
    /// The lease under which this client holds the mutex, if it believes it does.
    held: Option<String>,
}

impl EtcdClient {
    pub fn new(node: &str, addr: SocketAddr, cfg: EtcdClientConfig) -> EtcdClient {
        EtcdClient {
            node: node.to_string(),
            addr,
            cfg,
            held: None,
        }
    }

    fn key(&self, op: &Op, default: &str) -> String {
        let k = op.key_string().unwrap_or_else(|| default.to_string());
        format!("{}{}", self.cfg.prefix, k)
    }

    fn call(&self, path: &str, body: Value, deadline: Instant) -> Result<Value, EtcdError> {
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        let r = http::request(self.addr, "POST", path, &bytes, deadline)?;
        let v: Value = serde_json::from_slice(&r.body).map_err(|e| {
            EtcdError::Malformed(format!(
                "{path}: status {} body is not JSON ({e}): {}",
                r.status,
                String::from_utf8_lossy(&r.body)
            ))
        })?;
        if r.status != 200 {
            return Err(EtcdError::Server {
                status: r.status,
                code: v.get("code").and_then(Value::as_i64).unwrap_or(-1),
                message: v
                    .get("message")
                    .or_else(|| v.get("error"))
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            });
        }
        Ok(v)
    }

    /// Classifies an error of a call that may change state.
    fn classify(e: EtcdError) -> Outcome {
        match &e {
            EtcdError::Net(NetError::Connect { .. }) => Outcome::Fail(e.to_string()),
            EtcdError::Server { code, message, .. } => {
                // Refused before any proposal: bad argument, not found, denied, throttled,
                // unimplemented, unauthenticated, or no leader to propose to.
                if matches!(code, 3 | 5 | 7 | 8 | 12 | 16) || message.contains("no leader") {
                    Outcome::Fail(e.to_string())
                } else {
                    Outcome::Info(e.to_string())
                }
            }
            _ => Outcome::Info(e.to_string()),
        }
    }

    fn done(&self, op: &Op, r: Result<Value, Outcome>) -> Completion {
        Outcome::complete(op, r).on(self.node.clone())
    }

    fn read_register(&self, op: &Op, deadline: Instant) -> Result<Value, Outcome> {
        let key = self.key(op, "r");
        let body = json!({"key": b64::encode(key.as_bytes()), "serializable": self.cfg.serializable});
        // A read changes nothing: every error is `fail`.
        let v = self
            .call("/v3/kv/range", body, deadline)
            .map_err(|e| Outcome::Fail(e.to_string()))?;
        match v.get("kvs").and_then(Value::as_array).and_then(|a| a.first()) {
            None => Ok(Value::Null),
            Some(kv) => decode_value(kv).map_err(Outcome::Fail),
        }
    }

    fn write(&self, op: &Op, key: &str, value: &Value, deadline: Instant) -> Result<Value, Outcome> {
        self.call("/v3/kv/put", put_body(key, value), deadline)
            .map_err(Self::classify)?;
        Ok(op.value.clone())
    }

    fn cas(&self, op: &Op, deadline: Instant) -> Result<Value, Outcome> {
        let (old, new) = cas_args(op)?;
        let key = b64::encode(self.key(op, "r").as_bytes());
        let body = json!({
            "compare": [{"key": key, "target": "VALUE", "result": "EQUAL", "value": encode_value(old)}],
            "success": [{"request_put": {"key": key, "value": encode_value(new)}}],
        });
        let v = self.call("/v3/kv/txn", body, deadline).map_err(Self::classify)?;
        if v.get("succeeded").and_then(Value::as_bool).unwrap_or(false) {
            Ok(op.value.clone())
        } else {
            Err(Outcome::Fail("compare failed".into()))
        }
    }

    fn set_prefix(&self, op: &Op) -> String {
        format!("{}/", self.key(op, "set"))
    }

    fn add(&self, op: &Op, deadline: Instant) -> Result<Value, Outcome> {
        let key = format!("{}{}", self.set_prefix(op), op.value);
        self.write(op, &key, &op.value, deadline)
    }

    fn read_set(&self, op: &Op, deadline: Instant) -> Result<Value, Outcome> {
        let prefix = self.set_prefix(op);
        let body = json!({
            "key": b64::encode(prefix.as_bytes()),
            "range_end": b64::encode(&prefix_end(prefix.as_bytes())),
            "serializable": self.cfg.serializable,
        });
        let v = self
            .call("/v3/kv/range", body, deadline)
            .map_err(|e| Outcome::Fail(e.to_string()))?;
        let mut elems = Vec::new();
        for kv in v.get("kvs").and_then(Value::as_array).into_iter().flatten() {
            elems.push(decode_value(kv).map_err(Outcome::Fail)?);
        }
        elems.sort_by(|a, b| match (a.as_i64(), b.as_i64()) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => a.to_string().cmp(&b.to_string()),
        });
        Ok(Value::Array(elems))
    }

    fn acquire(&mut self, op: &Op, deadline: Instant) -> Result<Value, Outcome> {
        if self.held.is_some() {
            return Err(Outcome::Fail("this client already holds the lock".into()));
        }
        let grant = self
            .call("/v3/lease/grant", json!({"TTL": self.cfg.lease_ttl_s}), deadline)
            // A lease alone holds nothing: a failed grant is a failed acquire.
            .map_err(|e| Outcome::Fail(format!("lease grant: {e}")))?;
        let id = match grant.get("ID") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err(Outcome::Fail(format!("lease grant returned no ID: {grant}"))),
        };
        let key = b64::encode(self.key(op, "lock").as_bytes());
        let body = json!({
            "compare": [{"key": key, "target": "CREATE", "result": "EQUAL", "create_revision": "0"}],
            "success": [{"request_put": {"key": key, "value": encode_value(&json!(self.node)), "lease": id}}],
        });
        match self.call("/v3/kv/txn", body, deadline) {
            Ok(v) if v.get("succeeded").and_then(Value::as_bool).unwrap_or(false) => {
                self.held = Some(id);
                Ok(op.value.clone())
            }
            Ok(_) => {
                self.revoke(&id, deadline);
                Err(Outcome::Fail("lock is held by someone else".into()))
            }
            Err(e) => {
                let out = Self::classify(e);
                if matches!(out, Outcome::Fail(_)) {
                    self.revoke(&id, deadline);
                }
                Err(out)
            }
        }
    }

    fn release(&mut self, op: &Op, deadline: Instant) -> Result<Value, Outcome> {
        let Some(id) = self.held.take() else {
            return Err(Outcome::Fail("this client does not hold the lock".into()));
        };
        let key = b64::encode(self.key(op, "lock").as_bytes());
        let body = json!({
            "compare": [{"key": key, "target": "LEASE", "result": "EQUAL", "lease": id}],
            "success": [{"request_delete_range": {"key": key}}],
        });
        let r = self.call("/v3/kv/txn", body, deadline);
        self.revoke(&id, deadline);
        match r {
            Ok(v) if v.get("succeeded").and_then(Value::as_bool).unwrap_or(false) => Ok(op.value.clone()),
            Ok(_) => Err(Outcome::Fail("lease expired: the lock was already lost".into())),
            Err(e) => Err(Self::classify(e)),
        }
    }

    fn revoke(&self, id: &str, deadline: Instant) {
        // Best effort: an unrevoked lease expires after its TTL anyway.
        let _ = self.call("/v3/lease/revoke", json!({"ID": id}), deadline);
    }
}

impl Client for EtcdClient {
    fn invoke(&mut self, op: &Op, timeout: Duration) -> Completion {
        let deadline = Instant::now() + timeout;
        let r = match (self.cfg.workload, op.f.as_str()) {
            (EtcdWorkload::Set, "read") => self.read_set(op, deadline),
            (EtcdWorkload::Set, "add") => self.add(op, deadline),
            (_, "read") => self.read_register(op, deadline),
            (_, "write") => {
                let key = self.key(op, "r");
                self.write(op, &key, &op.value, deadline)
            }
            (_, "cas") => self.cas(op, deadline),
            (_, "add") => self.add(op, deadline),
            (_, "acquire" | "lock") => self.acquire(op, deadline),
            (_, "release" | "unlock") => self.release(op, deadline),
            (_, f) => Err(Outcome::Fail(format!("etcd client does not know op `{f}`"))),
        };
        self.done(op, r)
    }
}

/// The body of a `/v3/kv/put` of `value` (stored as its JSON text) at `key`: the adapter's
/// writes, and `faultline bench etcd`'s, so the bench measures the puts the tests make.
pub fn put_body(key: &str, value: &Value) -> Value {
    json!({"key": b64::encode(key.as_bytes()), "value": encode_value(value)})
}

/// The JSON text of a value, base64-encoded.
fn encode_value(v: &Value) -> String {
    b64::encode(v.to_string().as_bytes())
}

fn decode_value(kv: &Value) -> Result<Value, String> {
    let raw = kv.get("value").and_then(Value::as_str).unwrap_or("");
    let bytes = b64::decode(raw).ok_or_else(|| format!("value is not base64: {raw}"))?;
    let text = String::from_utf8_lossy(&bytes);
    Ok(serde_json::from_str(&text).unwrap_or(Value::String(text.into_owned())))
}

/// The smallest key greater than every key with this prefix (etcd's `range_end` idiom).
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_increments_the_last_byte() {
        assert_eq!(prefix_end(b"fl/s/"), b"fl/s0");
        assert_eq!(prefix_end(&[b'a', 0xff]), b"b");
        assert_eq!(prefix_end(&[0xff]), vec![0]);
    }

    #[test]
    fn values_round_trip_through_the_gateway_encoding() {
        let kv = json!({"value": encode_value(&json!(42))});
        assert_eq!(decode_value(&kv).unwrap(), json!(42));
        let kv = json!({"value": b64::encode(b"plain text")});
        assert_eq!(decode_value(&kv).unwrap(), json!("plain text"));
    }

    #[test]
    fn unreachable_member_fails_reads_and_writes_definitely() {
        let port = crate::system::external::free_ports(1).unwrap()[0];
        let mut c = EtcdClient::new(
            "n1",
            format!("127.0.0.1:{port}").parse().unwrap(),
            EtcdClientConfig::default(),
        );
        let w = Op::new(
            crate::history::OpType::Invoke,
            crate::history::Process::Client(0),
            "write",
            json!(1),
        );
        let r = c.invoke(&w, Duration::from_millis(500));
        assert_eq!(r.ty, crate::history::OpType::Fail);
        assert_eq!(r.node.as_deref(), Some("n1"));
    }
}
