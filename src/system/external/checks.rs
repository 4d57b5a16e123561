//! What an external system needs checked before and while it starts: its binaries installed,
//! its ports free, and a bounded wait for it to become healthy.

use super::ExternalError;
use std::net::{IpAddr, TcpListener};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Finds `binary` on PATH (or checks an explicit path); the error carries the install hint.
pub fn check_binary(binary: &str, hint: &str) -> Result<PathBuf, ExternalError> {
    let missing = || ExternalError::NotInstalled {
        binary: binary.to_string(),
        hint: hint.to_string(),
    };
    if binary.contains('/') {
        let p = PathBuf::from(binary);
        return if p.is_file() { Ok(p) } else { Err(missing()) };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(binary))
        .find(|p| p.is_file())
        .ok_or_else(missing)
}

/// Fails with [`ExternalError::PortInUse`] if any port cannot be bound on `ip` right now.
pub fn check_ports_free(ip: IpAddr, ports: &[u16], what: &str) -> Result<(), ExternalError> {
    for &port in ports {
        match TcpListener::bind((ip, port)) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                return Err(ExternalError::PortInUse {
                    addr: ip.to_string(),
                    port,
                    what: what.to_string(),
                })
            }
            // E.g. out of file descriptors, or an address this host does not have.
            Err(e) => return Err(ExternalError::io(format!("bind {ip}:{port} for {what}"), e)),
        }
    }
    Ok(())
}

/// `n` distinct ports free on 127.0.0.1 now (for tests and `port_base = 0`), drawn below the
/// ephemeral range so outgoing connections cannot take them before the nodes bind.
pub fn free_ports(n: usize) -> Result<Vec<u16>, ExternalError> {
    crate::util::ports::free_ports(n).map_err(|e| ExternalError::io("reserve free ports on 127.0.0.1", e))
}

/// Why a health check is not satisfied yet, and whether waiting longer can help.
#[derive(Debug)]
pub struct Retry {
    pub fatal: bool,
    pub why: String,
}

impl Retry {
    pub fn again(why: impl Into<String>) -> Retry {
        Retry {
            fatal: false,
            why: why.into(),
        }
    }
    /// E.g. the process exited: stop waiting now.
    pub fn fatal(why: impl Into<String>) -> Retry {
        Retry {
            fatal: true,
            why: why.into(),
        }
    }
}

impl From<String> for Retry {
    fn from(why: String) -> Retry {
        Retry::again(why)
    }
}

/// Polls `check` every `every` until it returns `Ok`, a fatal [`Retry`], or `limit` has passed;
/// the error is the last failure's description and the time waited.
pub fn wait_until<T>(
    limit: Duration,
    every: Duration,
    mut check: impl FnMut() -> Result<T, Retry>,
) -> Result<T, (Duration, String)> {
    let start = Instant::now();
    loop {
        match check() {
            Ok(v) => return Ok(v),
            Err(r) if r.fatal || start.elapsed() >= limit => return Err((start.elapsed(), r.why)),
            Err(_) => std::thread::sleep(every),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_binary_names_the_install_hint() {
        let e = check_binary("faultline-no-such-binary", "apt-get install nothing").unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("faultline-no-such-binary") && msg.contains("apt-get install nothing"));
        assert!(check_binary("sh", "").is_ok());
    }

    #[test]
    fn busy_port_is_reported() {
        let l = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = l.local_addr().unwrap().port();
        let e = check_ports_free("127.0.0.1".parse().unwrap(), &[port], "test").unwrap_err();
        assert!(matches!(e, ExternalError::PortInUse { port: p, .. } if p == port));
    }
}
