//! Baselines: a previous `suite.json`, so CI can gate on "no new anomaly kind"
//! while known issues are tracked.
//!
//! Gating rule: kinds are compared per test name (union over that test's seeds
//! in the baseline, since different seeds surface different anomalies). A kind
//! is *new* when the baseline never saw it for that test; a test absent from
//! the baseline has only new kinds. An expected-valid test that is invalid with
//! no new kind is reported `known` and does not fail the suite; expected-invalid
//! tests are judged as without a baseline.

use super::results::SuiteReport;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum BaselineError {
    #[error("baseline {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("baseline {path}: not a suite.json written by `faultline suite`: {message}")]
    Format { path: String, message: String },
}

/// Anomaly kinds per test name from a previous suite run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Baseline {
    /// Where it came from (shown in reports).
    pub source: String,
    pub kinds: BTreeMap<String, BTreeSet<String>>,
}

impl Baseline {
    pub fn from_report(source: &str, r: &SuiteReport) -> Baseline {
        let mut kinds: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for c in &r.cases {
            kinds
                .entry(c.test.clone())
                .or_default()
                .extend(c.anomaly_kinds.iter().cloned());
        }
        Baseline {
            source: source.to_string(),
            kinds,
        }
    }

    pub fn read(path: &Path) -> Result<Baseline, BaselineError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| BaselineError::Io {
            path: p.clone(),
            source,
        })?;
        let r: SuiteReport = serde_json::from_str(&text).map_err(|e| BaselineError::Format {
            path: p.clone(),
            message: e.to_string(),
        })?;
        Ok(Baseline::from_report(&p, &r))
    }

    /// The kinds in `found` the baseline did not have for `test` (sorted).
    pub fn new_kinds(&self, test: &str, found: &[String]) -> Vec<String> {
        let known = self.kinds.get(test);
        let mut v: Vec<String> = found
            .iter()
            .filter(|k| !known.is_some_and(|s| s.contains(*k)))
            .cloned()
            .collect();
        v.sort();
        v.dedup();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_kinds_per_test() {
        let mut b = Baseline::default();
        b.kinds
            .insert("a".into(), ["lost-write".to_string()].into_iter().collect());
        let f = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(b.new_kinds("a", &f(&["lost-write"])).is_empty());
        assert_eq!(
            b.new_kinds("a", &f(&["lost-write", "stale-read"])),
            f(&["stale-read"])
        );
        assert_eq!(b.new_kinds("b", &f(&["lost-write"])), f(&["lost-write"]));
    }

    #[test]
    fn bad_file_is_named() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.json");
        std::fs::write(&p, "{}").unwrap();
        let e = Baseline::read(&p).unwrap_err().to_string();
        assert!(e.contains("x.json"), "{e}");
        assert!(Baseline::read(&d.path().join("none.json")).is_err());
    }
}
