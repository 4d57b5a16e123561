//! The WGL checker against an independent brute-force oracle on thousands of
//! small random concurrent histories (register, cas-register, kv, set,
//! fifo-queue; with info and fail ops). The oracle (tests/support/lin.rs) tries
//! every order that respects real time, with each info op either placed
//! somewhere after its invocation or left out.

use crate::support::lin as lin_support;

use lin_support::{agree, oracle, sample, PLAIN};

fn agrees_on_a_mix_of_both(model: &'static str, cases: u32, seed: u8) {
    agree(model, PLAIN, cases, seed);
    // The generator must produce both kinds, or agreement proves little.
    let hs = sample(model, PLAIN, 200, seed);
    let valid = hs.iter().filter(|h| oracle(model, h)).count();
    assert!(
        valid > 20 && hs.len() - valid > 20,
        "{model}: {valid} valid of {}",
        hs.len()
    );
}

#[test]
fn register_agrees_with_oracle() {
    let _serial = serial!();
    agrees_on_a_mix_of_both("register", 2000, 1);
}

#[test]
fn cas_register_agrees_with_oracle() {
    let _serial = serial!();
    agrees_on_a_mix_of_both("cas-register", 2000, 2);
}

#[test]
fn kv_agrees_with_oracle() {
    let _serial = serial!();
    agrees_on_a_mix_of_both("kv", 2000, 3);
}

#[test]
fn set_agrees_with_oracle() {
    let _serial = serial!();
    agrees_on_a_mix_of_both("set", 2000, 4);
}

#[test]
fn fifo_queue_agrees_with_oracle() {
    let _serial = serial!();
    agrees_on_a_mix_of_both("fifo-queue", 2000, 5);
}
