//! What the leaderless store makes of each client op.
//!
//! - `read` -> a quorum read; the value has the shape of
//!   [`crate::store::conflict::read_value`].
//! - `write` -> a register write carrying `RequestOpts::context` (the
//!   `context` of the read it is based on; none = blind write).
//! - `append` -> a set add (`crdt` mode; the OR-set). Under `lww` and
//!   `siblings` a set is kept by the client: read, union the siblings, add,
//!   write back with the context (refused here with a `fail`).
//! - `txn` with exactly one `["incr", k, delta]` -> a counter increment
//!   (`crdt` mode; the PN-counter).
//! - `cas`, `transfer` and other transactions -> `fail`: a compare needs one
//!   order of writes per key, which replicas accepting writes independently
//!   do not have (Riak and Cassandra's plain writes have no CAS either).

use super::types::{Config, RequestOpts};
use crate::store::conflict::Update;
use crate::store::ops::{key_str, ClientOp, Outcome};

/// A client op, understood.
#[derive(Clone, Debug, PartialEq)]
pub enum Plan {
    Read {
        key: String,
        r: usize,
    },
    /// This node's own copy only (`RequestOpts::local`).
    LocalRead {
        key: String,
    },
    Write {
        key: String,
        update: Update,
        w: usize,
    },
}

fn fail(reason: impl Into<String>) -> Outcome {
    Outcome::Fail {
        reason: reason.into(),
    }
}

fn quorum(name: &str, asked: Option<usize>, default: usize, n: usize) -> Result<usize, Outcome> {
    match asked {
        None => Ok(default),
        Some(q) if q >= 1 && q <= n => Ok(q),
        Some(q) => Err(Outcome::Error {
            reason: format!("{name}={q} is outside 1..={n} (N)"),
        }),
    }
}

/// The plan for `op`, or the outcome that refuses it.
pub fn plan(cfg: &Config, op: &ClientOp, opts: &RequestOpts) -> Result<Plan, Outcome> {
    let w = || quorum("w", opts.w, cfg.w, cfg.n);
    match op {
        ClientOp::Read { key } if opts.local => Ok(Plan::LocalRead { key: key_str(key) }),
        ClientOp::Read { key } => Ok(Plan::Read {
            key: key_str(key),
            r: quorum("r", opts.r, cfg.r, cfg.n)?,
        }),
        ClientOp::Write { key, value } => Ok(Plan::Write {
            key: key_str(key),
            update: Update::Put {
                value: value.clone(),
                context: opts.context.clone().unwrap_or_default(),
            },
            w: w()?,
        }),
        ClientOp::Append { key, value } => Ok(Plan::Write {
            key: key_str(key),
            update: Update::Add { elem: value.clone() },
            w: w()?,
        }),
        ClientOp::Txn { ops } => match ops.as_slice() {
            [(f, key, delta)] if f == "incr" => {
                let Some(delta) = delta.as_i64() else {
                    return Err(fail(format!("incr of {key}: delta {delta} is not an integer")));
                };
                Ok(Plan::Write {
                    key: key_str(key),
                    update: Update::Incr { delta },
                    w: w()?,
                })
            }
            _ => Err(fail(
                "the leaderless store has no transactions (only a single incr, as a counter)",
            )),
        },
        ClientOp::Cas { .. } => Err(fail(
            "cas is not supported by the leaderless store: replicas accept writes \
             independently, so there is no single order to compare against",
        )),
        ClientOp::Transfer { .. } => Err(fail("the leaderless store has no multi-key transfer")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn op(v: serde_json::Value) -> ClientOp {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn ops_map_to_reads_writes_or_clear_refusals() {
        let cfg = Config::new("n1", &["n1", "n2", "n3"]);
        let none = RequestOpts::default();
        assert_eq!(
            plan(&cfg, &op(json!({"f":"read","key":"x"})), &none),
            Ok(Plan::Read {
                key: "x".into(),
                r: 2
            })
        );
        let opts = RequestOpts {
            w: Some(1),
            r: None,
            local: false,
            context: Some(serde_json::from_value(json!({"vv":{"n2":3}})).unwrap()),
        };
        let Ok(Plan::Write {
            key,
            update: Update::Put { context, .. },
            w,
        }) = plan(&cfg, &op(json!({"f":"write","key":1,"value":5})), &opts)
        else {
            panic!("a write");
        };
        assert_eq!((key.as_str(), w, context.vv.get("n2")), ("1", 1, 3));
        assert!(matches!(
            plan(&cfg, &op(json!({"f":"txn","ops":[["incr","c",2]]})), &none),
            Ok(Plan::Write {
                update: Update::Incr { delta: 2 },
                ..
            })
        ));
        let Err(Outcome::Fail { reason }) =
            plan(&cfg, &op(json!({"f":"cas","key":"x","old":1,"new":2})), &none)
        else {
            panic!("cas refused");
        };
        assert!(reason.contains("cas is not supported"), "{reason}");
        let big = RequestOpts {
            r: Some(4),
            ..RequestOpts::default()
        };
        assert!(matches!(
            plan(&cfg, &op(json!({"f":"read","key":"x"})), &big),
            Err(Outcome::Error { .. })
        ));
    }

    #[test]
    fn request_options_are_optional_on_the_wire() {
        let o: RequestOpts = serde_json::from_str("{}").unwrap();
        assert_eq!(o, RequestOpts::default());
        assert_eq!(serde_json::to_string(&o).unwrap(), "{}");
    }

    /// The shape proposed for the client protocol: the options flattened
    /// into the request frame beside the op, so old frames stay valid.
    #[test]
    fn options_flatten_beside_the_op_in_a_request_frame() {
        #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        struct Frame {
            id: u64,
            #[serde(flatten)]
            op: ClientOp,
            #[serde(flatten)]
            opts: RequestOpts,
        }
        let text = r#"{"id":3,"f":"write","key":"s","value":[1,2],"w":1,"context":{"vv":{"n1":2},"cloud":[["n2",4]]}}"#;
        let f: Frame = serde_json::from_str(text).unwrap();
        assert_eq!(f.opts.w, Some(1));
        assert_eq!(f.opts.context.as_ref().unwrap().max_counter("n2"), 4);
        assert!(matches!(f.op, ClientOp::Write { .. }));
        let back: Frame = serde_json::from_str(&serde_json::to_string(&f).unwrap()).unwrap();
        assert_eq!(back, f);
        let plain: Frame = serde_json::from_str(r#"{"id":4,"f":"read","key":"s"}"#).unwrap();
        assert_eq!(plain.opts, RequestOpts::default());
    }
}
