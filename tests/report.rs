//! `report.html` rendered in Chromium, failover attribution, `faultline suite`.
//!
//! One test binary per area; each file under `tests/report/` is one module (formerly its own
//! binary). Every test enters `serial!()` first: see `tests/support/serial.rs`.

#[macro_use]
mod support;

mod report {
    mod failover;
    mod html;
    mod suite;
}
