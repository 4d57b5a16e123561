//! The TCP failures every external client meets the same way, kept apart so that each client's
//! error type adds only its protocol's cases (and so a `Connect` error, meaning nothing was
//! sent, is recognised in one place).

use std::net::SocketAddr;

/// A failure of one TCP exchange with a node.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// The connection was never made: the request was certainly not sent.
    #[error("connect to {addr}: {source}")]
    Connect {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("connection: {0}")]
    Io(std::io::Error),
    #[error("timed out")]
    Timeout,
}

impl NetError {
    /// An I/O error of a connected socket; a socket timeout becomes [`NetError::Timeout`].
    pub fn from_io(e: std::io::Error) -> NetError {
        match e.kind() {
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => NetError::Timeout,
            _ => NetError::Io(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Error, ErrorKind};

    #[test]
    fn socket_timeouts_are_timeouts_other_errors_are_io() {
        assert!(matches!(
            NetError::from_io(Error::from(ErrorKind::WouldBlock)),
            NetError::Timeout
        ));
        assert!(matches!(
            NetError::from_io(Error::from(ErrorKind::TimedOut)),
            NetError::Timeout
        ));
        assert!(matches!(
            NetError::from_io(Error::from(ErrorKind::ConnectionReset)),
            NetError::Io(_)
        ));
    }
}
