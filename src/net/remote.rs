//! The hosts back end: node `n<i>` lives on the i-th host of the inventory, reached over
//! SSH ([`super::ssh`]); partitions are nftables rules on each host, as Jepsen's iptables
//! rules are: an `input` chain dropping what comes from the hosts a node holds a grudge
//! against, in a table named with the run tag (`table inet fl<pid>-<n>`), so that
//! `faultline cleanup --hosts` finds it after a harness died. Clients run where the harness
//! runs (the control machine); they are never cut off.
//!
//! Invariant: the run's table exists on every host from `setup` until `teardown`, empty while
//! no partition is in place; `teardown` (and `Drop`) deletes it.

use super::ssh::{quote, Fleet, Session, SshError, COMMAND_TIMEOUT};
use super::{Grudge, Layout, NetBackend, NetError, NodeNet, RunTag};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;

fn ssh_err(e: SshError) -> NetError {
    NetError::Command {
        command: "ssh".into(),
        message: e.to_string(),
    }
}

/// The nftables table of run `tag` (the same name on every host).
pub fn table(tag: &str) -> String {
    format!("inet {tag}")
}

/// Runs an nft script on `s` (through `nft -f -`).
fn nft(s: &Session, script: &str) -> Result<(), SshError> {
    s.run(
        &format!("printf '%s\\n' {} | nft -f -", quote(script)),
        COMMAND_TIMEOUT,
    )
    .map(|_| ())
}

/// The faultline tables on `s` (`inet fl<pid>-<n>`), by run tag.
pub fn tables(s: &Session) -> Result<Vec<String>, SshError> {
    let out = s.run("nft list tables", COMMAND_TIMEOUT)?;
    Ok(out
        .lines()
        .filter_map(|l| l.strip_prefix("table inet "))
        .map(str::trim)
        .filter(|t| RunTag::owner_of(t).is_some() && t.contains('-'))
        .map(String::from)
        .collect())
}

/// Deletes run `tag`'s table on `s` if it is there.
pub fn delete_table(s: &Session, tag: &str) -> Result<(), SshError> {
    let t = table(tag);
    s.run(
        &format!("if nft list table {t} >/dev/null 2>&1; then nft delete table {t}; fi"),
        COMMAND_TIMEOUT,
    )
    .map(|_| ())
}

/// The address `host` resolves to (IPv4 first).
fn resolve(address: &str) -> Result<IpAddr, NetError> {
    let addrs: Vec<SocketAddr> = (address, 0)
        .to_socket_addrs()
        .map_err(|e| NetError::Unavailable {
            backend: "hosts".into(),
            reason: format!("cannot resolve `{address}`: {e}"),
        })?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .map(|a| a.ip())
        .ok_or_else(|| NetError::Unavailable {
            backend: "hosts".into(),
            reason: format!("`{address}` resolves to no address"),
        })
}

pub struct HostsNet {
    fleet: Arc<Fleet>,
    tag: RunTag,
    base_port: u16,
    /// Node id → (host index, address).
    nodes: BTreeMap<String, (usize, IpAddr)>,
}

impl HostsNet {
    pub fn new(fleet: Arc<Fleet>, tag: RunTag, base_port: u16) -> HostsNet {
        HostsNet {
            fleet,
            tag,
            base_port,
            nodes: BTreeMap::new(),
        }
    }

    /// Node id → host index, for the target that starts the nodes there.
    pub fn placement(&self) -> BTreeMap<String, usize> {
        self.nodes.iter().map(|(n, (i, _))| (n.clone(), *i)).collect()
    }

    /// The ruleset of one host: its table, with a drop rule when it has a grudge.
    fn ruleset(&self, drop_from: &[IpAddr]) -> String {
        let t = table(self.tag.as_str());
        let mut s = format!("table {t}\ndelete table {t}\ntable {t} {{\n");
        let family = |v4: bool| {
            drop_from
                .iter()
                .filter(|a| a.is_ipv4() == v4)
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
        };
        let (v4, v6) = (family(true), family(false));
        if !v4.is_empty() || !v6.is_empty() {
            s.push_str(" chain input {\n  type filter hook input priority 0; policy accept;\n");
            if !v4.is_empty() {
                s.push_str(&format!("  ip saddr {{ {} }} drop\n", v4.join(", ")));
            }
            if !v6.is_empty() {
                s.push_str(&format!("  ip6 saddr {{ {} }} drop\n", v6.join(", ")));
            }
            s.push_str(" }\n");
        }
        s.push_str("}\n");
        s
    }

    /// The hosts that carry nodes, each with what it drops.
    fn apply(&self, g: &Grudge) -> Result<(), NetError> {
        let mut plan: BTreeMap<usize, Vec<IpAddr>> = BTreeMap::new();
        for (id, (host, _)) in &self.nodes {
            let from =
                g.0.get(id)
                    .map(|s| s.iter().filter_map(|o| self.nodes.get(o).map(|x| x.1)).collect())
                    .unwrap_or_default();
            plan.insert(*host, from);
        }
        self.fleet
            .all(|i, s| match plan.get(&i) {
                Some(from) => nft(s, &self.ruleset(from)),
                None => Ok(()),
            })
            .map_err(ssh_err)
    }
}

impl NetBackend for HostsNet {
    fn kind(&self) -> &'static str {
        "hosts"
    }

    fn setup(&mut self, layout: &Layout) -> Result<Vec<NodeNet>, NetError> {
        if layout.nodes.len() > self.fleet.len() {
            return Err(NetError::Unsupported {
                backend: "hosts".into(),
                what: format!(
                    "{} nodes on {} hosts (one node per host)",
                    layout.nodes.len(),
                    self.fleet.len()
                ),
            });
        }
        let ports: BTreeMap<String, u16> = layout
            .ports
            .iter()
            .enumerate()
            .map(|(i, p)| (p.clone(), self.base_port + i as u16))
            .collect();
        let mut seen = BTreeMap::new();
        for (i, id) in layout.nodes.iter().enumerate() {
            let host = &self.fleet.sessions()[i].host;
            let ip = resolve(&host.address)?;
            if let Some(other) = seen.insert(ip, host.name.clone()) {
                return Err(NetError::Unsupported {
                    backend: "hosts".into(),
                    what: format!(
                        "hosts {other} and {} at one address {ip} (partitions cut by address)",
                        host.name
                    ),
                });
            }
            self.nodes.insert(id.clone(), (i, ip));
        }
        let used = layout.nodes.len();
        self.fleet
            .all(|i, s| {
                if i < used {
                    nft(s, &self.ruleset(&[]))
                } else {
                    Ok(())
                }
            })
            .map_err(ssh_err)?;
        let sock = |a: IpAddr, p: u16| SocketAddr::new(a, p);
        let peers: BTreeMap<String, SocketAddr> = self
            .nodes
            .iter()
            .map(|(id, (_, a))| (id.clone(), sock(*a, ports[&layout.peer])))
            .collect();
        Ok(layout
            .nodes
            .iter()
            .map(|id| {
                let (_, a) = self.nodes[id];
                let any = if a.is_ipv4() {
                    IpAddr::V4(Ipv4Addr::UNSPECIFIED)
                } else {
                    IpAddr::V6(Ipv6Addr::UNSPECIFIED)
                };
                NodeNet {
                    id: id.clone(),
                    listen: ports.iter().map(|(n, p)| (n.clone(), sock(any, *p))).collect(),
                    dial: ports.iter().map(|(n, p)| (n.clone(), sock(a, *p))).collect(),
                    peers: peers.clone(),
                    exec_prefix: Vec::new(),
                }
            })
            .collect())
    }

    fn enter_client(&self) -> Result<(), NetError> {
        Ok(())
    }

    fn partition(&self, g: &Grudge) -> Result<(), NetError> {
        self.apply(g)
    }

    fn heal(&self) -> Result<(), NetError> {
        if self.nodes.is_empty() {
            return Ok(());
        }
        self.apply(&Grudge::default())
    }

    fn teardown(&mut self) -> Result<(), NetError> {
        if self.nodes.is_empty() {
            return Ok(());
        }
        let used = self.nodes.len();
        let tag = self.tag.as_str().to_string();
        self.fleet
            .all(|i, s| if i < used { delete_table(s, &tag) } else { Ok(()) })
            .map_err(ssh_err)?;
        self.nodes.clear();
        Ok(())
    }
}

impl Drop for HostsNet {
    fn drop(&mut self) {
        let _ = self.teardown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grudge_becomes_one_drop_rule_per_family_in_the_runs_table() {
        let net = HostsNet {
            fleet: Arc::new(Fleet::empty()),
            tag: RunTag("fl42-0".into()),
            base_port: 7000,
            nodes: BTreeMap::new(),
        };
        let a: IpAddr = "10.0.0.2".parse().unwrap();
        let b: IpAddr = "fd00::3".parse().unwrap();
        let r = net.ruleset(&[a, b]);
        assert!(
            r.starts_with("table inet fl42-0\ndelete table inet fl42-0\n"),
            "{r}"
        );
        assert!(
            r.contains("ip saddr { 10.0.0.2 } drop") && r.contains("ip6 saddr { fd00::3 } drop"),
            "{r}"
        );
        let healed = net.ruleset(&[]);
        assert!(
            !healed.contains("drop") && healed.ends_with("table inet fl42-0 {\n}\n"),
            "{healed}"
        );
        assert_eq!(resolve("127.0.0.1").unwrap(), IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
}
