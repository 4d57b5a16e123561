//! The checkers through the library and `faultline check`: Elle (fixtures, oracle, parity with Jepsen, properties), the fixture pairs of every checker, property tests against synthetic histories.
//!
//! One test binary per area; each file under `tests/checker/` is one module (formerly its own
//! binary). Every test enters `serial!()` first: see `tests/support/serial.rs`.

#[macro_use]
mod support;

mod checker {
    mod elle;
    mod elle_cli;
    mod elle_oracle;
    mod elle_parity;
    mod elle_prop;
    mod elle_register;
    mod fixtures;
    mod props;
}
