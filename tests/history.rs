//! Histories: importers (Jepsen EDN, Porcupine), hostile input refused with exit 3, round-trip properties.
//!
//! One test binary per area; each file under `tests/history/` is one module (formerly its own
//! binary). Every test enters `serial!()` first: see `tests/support/serial.rs`.

#[macro_use]
mod support;

mod history {
    mod hostile;
    mod import;
    mod props;
}
