//! The one error type of external targets. Each variant says what to install or change.

use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ExternalError {
    #[error("`{binary}` is not installed (not found on PATH); install it: {hint}")]
    NotInstalled { binary: String, hint: String },
    #[error("port {port} on {addr} is already in use (needed by {what}); stop whatever listens there or change the port base in the target definition")]
    PortInUse { addr: String, port: u16, what: String },
    #[error(
        "{what} did not become healthy within {waited:?}: {detail}\n--- last lines of {log} ---\n{tail}"
    )]
    NeverHealthy {
        what: String,
        waited: Duration,
        detail: String,
        log: PathBuf,
        tail: String,
    },
    #[error("cannot start `{command}` for node {node}: {source}")]
    Spawn {
        node: String,
        command: String,
        source: std::io::Error,
    },
    #[error("target definition {path}: {detail}")]
    BadDefinition { path: PathBuf, detail: String },
    #[error("{what}: {source}")]
    Io { what: String, source: std::io::Error },
    #[error("node {node}: {detail}")]
    Node { node: String, detail: String },
    #[error(transparent)]
    Process(#[from] crate::system::process::ProcessError),
}

impl ExternalError {
    pub fn io(what: impl Into<String>, source: std::io::Error) -> ExternalError {
        ExternalError::Io {
            what: what.into(),
            source,
        }
    }
}
