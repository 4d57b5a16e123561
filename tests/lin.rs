//! The linearizability checker: the Porcupine corpus, the kv model, property tests against a brute-force oracle, the sound reductions, witnesses.
//!
//! One test binary per area; each file under `tests/lin/` is one module (formerly its own
//! binary). Every test enters `serial!()` first: see `tests/support/serial.rs`.

#[macro_use]
mod support;

mod lin {
    mod corpus;
    mod kv_model;
    mod prop;
    mod reduce;
    mod witness;
}
