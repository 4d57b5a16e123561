use super::*;
use crate::nemesis::kinds::{parse_kinds, ALL};
use std::collections::BTreeMap;

fn faults(s: &str) -> Vec<Fault> {
    parse_kinds(s).unwrap().faults().to_vec()
}

fn undo_of(a: &Action) -> &'static str {
    match a {
        Action::Partition { .. } => "heal",
        Action::Kill { .. } => "restart",
        Action::Pause { .. } => "resume",
        Action::ClockDrift { .. } => "clock-rate-reset",
        _ => "clock-reset",
    }
}

#[test]
fn plans_are_seeded_and_every_fault_is_undone() {
    let all = faults("all");
    let (iv, limit) = (Duration::from_secs(1), Duration::from_secs(30));
    let a = plan(5, &all, 5, iv, limit);
    assert_eq!(a, plan(5, &all, 5, iv, limit));
    assert_ne!(a, plan(6, &all, 5, iv, limit));
    assert!(a.iter().all(|s| s.at_ms <= 30_000));
    assert!(a.windows(2).all(|w| w[0].at_ms <= w[1].at_ms));
    assert!(plan(5, &[], 5, iv, limit).is_empty());
    for seed in 0..20 {
        // One stream: a fault every 1.5 s (processes start two thirds of an
        // interval after the clock stream: 19 fit), each undone when the next
        // cycle starts (1.5 s - 666 ms later), before the next clock fault.
        let s = plan(seed, &faults("kill,pause"), 5, iv, limit);
        assert_eq!(s.len(), 2 * 19, "a fault every 1.5 s: {s:?}");
        assert_eq!(s[0].at_ms, 500 + 666);
        for pair in s.chunks(2) {
            assert_eq!(pair[1].action.f(), undo_of(&pair[0].action));
            assert_eq!(pair[1].at_ms - pair[0].at_ms, 834);
        }
        // With clocks beside them, the cycle's clock fault comes after that undo.
        let s = plan(seed, &faults("kill,pause,clock"), 5, iv, limit);
        for (i, st) in s.iter().enumerate() {
            if matches!(st.action.f(), "restart" | "resume") {
                let clock_before = s[..i].iter().any(|o| {
                    o.at_ms == st.at_ms && o.action.f().starts_with("clock-") && !o.action.is_undo()
                });
                assert!(!clock_before, "{s:?}");
            }
        }
        // Three streams side by side: clocks, network, processes.
        // The process stream defers its fault in cycles whose partition focused on the
        // clock fault's nodes (see the focus test below).
        let s = plan(seed, &faults("partition,kill,pause,clock"), 5, iv, limit);
        let count = |f: &[&str]| s.iter().filter(|s| f.contains(&s.action.f())).count();
        assert_eq!(count(&["clock-bump", "clock-strobe"]), 20, "{s:?}");
        assert_eq!(count(&["partition"]), 19, "{s:?}");
        assert!((4..=19).contains(&count(&["kill", "pause"])), "{s:?}");
        let starts = s.iter().filter(|s| s.action.target().is_some()).count();
        let undos = s.len() - starts;
        assert_eq!(undos, starts);
    }
}

#[test]
fn the_default_mix_draws_every_kind_and_target_several_times_in_30_s() {
    // `all` on the netns back end, which leaves packet faults out.
    let all = faults("partition,kill,pause,clock,clock-drift");
    let (iv, limit) = (Duration::from_millis(1500), Duration::from_secs(30));
    for seed in 0..10 {
        let steps = plan(seed, &all, 5, iv, limit);
        let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
        let mut aims: BTreeMap<Aim, usize> = BTreeMap::new();
        for s in &steps {
            if let Some(t) = s.action.target() {
                *aims.entry(t).or_default() += 1;
                *kinds
                    .entry(&s.action.f()[..5.min(s.action.f().len())])
                    .or_default() += 1;
            }
        }
        assert_eq!(aims.len(), AIMS.len(), "seed {seed}: {aims:?}");
        // (Drifts aim at the leader in three draws of four, `DRIFT_AT_LEADER`,
        // so the other targets come up a little less often than the leader.)
        assert!(aims.values().all(|&c| c >= 3), "seed {seed}: {aims:?}");
        // partition, kill, pause, and the clock family (bumps, strobes, drift).
        assert_eq!(kinds.len(), 4, "seed {seed}: {kinds:?}");
        assert!(kinds.values().all(|&c| c >= 2), "seed {seed}: {kinds:?}");
    }
    assert_eq!(ALL.len(), 7);
    // With packet faults (the proxy back end): every kind still several times.
    let steps = plan(3, &faults("all"), 5, iv, limit);
    let fs: Vec<&str> = steps
        .iter()
        .filter(|s| s.action.target().is_some())
        .map(|s| s.action.f())
        .collect();
    for f in ["delay", "loss", "kill", "partition"] {
        assert!(fs.iter().filter(|x| **x == f).count() >= 2, "{f}: {fs:?}");
    }
}

#[test]
fn packet_faults_hit_every_link_and_are_healed() {
    for seed in 0..20 {
        let steps = plan(
            seed,
            &faults("delay,loss"),
            5,
            Duration::from_secs(1),
            Duration::from_secs(10),
        );
        for pair in steps.chunks(2) {
            match pair[0].action {
                Action::Delay {
                    target,
                    delay_ms,
                    jitter_ms,
                } => {
                    assert!(target == Aim::All && (16..=512).contains(&delay_ms) && jitter_ms <= delay_ms);
                }
                Action::Loss { target, percent } => {
                    assert!(target == Aim::All && (5..=50).contains(&percent))
                }
                ref other => panic!("{other:?}"),
            }
            assert_eq!(pair[1].action, Action::PacketHeal);
        }
    }
}

#[test]
fn fixed_targets_are_kept_and_victims_match_them() {
    for seed in 0..30 {
        for s in plan(
            seed,
            &faults("kill:majority,pause:all,clock:leader"),
            5,
            Duration::from_secs(1),
            Duration::from_secs(20),
        ) {
            match &s.action {
                Action::Kill {
                    target,
                    victims: Victims::Nodes(v),
                } => {
                    assert_eq!(*target, Aim::Majority);
                    assert!(
                        v.len() == 3 && v.windows(2).all(|w| w[0] < w[1]) && v[2] < 5,
                        "{v:?}"
                    );
                }
                Action::Pause { victims, .. } => assert_eq!(*victims, Victims::Nodes(vec![0, 1, 2, 3, 4])),
                Action::ClockBump { victims, ms, .. } => {
                    assert_eq!(*victims, Victims::Leader);
                    assert_eq!(ms.len(), 1);
                }
                Action::ClockStrobe {
                    victims,
                    period_ms,
                    duration_ms,
                    ..
                } => {
                    assert_eq!(*victims, Victims::Leader);
                    assert!(period_ms <= duration_ms && *duration_ms <= 750, "{s:?}");
                }
                Action::Restart | Action::Resume | Action::ClockReset => {}
                other => panic!("{other:?}"),
            }
        }
    }
}

#[test]
fn clock_bumps_are_log_uniform_from_4_ms_to_262_s_both_signs() {
    let mut all = Vec::new();
    for seed in 0..200 {
        for s in plan(
            seed,
            &faults("clock:all"),
            5,
            Duration::from_secs(1),
            Duration::from_secs(10),
        ) {
            if let Action::ClockBump { ms, .. } = s.action {
                all.extend(ms);
            }
        }
    }
    assert!(all.iter().all(|m| (4..=262_144).contains(&m.abs())), "{all:?}");
    let buckets = |lo: i64, hi: i64| all.iter().filter(|m| (lo..hi).contains(&m.abs())).count();
    // Each of the four 4-octave bands gets about a quarter.
    for (lo, hi) in [(4, 64), (64, 1024), (1024, 16_384), (16_384, 262_145)] {
        let share = buckets(lo, hi) as f64 / all.len() as f64;
        assert!((0.18..0.32).contains(&share), "[{lo}, {hi}) ms: {share}");
    }
    let neg = all.iter().filter(|m| **m < 0).count() as f64 / all.len() as f64;
    assert!((0.4..0.6).contains(&neg), "{neg}");
}

#[test]
fn partitions_draw_shapes_by_target_and_some_are_one_way() {
    let mut seen: BTreeMap<(Aim, Shape), usize> = BTreeMap::new();
    let mut one_way = 0;
    let mut total = 0;
    for seed in 0..100 {
        for s in plan(
            seed,
            &faults("partition"),
            5,
            Duration::from_secs(1),
            Duration::from_secs(10),
        ) {
            if let Action::Partition {
                target, shape, cut, ..
            } = s.action
            {
                *seen.entry((target, shape)).or_default() += 1;
                total += 1;
                one_way += usize::from(cut != Cut::Both);
                if !crate::net::shape::has_side(shape) {
                    assert_eq!(cut, Cut::Both);
                }
            }
        }
    }
    let shapes: std::collections::BTreeSet<Shape> = seen.keys().map(|k| k.1).collect();
    assert_eq!(shapes.len(), 6, "{seen:?}");
    assert_eq!(seen.keys().filter(|k| k.0 == Aim::Leader).count(), 1);
    assert!(one_way * 5 > total && one_way * 2 < total, "{one_way}/{total}");
}

#[test]
fn clock_drift_outlasts_the_next_fault_and_is_always_undone() {
    let kinds = faults("clock-drift,clock:one,partition:leader");
    let (iv, limit) = (Duration::from_millis(1500), Duration::from_secs(15));
    let mut overlapped = 0;
    for seed in 0..40 {
        let steps = plan(seed, &kinds, 5, iv, limit);
        assert!(steps.windows(2).all(|w| w[0].at_ms <= w[1].at_ms), "{steps:?}");
        assert!(steps.iter().all(|s| s.at_ms <= 15_000));
        let (mut drifted, mut cut, mut skewed) = (false, false, false);
        for s in &steps {
            match &s.action {
                Action::ClockDrift { permille, .. } => {
                    assert!(DRIFT_PERMILLE.contains(permille), "{permille}");
                    assert!(!drifted, "seed {seed}: two drifts in place: {steps:?}");
                    drifted = true;
                }
                Action::ClockRateReset => {
                    assert!(
                        drifted && !skewed,
                        "seed {seed}: reset before the bump's undo: {steps:?}"
                    );
                    drifted = false;
                }
                Action::ClockBump { .. } | Action::ClockStrobe { .. } => skewed = true,
                Action::ClockReset => skewed = false,
                Action::Partition { .. } => {
                    overlapped += usize::from(drifted);
                    cut = true;
                }
                Action::Heal => cut = false,
                other => panic!("{other:?}"),
            }
        }
        assert!(
            !drifted && !cut && !skewed,
            "seed {seed}: left in place: {steps:?}"
        );
    }
    assert!(overlapped > 40, "partitions under drift: {overlapped}");
    // Drift alone: each drift lasts until the next replaces it (the clock
    // stream starts first: its first fault at half an interval).
    let alone = plan(3, &faults("clock-drift"), 5, iv, Duration::from_secs(5));
    let got: Vec<_> = alone.iter().map(|s| (s.at_ms, s.action.f())).collect();
    assert_eq!(
        got,
        [
            (750, "clock-drift"),
            (3000, "clock-rate-reset"),
            (3000, "clock-drift"),
            (4500, "clock-rate-reset")
        ]
    );
}

/// With datacenters every kind also deals `dc`: process and clock faults hit
/// exactly one datacenter's nodes (a clock bump by one shared offset), and a
/// partition cuts one datacenter or all of them apart. Without datacenters
/// the schedule is the one it always was (no `dc` anywhere).
#[test]
fn with_datacenters_the_default_mix_aims_at_whole_datacenters() {
    let all = faults("partition,kill,pause,clock,clock-drift");
    let (iv, limit) = (Duration::from_millis(1500), Duration::from_secs(30));
    let c = Cluster {
        nodes: 5,
        dcs: vec![vec![0, 1], vec![2, 3], vec![4]],
    };
    let mut dc_kinds = std::collections::BTreeSet::new();
    let mut dc_cuts = 0;
    for seed in 0..40 {
        assert_eq!(
            plan(seed, &all, 5, iv, limit),
            plan_in(
                seed,
                &all,
                &Cluster {
                    nodes: 5,
                    dcs: vec![]
                },
                iv,
                limit
            )
        );
        let steps = plan_in(seed, &all, &c, iv, limit);
        let mut kinds = std::collections::BTreeSet::new();
        for s in steps.iter().filter(|s| s.action.target() == Some(Aim::Dc)) {
            kinds.insert(s.action.f());
            match &s.action {
                Action::Partition { shape, .. } => {
                    assert!(matches!(shape, Shape::Dc | Shape::DcAll), "{s:?}")
                }
                Action::Kill { victims, .. }
                | Action::Pause { victims, .. }
                | Action::ClockStrobe { victims, .. }
                | Action::ClockDrift { victims, .. } => {
                    assert!(matches!(victims, Victims::Nodes(v) if c.dcs.contains(v)), "{s:?}")
                }
                Action::ClockBump { victims, ms, .. } => {
                    assert!(matches!(victims, Victims::Nodes(v) if c.dcs.contains(v)), "{s:?}");
                    assert_eq!(ms.len(), 1, "one offset for the whole datacenter");
                }
                other => panic!("{other:?}"),
            }
        }
        dc_cuts += kinds.contains("partition") as usize;
        dc_kinds.extend(kinds);
        assert!(plan(seed, &all, 5, iv, limit)
            .iter()
            .all(|s| s.action.target() != Some(Aim::Dc)));
    }
    for k in ["kill", "pause", "clock-drift"] {
        assert!(dc_kinds.contains(k), "{k}: {dc_kinds:?}");
    }
    // Most 30 s runs cut datacenters apart (focused cycles take some of the
    // network stream's faults, see `focus`).
    assert!(dc_cuts >= 34, "{dc_cuts} of 40 seeds cut datacenters apart");
}

#[test]
fn drifts_and_a_third_of_the_bumps_aim_their_partition_at_what_the_clock_fault_hit() {
    // The default mix on the netns back end; 1.5 s interval, 30 s.
    let all = faults("partition,kill,pause,clock,clock-drift");
    let (iv, limit) = (Duration::from_millis(1500), Duration::from_secs(30));
    // (bumps and strobes, drifts): cycles that could focus, cycles that did.
    let (mut focusable, mut focused) = ([0, 0], [0, 0]);
    for seed in 0..200 {
        let steps = plan(seed, &all, 5, iv, limit);
        // Each clock fault's cycle: the network fault starts a third of an interval later.
        for c in steps.iter().filter(|s| s.action.hit().is_some()) {
            let Some((aim, victims)) = c.action.hit() else {
                unreachable!()
            };
            let drift = matches!(c.action, Action::ClockDrift { .. });
            let proper =
                matches!(&victims, Victims::Leader) || matches!(&victims, Victims::Nodes(v) if v.len() < 5);
            focusable[drift as usize] += proper as usize;
            let net = steps
                .iter()
                .find(|s| s.at_ms == c.at_ms + 500 && s.action.target().is_some())
                .unwrap_or_else(|| panic!("seed {seed}: no network fault after {c:?}"));
            let Action::Partition {
                target,
                shape,
                nodes,
                cut,
                ..
            } = &net.action
            else {
                assert!(
                    !drift || !proper,
                    "seed {seed}: a drift's cycle always focuses: {net:?}"
                );
                continue;
            };
            // Only a focused partition names its nodes; one aimed at the
            // leader after a clock fault on the leader may also be a drawn one.
            let procs = |at: u64| {
                steps
                    .iter()
                    .any(|s| s.at_ms == at && matches!(s.action, Action::Kill { .. } | Action::Pause { .. }))
            };
            let aimed = match (&victims, nodes) {
                (Victims::Nodes(v), Some(n)) => {
                    assert_eq!(v, n, "seed {seed}: {net:?}");
                    assert_eq!(*target, aim, "seed {seed}: {net:?}");
                    true
                }
                (Victims::Leader, None) => *shape == Shape::Leader,
                (_, Some(_)) => panic!("seed {seed}: {net:?} names nodes {c:?} did not hit"),
                _ => false,
            };
            assert!(aimed || !drift || !proper, "seed {seed}: {net:?} after {c:?}");
            if aimed && drift {
                // Two-way, and the process fault waits for the heal (two
                // thirds of an interval later, lasting as long), when it fits.
                assert_eq!(*cut, Cut::Both, "seed {seed}: {net:?}");
                let room = c.at_ms + 2000 + 1000 <= 30_000;
                assert!(!procs(c.at_ms + 1000), "seed {seed}: deferred {net:?}");
                assert!(procs(c.at_ms + 2000) || !room, "seed {seed}: deferred {net:?}");
            }
            focused[drift as usize] += (aimed && proper) as usize;
        }
    }
    // Every drift cycle focuses, about a third of the others (plus the
    // partitions drawn at the leader after a bump on the leader).
    let share = |i: usize| focused[i] as f64 / focusable[i] as f64;
    assert!(focusable[0] > 1000 && focusable[1] > 500, "{focusable:?}");
    assert!((0.28..0.45).contains(&share(0)), "{focused:?} of {focusable:?}");
    assert_eq!(focused[1], focusable[1], "every drift focuses");
    // Without partitions among the faults, nothing focuses: the clock stream alone.
    let none = plan(1, &faults("kill,clock-drift"), 5, iv, limit);
    assert!(none.iter().all(|s| !matches!(s.action, Action::Partition { .. })));
}
