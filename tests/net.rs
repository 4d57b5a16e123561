//! Network back ends under real runs: namespaces + nftables, proxies.
//!
//! One test binary per area; each file under `tests/net/` is one module (formerly its own
//! binary). Every test enters `serial!()` first: see `tests/support/serial.rs`.

#[macro_use]
mod support;

mod net {
    mod hosts;
    mod hosts_clock;
    mod hosts_external;
    mod netns;
    mod proxy;
}
