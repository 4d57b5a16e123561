//! Read repair (sync, async, off) and anti-entropy: a stale replica is
//! fixed by a read or by a Merkle exchange that finds exactly the keys that
//! differ; with both off it stays stale.

use super::*;

/// A 3-node cluster where n3 missed `keys` writes while isolated.
fn stale_n3(seed: u64, tweak: impl Fn(&mut Config), keys: &[&str]) -> Sim {
    let mut s = Sim::new(3, seed, tweak);
    let common = s.write("n1", "common", json!(0));
    s.run(30);
    assert!(s.is_ok(common));
    s.isolate("n3");
    for k in keys {
        let w = s.write("n1", k, json!(k));
        s.run(30);
        assert!(s.is_ok(w), "W=2 without n3");
    }
    for k in keys {
        assert_eq!(s.nodes["n3"].store().get(k), None, "n3 is stale on {k}");
    }
    s.heal();
    s.run(100);
    s
}

fn read_all(s: &mut Sim, node: &str, key: &str) -> u64 {
    let opts = RequestOpts {
        r: Some(3),
        ..RequestOpts::default()
    };
    s.request(node, ClientOp::Read { key: json!(key) }, opts)
}

#[test]
fn sync_read_repair_fixes_the_stale_replica_before_answering() {
    let mut s = stale_n3(20, |c| c.read_repair = ReadRepair::Sync, &["k"]);
    let r = read_all(&mut s, "n1", "k");
    let mut answered_at_repair = None;
    for _ in 0..100 {
        if s.outcome(r).is_some() {
            answered_at_repair = Some(s.nodes["n3"].store().get("k").is_some());
            break;
        }
        s.run(1);
    }
    assert_eq!(
        answered_at_repair,
        Some(true),
        "n3 held the value when the read was answered"
    );
    assert_eq!(s.value(r)["values"], json!(["k"]));
    let ev = s.events_of("read-repair");
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].1.value["node"], json!("n3"));
    assert!(ev[0].1.value["bytes"].as_u64().unwrap() > 0);
}

#[test]
fn async_read_repair_fixes_it_after_answering_and_off_never() {
    let mut s = stale_n3(21, |c| c.read_repair = ReadRepair::Async, &["k"]);
    assert!(!s.converged("k"));
    let r = read_all(&mut s, "n2", "k");
    s.run(50);
    assert!(s.is_ok(r));
    assert!(s.converged("k"));

    let mut s = stale_n3(21, |c| c.read_repair = ReadRepair::Off, &["k"]);
    let r = read_all(&mut s, "n2", "k");
    s.run(500);
    assert_eq!(s.value(r)["values"], json!(["k"]), "the read itself is right");
    assert!(!s.converged("k"), "nothing repairs n3");
    assert!(s.events_of("read-repair").is_empty());
}

#[test]
fn anti_entropy_repairs_exactly_the_keys_that_differ() {
    let missed: Vec<String> = (0..15).map(|i| format!("m{i}")).collect();
    let refs: Vec<&str> = missed.iter().map(String::as_str).collect();
    let mut s = stale_n3(
        22,
        |c| {
            c.read_repair = ReadRepair::Off;
            c.anti_entropy_ms = 40;
        },
        &refs,
    );
    s.run(600);
    for k in &refs {
        assert!(s.converged(k), "{k}");
    }
    let repaired_at_n3: BTreeSet<String> = s
        .events_of("ae-repair")
        .into_iter()
        .filter(|(n, _)| n == "n3")
        .map(|(_, e)| e.key.unwrap().as_str().unwrap().to_string())
        .collect();
    assert_eq!(repaired_at_n3, missed.iter().cloned().collect());
    // Elsewhere only a write still in flight during a round can differ.
    let anywhere: BTreeSet<String> = s
        .events_of("ae-repair")
        .into_iter()
        .map(|(_, e)| e.key.unwrap().as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        anywhere,
        missed.iter().cloned().collect(),
        "the common key never differed"
    );
    // Converged replicas report the same Merkle roots.
    let roots: Vec<BTreeMap<u32, u64>> = ["n1", "n2", "n3"]
        .iter()
        .map(|n| s.nodes.get_mut(*n).unwrap().status().merkle_roots)
        .collect();
    assert!(roots[0] == roots[1] && roots[1] == roots[2]);
}

#[test]
fn with_anti_entropy_and_read_repair_off_a_stale_replica_stays_stale() {
    let mut s = stale_n3(23, |c| c.read_repair = ReadRepair::Off, &["a", "b"]);
    s.run(2000);
    assert!(!s.converged("a") && !s.converged("b"));
    assert!(s.events_of("ae-repair").is_empty());
}

/// The messages `node` has sent so far (its own count; the sim counts every node's).
fn sent_by(s: &mut Sim, node: &str) -> u64 {
    s.nodes.get_mut(node).expect("node").status().messages_sent
}

/// A lost message ends an anti-entropy exchange early; its opener runs it
/// again with the same peer after the replica deadline, instead of leaving
/// the pair apart until their next turn in the rotation. (Simulator seed
/// 2716, five nodes: six exchanges in a row between a stale replica and the
/// two current ones each lost one message, and the stale one kept an older
/// value for eight seconds after the heal.)
#[test]
fn an_exchange_cut_short_by_a_lost_message_is_opened_again_with_the_same_peer() {
    let mut s = Sim::new(3, 24, |c| {
        c.read_repair = ReadRepair::Off;
        c.anti_entropy_ms = 1000;
    });
    s.isolate("n3");
    let w = s.write("n1", "k", json!(1));
    s.run(30);
    assert!(s.is_ok(w), "W=2 without n3");
    // n3, cut off, sends nothing until its first round opens an exchange
    // (with n1, first in turn): that message is lost.
    let mut waited = 0;
    while sent_by(&mut s, "n3") == 0 {
        assert!(waited < 3000, "n3 opened no exchange");
        s.run(1);
        waited += 1;
    }
    s.heal();
    assert!(!s.converged("k"), "the first exchange was lost");
    // The retry comes one replica deadline (50 ms) later; the next round of
    // any node with n3 is at least 300 ms away.
    s.run(100);
    assert!(s.converged("k"), "n3 is still stale");
    let repairs: Vec<String> = s
        .events_of("ae-repair")
        .into_iter()
        .map(|(n, e)| format!("{n} from {}", e.value["from"].as_str().unwrap_or("?")))
        .collect();
    assert_eq!(repairs, vec!["n3 from n1".to_string()]);
}
