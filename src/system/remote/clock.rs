//! Stepping a host's system clock (`--set-host-clocks`): clock offsets for systems that
//! have no clock of their own to skew on a host (etcd, command targets, Redis without
//! libfaketime). A step is one shell command on the host: read the offset applied so far
//! from the run's file, read the host's clock (`date +%s%N`), set it (`date -s @<s>.<ns>`)
//! by the difference to the wanted offset, then record the new offset, so no SSH latency
//! enters the step. The file is what heals: the nemesis's heal, teardown and
//! `faultline cleanup --hosts` step the host back by what it says, before the run's
//! directory goes.
//!
//! Invariants: `date` is called by name (the host's PATH); the file is written only after
//! the step succeeded; a file that is not an offset stops the step (never a guess);
//! a host on this machine's kernel (same `boot_id`) is refused before anything starts,
//! as stepping it would step the control machine's own clock.

use crate::net::ssh::{quote, Session, SshError, COMMAND_TIMEOUT};

/// The file in the run's directory on a host holding the offset (ms) applied to its clock.
pub const OFFSET_FILE: &str = "host-clock-ms";
/// Where the kernel says which boot this is (the same on every namespace of one machine).
const BOOT_ID: &str = "/proc/sys/kernel/random/boot_id";

/// The path of the offset file in the run's directory `run_dir`.
pub fn offset_file(run_dir: &str) -> String {
    format!("{run_dir}/{OFFSET_FILE}")
}

/// A shell script that sets the host's clock to `target_ms` away from where it was before
/// the first step, by the offset `file` says is applied (absent: none), with `date` (a
/// program name looked up on the PATH, or a path); records `target_ms` in `file` once the
/// clock is set and prints the offset that was applied before. Exits 3 when `file` holds
/// something else than an offset.
pub fn step_script(date: &str, file: &str, target_ms: i64) -> String {
    format!(
        "f={f}; a=0; if [ -e \"$f\" ]; then a=$(cat \"$f\") || exit 1; fi; \
         case \"${{a#-}}\" in ''|*[!0-9]*) echo \"$f: not an offset in ms: $a\" >&2; exit 3;; esac; \
         d=$(({target_ms} - a)); \
         if [ \"$d\" -ne 0 ]; then \
         n=$({date} +%s%N) || exit 1; \
         case \"$n\" in ''|*[!0-9]*) echo \"{date} +%s%N gave '$n', not nanoseconds\" >&2; exit 1;; esac; \
         t=$((n + d * 1000000)); r=$((t % 1000000000 + 1000000000)); \
         {date} -s \"@$((t / 1000000000)).${{r#1}}\" >/dev/null || exit 1; \
         fi; \
         printf '%s\\n' {target_ms} > \"$f.tmp\" && mv -f \"$f.tmp\" \"$f\" || exit 1; \
         echo \"$a\"",
        f = quote(file),
        date = quote(date),
    )
}

/// A shell script that steps the clock back to 0 when `file` exists (an offset was
/// recorded), printing the offset it found; prints nothing otherwise.
pub fn heal_script(date: &str, file: &str) -> String {
    format!(
        "if [ -e {f} ]; then {step}; fi",
        f = quote(file),
        step = step_script(date, file, 0)
    )
}

/// The offset (ms) a step or heal script printed as applied before it (none: no file).
pub fn parse_offset(out: &str) -> Result<Option<i64>, String> {
    let t = out.trim();
    if t.is_empty() {
        return Ok(None);
    }
    t.parse()
        .map(Some)
        .map_err(|_| format!("not an offset in ms: `{}`", crate::util::text::clip(t, 80)))
}

/// Sets the clock of host `s` to `target_ms` off (see [`step_script`]) for the run in
/// `run_dir`; returns the offset applied before.
pub fn step(s: &Session, run_dir: &str, target_ms: i64) -> Result<i64, SshError> {
    let out = s.run(
        &step_script("date", &offset_file(run_dir), target_ms),
        COMMAND_TIMEOUT,
    )?;
    parse_offset(&out)
        .map(|o| o.unwrap_or(0))
        .map_err(|what| SshError::Setup {
            host: s.host.to_string(),
            what,
        })
}

/// Steps the clock of host `s` back to 0 if the run in `run_dir` left an offset there;
/// returns the offset found (none: the run never stepped this clock).
pub fn heal(s: &Session, run_dir: &str) -> Result<Option<i64>, SshError> {
    let out = s.run(&heal_script("date", &offset_file(run_dir)), COMMAND_TIMEOUT)?;
    parse_offset(&out).map_err(|what| SshError::Setup {
        host: s.host.to_string(),
        what,
    })
}

/// Why the clock of a host answering `probe` (its boot id, then `date +%s%N`) cannot be
/// stepped, if it cannot; `local_boot` is this machine's boot id.
fn refusal(probe: &str, local_boot: &str) -> Option<String> {
    let mut lines = probe.lines().map(str::trim);
    let boot = lines.next().unwrap_or("");
    if !boot.is_empty() && boot == local_boot.trim() {
        return Some(format!(
            "runs on this machine's kernel (same {BOOT_ID}): --set-host-clocks would step the control machine's own clock; run the harness from another machine"
        ));
    }
    let now = lines.next().unwrap_or("");
    if now.is_empty() || !now.bytes().all(|b| b.is_ascii_digit()) {
        return Some(format!(
            "`date +%s%N` gave `{now}`, not nanoseconds: --set-host-clocks needs GNU date (coreutils) there"
        ));
    }
    None
}

/// Checks that the clock of host `s` may be stepped: another kernel than this machine's,
/// a `date` that reads nanoseconds. The error names the host and the cause.
pub fn check_host(s: &Session) -> Result<(), SshError> {
    let local_boot = std::fs::read_to_string(BOOT_ID).unwrap_or_default();
    let out = s.run(&format!("cat {BOOT_ID}; date +%s%N"), COMMAND_TIMEOUT)?;
    match refusal(&out, &local_boot) {
        Some(what) => Err(SshError::Setup {
            host: s.host.to_string(),
            what,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// A fake `date` in `dir`: `+%s%N` answers a fixed time plus the steps so far, `-s @X`
    /// logs X. It is called by its path, so no test ever sets this machine's clock.
    fn fake_date(dir: &std::path::Path) -> String {
        let p = dir.join("date");
        let log = dir.join("set");
        std::fs::write(
            &p,
            format!(
                "#!/bin/sh\nif [ \"$1\" = -s ]; then echo \"$2\" >> {log}; exit 0; fi\n\
                 if [ \"$1\" = +%s%N ]; then echo 1700000000250000000; exit 0; fi\nexit 1\n",
                log = log.display()
            ),
        )
        .unwrap();
        Command::new("chmod").args(["755"]).arg(&p).status().unwrap();
        p.display().to_string()
    }

    fn sh(script: &str) -> (i32, String, String) {
        let o = Command::new("sh").args(["-c", script]).output().unwrap();
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    }

    #[test]
    fn a_step_sets_the_difference_to_the_applied_offset_and_records_it() {
        let d = tempfile::tempdir().unwrap();
        let date = fake_date(d.path());
        let file = d.path().join(OFFSET_FILE).display().to_string();
        let set = || std::fs::read_to_string(d.path().join("set")).unwrap_or_default();
        // Nothing applied: +1500 ms from the host's time.
        assert_eq!(sh(&step_script(&date, &file, 1500)).1.trim(), "0");
        assert_eq!(set(), "@1700000001.750000000\n");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "1500\n");
        // From +1500 to -250: back by 1,750 ms.
        assert_eq!(
            parse_offset(&sh(&step_script(&date, &file, -250)).1),
            Ok(Some(1500))
        );
        assert!(set().ends_with("@1699999998.500000000\n"), "{}", set());
        // The same offset again: no step.
        assert_eq!(sh(&step_script(&date, &file, -250)).1.trim(), "-250");
        assert_eq!(set().lines().count(), 2);
        // Healing: back to 0 by +250 ms; a second heal finds 0 and steps nothing.
        assert_eq!(parse_offset(&sh(&heal_script(&date, &file)).1), Ok(Some(-250)));
        assert!(set().ends_with("@1700000000.500000000\n"), "{}", set());
        assert_eq!(parse_offset(&sh(&heal_script(&date, &file)).1), Ok(Some(0)));
        assert_eq!(set().lines().count(), 3);
    }

    #[test]
    fn no_file_means_no_heal_and_a_bad_file_stops_the_step() {
        let d = tempfile::tempdir().unwrap();
        let date = fake_date(d.path());
        let file = d.path().join(OFFSET_FILE).display().to_string();
        assert_eq!(sh(&heal_script(&date, &file)), (0, String::new(), String::new()));
        assert_eq!(parse_offset(""), Ok(None));
        for bad in ["", "12x", "--3", "1 2"] {
            std::fs::write(&file, bad).unwrap();
            let (code, _, err) = sh(&step_script(&date, &file, 100));
            assert_eq!(code, 3, "`{bad}`: {err}");
            assert!(err.contains("not an offset"), "{err}");
        }
        assert!(!d.path().join("set").exists(), "no step from a bad file");
        assert!(parse_offset("abc").is_err());
        // A quote in the path stays one word.
        let odd = d.path().join("it's").display().to_string();
        std::fs::create_dir(&odd).unwrap();
        let f = offset_file(&odd);
        assert_eq!(sh(&step_script(&date, &f, 7)).0, 0);
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "7\n");
    }

    #[test]
    fn a_host_on_this_kernel_or_without_nanoseconds_is_refused() {
        let boot = "38803bfd-e814-4226-b81c-ac8caa29ba34\n";
        let other = "11111111-2222-3333-4444-555555555555";
        let ok = format!("{other}\n1700000000123456789\n");
        assert_eq!(refusal(&ok, boot), None);
        let same = format!("{}1700000000123456789\n", boot);
        assert!(refusal(&same, boot).unwrap().contains("control machine"));
        let busybox = format!("{other}\n1700000000%N\n");
        assert!(refusal(&busybox, boot).unwrap().contains("GNU date"));
    }
}
