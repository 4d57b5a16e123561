//! One host made ready for its node, and the shell snippets [`super::RemoteNodes`] runs there:
//! the liveness test by pid and run marker, the kill of a run's processes, bringing a log
//! back, and relating the host's monotonic clock to ours.

use super::Program;
use crate::net::ssh::{quote, Session, SshError, COMMAND_TIMEOUT, TRANSFER_TIMEOUT};
use crate::util::clock::monotonic_ns;
use crate::util::runtag::ENV_MARKER;
use std::path::Path;

/// Per host: where the binary is and how its clock relates to ours.
#[derive(Clone, Debug)]
pub(super) struct HostFacts {
    pub binary: String,
    /// Add to a CLOCK_MONOTONIC reading here for the host's (0 on the same kernel).
    pub clock_offset_ns: i128,
}

/// A shell test that the process `pid` is alive, not a zombie (whose environment reads
/// empty), and marked with `tag`.
pub(super) fn alive(pid: u32, tag: &str) -> String {
    format!(
        "grep -qzx {} /proc/{pid}/environ 2>/dev/null",
        quote(&format!("{ENV_MARKER}={tag}"))
    )
}

/// Readies host `s` for node `id` of run `tag` running `program` (uploaded as `name` when
/// it is the harness's own binary): `setsid` present, the binary runs there (same
/// architecture) or is installed, the run's directories exist, the clock is related to ours.
pub(super) fn ready(
    s: &Session,
    program: &Program,
    tag: &str,
    name: &str,
    id: &str,
) -> Result<HostFacts, SshError> {
    let h = &s.host;
    let setup = |what: String| SshError::Setup {
        host: h.to_string(),
        what,
    };
    let local_boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap_or_default();
    let wanted: &[String] = match program {
        Program::Installed { binaries, .. } => binaries,
        Program::Upload(_) => &[],
    };
    let mut probe_cmd = String::from(
        "uname -m; cat /proc/sys/kernel/random/boot_id; command -v setsid >/dev/null && echo setsid",
    );
    for b in wanted {
        let b = quote(b);
        // bash's `command -v` also names a file that is not executable.
        probe_cmd.push_str(&format!(
            "; p=$(command -v {b}) && test -x \"$p\" && echo found:{b} || echo missing:{b}"
        ));
    }
    let probe = s.run(&probe_cmd, COMMAND_TIMEOUT)?;
    let lines: Vec<&str> = probe.lines().map(str::trim).collect();
    if !lines.contains(&"setsid") {
        return Err(setup("`setsid` is missing (install util-linux)".into()));
    }
    let run_dir = format!("{}/{}", h.dir, tag);
    let binary = match program {
        Program::Upload(local) => {
            let arch = lines.first().copied().unwrap_or("");
            check_arch(arch).map_err(setup)?;
            let bin_dir = format!("{}/bin", h.dir);
            let binary = format!("{bin_dir}/{name}");
            let mk = format!(
                "mkdir -p {} {}; if test -x {}; then echo cached; fi",
                quote(&bin_dir),
                quote(&format!("{run_dir}/{id}/data")),
                quote(&binary)
            );
            if !s.run(&mk, COMMAND_TIMEOUT)?.contains("cached") {
                s.upload(local, &binary, TRANSFER_TIMEOUT)?;
            }
            binary
        }
        Program::Installed { binaries, install } => {
            if let Some(m) = lines.iter().find_map(|l| l.strip_prefix("missing:")) {
                return Err(setup(format!(
                    "`{m}` is not installed (not on the PATH of an SSH session there); install it: {install}"
                )));
            }
            let mk = format!("mkdir -p {}", quote(&format!("{run_dir}/{id}/data")));
            s.run(&mk, COMMAND_TIMEOUT)?;
            binaries.first().cloned().unwrap_or_default()
        }
    };
    let same_kernel = lines.get(1).copied() == Some(local_boot.trim()) && !local_boot.is_empty();
    let clock_offset_ns = if same_kernel { 0 } else { clock_offset(s) };
    Ok(HostFacts {
        binary,
        clock_offset_ns,
    })
}

/// Whether a host reporting `uname -m` = `arch` runs this machine's binaries; the error
/// says what to do.
fn check_arch(arch: &str) -> Result<(), String> {
    let here = std::env::consts::ARCH;
    if arch == here || (arch == "arm64" && here == "aarch64") {
        return Ok(());
    }
    Err(format!(
        "is {arch}, but this faultline binary is built for {here}: run the harness from a machine of the hosts' architecture"
    ))
}

/// Kills `pids` (their process groups) after waking them, and waits briefly for them to go.
pub fn kill_script(pids: &[String], tag: &str) -> String {
    let list = pids.join(" ");
    let alive_any = pids
        .iter()
        .filter_map(|p| p.parse::<u32>().ok())
        .map(|p| alive(p, tag))
        .collect::<Vec<_>>()
        .join(" || ");
    format!(
        "for p in {list}; do kill -CONT -- -$p 2>/dev/null; kill -KILL -- -$p 2>/dev/null || kill -KILL $p 2>/dev/null; done; \
         i=0; while [ $i -lt 100 ] && {{ {alive_any}; }}; do sleep 0.02; i=$((i+1)); done; true"
    )
}

/// Brings the remote log `remote` back into the local file `local`.
pub(super) fn fetch_log(s: &Session, remote: &str, local: &Path) -> Result<(), SshError> {
    s.download(remote, local, TRANSFER_TIMEOUT)
}

/// The host's CLOCK_MONOTONIC minus ours, from `/proc/timer_list` (root), read three times
/// and taken from the quickest round trip; 0 if the host does not say.
fn clock_offset(s: &Session) -> i128 {
    let mut best: Option<(u64, i128)> = None;
    for _ in 0..3 {
        let t0 = monotonic_ns();
        let Ok(out) = s.run("grep -m1 '^now at' /proc/timer_list", COMMAND_TIMEOUT) else {
            return 0;
        };
        let t1 = monotonic_ns();
        let Some(remote) = out.split_whitespace().nth(2).and_then(|x| x.parse::<u64>().ok()) else {
            return 0;
        };
        let rtt = t1.saturating_sub(t0);
        let offset = remote as i128 - (t0 as i128 + rtt as i128 / 2);
        if best.is_none_or(|(r, _)| rtt < r) {
            best = Some((rtt, offset));
        }
    }
    best.map_or(0, |(_, o)| o)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_liveness_test_wants_this_runs_marker_and_no_zombie() {
        let me = std::process::id();
        let run = |script: &str| {
            std::process::Command::new("sh")
                .args(["-c", script])
                .status()
                .unwrap()
                .success()
        };
        // This test process carries no marker: not "alive" as a node of any run.
        assert!(!run(&alive(me, "fl1-0")));
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .env(ENV_MARKER, "fl1-0")
            .spawn()
            .unwrap();
        let pid = child.id();
        let ok = (0..100).any(|_| {
            std::thread::sleep(Duration::from_millis(10));
            run(&alive(pid, "fl1-0"))
        });
        assert!(ok, "a marked live process is alive");
        assert!(!run(&alive(pid, "fl1-1")), "another run's marker is not ours");
        assert!(run(&kill_script(&[pid.to_string()], "fl1-0")));
        child.wait().unwrap();
        assert!(!run(&alive(pid, "fl1-0")));
    }
}
