//! The hostile-input fuzz harness that stays (issue 19 item 7): a seeded
//! corpus of mutated fixture histories of every format (bit flips, cuts at
//! random offsets, deleted, duplicated and swapped lines, huge numbers and
//! strings, deep nesting, invalid UTF-8, CR line ends, a byte-order mark) and
//! of synthetic junk, each run through `check`, `check --checker
//! elle,set,stale,session`, `convert` and `check --html` as the real binary;
//! and mutated plan files. Every run must end without abort or panic, within
//! the default budget and 4 GiB, and read its file as it must: a damaged op
//! with others after it is never a verdict (see src/fuzz/corpus.rs).
//!
//! CI runs a small corpus; the long run is one command away:
//!   cargo run --release -- bench fuzz --files 2000 --big      (from the repository root)
//! or `cargo test --release --test fuzz -- --ignored`.

use assert_cmd::Command;
use std::path::Path;

fn fuzz(args: &[&str]) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::cargo_bin("faultline")
        .unwrap()
        .current_dir(root)
        .args(["bench", "fuzz"])
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for line in [
        "aborts (signals):            0",
        "panics:                      0",
        "damaged histories valid:     0",
        "violations:                  0",
    ] {
        assert!(stdout.contains(line), "{stdout}");
    }
}

#[test]
fn seeded_hostile_histories_of_every_format() {
    let _serial = serial!();
    fuzz(&["--files", "120", "--plans", "0", "--seed", "19"]);
}

#[test]
fn seeded_hostile_plans() {
    let _serial = serial!();
    fuzz(&["--files", "0", "--plans", "300", "--seed", "19"]);
}

#[test]
#[ignore = "the long run: minutes"]
fn long_run_with_the_big_histories() {
    let _serial = serial!();
    fuzz(&["--files", "2000", "--plans", "1000", "--seed", "1", "--big"]);
}
