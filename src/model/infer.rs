//! Model names and inference from the f names of a history.

use super::ModelError;
use crate::history::History;
use std::collections::BTreeSet;

/// The models this build knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelKind {
    Register,
    CasRegister,
    Kv,
    Set,
    FifoQueue,
    Mutex,
}

impl ModelKind {
    pub const ALL: [ModelKind; 6] = [
        ModelKind::Register,
        ModelKind::CasRegister,
        ModelKind::Kv,
        ModelKind::Set,
        ModelKind::FifoQueue,
        ModelKind::Mutex,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Register => "register",
            ModelKind::CasRegister => "cas-register",
            ModelKind::Kv => "kv",
            ModelKind::Set => "set",
            ModelKind::FifoQueue => "fifo-queue",
            ModelKind::Mutex => "mutex",
        }
    }

    /// Parses a model name (also `queue` and `cas`).
    pub fn parse(s: &str) -> Result<ModelKind, ModelError> {
        match s {
            "queue" => return Ok(ModelKind::FifoQueue),
            "cas" => return Ok(ModelKind::CasRegister),
            _ => {}
        }
        ModelKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| ModelError::UnknownModel(crate::util::text::clip(s, 100)))
    }
}

/// Guesses the model from the client ops' f names: enqueue/dequeue ->
/// fifo-queue; acquire/release -> mutex; add/read-all -> set; get/put/append
/// -> kv; read/write/cas -> cas-register.
pub fn infer(h: &History) -> Result<ModelKind, ModelError> {
    let fs: BTreeSet<&str> = h.client_ops().map(|o| o.f.as_str()).collect();
    let any = |names: &[&str]| names.iter().any(|n| fs.contains(n));
    if fs.is_empty() {
        return Ok(ModelKind::CasRegister);
    }
    let kind = if any(&["enqueue", "dequeue"]) {
        ModelKind::FifoQueue
    } else if any(&["acquire", "release"]) {
        ModelKind::Mutex
    } else if any(&["add", "read-all"]) {
        ModelKind::Set
    } else if any(&["get", "put", "append"]) {
        ModelKind::Kv
    } else if any(&["read", "write", "cas"]) {
        ModelKind::CasRegister
    } else {
        // Quote a few names, briefly: f is free text in a hostile file.
        return Err(ModelError::CannotInfer(
            fs.into_iter()
                .take(8)
                .map(|f| crate::util::text::clip(f, 40))
                .collect(),
        ));
    };
    Ok(kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{Op, OpType, Process};
    use serde_json::json;

    fn h(fs: &[&str]) -> History {
        History::new(
            fs.iter()
                .map(|f| Op::new(OpType::Invoke, Process::Client(0), *f, json!(null)))
                .collect(),
        )
    }

    #[test]
    fn infers_from_f_names() {
        assert_eq!(infer(&h(&["read", "cas"])).unwrap(), ModelKind::CasRegister);
        assert_eq!(infer(&h(&["get", "append"])).unwrap(), ModelKind::Kv);
        assert_eq!(infer(&h(&["add", "read"])).unwrap(), ModelKind::Set);
        assert_eq!(infer(&h(&["enqueue"])).unwrap(), ModelKind::FifoQueue);
        assert_eq!(infer(&h(&["acquire"])).unwrap(), ModelKind::Mutex);
        assert!(infer(&h(&["transfer"])).is_err());
        assert_eq!(ModelKind::parse("kv").unwrap(), ModelKind::Kv);
        assert!(ModelKind::parse("nope").is_err());
    }
}
