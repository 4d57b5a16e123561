//! Synthetic histories from seeded generators, for benchmarks (`faultline bench check`,
//! `bench checkers`, `bench elle`) and property tests. Every generator builds its history from
//! a correct execution, so the history is valid by construction: the generator is the oracle,
//! and a checker that flags one of these is wrong. Hostile (malformed) inputs live in `fuzz`.
//!
//! - [`synth`]: register, set, bank and counter histories (each op takes effect at a random
//!   point inside its interval; `info` ops at random);
//! - [`linearizable`]: keyed cas-register histories for the linearizability checker;
//! - [`elle`]: transactional list-append / rw-register histories from a serial execution.

pub mod elle;
pub mod linearizable;
pub mod synth;
