//! `faultline check` and `faultline model-check` from the command line: formats, exit codes,
//! messages.
//!
//! One test binary per area; each file under `tests/cli/` is one module (formerly its own
//! binary). Every test enters `serial!()` first: see `tests/support/serial.rs`.

#[macro_use]
mod support;

mod cli {
    mod check;
    mod model_check;
}
