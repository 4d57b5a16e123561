//! The netns back end: one network namespace per node plus one for clients
//! (`<tag>-cl`), each with a veth into a bridge inside a hub namespace
//! (`<tag>-hub`), on 10.77.0.0/24. Namespaces have no default route, so test
//! traffic cannot leave them; the root namespace never holds these addresses.
//! Partitions are nftables `input` drop rules inside node namespaces (table
//! `inet faultline`), like Jepsen's iptables. Needs root, `ip` and `nft`.

use super::{Grudge, Layout, NetBackend, NetError, NodeNet, RunTag};
use std::collections::BTreeMap;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Command, Stdio};

const SUBNET: [u8; 3] = [10, 77, 0];
const CLIENT_HOST: u8 = 2;
const FIRST_NODE_HOST: u8 = 10;
const FIRST_PORT: u16 = 7000;

fn run(args: &[&str], stdin: Option<&str>) -> Result<(), NetError> {
    let command = args.join(" ");
    let mut child = Command::new(args[0])
        .args(&args[1..])
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| NetError::Command {
            command: command.clone(),
            message: e.to_string(),
        })?;
    if let (Some(text), Some(mut si)) = (stdin, child.stdin.take()) {
        let _ = si.write_all(text.as_bytes());
    }
    let out = child.wait_with_output().map_err(|e| NetError::Command {
        command: command.clone(),
        message: e.to_string(),
    })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(NetError::Command {
            command,
            message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

/// Checks that this process can create namespaces and run `nft`.
pub fn probe() -> Result<(), NetError> {
    let unavailable = |reason: String| NetError::Unavailable {
        backend: "netns".into(),
        reason,
    };
    if !nix::unistd::geteuid().is_root() {
        return Err(unavailable("needs root".into()));
    }
    run(&["nft", "--version"], None).map_err(|e| unavailable(format!("nft: {e}")))?;
    let ns = RunTag::current().ns("probe");
    run(&["ip", "netns", "add", &ns], None).map_err(|e| unavailable(e.to_string()))?;
    let r = run(&["ip", "netns", "exec", &ns, "nft", "list", "ruleset"], None);
    let _ = run(&["ip", "netns", "del", &ns], None);
    r.map_err(|e| unavailable(e.to_string()))
}

fn ip(host: u8) -> Ipv4Addr {
    Ipv4Addr::new(SUBNET[0], SUBNET[1], SUBNET[2], host)
}

pub struct Netns {
    tag: RunTag,
    /// Node id → (namespace, address).
    nodes: BTreeMap<String, (String, Ipv4Addr)>,
    created: Vec<String>,
}

impl Netns {
    pub fn new(tag: RunTag) -> Netns {
        Netns {
            tag,
            nodes: BTreeMap::new(),
            created: Vec::new(),
        }
    }

    fn add_ns(&mut self, ns: &str) -> Result<(), NetError> {
        run(&["ip", "netns", "add", ns], None)?;
        self.created.push(ns.to_string());
        run(&["ip", "-n", ns, "link", "set", "lo", "up"], None)
    }

    /// A namespace joined to the hub bridge with address `addr`.
    fn attach(&mut self, hub: &str, ns: &str, port: &str, addr: Ipv4Addr) -> Result<(), NetError> {
        self.add_ns(ns)?;
        run(
            &[
                "ip", "-n", hub, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns,
            ],
            None,
        )?;
        run(
            &["ip", "-n", hub, "link", "set", port, "master", "br0", "up"],
            None,
        )?;
        run(
            &[
                "ip",
                "-n",
                ns,
                "addr",
                "add",
                &format!("{addr}/24"),
                "dev",
                "eth0",
            ],
            None,
        )?;
        run(&["ip", "-n", ns, "link", "set", "eth0", "up"], None)
    }

    fn rules(&self, ns: &str, drop_from: &[Ipv4Addr]) -> Result<(), NetError> {
        let mut script = String::from("table inet faultline\ndelete table inet faultline\n");
        if !drop_from.is_empty() {
            let set: Vec<String> = drop_from.iter().map(|a| a.to_string()).collect();
            script.push_str(&format!(
                "table inet faultline {{\n chain input {{\n  type filter hook input priority 0; policy accept;\n  ip saddr {{ {} }} drop\n }}\n}}\n",
                set.join(", ")
            ));
        }
        run(&["ip", "netns", "exec", ns, "nft", "-f", "-"], Some(&script))
    }
}

impl NetBackend for Netns {
    fn kind(&self) -> &'static str {
        "netns"
    }

    fn setup(&mut self, layout: &Layout) -> Result<Vec<NodeNet>, NetError> {
        if layout.nodes.len() > 200 {
            return Err(NetError::Unsupported {
                backend: "netns".into(),
                what: "more than 200 nodes".into(),
            });
        }
        let hub = self.tag.ns("hub");
        self.add_ns(&hub)?;
        run(&["ip", "-n", &hub, "link", "add", "br0", "type", "bridge"], None)?;
        run(&["ip", "-n", &hub, "link", "set", "br0", "up"], None)?;
        let cl = self.tag.ns("cl");
        self.attach(&hub, &cl, "vcl", ip(CLIENT_HOST))?;
        let ports: BTreeMap<String, u16> = layout
            .ports
            .iter()
            .enumerate()
            .map(|(i, p)| (p.clone(), FIRST_PORT + i as u16))
            .collect();
        for (i, id) in layout.nodes.iter().enumerate() {
            let ns = self.tag.ns(id);
            let addr = ip(FIRST_NODE_HOST + i as u8);
            self.attach(&hub, &ns, &format!("v{i}"), addr)?;
            self.nodes.insert(id.clone(), (ns, addr));
        }
        let sock = |a: Ipv4Addr, p: u16| SocketAddr::new(IpAddr::V4(a), p);
        let peers: BTreeMap<String, SocketAddr> = self
            .nodes
            .iter()
            .map(|(id, (_, a))| (id.clone(), sock(*a, ports[&layout.peer])))
            .collect();
        Ok(layout
            .nodes
            .iter()
            .map(|id| {
                let (ns, a) = &self.nodes[id];
                let listen: BTreeMap<String, SocketAddr> =
                    ports.iter().map(|(n, p)| (n.clone(), sock(*a, *p))).collect();
                NodeNet {
                    id: id.clone(),
                    dial: listen.clone(),
                    listen,
                    peers: peers.clone(),
                    exec_prefix: vec!["ip".into(), "netns".into(), "exec".into(), ns.clone()],
                }
            })
            .collect())
    }

    fn enter_client(&self) -> Result<(), NetError> {
        let path = format!("/run/netns/{}", self.tag.ns("cl"));
        let f = std::fs::File::open(&path).map_err(|source| NetError::Io {
            context: format!("opening {path}"),
            source,
        })?;
        nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET).map_err(|e| NetError::Command {
            command: format!("setns {path}"),
            message: e.to_string(),
        })
    }

    fn partition(&self, g: &Grudge) -> Result<(), NetError> {
        for (id, (ns, _)) in &self.nodes {
            let drop_from: Vec<Ipv4Addr> =
                g.0.get(id)
                    .map(|s| s.iter().filter_map(|o| self.nodes.get(o).map(|x| x.1)).collect())
                    .unwrap_or_default();
            self.rules(ns, &drop_from)?;
        }
        Ok(())
    }

    fn heal(&self) -> Result<(), NetError> {
        self.partition(&Grudge::default())
    }

    fn teardown(&mut self) -> Result<(), NetError> {
        let mut first = None;
        for ns in self.created.drain(..).rev() {
            if let Err(e) = run(&["ip", "netns", "del", &ns], None) {
                first.get_or_insert(e);
            }
        }
        self.nodes.clear();
        first.map_or(Ok(()), Err)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = self.teardown();
    }
}
