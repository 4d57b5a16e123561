//! The netns back end: kernel-level partitions, no default routes, nothing in
//! the root namespace, a full run against the built-in store. Needs root and nft.

use crate::support::runner as runner_common;
use faultline::net::{netns::Netns, Grudge, Layout, NetBackend, RunTag};
use runner_common::*;
use std::process::Command;

fn sh(args: &[&str]) -> String {
    let o = Command::new(args[0]).args(&args[1..]).output().unwrap();
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).to_string()
}

#[test]
fn partitions_are_nft_drops_inside_node_namespaces() {
    let _serial = serial!();
    let tag = RunTag::current();
    let mut net = Netns::new(tag.clone());
    let nodes: Vec<String> = (1..=3).map(|i| format!("n{i}")).collect();
    let nets = net
        .setup(&Layout {
            nodes: nodes.clone(),
            ports: vec!["peer".into(), "client".into()],
            peer: "peer".into(),
        })
        .unwrap();
    assert_eq!(nets[0].exec_prefix, vec!["ip", "netns", "exec", &tag.ns("n1")]);
    let n2 = nets[1].listen["peer"].ip().to_string();
    // No default route anywhere, no test address in the root namespace.
    for role in ["n1", "n2", "n3", "cl", "hub"] {
        assert!(
            !sh(&["ip", "-n", &tag.ns(role), "route"]).contains("default"),
            "{role}"
        );
    }
    assert!(!sh(&["ip", "addr"]).contains("10.77.0."));
    let ping = |from: &str, to: &str| {
        Command::new("ip")
            .args(["netns", "exec", &tag.ns(from), "ping", "-c1", "-W1", to])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    let has_ping = Command::new("ping").arg("-V").output().is_ok();
    if has_ping {
        assert!(ping("n1", &n2));
    }
    net.partition(&Grudge::isolate(&nodes, "n2")).unwrap();
    let rules = sh(&["ip", "netns", "exec", &tag.ns("n1"), "nft", "list", "ruleset"]);
    assert!(rules.contains(&format!("ip saddr {n2} drop")), "{rules}");
    let rules2 = sh(&["ip", "netns", "exec", &tag.ns("n2"), "nft", "list", "ruleset"]);
    assert!(rules2.contains("drop"), "{rules2}");
    if has_ping {
        assert!(!ping("n1", &n2));
        assert!(ping("cl", &n2), "clients still reach an isolated node");
    }
    net.heal().unwrap();
    assert!(!sh(&["ip", "netns", "exec", &tag.ns("n1"), "nft", "list", "ruleset"]).contains("drop"));
    if has_ping {
        assert!(ping("n1", &n2));
    }
    net.teardown().unwrap();
    assert!(!sh(&["ip", "netns", "list"]).contains(tag.as_str()));
}

#[test]
fn a_builtin_store_run_under_netns_partitions_heals_and_cleans_up() {
    let _serial = serial!();
    let store = tempfile::tempdir().unwrap();
    let child = Command::new(bin())
        .args([
            "test",
            "--net",
            "netns",
            "--nodes",
            "3",
            "--time-limit",
            "6",
            "--nemesis",
            "partition,kill",
            "--nemesis-interval",
            "1",
            "--seed",
            "7",
            "--recovery",
            "1",
            "--store-dir",
        ])
        .arg(store.path())
        .output()
        .unwrap();
    assert!([0, 2].contains(&code(&child)), "{}", stderr(&child));
    assert!(stderr(&child).contains("net netns"));
    let dir = std::fs::canonicalize(store.path().join("latest")).unwrap();
    let h = history(&dir);
    let oks = h.iter().filter(|o| o["type"] == "ok").count();
    // Partitions and kills now overlap (two fault streams) and may take a
    // majority out on 3 nodes, so a 6 s run sees tens to a few hundred ok ops;
    // none would mean the clients never reached the nodes through the namespaces.
    assert!(oks > 20, "only {oks} ok ops");
    assert!(h
        .iter()
        .any(|o| o["process"] == "nemesis" && o["f"] == "partition" && o["type"] == "info"));
    let last_nem: Vec<&str> = h
        .iter()
        .filter(|o| o["process"] == "nemesis")
        .filter_map(|o| o["f"].as_str())
        .collect();
    assert!(
        matches!(last_nem.last(), Some(&"heal") | Some(&"restart")),
        "{last_nem:?}"
    );
    for n in ["n1", "n2", "n3"] {
        let log = std::fs::read_to_string(dir.join(format!("nodes/{n}.log"))).unwrap();
        assert!(log.contains("\"event\""), "{n} log has no events");
    }
}
