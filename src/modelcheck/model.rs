//! The stateright [`stateright::Model`]: which steps a state allows, what each
//! does, and the properties every reachable state must keep.

use super::canon::drop_dead;
use super::por::persistent;
use super::world::{bootstrap, name, Notes, World};
use super::Settings;
use crate::store::core::{Input, Role};
use stateright::Property;

/// One step of the search. Nodes and clients are numbered from 0 (`n1` is 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    /// The oldest message on the link `from -> to` arrives.
    Deliver {
        from: u8,
        to: u8,
    },
    /// A client sends its next op to a node that believes it leads.
    Invoke {
        client: u8,
        node: u8,
    },
    /// A node's election timeout fires (the clock jumps for everyone).
    Timeout {
        node: u8,
    },
    /// A leader crashes and restarts from its (synced) disk: its messages in
    /// flight and its volatile state are lost.
    Crash {
        node: u8,
    },
    /// Cuts a leader off from every other node (messages in flight are lost).
    Isolate {
        node: u8,
    },
    Heal,
}

/// The model of one cluster: settings fixed for the whole search.
pub struct Model {
    pub settings: Settings,
}

impl Model {
    pub fn new(settings: Settings) -> Model {
        Model { settings }
    }

    /// Applies `step` to `w` (collecting what happened into `notes` when asked).
    pub fn apply(&self, w: &mut World, step: Step, notes: &mut Notes) {
        match step {
            Step::Deliver { from, to } => w.deliver(from, to, notes),
            Step::Invoke { client, node } => w.invoke(client, node, notes),
            Step::Timeout { node } => {
                w.budget.timeouts -= 1;
                w.budget.total -= 1;
                w.clock += self.settings.jump();
                w.batch(node, Input::Tick { jitter_ns: 0 }, notes);
            }
            Step::Crash { node } => {
                w.budget.crashes -= 1;
                w.budget.total -= 1;
                w.crash(node, notes);
                w.restart(node, self.settings.config(node));
            }
            Step::Isolate { node } => {
                w.budget.partitions -= 1;
                w.budget.total -= 1;
                w.cut = Some(node);
                w.drop_links(node);
            }
            Step::Heal => w.cut = None,
        }
    }

    /// The steps the partial-order reduction explores from `w`, if it applies ([`super::por`]).
    pub fn reduced(&self, w: &World) -> Option<Vec<Step>> {
        let set = persistent(self.settings.por, w, self.settings.ops)?;
        Some(
            set.into_iter()
                .map(|(from, to)| Step::Deliver { from, to })
                .collect(),
        )
    }

    /// The step as a line of a counterexample, with what it caused.
    pub fn describe(&self, before: &World, step: Step) -> String {
        let mut w = before.clone();
        let mut notes = Some(Default::default());
        self.apply(&mut w, step, &mut notes);
        let head = match step {
            Step::Deliver { .. } | Step::Invoke { .. } => String::new(),
            Step::Timeout { node } => format!("{}: election timeout fires", name(node)),
            Step::Crash { node } => format!("{} crashes and restarts from its disk", name(node)),
            Step::Isolate { node } => format!("{} is cut off from the other nodes", name(node)),
            Step::Heal => "the partition heals".into(),
        };
        let mut parts: Vec<String> = Some(head).into_iter().filter(|h| !h.is_empty()).collect();
        parts.extend(notes.map(|t| t.lines).unwrap_or_default());
        parts.join("; ")
    }

    /// Faults aim where they matter (and the space stays small): a timeout
    /// at a node that does not lead, a crash or a partition at one that does.
    fn fault_steps(&self, w: &World, out: &mut Vec<Step>) {
        for i in 0..w.n() as u8 {
            let Some(core) = w.up(i) else { continue };
            let leads = core.role() == Role::Leader;
            if w.budget.total == 0 {
                return;
            }
            if !leads && w.budget.timeouts > 0 {
                out.push(Step::Timeout { node: i });
            }
            if leads && w.budget.crashes > 0 {
                out.push(Step::Crash { node: i });
            }
            if leads && w.cut.is_none() && w.budget.partitions > 0 {
                out.push(Step::Isolate { node: i });
            }
        }
        if w.cut.is_some() {
            out.push(Step::Heal);
        }
    }
}

impl stateright::Model for Model {
    type State = World;
    type Action = Step;

    fn init_states(&self) -> Vec<World> {
        let mut w = bootstrap(&self.settings);
        drop_dead(&mut w);
        vec![w]
    }

    fn actions(&self, w: &World, out: &mut Vec<Step>) {
        if let Some(steps) = self.reduced(w) {
            out.extend(steps);
            return;
        }
        let n = w.n();
        for l in 0..n * n {
            if !w.links[l].is_empty() {
                out.push(Step::Deliver {
                    from: (l / n) as u8,
                    to: (l % n) as u8,
                });
            }
        }
        for (c, cl) in w.clients.iter().enumerate() {
            if cl.pending.is_some() || cl.next_op as usize >= self.settings.ops {
                continue;
            }
            for (i, _) in w.leader_roles() {
                out.push(Step::Invoke {
                    client: c as u8,
                    node: i,
                });
            }
        }
        self.fault_steps(w, out);
    }

    fn next_state(&self, w: &World, step: Step) -> Option<World> {
        let mut next = w.clone();
        self.apply(&mut next, step, &mut None);
        drop_dead(&mut next);
        next.lost |= !acked_writes_kept(&next);
        Some(next)
    }

    fn format_action(&self, step: &Step) -> String {
        format!("{step:?}")
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always("linearizable", |_, w: &World| w.lin.is_consistent()),
            Property::always("acknowledged writes survive", |_, w: &World| !w.lost),
            Property::always("one leader per term", |_, w| one_leader_per_term(w)),
            Property::sometimes("a write is acknowledged", |_, w: &World| !w.acks.is_empty()),
        ]
    }

    fn within_boundary(&self, _: &World) -> bool {
        true
    }
}

/// Every acknowledged write is in the log of every leader of a later term
/// (Raft's leader completeness): no failover loses it.
pub fn acked_writes_kept(w: &World) -> bool {
    leader_missing_an_ack(w).is_none()
}

/// A leader of a later term whose log lacks some acknowledged write.
pub fn leader_missing_an_ack(w: &World) -> Option<u8> {
    w.acks.iter().find_map(|a| {
        w.leader_roles()
            .find(|(_, c)| c.term() > a.term && c.log().get(a.index).map(|e| e.term) != Some(a.term))
            .map(|(i, _)| i)
    })
}

/// No two nodes ever announced leadership of the same term.
pub fn one_leader_per_term(w: &World) -> bool {
    let terms: Vec<u64> = w.leaders.iter().map(|l| l.0).collect();
    terms.windows(2).all(|p| p[0] != p[1])
}
