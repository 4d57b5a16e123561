//! The default budgets of every check: `faultline check` and a run's check
//! phase both start from [`Budget::default`] (through
//! [`super::CheckOptions::default`]), so a check always ends, answering
//! `unknown` with the flag to raise rather than running for hours or
//! pushing the machine into swap.
//!
//! Time: 120 s for the whole check (all checkers together, see
//! [`super::compose`]): a CI job or a person at a terminal gets an answer in
//! two minutes, and the polynomial checkers take milliseconds, so only a
//! hard linearizability or Elle search ever meets it. Memory: a quarter of
//! the memory available when the check starts, at most 2 GiB (at least
//! 64 MiB): other work on the machine keeps the rest. The memory budget
//! bounds what checkers count (search caches, model tables); the process
//! itself holds the history besides.

use std::time::Duration;

/// Time and memory a check may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    pub time: Duration,
    /// Bytes.
    pub memory: u64,
}

impl Budget {
    /// The default time budget of a whole check.
    pub const TIME: Duration = Duration::from_secs(120);
    /// The largest default memory budget.
    pub const MEMORY_CAP: u64 = 2 << 30;
    /// The smallest default memory budget (a nearly full machine still checks small histories).
    pub const MEMORY_FLOOR: u64 = 64 << 20;

    /// The default memory budget for a machine with `available` bytes free:
    /// a quarter of it, within [`Budget::MEMORY_FLOOR`]..=[`Budget::MEMORY_CAP`].
    pub fn memory_for(available: Option<u64>) -> u64 {
        available.map_or(Self::MEMORY_CAP, |a| {
            (a / 4).clamp(Self::MEMORY_FLOOR, Self::MEMORY_CAP)
        })
    }
}

impl Default for Budget {
    fn default() -> Budget {
        Budget {
            time: Budget::TIME,
            memory: Budget::memory_for(available_memory()),
        }
    }
}

/// `MemAvailable` from /proc/meminfo, in bytes (`None` where it cannot be read).
pub fn available_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kb: u64 = info
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// Why a checker stopped on time, with what to raise.
pub fn time_ran_out() -> String {
    "the time budget ran out (re-check with a larger one: faultline check --time-limit SECS, default 120)"
        .into()
}

/// Why a checker stopped on memory, with what to raise.
pub fn memory_ran_out(limit: u64, what: &str) -> String {
    format!(
        "the memory budget of {} MiB ran out ({what}; re-check with a larger one: faultline check --memory-limit MB)",
        limit >> 20
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_default_is_a_quarter_within_bounds() {
        assert_eq!(Budget::memory_for(Some(4 << 30)), 1 << 30);
        assert_eq!(Budget::memory_for(Some(64 << 30)), Budget::MEMORY_CAP);
        assert_eq!(Budget::memory_for(Some(1 << 20)), Budget::MEMORY_FLOOR);
        assert_eq!(Budget::memory_for(None), Budget::MEMORY_CAP);
        let d = Budget::default();
        assert_eq!(d.time, Budget::TIME);
        assert!(d.memory <= Budget::MEMORY_CAP);
        assert!(time_ran_out().contains("--time-limit"));
        assert!(
            memory_ran_out(1 << 30, "x").contains("1024 MiB")
                && memory_ran_out(1, "x").contains("--memory-limit")
        );
    }
}
