//! `faultline kv`: talk to a built-in store cluster by hand.

use crate::store::ops::{ClientOp, Outcome, Request};
use crate::store::StoreClient;
use anyhow::{bail, Context};
use serde_json::Value;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

/// Arguments of `faultline kv`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Client addresses: n1=HOST:PORT,n2=HOST:PORT,...
    #[arg(long)]
    pub cluster: String,
    #[arg(long, default_value_t = 2000)]
    pub timeout_ms: u64,
    /// get KEY | put KEY VALUE | cas KEY OLD NEW | append KEY VALUE (values are JSON, else strings)
    #[arg(required = true, num_args = 2..)]
    pub command: Vec<String>,
}

fn json_arg(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.to_string()))
}

fn parse_op(words: &[String]) -> anyhow::Result<ClientOp> {
    let key = Value::String(words[1].clone());
    let arg = |i: usize| {
        words
            .get(i)
            .map(|s| json_arg(s))
            .with_context(|| format!("`{}` needs more arguments", words[0]))
    };
    let op = match words[0].as_str() {
        "get" => ClientOp::Read { key },
        "put" => ClientOp::Write { key, value: arg(2)? },
        "cas" => ClientOp::Cas {
            key,
            old: arg(2)?,
            new: arg(3)?,
        },
        "append" => ClientOp::Append { key, value: arg(2)? },
        other => bail!("unknown kv command {other:?} (get, put, cas, append)"),
    };
    Ok(op)
}

pub fn run(a: Args) -> anyhow::Result<i32> {
    let cluster = super::node::parse_cluster(&a.cluster)?;
    let op = parse_op(&a.command)?;
    let timeout = Duration::from_millis(a.timeout_ms);
    let addr = |s: &str| -> anyhow::Result<SocketAddr> {
        s.to_socket_addrs()
            .ok()
            .and_then(|mut i| i.next())
            .with_context(|| format!("--cluster: bad address {s:?}"))
    };
    let mut target: Option<String> = None;
    for _attempt in 0..(cluster.len() * 3) {
        let ids: Vec<String> = match target.take() {
            Some(t) => vec![t],
            None => cluster.keys().cloned().collect(),
        };
        for id in ids {
            let Some(a) = cluster.get(&id) else { continue };
            let Ok(mut c) = StoreClient::connect(addr(a)?, timeout) else {
                continue;
            };
            let resp = match c.request(
                &Request {
                    id: 0,
                    op: op.clone(),
                },
                timeout,
            ) {
                Ok(r) => r,
                Err(e) if e.is_definite() => continue,
                Err(e) => bail!("outcome unknown: {e}"),
            };
            match resp.outcome {
                Outcome::Ok { value } => {
                    println!("{}", serde_json::json!({"ok": value, "node": resp.node}));
                    return Ok(crate::exit::VALID);
                }
                Outcome::Fail { reason } => {
                    println!("{}", serde_json::json!({"fail": reason, "node": resp.node}));
                    return Ok(crate::exit::INVALID);
                }
                Outcome::NotLeader { leader } => {
                    if leader.is_some() {
                        target = leader;
                        break;
                    }
                }
                Outcome::Unknown { reason } => bail!("outcome unknown: {reason}"),
                Outcome::Error { reason } => bail!("{}: {reason}", resp.node),
            }
        }
        if target.is_none() {
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    bail!(
        "no leader answered (tried {:?})",
        cluster.keys().collect::<Vec<_>>()
    )
}
