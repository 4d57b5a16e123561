//! `faultline test` end to end: bad input, the reference system, unsafe modes caught, cleanup of a killed run.
//!
//! One test binary per area; each file under `tests/runner/` is one module (formerly its own
//! binary). Every test enters `serial!()` first: see `tests/support/serial.rs`.

#[macro_use]
mod support;

mod runner {
    mod bad_input;
    mod nemesis_cleanup;
    mod reference;
    mod unsafe_modes;
}
