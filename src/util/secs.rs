//! Seconds as people write them (flags, plan files, test.toml), checked once.
//!
//! Invariant: a [`Secs`] is finite, at least 0 and at most [`MAX_SECS`], so
//! [`Secs::duration`] never panics and `Instant::now() + d` never overflows.
//! Every duration a user gives goes through [`Secs::new`] or [`Secs::positive`];
//! nothing else in the crate calls `Duration::from_secs_f64` on user input.

use serde::{Deserialize, Deserializer, Serialize};
use std::time::Duration;
use thiserror::Error;

/// The longest duration faultline accepts anywhere: one year.
pub const MAX_SECS: f64 = 365.0 * 24.0 * 3600.0;

#[derive(Clone, Debug, Error, PartialEq)]
pub enum SecsError {
    #[error("`{0}` is not a number of seconds")]
    NotANumber(String),
    #[error("{0} is not a finite number of seconds")]
    NotFinite(f64),
    #[error("{0} s is negative")]
    Negative(f64),
    #[error("must be positive (got {0})")]
    NotPositive(f64),
    #[error("{0} s is too long (at most {MAX_SECS} s, one year)")]
    TooLong(f64),
}

/// A checked, non-negative number of seconds (fractions allowed).
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Serialize)]
#[serde(transparent)]
pub struct Secs(f64);

impl Secs {
    pub const ZERO: Secs = Secs(0.0);

    /// `s` if it is finite and within `0..=MAX_SECS`.
    pub fn new(s: f64) -> Result<Secs, SecsError> {
        if !s.is_finite() {
            Err(SecsError::NotFinite(s))
        } else if s < 0.0 {
            Err(SecsError::Negative(s))
        } else if s > MAX_SECS {
            Err(SecsError::TooLong(s))
        } else {
            Ok(Secs(s))
        }
    }

    /// `s` if it is a valid [`Secs`] above zero.
    pub fn positive(s: f64) -> Result<Secs, SecsError> {
        let v = Secs::new(s)?;
        if v.0 > 0.0 {
            Ok(v)
        } else {
            Err(SecsError::NotPositive(s))
        }
    }

    /// Parses text as [`Secs::new`] does a number.
    pub fn parse(text: &str) -> Result<Secs, SecsError> {
        Secs::new(parse_f64(text)?)
    }

    /// Parses text as [`Secs::positive`] does a number.
    pub fn parse_positive(text: &str) -> Result<Secs, SecsError> {
        Secs::positive(parse_f64(text)?)
    }

    pub fn get(self) -> f64 {
        self.0
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0.0
    }

    /// The duration (cannot fail: see the module invariant).
    pub fn duration(self) -> Duration {
        Duration::from_secs_f64(self.0)
    }
}

fn parse_f64(text: &str) -> Result<f64, SecsError> {
    text.trim()
        .parse::<f64>()
        .map_err(|_| SecsError::NotANumber(text.to_string()))
}

impl std::fmt::Display for Secs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl<'de> Deserialize<'de> for Secs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Secs, D::Error> {
        let s = f64::deserialize(d)?;
        Secs::new(s).map_err(serde::de::Error::custom)
    }
}

/// A checked count of milliseconds: at least `min`, at most [`MAX_SECS`] worth.
pub fn millis(ms: u64, min: u64) -> Result<Duration, String> {
    if ms < min {
        return Err(format!("must be at least {min} ms (got {ms})"));
    }
    if ms as f64 > MAX_SECS * 1000.0 {
        return Err(format!("{ms} ms is too long (at most {MAX_SECS} s, one year)"));
    }
    Ok(Duration::from_millis(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_infinite_negative_and_garbage_seconds_are_refused_not_panicked_on() {
        for bad in ["1e20", "inf", "-inf", "NaN", "1e300", "-5", "x", ""] {
            assert!(Secs::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Secs::parse("0").unwrap(), Secs::ZERO);
        assert!(Secs::parse_positive("0").is_err());
        assert_eq!(
            Secs::parse_positive(" 2.5 ").unwrap().duration(),
            Duration::from_millis(2500)
        );
        let max = Secs::new(MAX_SECS).unwrap();
        let _ = std::time::Instant::now() + max.duration();
        assert!(Secs::new(MAX_SECS * 1.01).is_err());
        assert!(millis(0, 1).is_err() && millis(u64::MAX, 1).is_err());
        assert_eq!(millis(5, 1).unwrap(), Duration::from_millis(5));
    }

    #[test]
    fn seconds_deserialize_from_integers_and_floats_and_refuse_out_of_range() {
        #[derive(Deserialize)]
        struct T {
            s: Secs,
        }
        assert_eq!(toml::from_str::<T>("s = 3").unwrap().s.get(), 3.0);
        assert_eq!(toml::from_str::<T>("s = 0.5").unwrap().s.get(), 0.5);
        let e = toml::from_str::<T>("s = 1e20").err().unwrap().to_string();
        assert!(e.contains("too long") && e.contains("line 1"), "{e}");
        assert!(toml::from_str::<T>("s = inf").is_err());
        assert!(toml::from_str::<T>("s = -1").is_err());
    }
}
