//! Running a suite: each test × seed through a [`TestExecutor`], judged
//! against the expected verdict.
//!
//! Outcome rules: `pass` when the verdict equals the expected one; `fail` when
//! an expected-valid test found anomalies, or an expected-invalid test came
//! back valid (the harness lost its teeth); `unknown` when the checkers could
//! not decide; `error` when the harness itself failed (exit 3, no results).
//! With a baseline, an expected-valid test whose anomaly kinds were all
//! already present for that test in the baseline is `known` (counts as pass).

use super::baseline::Baseline;
use super::config::{Expected, SuiteFile, TestSpec};
use super::results::{exit_code, CaseAnomaly, CaseResult, Outcome, SuiteReport};
use crate::checker::Validity;
use crate::report::RunResults;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Runs one test × seed. `Err` is a harness error (message for the report).
pub trait TestExecutor {
    fn execute(&self, spec: &TestSpec, seed: u64, store_dir: &Path) -> Result<RunResults, String>;
}

/// Runs `faultline test` as a child process (the current executable by
/// default), with a fresh `--store-dir` per case, and reads `latest/results.json`.
pub struct SubprocessExecutor {
    pub binary: PathBuf,
    /// Extra seconds on top of the test's time limit before the child is killed.
    pub grace: Duration,
}

impl SubprocessExecutor {
    pub fn current_exe() -> std::io::Result<SubprocessExecutor> {
        Ok(SubprocessExecutor {
            binary: std::env::current_exe()?,
            grace: Duration::from_secs(120),
        })
    }
}

impl TestExecutor for SubprocessExecutor {
    fn execute(&self, spec: &TestSpec, seed: u64, store_dir: &Path) -> Result<RunResults, String> {
        std::fs::create_dir_all(store_dir).map_err(|e| format!("{}: {e}", store_dir.display()))?;
        let log_path = store_dir.join("faultline-test.log");
        let log = std::fs::File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
        let log2 = log.try_clone().map_err(|e| e.to_string())?;
        let mut child = std::process::Command::new(&self.binary)
            .args(spec.test_args(seed, store_dir))
            .stdin(std::process::Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .map_err(|e| format!("spawning {}: {e}", self.binary.display()))?;
        let deadline = Instant::now() + Duration::from_secs_f64(spec.time_limit) + self.grace;
        let status = loop {
            match child.try_wait() {
                Ok(Some(s)) => break s,
                Ok(None) if Instant::now() > deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!("timed out; killed (log: {})", log_path.display()));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(100)),
                Err(e) => return Err(format!("waiting for child: {e}")),
            }
        };
        let code = status.code().unwrap_or(crate::exit::HARNESS);
        let tail = || {
            let text = std::fs::read_to_string(&log_path).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(10)..].join("\n")
        };
        if !(0..crate::exit::HARNESS).contains(&code) {
            return Err(format!("`faultline test` exited {code}:\n{}", tail()));
        }
        let results = crate::rundir::latest(store_dir).results();
        crate::report::read_results(&results).map_err(|e| format!("{e}\n{}", tail()))
    }
}

/// Judges one executor answer against the spec (and baseline kinds, if any).
pub fn judge(
    spec: &TestSpec,
    seed: u64,
    answer: Result<RunResults, String>,
    baseline: Option<&Baseline>,
) -> CaseResult {
    let mut c = CaseResult {
        test: spec.name.clone(),
        seed,
        expected: spec.expected,
        verdict: None,
        outcome: Outcome::Error,
        anomaly_kinds: vec![],
        new_kinds: vec![],
        anomalies: vec![],
        unknown: vec![],
        message: String::new(),
        duration_s: 0.0,
        store_dir: String::new(),
        replay: None,
    };
    let r = match answer {
        Ok(r) => r,
        Err(m) => {
            c.message = m;
            return c;
        }
    };
    c.verdict = Some(r.valid);
    c.replay = r.replay.clone();
    let mut kinds = BTreeSet::new();
    for v in &r.results {
        if v.valid == Validity::Unknown {
            c.unknown.push(format!("{}: {}", v.checker, v.summary));
        }
        for a in &v.anomalies {
            kinds.insert(a.kind.clone());
            c.anomalies.push(CaseAnomaly {
                checker: v.checker.clone(),
                kind: a.kind.clone(),
                explanation: a.explanation.clone(),
            });
        }
    }
    c.anomaly_kinds = kinds.into_iter().collect();
    if let Some(b) = baseline {
        c.new_kinds = b.new_kinds(&c.test, &c.anomaly_kinds);
    }
    c.outcome = match (spec.expected, r.valid) {
        (Expected::Valid, Validity::Valid) | (Expected::Invalid, Validity::Invalid) => Outcome::Pass,
        (Expected::Valid, Validity::Invalid) if baseline.is_some() && c.new_kinds.is_empty() => {
            c.message = "invalid with anomaly kinds already in the baseline".into();
            Outcome::Known
        }
        (Expected::Valid, Validity::Invalid) => {
            c.message = format!("expected valid, found anomalies: {}", c.anomaly_kinds.join(", "));
            Outcome::Fail
        }
        (Expected::Invalid, Validity::Valid) => {
            c.message =
                "expected invalid, but the run was valid: the known-unsafe mode was not caught".into();
            Outcome::Fail
        }
        (_, Validity::Unknown) => {
            c.message = format!("checkers could not decide: {}", c.unknown.join("; "));
            Outcome::Unknown
        }
    };
    c
}

/// Makes a test name safe as one path component.
pub fn path_component(name: &str) -> String {
    name.chars()
        .map(|ch| {
            if ch.is_ascii_alphanumeric() || "-_.".contains(ch) {
                ch
            } else {
                '_'
            }
        })
        .collect()
}

/// Runs every test × seed in sequence; `progress` sees each case as it ends.
pub fn run_suite(
    suite: &SuiteFile,
    exec: &dyn TestExecutor,
    out_dir: &Path,
    baseline: Option<&Baseline>,
    progress: &mut dyn FnMut(&CaseResult),
) -> SuiteReport {
    let start = Instant::now();
    let started_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut cases = Vec::new();
    for spec in &suite.test {
        for &seed in &spec.seeds {
            let store = out_dir
                .join("runs")
                .join(path_component(&spec.name))
                .join(format!("seed-{seed}"));
            let t0 = Instant::now();
            let answer = exec.execute(spec, seed, &store);
            let mut c = judge(spec, seed, answer, baseline);
            c.duration_s = t0.elapsed().as_secs_f64();
            c.store_dir = store.display().to_string();
            progress(&c);
            cases.push(c);
        }
    }
    SuiteReport {
        faultline_version: env!("CARGO_PKG_VERSION").to_string(),
        suite_file: suite.path.display().to_string(),
        started_at,
        duration_s: start.elapsed().as_secs_f64(),
        exit_code: exit_code(&cases),
        baseline: baseline.map(|b| b.source.clone()),
        cases,
    }
}
