//! What the external clients share about ending an operation: [`Outcome`] (why an attempt
//! ended without a result, and whether it may have taken effect) and the argument parsing and
//! completion every client does the same way.

use crate::client::Completion;
use crate::history::Op;
use serde_json::Value;

/// Why an attempt ended without a result: `Fail` certainly did not take effect, `Info` may have.
#[derive(Debug)]
pub enum Outcome {
    Fail(String),
    Info(String),
}

impl Outcome {
    /// The completion of `op` for the attempt's result (an error keeps the op's value).
    pub fn complete(op: &Op, r: Result<Value, Outcome>) -> Completion {
        match r {
            Ok(v) => Completion::ok(v),
            Err(Outcome::Fail(e)) => Completion::fail(op.value.clone(), e),
            Err(Outcome::Info(e)) => Completion::info(op.value.clone(), e),
        }
    }
}

/// The `[expected, new]` pair of a `cas` op; anything else is a `fail` (nothing was sent).
pub fn cas_args(op: &Op) -> Result<(&Value, &Value), Outcome> {
    match op.value.as_array().map(Vec::as_slice) {
        Some([old, new]) => Ok((old, new)),
        _ => Err(Outcome::Fail(format!(
            "cas value must be [expected, new], got {}",
            op.value
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{OpType, Process};
    use serde_json::json;

    fn op(value: Value) -> Op {
        Op::new(OpType::Invoke, Process::Client(0), "cas", value)
    }

    #[test]
    fn cas_args_takes_exactly_a_pair() {
        let o = op(json!([1, 2]));
        let (a, b) = cas_args(&o).unwrap();
        assert_eq!((a, b), (&json!(1), &json!(2)));
        for bad in [json!([1]), json!([1, 2, 3]), json!(5), Value::Null] {
            let o = op(bad.clone());
            match cas_args(&o) {
                Err(Outcome::Fail(m)) => assert!(m.contains(&bad.to_string()), "{m}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }
}
