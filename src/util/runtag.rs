//! Names that carry a per-run tag, so leftovers of a killed run can be found.
//!
//! A tag is `fl<pid>-<n>` (n counts runs within one process): the harness pid
//! makes it unique among live runs and
//! lets cleanup tell a stale leftover (owner dead) from a live run's resources.
//! Namespaces are `<tag>-<role>`; node processes carry `FAULTLINE_RUN=<tag>`
//! in their environment.

/// Environment variable set on every node process the harness starts.
pub const ENV_MARKER: &str = "FAULTLINE_RUN";
/// Prefix of every name faultline creates.
pub const PREFIX: &str = "fl";

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RunTag(pub String);

impl RunTag {
    /// A fresh tag for a run of this process.
    pub fn current() -> RunTag {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        RunTag(format!("{PREFIX}{}-{n}", std::process::id()))
    }

    pub fn for_pid(pid: u32) -> RunTag {
        RunTag(format!("{PREFIX}{pid}-0"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The namespace name for `role` (`n1`, `hub`, `cl`).
    pub fn ns(&self, role: &str) -> String {
        format!("{}-{}", self.0, role)
    }

    /// Parses the owner pid from a tag or a name starting with one (`fl123-n1` → 123).
    pub fn owner_of(name: &str) -> Option<u32> {
        let rest = name.strip_prefix(PREFIX)?;
        let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        let after = &rest[digits.len()..];
        if digits.is_empty() || !(after.is_empty() || after.starts_with('-')) {
            return None;
        }
        digits.parse().ok()
    }
}

/// Whether a run tag's owner process is gone (its leftovers are stale).
/// (A reused pid keeps leftovers alive until `faultline cleanup --all`.)
pub fn owner_dead(pid: u32) -> bool {
    pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_parsing() {
        assert_eq!(RunTag::owner_of("fl123-n1"), Some(123));
        assert_eq!(RunTag::owner_of("fl123"), Some(123));
        assert_eq!(RunTag::owner_of("flx-n1"), None);
        assert_eq!(RunTag::owner_of("fl12a"), None);
        assert_eq!(RunTag::owner_of("other"), None);
        assert_eq!(RunTag::for_pid(7).ns("hub"), "fl7-0-hub");
        assert_eq!(
            RunTag::owner_of(&RunTag::current().ns("n1")),
            Some(std::process::id())
        );
        assert!(!owner_dead(std::process::id()));
    }
}
