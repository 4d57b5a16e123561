//! Runs every case through the four commands a user would try and holds
//! each outcome to the case's expectation and to the universal bounds: no
//! abort or panic, done within the default check budget, peak RSS below
//! [`MEMORY_BOUND_KIB`].

use super::corpus::{Case, Expect};
use super::exec::{run, Run};
use crate::checker::Budget;
use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::time::Duration;

/// The commands every case goes through (the file is appended, `convert`
/// also gets its output file, `--html` its page).
pub const COMMANDS: [&str; 4] = [
    "check",
    "check --checker elle,set,stale,session",
    "convert",
    "check --html",
];
/// Peak RSS no run may reach (4 GiB).
pub const MEMORY_BOUND_KIB: u64 = 4 << 20;
/// Slack past the default time budget a run may take (start-up, reading, the report).
pub const TIME_SLACK: Duration = Duration::from_secs(10);

/// What the four commands did with one file.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub runs: Vec<Run>,
    /// Ops `convert` wrote (when it exited 0).
    pub converted: Option<Vec<u8>>,
}

impl Outcome {
    pub fn codes(&self) -> Vec<Option<i32>> {
        self.runs.iter().map(|r| r.code).collect()
    }
    fn converted_ops(&self) -> Option<usize> {
        self.converted
            .as_ref()
            .map(|b| b.split(|&c| c == b'\n').filter(|l| !l.is_empty()).count())
    }
}

/// Totals over a corpus.
#[derive(Debug, Default)]
pub struct Tally {
    pub files: usize,
    /// Cases per expectation (`Error`, `Ops`, ...).
    pub classes: std::collections::BTreeMap<String, usize>,
    pub runs: usize,
    /// Per command: how many runs exited 0, 1, 2, 3 (anything else is a crash).
    pub exits: [[usize; 4]; 4],
    pub aborts: usize,
    pub panics: usize,
    pub timeouts: usize,
    pub over_budget: usize,
    pub over_memory: usize,
    /// Cases whose damage must be an error that a check called valid.
    pub damaged_valid: usize,
    pub max_rss_kib: u64,
    pub max_wall: Duration,
    /// Every broken expectation, described.
    pub violations: Vec<String>,
}

impl Tally {
    pub fn clean(&self) -> bool {
        self.aborts + self.panics + self.timeouts + self.over_budget + self.over_memory + self.damaged_valid
            == 0
            && self.violations.is_empty()
    }
}

/// Runs the four commands on `file` (outputs next to it in `dir`).
pub fn outcome(bin: &Path, file: &Path, dir: &Path, timeout: Duration) -> std::io::Result<Outcome> {
    let name = file.file_name().map(OsString::from).unwrap_or_default();
    let out = |ext: &str| {
        let mut n = name.clone();
        n.push(ext);
        dir.join(n)
    };
    let converted = out(".converted.jsonl");
    let html = out(".html");
    let mut runs = Vec::new();
    for (i, cmd) in COMMANDS.iter().enumerate() {
        let mut args: Vec<OsString> = cmd.split(' ').map(OsString::from).collect();
        match i {
            2 => {
                args.push(file.into());
                args.push(converted.clone().into());
            }
            3 => {
                args.push(html.clone().into());
                args.push(file.into());
            }
            _ => args.push(file.into()),
        }
        let refs: Vec<&OsStr> = args.iter().map(OsString::as_os_str).collect();
        runs.push(run(bin, &refs, &out(&format!(".{i}.out")), timeout)?);
    }
    let converted = (runs[2].code == Some(0))
        .then(|| std::fs::read(&converted).ok())
        .flatten();
    Ok(Outcome { runs, converted })
}

/// Holds `o` (of `case`) to the universal bounds and the case's expectation.
/// `base`: the outcome on the unmutated base; `reference`: `check`'s run on
/// the reference file of a cut.
pub fn judge(t: &mut Tally, case: &Case, o: &Outcome, base: Option<&Outcome>, reference: Option<&Run>) {
    let budget = Budget::TIME + TIME_SLACK;
    t.files += 1;
    let class = format!("{:?}", case.expect);
    let class = class.split('(').next().unwrap_or_default().to_string();
    *t.classes.entry(class).or_default() += 1;
    let bad = |t: &mut Tally, why: String| t.violations.push(format!("{} ({}): {why}", case.name, case.what));
    for (i, r) in o.runs.iter().enumerate() {
        t.runs += 1;
        t.max_rss_kib = t.max_rss_kib.max(r.max_rss_kib);
        t.max_wall = t.max_wall.max(r.wall);
        if let Some(c @ 0..=3) = r.code {
            t.exits[i][c as usize] += 1;
        }
        if r.timed_out {
            t.timeouts += 1;
            bad(t, format!("`{}` killed after {:.0?}", COMMANDS[i], r.wall));
        } else if r.signal.is_some() {
            t.aborts += 1;
            bad(
                t,
                format!("`{}` died of signal {:?}: {}", COMMANDS[i], r.signal, r.stderr),
            );
        } else if r.crashed() {
            t.panics += 1;
            bad(t, format!("`{}` panicked: {}", COMMANDS[i], r.stderr));
        } else if !matches!(r.code, Some(0..=3)) {
            bad(t, format!("`{}` exited {:?}", COMMANDS[i], r.code));
        }
        if r.wall > budget && !r.timed_out {
            t.over_budget += 1;
            bad(
                t,
                format!("`{}` took {:.1?}, past the budget", COMMANDS[i], r.wall),
            );
        }
        if r.max_rss_kib > MEMORY_BOUND_KIB {
            t.over_memory += 1;
            bad(
                t,
                format!("`{}` peaked at {} MiB", COMMANDS[i], r.max_rss_kib >> 10),
            );
        }
    }
    let codes = o.codes();
    let checks = [0, 1, 3];
    match &case.expect {
        Expect::Any => {}
        Expect::Error => {
            if checks.iter().any(|&i| codes[i] == Some(0)) {
                t.damaged_valid += 1;
            }
            if codes.iter().any(|c| *c != Some(3)) {
                bad(t, format!("damage in the middle must exit 3, got {codes:?}"));
            }
        }
        Expect::Same => {
            if let Some(b) = base {
                if codes != b.codes() || o.converted != b.converted {
                    bad(
                        t,
                        format!("must read like its base: {codes:?} vs {:?}", b.codes()),
                    );
                }
            }
        }
        Expect::Ops(n) | Expect::Prefix(n) => {
            let got = o.converted_ops();
            let ok = match got {
                Some(g) => g == *n,
                None => *n == 0 && codes[2] == Some(3),
            };
            if !ok {
                bad(
                    t,
                    format!("convert must read {n} ops, read {got:?} (exits {codes:?})"),
                );
            }
            if let (Expect::Prefix(_), Some(r)) = (&case.expect, reference) {
                if r.code != codes[0] {
                    bad(
                        t,
                        format!(
                            "a cut file must check like its whole lines: {:?} vs {:?}",
                            codes[0], r.code
                        ),
                    );
                }
            }
        }
        Expect::Tail(n) => {
            let got = o.converted_ops();
            if !(got == Some(*n) || codes[2] == Some(3) && got.is_none()) {
                bad(t, format!("a damaged last op may cost only that op: convert read {got:?} of {n} (exits {codes:?})"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(code: i32) -> Run {
        Run {
            code: Some(code),
            signal: None,
            wall: Duration::from_millis(5),
            max_rss_kib: 1000,
            timed_out: false,
            stderr: String::new(),
        }
    }

    fn case(expect: Expect) -> Case {
        Case {
            name: "c".into(),
            base: None,
            format: None,
            what: "w".into(),
            expect,
            bytes: Vec::new(),
            reference: None,
        }
    }

    #[test]
    fn a_damaged_history_called_valid_is_counted_and_a_violation() {
        let o = Outcome {
            runs: vec![run(0), run(3), run(3), run(3)],
            converted: None,
        };
        let mut t = Tally::default();
        judge(&mut t, &case(Expect::Error), &o, None, None);
        assert_eq!(t.damaged_valid, 1);
        assert!(!t.clean());
        let ok = Outcome {
            runs: vec![run(3); 4],
            converted: None,
        };
        let mut t = Tally::default();
        judge(&mut t, &case(Expect::Error), &ok, None, None);
        assert!(t.clean(), "{:?}", t.violations);
    }

    #[test]
    fn op_counts_crashes_and_bounds_are_held() {
        let mut crash = run(0);
        crash.code = None;
        crash.signal = Some(6);
        let o = Outcome {
            runs: vec![crash, run(1), run(0), run(1)],
            converted: Some(b"{}\n{}\n".to_vec()),
        };
        let mut t = Tally::default();
        judge(&mut t, &case(Expect::Ops(3)), &o, None, None);
        assert_eq!(t.aborts, 1);
        assert_eq!(t.violations.len(), 2, "{:?}", t.violations);
        let mut big = run(0);
        big.max_rss_kib = MEMORY_BOUND_KIB + 1;
        big.wall = Budget::TIME + TIME_SLACK + Duration::from_secs(1);
        let o = Outcome {
            runs: vec![big, run(0), run(0), run(0)],
            converted: Some(b"{}\n{}\n".to_vec()),
        };
        let mut t = Tally::default();
        judge(&mut t, &case(Expect::Ops(2)), &o, None, None);
        assert_eq!((t.over_memory, t.over_budget), (1, 1));
    }
}
