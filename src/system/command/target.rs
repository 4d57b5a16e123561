//! Any system as a runner target, from a `targets/*.toml` with `client = "command"`: nodes are
//! started from the `start` template, a node is healthy once a TCP connect to its first port
//! succeeds, and clients are [`CommandClient`]s running the user's `command`.
//!
//! Template variables for `start`: `node`, `addr`, `dir`, `data_dir`, `port.<name>` (for each of
//! `ports`) and `peers` (the `peer` template rendered for every node, as this node sees it,
//! joined by `,`). `[adapter.env]` entries are passed to the command, rendered with `nodes`
//! (`n1=ip:port,...`, each node's client address) and `node` (the client's preferred node).
//! The command also always gets `FAULTLINE_NODES` (same as `{nodes}`), `FAULTLINE_WORKLOAD`,
//! `FAULTLINE_BIN` (this executable), plus what [`CommandClient`] sets. The word `faultline` as
//! the first element of `start` or `command` means this executable, so the example runs
//! without `faultline` on PATH.
//!
//! It is the generic [`ExternalTarget`] over [`CommandSystem`]: what differs from etcd or Redis
//! is only how a node is spawned and probed, and which client answers ops.
//!
//! Invariant: every process is owned by the [`Cluster`]; teardown (and drop) kills them all.

use super::CommandClient;
use crate::client::Client;
use crate::system::external::{
    check_binary, render, spec_fields, te, Cluster, ExternalError, ExternalTarget, NodeSpec, NodeVars,
    System, TargetDef, TargetSystem,
};
use crate::system::process::{log_tail, NodeProcess};
use crate::system::{NodeCtx, NodeId, PortPlan, TargetError, WorkloadInfo};
use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// One node of a command target: its ports by name, as bound, dialled and seen by peers.
#[derive(Clone, Debug)]
pub struct CommandNodeSpec {
    pub id: String,
    /// Port names in definition order (the first is probed for health).
    pub ports: Vec<String>,
    pub listen: BTreeMap<String, SocketAddr>,
    pub dial: BTreeMap<String, SocketAddr>,
    /// This node's view of every node's peer address.
    pub peers: BTreeMap<String, SocketAddr>,
    pub exec_prefix: Vec<String>,
    pub data_dir: PathBuf,
    pub log: PathBuf,
}

impl NodeSpec for CommandNodeSpec {
    /// Two ports named `client` and `peer` (for standalone use; the runner gives real names).
    fn local(id: String, a: SocketAddr, b: SocketAddr, data_dir: PathBuf, log: PathBuf) -> Self {
        let m: BTreeMap<String, SocketAddr> = [("client".to_string(), a), ("peer".to_string(), b)].into();
        CommandNodeSpec {
            peers: [(id.clone(), b)].into(),
            id,
            ports: vec!["client".into(), "peer".into()],
            listen: m.clone(),
            dial: m,
            exec_prefix: vec![],
            data_dir,
            log,
        }
    }
    spec_fields!();
    fn listens(&self) -> Vec<(SocketAddr, String)> {
        self.listen
            .iter()
            .map(|(name, a)| (*a, format!("{} port `{name}`", self.id)))
            .collect()
    }
}

/// What the generic cluster needs for command targets: which port is the peer port.
pub struct CommandSystem {
    peer: String,
}

/// The port a plan calls `peer`: `peer` when defined, else the last one (the first is the
/// client-facing one by convention), else none.
fn peer_port(def: &TargetDef) -> String {
    if def.ports.iter().any(|p| p == "peer") {
        "peer".into()
    } else {
        def.ports.last().cloned().unwrap_or_default()
    }
}

/// The port clients use: `client` when defined, else the first.
fn client_port(def: &TargetDef) -> String {
    if def.ports.iter().any(|p| p == "client") {
        "client".into()
    } else {
        def.ports.first().cloned().unwrap_or_default()
    }
}

/// `faultline` as a program name means this executable.
fn resolve_self(argv: &mut [String]) {
    if argv.first().map(String::as_str) == Some("faultline") {
        if let Ok(me) = std::env::current_exe() {
            argv[0] = me.display().to_string();
        }
    }
}

impl System for CommandSystem {
    type Spec = CommandNodeSpec;
    const NODE: &'static str = "node";
    const PROCESS: &'static str = "process";

    fn new(def: &TargetDef, _specs: &[CommandNodeSpec]) -> CommandSystem {
        CommandSystem { peer: peer_port(def) }
    }

    fn spawn(c: &Cluster<Self>, s: &CommandNodeSpec) -> Result<Vec<NodeProcess>, ExternalError> {
        let mut argv = c.vars(s)?.argv(&c.def.start, &c.def_path)?;
        resolve_self(&mut argv);
        Ok(vec![NodeProcess::spawn(
            &s.id,
            s.exec_prefix.clone(),
            argv,
            vec![],
            s.log.clone(),
        )?])
    }

    /// The definition's own binaries are checked by the generic target; here the command and
    /// the start program, and every node's start argv rendered: a template error is a
    /// definition error, before anything starts.
    fn preflight(c: &Cluster<Self>) -> Result<(), ExternalError> {
        let mut start = c.def.start.clone();
        resolve_self(&mut start);
        let mut command = c.def.command.clone();
        resolve_self(&mut command);
        for b in [command.first(), start.first()].into_iter().flatten() {
            if !b.contains('{') {
                check_binary(b, &c.def.install)?;
            }
        }
        for s in &c.specs {
            c.vars(s)?.argv(&c.def.start, &c.def_path)?;
        }
        Ok(())
    }

    fn healthy(c: &Cluster<Self>, node: &str, timeout: Duration) -> Result<(), String> {
        let s = c.spec(node).map_err(|e| e.to_string())?;
        let first = s.ports.first().ok_or("the target definition lists no `ports`")?;
        let a = s
            .dial
            .get(first)
            .ok_or_else(|| format!("no address for port `{first}`"))?;
        TcpStream::connect_timeout(a, timeout).map(|_| ()).map_err(|e| {
            format!(
                "no TCP connect to {node}'s port `{first}` ({a}): {e}; check `start` and `ports` in {}",
                c.def_path.display()
            )
        })
    }

    fn describe(s: &CommandNodeSpec) -> String {
        format!("node {}", s.id)
    }
}

impl Cluster<CommandSystem> {
    /// The template variables of node `s` (see the module doc).
    pub(super) fn vars(&self, s: &CommandNodeSpec) -> Result<NodeVars, ExternalError> {
        let base = |n: &CommandNodeSpec, ip: String| {
            let mut v = NodeVars::new(&n.id, &ip, n.dir(), &n.data_dir);
            for (name, a) in &n.listen {
                v = v.set(&format!("port.{name}"), a.port().to_string());
            }
            v
        };
        let ip = |n: &CommandNodeSpec| {
            n.listen
                .values()
                .next()
                .map(|a| a.ip().to_string())
                .unwrap_or_else(|| "127.0.0.1".into())
        };
        let mut peers = Vec::new();
        for other in &self.specs {
            // How `s` reaches `other`: its peer address from `s`'s view.
            let seen = s.peers.get(&other.id).copied();
            let mut v = base(
                other,
                seen.map(|a| a.ip().to_string()).unwrap_or_else(|| ip(other)),
            );
            if let Some(a) = seen {
                v = v.set(&format!("port.{}", self.sys.peer), a.port().to_string());
            }
            peers.push(render(&self.def.peer, &v, &self.def_path)?);
        }
        Ok(base(s, ip(s)).set("peers", peers.join(",")))
    }
}

/// A `client = "command"` target definition as a runner target.
pub type CommandTarget = ExternalTarget<CommandSystem>;

impl ExternalTarget<CommandSystem> {
    /// Checks the definition: a `command` client, a start template, ports, a command.
    pub fn new(def: TargetDef, path: &Path) -> Result<CommandTarget, ExternalError> {
        let bad = |detail: &str| {
            Err(ExternalError::BadDefinition {
                path: path.to_path_buf(),
                detail: detail.into(),
            })
        };
        if def.client != "command" {
            return bad(&format!("client is `{}`, not `command`", def.client));
        }
        if def.command.is_empty() {
            return bad("`command` is empty: give the executable that answers ops (see README, \"Testing your own system\")");
        }
        if def.start.is_empty() {
            return bad("`start` is empty: give the argv template that starts one node");
        }
        if def.ports.is_empty() {
            return bad("`ports` is empty: name at least one port (the first is probed for health)");
        }
        Ok(ExternalTarget::with_def(def, path, ()))
    }

    /// `n1=ip:port,...`: every node's client address (empty before setup).
    fn nodes_var(&self) -> String {
        let port = client_port(self.def());
        self.cluster()
            .map(|c| {
                c.specs
                    .iter()
                    .filter_map(|s| s.dial.get(&port).map(|a| format!("{}={a}", s.id)))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default()
    }

    fn command_argv(&self) -> Vec<String> {
        let mut argv = self.def().command.clone();
        resolve_self(&mut argv);
        argv
    }

    fn command_env(&self, node: &str, workload: &str) -> Result<Vec<(String, String)>, TargetError> {
        let nodes = self.nodes_var();
        let vars = NodeVars::default().set("nodes", nodes.clone()).set("node", node);
        let mut env = vec![
            ("FAULTLINE_NODES".to_string(), nodes),
            ("FAULTLINE_WORKLOAD".to_string(), workload.to_string()),
        ];
        if let Ok(me) = std::env::current_exe() {
            env.push(("FAULTLINE_BIN".into(), me.display().to_string()));
        }
        if let Some(toml::Value::Table(t)) = self.def().adapter.get("env") {
            for (k, v) in t {
                let tmpl = v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
                env.push((k.clone(), render(&tmpl, &vars, self.path()).map_err(te)?));
            }
        }
        Ok(env)
    }

    fn stderr_log(&self) -> Option<PathBuf> {
        Some(self.cluster()?.specs.first()?.dir().join("command-stderr.txt"))
    }

    /// Starts the command once with its stdin closed at once: an adapter that reads ops until
    /// end of input exits 0 (or keeps running: after [`PROBE_WAIT`] it is accepted and
    /// killed); one that fails (a missing script, a syntax error) exits non-zero, and that is a
    /// configuration error naming the command and its stderr. Waiting for the exit, not for a
    /// fixed time, keeps a slow start on a loaded machine from passing a broken command.
    fn probe(&self, w: &WorkloadInfo) -> Result<(), TargetError> {
        let argv = self.command_argv();
        let env = self.command_env("n1", &w.name)?;
        let err = tempfile::NamedTempFile::new().map_err(|source| TargetError::Io {
            context: "creating a temp file for the command probe".into(),
            source,
        })?;
        let mut cmd = std::process::Command::new(&argv[0]);
        cmd.args(&argv[1..])
            .envs(env)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(
                err.reopen()
                    .map(std::process::Stdio::from)
                    .unwrap_or(std::process::Stdio::null()),
            );
        let mut child = cmd.spawn().map_err(|e| {
            TargetError::Config(format!(
                "cannot start the command `{}` from {}: {e}; fix `command` there",
                argv.join(" "),
                self.path().display()
            ))
        })?;
        let deadline = Instant::now() + PROBE_WAIT;
        let status = loop {
            match child.try_wait() {
                Ok(Some(st)) => break Some(st),
                _ if Instant::now() >= deadline => break None,
                _ => std::thread::sleep(Duration::from_millis(20)),
            }
        };
        let _ = child.kill();
        let _ = child.wait();
        match status {
            Some(st) if !st.success() => Err(TargetError::Config(format!(
                "the command `{}` from {} failed ({st}) when started with no ops to read; fix `command` there. Its stderr:\n{}",
                argv.join(" "),
                self.path().display(),
                log_tail(err.path(), 10)
            ))),
            _ => Ok(()),
        }
    }
}

/// How long the probe waits for the command to exit on an empty stdin.
const PROBE_WAIT: Duration = Duration::from_secs(10);

impl TargetSystem for CommandSystem {
    const NAME: &'static str = "command";
    type Opts = ();

    fn name(def: &TargetDef) -> &str {
        &def.name
    }

    fn ports(def: &TargetDef) -> PortPlan {
        PortPlan {
            names: def.ports.clone(),
            peer: peer_port(def),
            client: client_port(def),
        }
    }

    fn spec(def: &TargetDef, n: &NodeCtx) -> Result<CommandNodeSpec, TargetError> {
        Ok(CommandNodeSpec {
            id: n.id.clone(),
            ports: def.ports.clone(),
            listen: n.net.listen.clone(),
            dial: n.net.dial.clone(),
            peers: n.net.peers.clone(),
            exec_prefix: n.net.exec_prefix.clone(),
            data_dir: n.data_dir.clone(),
            log: n.log.clone(),
        })
    }

    const HAS_LEADER: bool = false;
    /// Command targets have no leader the harness can ask for.
    fn leader(_c: &Cluster<Self>) -> Option<NodeId> {
        None
    }

    fn prepare(t: &CommandTarget, w: &WorkloadInfo) -> Result<(), TargetError> {
        t.probe(w)
    }

    fn client(
        t: &CommandTarget,
        _c: &Cluster<Self>,
        node: &str,
        w: &WorkloadInfo,
    ) -> Result<Box<dyn Client>, TargetError> {
        let env = t.command_env(node, &w.name)?;
        let c = CommandClient::new(t.command_argv(), env, Some(node.to_string()), t.stderr_log())
            .map_err(|e| TargetError::Config(e.to_string()))?;
        Ok(Box::new(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(extra: &str) -> TargetDef {
        TargetDef::parse(
            &format!(
                "name='x'\ninstall='i'\nclient='command'\ncommand=['sh']\nports=['client','peer']\n\
                 start=['srv','{{node}}','{{port.client}}','{{peers}}']\npeer='{{node}}@{{addr}}:{{port.peer}}'\n{extra}"
            ),
            Path::new("t.toml"),
        )
        .unwrap()
    }

    fn spec(id: &str, ip: [u8; 4], seen: &[(&str, [u8; 4], u16)]) -> CommandNodeSpec {
        let a = |p: u16| SocketAddr::from((ip, p));
        CommandNodeSpec {
            id: id.into(),
            ports: vec!["client".into(), "peer".into()],
            listen: [("client".into(), a(1000)), ("peer".into(), a(2000))].into(),
            dial: [("client".into(), a(1000)), ("peer".into(), a(2000))].into(),
            peers: seen
                .iter()
                .map(|(n, ip, p)| (n.to_string(), SocketAddr::from((*ip, *p))))
                .collect(),
            exec_prefix: vec![],
            data_dir: PathBuf::from(format!("/d/{id}")),
            log: PathBuf::from(format!("/d/{id}.log")),
        }
    }

    #[test]
    fn start_templates_see_ports_and_peers_as_this_node_sees_them() {
        let specs = vec![
            spec(
                "n1",
                [10, 0, 0, 1],
                &[("n1", [10, 0, 0, 1], 2000), ("n2", [10, 0, 0, 2], 2000)],
            ),
            spec(
                "n2",
                [10, 0, 0, 2],
                &[("n1", [127, 0, 0, 1], 9001), ("n2", [10, 0, 0, 2], 2000)],
            ),
        ];
        let d = def("");
        let c: Cluster<CommandSystem> = Cluster::new(d.clone(), Path::new("t.toml"), specs);
        let argv = |i: usize| {
            c.vars(&c.specs[i])
                .unwrap()
                .argv(&d.start, Path::new("t.toml"))
                .unwrap()
        };
        assert_eq!(
            argv(0),
            ["srv", "n1", "1000", "n1@10.0.0.1:2000,n2@10.0.0.2:2000"]
        );
        // n2 reaches n1 through another address (e.g. a proxy).
        assert_eq!(
            argv(1),
            ["srv", "n2", "1000", "n1@127.0.0.1:9001,n2@10.0.0.2:2000"]
        );
    }

    #[test]
    fn definitions_missing_what_a_command_target_needs_are_refused_by_name() {
        assert!(CommandTarget::new(def(""), Path::new("t.toml")).is_ok());
        let mut d = def("");
        d.command.clear();
        let e = CommandTarget::new(d, Path::new("t.toml"))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("t.toml") && e.contains("`command`"), "{e}");
        let mut d = def("");
        d.client = "etcd".into();
        assert!(CommandTarget::new(d, Path::new("t.toml")).is_err());
        let t = CommandTarget::new(def(""), Path::new("t.toml")).unwrap();
        let ports = crate::system::Target::ports(&t);
        assert_eq!((ports.peer.as_str(), ports.client.as_str()), ("peer", "client"));
    }

    #[test]
    fn adapter_env_is_rendered_for_the_command() {
        let t = CommandTarget::new(
            def("[adapter.env]\nMY_CLUSTER = '{nodes}'\nME = '{node}'\n"),
            Path::new("t.toml"),
        )
        .unwrap();
        let env: BTreeMap<_, _> = t.command_env("n2", "register").unwrap().into_iter().collect();
        assert_eq!(env["ME"], "n2");
        assert_eq!(env["MY_CLUSTER"], "", "no cluster yet");
        assert_eq!(env["FAULTLINE_WORKLOAD"], "register");
        let bad = CommandTarget::new(def("[adapter.env]\nX = '{nope}'\n"), Path::new("t.toml")).unwrap();
        assert!(bad.command_env("n1", "set").is_err());
    }
}
