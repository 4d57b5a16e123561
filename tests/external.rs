//! Systems the harness starts from `targets/*.toml`: a command target, etcd, Redis with sentinels, whole runs, `bench etcd`.
//!
//! One test binary per area; each file under `tests/external/` is one module (formerly its own
//! binary). Every test enters `serial!()` first: see `tests/support/serial.rs`.

#[macro_use]
mod support;

mod external {
    mod bench_etcd;
    mod command;
    mod etcd;
    mod redis;
    mod runs;
}
