//! The proxy back end against the built-in store: nodes on 127.0.0.1, every
//! peer link through harness proxies, partitions as cut links.

use crate::support::runner as runner_common;
use runner_common::*;

#[test]
fn a_builtin_store_run_under_the_proxy() {
    let _serial = serial!();
    let store = tempfile::tempdir().unwrap();
    let (out, dir) = test_run(
        store.path(),
        &[
            "--net",
            "proxy",
            "--nodes",
            "3",
            "--time-limit",
            "6",
            "--nemesis",
            "partition,pause,clock",
            "--nemesis-interval",
            "1",
            "--seed",
            "3",
            "--recovery",
            "1",
            "--workload",
            "set",
        ],
    );
    assert!([0, 2].contains(&code(&out)), "{}", stderr(&out));
    let dir = dir.unwrap();
    let h = history(&dir);
    let adds_ok = h.iter().filter(|o| o["f"] == "add" && o["type"] == "ok").count();
    // The default faults pause all nodes or cut a majority for much of the
    // 6 s, so acknowledged adds vary with timing (about 90 to 170 seen);
    // what matters is that the proxy carried traffic and nothing was lost.
    assert!(adds_ok >= 20, "only {adds_ok} acknowledged adds");
    let final_read = h
        .iter()
        .rev()
        .find(|o| o["f"] == "read" && o["type"] == "ok")
        .expect("final read succeeded");
    let seen = final_read["value"].as_array().unwrap().len();
    assert!(seen >= adds_ok, "quorum store lost adds: {seen} < {adds_ok}");
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    assert_eq!(r["net"], "proxy");
}
