//! Value parsers for numbers on the command line: each refuses a bad value naming the flag
//! (clap adds it) and why, before anything starts. Durations go through [`Secs`], the one
//! checked conversion; flags that take numbers also allow a leading `-`, so `-5` is a bad
//! value of the flag rather than an unknown argument.

use crate::util::Secs;

/// Seconds >= 0 (`--recovery`).
pub fn secs(s: &str) -> Result<Secs, String> {
    Secs::parse(s).map_err(|e| e.to_string())
}

/// Seconds > 0 (`--time-limit`, `--nemesis-interval`).
pub fn positive_secs(s: &str) -> Result<Secs, String> {
    Secs::parse_positive(s).map_err(|e| e.to_string())
}

/// Milliseconds, at least 1 (`--op-timeout-ms`).
pub fn millis(s: &str) -> Result<u64, String> {
    let ms = integer(s)?;
    crate::util::secs::millis(ms, 1).map(|_| ms)
}

/// A count from 1 to `max` (`--nodes`, `--concurrency`, `--test-count`).
pub fn count(max: usize) -> impl Fn(&str) -> Result<usize, String> + Clone + Send + Sync + 'static {
    move |s: &str| {
        let n = integer(s)?;
        if n == 0 || n > max as u64 {
            return Err(format!("must be between 1 and {max} (got {n})"));
        }
        Ok(n as usize)
    }
}

/// A seed below 2^63 (test.toml stores it as a TOML integer, which is signed).
pub fn seed(s: &str) -> Result<u64, String> {
    let n = integer(s)?;
    if n > i64::MAX as u64 {
        return Err(format!("must be below 2^63 (got {n})"));
    }
    Ok(n)
}

/// Ops/s, finite and >= 0 (`--rate`).
pub fn rate(s: &str) -> Result<f64, String> {
    let r: f64 = s.trim().parse().map_err(|_| format!("`{s}` is not a number"))?;
    if !r.is_finite() || r < 0.0 {
        return Err(format!("must be a finite number >= 0 (got {s})"));
    }
    Ok(r)
}

fn integer(s: &str) -> Result<u64, String> {
    let t = s.trim();
    if t.starts_with('-') {
        return Err(format!("must not be negative (got {t})"));
    }
    t.parse::<u64>().map_err(|e| match e.kind() {
        std::num::IntErrorKind::PosOverflow => format!("{t} is out of range (at most {})", u64::MAX),
        _ => format!("`{t}` is not a whole number"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_out_of_range_negative_or_garbled_are_refused_with_a_reason() {
        assert!(positive_secs("1e20").unwrap_err().contains("too long"));
        assert!(positive_secs("inf").is_err() && positive_secs("0").is_err());
        assert!(secs("-1").unwrap_err().contains("negative"));
        assert_eq!(secs("0").unwrap(), Secs::ZERO);
        assert!(count(100)("-5").unwrap_err().contains("negative"));
        assert!(count(100)("0").is_err() && count(100)("101").is_err());
        assert!(count(100)("99999999999999999999999")
            .unwrap_err()
            .contains("out of range"));
        assert_eq!(count(100)("7").unwrap(), 7);
        assert!(seed("18446744073709551615").unwrap_err().contains("2^63"));
        assert!(millis("0").is_err() && millis("1").is_ok());
        assert!(rate("NaN").is_err() && rate("-1").is_err() && rate("0").is_ok());
    }
}
