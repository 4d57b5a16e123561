use super::*;
use crate::nemesis::Aim;
use crate::net::null::NullNet;
use crate::net::{Cut, Layout, NetBackend, Shape};
use crate::system::reference::Reference;
use crate::system::NodeCtx;

fn cluster(dir: &std::path::Path, nodes: &[String]) -> (Reference, NullNet) {
    let mut net = NullNet::default();
    let nets = net
        .setup(&Layout {
            nodes: nodes.to_vec(),
            ports: vec!["peer".into()],
            peer: "peer".into(),
        })
        .unwrap();
    let mut t = Reference::new();
    t.setup(
        nets.into_iter()
            .map(|n| NodeCtx {
                id: n.id.clone(),
                data_dir: dir.to_path_buf(),
                log: dir.join(format!("{}.log", n.id)),
                net: n,
            })
            .collect(),
    )
    .unwrap();
    for n in nodes {
        t.start(n).unwrap();
    }
    (t, net)
}

#[test]
fn faults_are_applied_and_all_healed() {
    let dir = tempfile::tempdir().unwrap();
    let nodes: Vec<String> = (1..=5).map(|i| format!("n{i}")).collect();
    let (t, net) = cluster(dir.path(), &nodes);
    let mut nem = Nemesis::new(&t, &net, nodes.clone());
    let kill = |victims| Action::Kill {
        target: Aim::Leader,
        victims,
    };
    let v = nem.apply(&kill(Victims::Leader)).unwrap();
    assert_eq!(v["hit"], json!(["n1"]));
    assert!(!t.is_running("n1"));
    // A kill of a node already dead does not take effect.
    let again = nem.apply(&kill(Victims::Nodes(vec![0, 4]))).unwrap();
    assert_eq!(again["hit"], json!(["n5"]));
    nem.apply(&Action::Pause {
        target: Aim::Minority,
        victims: Victims::Nodes(vec![1, 2]),
    })
    .unwrap();
    let g = nem
        .apply(&Action::Partition {
            target: Aim::Leader,
            shape: Shape::Leader,
            cut: Cut::Both,
            seed: 1,
            nodes: None,
        })
        .unwrap();
    // n1 and n5 are dead, n2 and n3 paused: the first node up, n4, leads.
    assert_eq!(g["grudge"]["n2"], json!(["n4"]), "{g}");
    // A focused partition cuts exactly the nodes it names, whatever the shape and seed say.
    let f = nem
        .apply(&Action::Partition {
            target: Aim::Minority,
            shape: Shape::MinorityThird,
            cut: Cut::Mute,
            seed: 1,
            nodes: Some(vec![1, 3]),
        })
        .unwrap();
    assert_eq!(f["grudge"]["n1"], json!(["n2", "n4"]), "{f}");
    assert_eq!(f["grudge"]["n3"], json!(["n2", "n4"]), "{f}");
    assert_eq!(f["grudge"]["n2"], json!(null), "{f}");
    let b = nem
        .apply(&Action::ClockBump {
            target: Aim::Majority,
            victims: Victims::Nodes(vec![0, 1, 3]),
            ms: vec![500, -8],
        })
        .unwrap();
    // n1 is dead and n2 paused: only n4's clock moves.
    assert_eq!(b["hit"], json!(["n4"]), "{b}");
    let d = nem
        .apply(&Action::ClockDrift {
            target: Aim::Leader,
            victims: Victims::Leader,
            permille: 250,
        })
        .unwrap();
    assert_eq!(
        (d["hit"].clone(), d["rate"].clone()),
        (json!(["n4"]), json!(0.25))
    );
    let undone: Vec<&str> = nem.heal_all().iter().map(|(a, _)| a.f()).collect();
    assert_eq!(
        undone,
        vec!["heal", "resume", "restart", "clock-reset", "clock-rate-reset"]
    );
    assert!(nodes.iter().all(|n| t.healthy(n, Duration::ZERO).is_ok()));
    assert!(net.log.lock().unwrap().last().unwrap().is_empty());
    assert!(nem.heal_all().is_empty());
}

#[test]
fn a_node_that_exited_on_its_own_is_restarted_by_the_final_heal() {
    let dir = tempfile::tempdir().unwrap();
    let nodes: Vec<String> = (1..=3).map(|i| format!("n{i}")).collect();
    let (t, net) = cluster(dir.path(), &nodes);
    let mut nem = Nemesis::new(&t, &net, nodes.clone());
    assert!(nem.exited_on_their_own().is_empty());
    nem.apply(&Action::Kill {
        target: Aim::One,
        victims: Victims::Nodes(vec![0]),
    })
    .unwrap();
    // n3 dies behind the nemesis's back (a crash); n1 was killed by it.
    t.kill("n3").unwrap();
    assert_eq!(nem.exited_on_their_own(), vec!["n3".to_string()]);
    let healed = nem.heal_all();
    assert_eq!(healed.len(), 1);
    assert_eq!(healed[0].0.f(), "restart");
    assert_eq!(healed[0].1, Ok(json!(["n1", "n3"])));
    assert!(nodes.iter().all(|n| t.is_running(n)));
    assert!(nem.exited_on_their_own().is_empty());
}

#[test]
fn strobes_flip_for_their_duration() {
    let dir = tempfile::tempdir().unwrap();
    let nodes: Vec<String> = (1..=3).map(|i| format!("n{i}")).collect();
    let (t, net) = cluster(dir.path(), &nodes);
    let mut nem = Nemesis::new(&t, &net, nodes);
    let t0 = Instant::now();
    let v = nem
        .apply(&Action::ClockStrobe {
            target: Aim::All,
            victims: Victims::Nodes(vec![0, 1, 2]),
            ms: 2000,
            period_ms: 20,
            duration_ms: 200,
        })
        .unwrap();
    assert!(t0.elapsed() >= Duration::from_millis(200));
    assert_eq!(v["hit"], json!(["n1", "n2", "n3"]));
    assert!(v["flips"].as_u64().unwrap() >= 5, "{v}");
}
