//! Hostile histories and plans fed to the real binary.
//!
//! One test binary per area; each file under `tests/fuzz/` is one module (formerly its own
//! binary). Every test enters `serial!()` first: see `tests/support/serial.rs`.

#[macro_use]
mod support;

mod fuzz {
    mod hostile;
}
