//! `faultline test --sim` and `faultline sim` from the command line.
//!
//! One test binary per area; each file under `tests/sim/` is one module (formerly its own
//! binary). Every test enters `serial!()` first: see `tests/support/serial.rs`.

#[macro_use]
mod support;

mod sim {
    mod cli;
    mod coverage;
    mod shrink;
}
