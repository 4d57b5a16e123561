//! Shipping: a leader's outbound streams. Each link (to a follower of its
//! datacenter, or to another datacenter's leader per `--dc-topology`) walks
//! the leader's log by position; the receiver acknowledges the highest
//! position it holds durably, and whatever stays unacknowledged for
//! `resend_ns` is shipped again (receivers skip duplicates by dot). After a
//! restart every link starts from position 0: what was acknowledged before
//! is sent again and skipped.
//!
//! A change leaves for another datacenter only once the link's lag has
//! passed since it was applied here ([`super::dc::lag_ns`]), and never to a
//! datacenter on its path.

use super::dc::{lag_ns, next_hops, Layout};
use super::types::{Change, Config, Msg, NodeId};
use super::Core;
use std::collections::BTreeMap;

/// One outbound stream. Invariant: `acked <= sent <= log length`.
#[derive(Clone, Debug, PartialEq)]
pub struct Link {
    /// The receiver's datacenter.
    pub dc: usize,
    /// True for another datacenter's leader (lagged, filtered by path).
    pub remote: bool,
    pub acked: u64,
    pub sent: u64,
    /// When the unacknowledged positions last went out.
    last: u64,
}

impl Link {
    pub fn new(dc: usize, remote: bool) -> Link {
        Link {
            dc,
            remote,
            acked: 0,
            sent: 0,
            last: 0,
        }
    }

    /// The receiver holds every position up to `upto`; progress restarts
    /// the resend timer.
    pub fn on_ack(&mut self, upto: u64, now: u64) {
        if upto > self.acked {
            self.acked = upto;
            self.last = now;
        }
        self.sent = self.sent.max(self.acked);
    }
}

/// The links a node ships on: none for a follower; a leader's followers and
/// the leaders of every datacenter it can ever ship to.
pub fn links(cfg: &Config, layout: &Layout, dc: usize, leader: bool) -> BTreeMap<NodeId, Link> {
    let mut out = BTreeMap::new();
    if !leader {
        return out;
    }
    for f in layout.followers(dc) {
        out.insert(f.clone(), Link::new(dc, false));
    }
    let d = layout.count();
    for other in (0..d).filter(|x| *x != dc) {
        let reachable =
            (0..d).any(|origin| next_hops(cfg.dc_topology, d, dc, origin, &[origin, dc]).contains(&other));
        if reachable {
            out.insert(layout.leader(other).to_string(), Link::new(other, true));
        }
    }
    out
}

impl Core {
    /// Ships what each link has due: new positions, or the unacknowledged
    /// ones again after `resend_ns`.
    pub(super) fn ship(&mut self) {
        let now = self.now.mono_ns;
        let names: Vec<NodeId> = self.links.keys().cloned().collect();
        for to in names {
            let mut link = self.links[&to].clone();
            if link.sent > link.acked && now >= link.last + self.cfg.resend_ns {
                link.sent = link.acked;
            }
            let (upto, changes) = self.due(&link, now);
            let idle = link.sent == link.acked;
            let from = link.sent;
            if upto > link.sent {
                link.sent = upto;
                if changes.is_empty() && idle {
                    // Nothing in flight and nothing the receiver needs.
                    link.acked = upto;
                } else if !changes.is_empty() {
                    if idle {
                        link.last = now;
                    }
                    let (epoch, base) = (self.epoch, link.acked);
                    self.send(
                        &to,
                        Msg::Ship {
                            epoch,
                            base,
                            from,
                            upto,
                            changes,
                        },
                    );
                }
            }
            self.links.insert(to, link);
        }
    }

    /// The positions after `link.sent` that may leave now (at most a batch,
    /// up to the first one still within the link's lag) and the changes
    /// among them the receiver needs.
    fn due(&self, link: &Link, now: u64) -> (u64, Vec<Change>) {
        let d = self.layout.count();
        let lag = if link.remote {
            lag_ns(self.cfg.dc_lag_ns, d, self.dc, link.dc)
        } else {
            0
        };
        let mut upto = link.sent;
        let mut changes = Vec::new();
        for (c, at) in self.log.iter().skip(link.sent as usize) {
            if changes.len() >= self.cfg.batch || (*at > 0 && at + lag > now) {
                break;
            }
            upto += 1;
            let origin = c.path.first().copied().unwrap_or(self.dc);
            if !link.remote || next_hops(self.cfg.dc_topology, d, self.dc, origin, &c.path).contains(&link.dc)
            {
                changes.push(c.clone());
            }
        }
        (upto, changes)
    }

    /// A shipment from `sender` covering (`from`, `upto`] of its log: taken
    /// only without a gap before it (an earlier shipment lost, the sender
    /// resends it); every change not seen before is made durable and offered
    /// for delivery; the acknowledgement follows the sync.
    pub(super) fn on_ship(&mut self, sender: &str, ship: Shipment) {
        let Shipment {
            epoch,
            base,
            from,
            upto,
            changes,
        } = ship;
        // `base` (what this node acknowledged to this incarnation of the
        // sender) is a lower bound after a restart of either side.
        let have = match self.streams.get(sender) {
            Some((e, have)) if *e == epoch => (*have).max(base),
            _ => base,
        };
        if from > have {
            self.streams.insert(sender.to_string(), (epoch, have));
            return self.send(sender, Msg::Ack { epoch, upto: have });
        }
        let now = self.now.mono_ns;
        for mut c in changes {
            if self.leader && !c.path.contains(&self.dc) {
                c.path.push(self.dc);
            }
            if self.delivery.knows(&c) {
                continue;
            }
            self.persist(c.clone());
            for ready in self.delivery.offer(c) {
                self.apply(ready, now);
            }
        }
        let have = have.max(upto);
        self.streams.insert(sender.to_string(), (epoch, have));
        self.send(sender, Msg::Ack { epoch, upto: have });
    }
}

/// A `Msg::Ship`'s fields.
pub struct Shipment {
    pub epoch: u64,
    pub base: u64,
    pub from: u64,
    pub upto: u64,
    pub changes: Vec<Change>,
}
