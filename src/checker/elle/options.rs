//! Options of an Elle check, and reading them from `CheckOptions::params`.
//!
//! Parameters: `elle_model` (`"list-append"` or `"rw-register"`; default:
//! detected from the micro-ops); `elle_consistency_models` (a comma-separated
//! string or a list of model names; default `strict-serializable`): only
//! anomalies these models prohibit make a history invalid;
//! `elle_process` and `elle_realtime` (booleans, default true: allow process
//! and real-time edges when the models need them); `elle_cycle_search_timeout`
//! (seconds per search of one component for one anomaly class, default 1);
//! `elle_wfr_keys` (rw-register: writes follow reads within a txn, default
//! true), `elle_sequential_keys` and `elle_linearizable_keys` (rw-register:
//! assume each key sequentially consistent / linearizable, default false).

use super::{models, ElleError, Model};
use crate::checker::CheckOptions;
use serde_json::Value;
use std::time::Duration;

/// Options of one check.
#[derive(Clone, Debug)]
pub struct ElleOptions {
    pub model: Option<Model>,
    /// Canonical names of the models the history is checked against.
    pub consistency_models: Vec<String>,
    pub process: bool,
    pub realtime: bool,
    pub time_limit: Option<Duration>,
    /// Budget of one search (one component, one anomaly class).
    pub cycle_search_timeout: Duration,
    /// Approximate budget for the graph (edges, CSR, SCC and BFS state), in bytes.
    pub memory_limit: Option<u64>,
    pub wfr_keys: bool,
    pub sequential_keys: bool,
    pub linearizable_keys: bool,
}

impl Default for ElleOptions {
    fn default() -> Self {
        ElleOptions {
            model: None,
            consistency_models: vec![models::canonical(models::DEFAULT_MODEL).to_string()],
            process: true,
            realtime: true,
            time_limit: None,
            cycle_search_timeout: Duration::from_secs(1),
            memory_limit: None,
            wfr_keys: true,
            sequential_keys: false,
            linearizable_keys: false,
        }
    }
}

fn param<'a>(p: &'a Value, name: &str) -> Option<&'a Value> {
    p.get(name).filter(|v| !v.is_null())
}

impl ElleOptions {
    /// Reads `elle_*` params and the time limit from shared check options.
    pub fn from_check(opts: &CheckOptions) -> Result<ElleOptions, ElleError> {
        let mut o = ElleOptions {
            time_limit: opts.time_limit,
            memory_limit: opts.memory_limit,
            ..ElleOptions::default()
        };
        let p = &opts.params;
        if let Some(m) = param(p, "elle_model") {
            o.model = Some(m.as_str().and_then(Model::parse).ok_or(ElleError::BadParam {
                name: "elle_model",
                message: format!("expected \"list-append\" or \"rw-register\", got {m}"),
            })?);
        }
        if let Some(m) = param(p, "elle_consistency_models") {
            let text = match m {
                Value::String(s) => s.clone(),
                Value::Array(a) if a.iter().all(Value::is_string) => {
                    a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(",")
                }
                other => {
                    return Err(ElleError::BadParam {
                        name: "elle_consistency_models",
                        message: format!("expected model names, got {other}"),
                    })
                }
            };
            o.consistency_models = models::parse_list(&text).map_err(|message| ElleError::BadParam {
                name: "elle_consistency_models",
                message,
            })?;
        }
        if let Some(v) = param(p, "elle_cycle_search_timeout") {
            let secs = v
                .as_f64()
                .filter(|s| s.is_finite() && *s > 0.0)
                .ok_or(ElleError::BadParam {
                    name: "elle_cycle_search_timeout",
                    message: format!("expected a positive number of seconds, got {v}"),
                })?;
            o.cycle_search_timeout = Duration::from_secs_f64(secs);
        }
        for (name, slot) in [
            ("elle_process", &mut o.process),
            ("elle_realtime", &mut o.realtime),
            ("elle_wfr_keys", &mut o.wfr_keys),
            ("elle_sequential_keys", &mut o.sequential_keys),
            ("elle_linearizable_keys", &mut o.linearizable_keys),
        ] {
            if let Some(v) = param(p, name) {
                *slot = v.as_bool().ok_or(ElleError::BadParam {
                    name,
                    message: format!("expected true or false, got {v}"),
                })?;
            }
        }
        Ok(o)
    }

    /// Friendly names of the models checked against.
    pub fn model_names(&self) -> Vec<&str> {
        self.consistency_models
            .iter()
            .map(|m| models::friendly(m))
            .collect()
    }
}
