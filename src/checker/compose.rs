//! Running several checkers as one. A checker that panics or errors yields
//! `unknown` with the reason; it never aborts the others.
//!
//! The time budget (`CheckOptions::time_limit`) is the whole check's: each
//! checker gets what the ones before it left. The searches that can use a
//! whole budget ([`EXPENSIVE`]) run after the polynomial checkers, so a hard
//! linearizability search never starves a lost-write count of its time.
//! Results keep the order the checkers were given in.

use super::{time_ran_out, CheckOptions, Checker, Validity, Verdict};
use crate::history::History;
use serde::{Deserialize, Serialize};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

/// Checkers whose search may take a whole budget: run last.
pub const EXPENSIVE: &[&str] = &["linearizable", "elle"];

/// The composed result: `valid` follows [`Validity::combine`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Composed {
    pub valid: Validity,
    pub results: Vec<Verdict>,
}

/// Runs one checker, timing it and turning a panic into `unknown`.
pub fn run_one(c: &dyn Checker, h: &History, opts: &CheckOptions) -> Verdict {
    let start = Instant::now();
    let mut v = match catch_unwind(AssertUnwindSafe(|| c.check(h, opts))) {
        Ok(v) => v,
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            Verdict::unknown(c.name(), format!("internal error in checker: {msg}"))
        }
    };
    v.elapsed_ms = start.elapsed().as_secs_f64() * 1000.0;
    v
}

/// Runs every checker (cheap ones first, within one shared time budget) and
/// combines their verdicts; results are in the order of `checkers`.
pub fn compose(checkers: &[Box<dyn Checker>], h: &History, opts: &CheckOptions) -> Composed {
    let start = Instant::now();
    let mut order: Vec<usize> = (0..checkers.len()).collect();
    order.sort_by_key(|&i| EXPENSIVE.contains(&checkers[i].name()));
    let mut slots: Vec<Option<Verdict>> = vec![None; checkers.len()];
    for i in order {
        let c = checkers[i].as_ref();
        let left = opts.time_limit.map(|t| t.saturating_sub(start.elapsed()));
        slots[i] = Some(match left {
            Some(Duration::ZERO) => Verdict::unknown(c.name(), time_ran_out()),
            _ => run_one(
                c,
                h,
                &CheckOptions {
                    time_limit: left,
                    ..opts.clone()
                },
            ),
        });
    }
    let results: Vec<Verdict> = slots.into_iter().flatten().collect();
    let valid = results
        .iter()
        .fold(Validity::Valid, |acc, v| acc.combine(v.valid));
    Composed { valid, results }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(Validity);
    impl Checker for Fixed {
        fn name(&self) -> &str {
            "fixed"
        }
        fn check(&self, _: &History, _: &CheckOptions) -> Verdict {
            Verdict::new("fixed", self.0, "")
        }
    }
    struct Panics;
    impl Checker for Panics {
        fn name(&self) -> &str {
            "panics"
        }
        fn check(&self, _: &History, _: &CheckOptions) -> Verdict {
            panic!("boom")
        }
    }

    fn run(cs: Vec<Box<dyn Checker>>) -> Composed {
        compose(&cs, &History::default(), &CheckOptions::default())
    }

    #[test]
    fn combination_rules() {
        use Validity::*;
        assert_eq!(run(vec![]).valid, Valid);
        assert_eq!(
            run(vec![Box::new(Fixed(Valid)), Box::new(Fixed(Unknown))]).valid,
            Unknown
        );
        assert_eq!(
            run(vec![Box::new(Fixed(Unknown)), Box::new(Fixed(Invalid))]).valid,
            Invalid
        );
    }

    #[test]
    fn a_panic_is_unknown_and_others_still_run() {
        let c = run(vec![Box::new(Panics), Box::new(Fixed(Validity::Valid))]);
        assert_eq!(c.results[0].valid, Validity::Unknown);
        assert!(c.results[0].summary.contains("boom"));
        assert_eq!(c.results[1].valid, Validity::Valid);
        assert_eq!(c.valid, Validity::Unknown);
    }

    /// Which checker ran, with the time it was given, in order.
    type SpyLog = std::sync::Arc<std::sync::Mutex<Vec<(&'static str, Option<Duration>)>>>;

    /// Records the order checkers ran in, and the time each was given; sleeps `nap`.
    struct Spy {
        name: &'static str,
        nap: std::time::Duration,
        log: SpyLog,
    }
    impl Checker for Spy {
        fn name(&self) -> &str {
            self.name
        }
        fn check(&self, _: &History, o: &CheckOptions) -> Verdict {
            self.log.lock().unwrap().push((self.name, o.time_limit));
            std::thread::sleep(self.nap);
            Verdict::valid(self.name, "")
        }
    }

    #[test]
    fn searches_run_last_and_share_one_time_budget() {
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let spy = |name, ms| -> Box<dyn Checker> {
            Box::new(Spy {
                name,
                nap: Duration::from_millis(ms),
                log: log.clone(),
            })
        };
        let opts = CheckOptions {
            time_limit: Some(Duration::from_millis(40)),
            ..CheckOptions::default()
        };
        let cs = vec![spy("linearizable", 0), spy("set", 60), spy("stale", 0)];
        let c = compose(&cs, &History::default(), &opts);
        // Results in the given order; the search ran after the cheap ones.
        let names: Vec<&str> = c.results.iter().map(|v| v.checker.as_str()).collect();
        assert_eq!(names, ["linearizable", "set", "stale"]);
        let ran: Vec<&str> = log.lock().unwrap().iter().map(|x| x.0).collect();
        assert_eq!(ran, ["set"]);
        // `set` spent the whole budget: the others are unknown, naming the flag.
        assert_eq!(c.results[1].valid, Validity::Valid);
        for i in [0, 2] {
            assert_eq!(c.results[i].valid, Validity::Unknown);
            assert!(c.results[i].summary.contains("--time-limit"));
        }
    }
}
