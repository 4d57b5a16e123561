//! A setting a test may not have: which one (as a command-line flag and as a plan-file key)
//! and why. Checks of a test plan return this, so the command line can say exactly what to
//! change whichever way the value was given.

use thiserror::Error;

#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("{}{message}", label(.flag, .key))]
pub struct Invalid {
    /// The flag that sets it (`--time-limit`), if there is one.
    pub flag: Option<String>,
    /// The key a plan file and test.toml use (`time_limit`, `target.reads`).
    pub key: String,
    pub message: String,
}

fn label(flag: &Option<String>, key: &str) -> String {
    match flag {
        Some(f) => format!("{f} (plan key `{key}`): "),
        None => format!("plan key `{key}`: "),
    }
}

impl Invalid {
    pub fn new(flag: &str, key: &str, message: impl Into<String>) -> Invalid {
        Invalid {
            flag: Some(flag.to_string()),
            key: key.to_string(),
            message: message.into(),
        }
    }

    /// A setting only plan files and test.toml have.
    pub fn key(key: &str, message: impl Into<String>) -> Invalid {
        Invalid {
            flag: None,
            key: key.to_string(),
            message: message.into(),
        }
    }
}
