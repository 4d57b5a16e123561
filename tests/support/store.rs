//! Shared helpers for the store integration tests: real `faultline node`
//! processes on 127.0.0.1 with free ports, killed on drop.

use faultline::store::ops::{ClientOp, Outcome, Request};
use faultline::store::{AdminClient, NodeStatus, StoreClient};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const T: Duration = Duration::from_millis(1000);

/// A free port below the ephemeral range, so the suite's own client connections cannot take
/// it before the node that was given it binds (a node started late, e.g. a joining one).
pub fn free_port() -> u16 {
    faultline::util::ports::free_addr().unwrap().port()
}

pub fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

pub struct Cluster {
    pub dir: tempfile::TempDir,
    pub ids: Vec<String>,
    pub peer: Vec<u16>,
    pub client: Vec<u16>,
    pub admin: Vec<u16>,
    pub args: Vec<String>,
    pub procs: Vec<Option<Child>>,
}

impl Cluster {
    /// Defines an `n`-node cluster (nothing started yet).
    pub fn new(n: usize, args: &[&str]) -> Cluster {
        // Reserved together, so distinct: drawn one by one, a node's port could equal
        // another's and that node would never start (seen in CI: a 3-node cluster
        // running on 2 nodes).
        let ports = faultline::util::ports::free_ports(3 * n).unwrap();
        Cluster {
            dir: tempfile::tempdir().unwrap(),
            ids: (1..=n).map(|i| format!("n{i}")).collect(),
            peer: ports[..n].to_vec(),
            client: ports[n..2 * n].to_vec(),
            admin: ports[2 * n..].to_vec(),
            args: args.iter().map(|s| s.to_string()).collect(),
            procs: (0..n).map(|_| None).collect(),
        }
    }

    pub fn start(n: usize, args: &[&str]) -> Cluster {
        let mut c = Cluster::new(n, args);
        for i in 0..n {
            c.spawn(i);
        }
        c
    }

    pub fn data_dir(&self, i: usize) -> PathBuf {
        self.dir.path().join(&self.ids[i])
    }

    pub fn log_path(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("{}.log", self.ids[i]))
    }

    pub fn command(&self, i: usize) -> Command {
        let cluster: Vec<String> = self
            .ids
            .iter()
            .zip(&self.peer)
            .map(|(id, p)| format!("{id}=127.0.0.1:{p}"))
            .collect();
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("faultline"));
        cmd.args(["node", "--id", &self.ids[i]])
            .args(["--listen", &format!("127.0.0.1:{}", self.peer[i])])
            .args(["--client", &format!("127.0.0.1:{}", self.client[i])])
            .args(["--admin", &format!("127.0.0.1:{}", self.admin[i])])
            .args(["--cluster", &cluster.join(",")])
            .arg("--data-dir")
            .arg(self.data_dir(i))
            .arg("--log")
            .arg(self.log_path(i))
            .args(["--heartbeat-ms", "50", "--election-timeout-ms", "300"])
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        cmd
    }

    pub fn spawn(&mut self, i: usize) {
        let child = self.command(i).spawn().expect("spawn faultline node");
        self.procs[i] = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while AdminClient::connect(addr(self.admin[i]), T).is_err() {
            let exited = self.procs[i].as_mut().and_then(|c| c.try_wait().ok().flatten());
            if exited.is_some() || Instant::now() >= deadline {
                let log = std::fs::read_to_string(self.log_path(i)).unwrap_or_default();
                panic!("node {i} did not come up ({exited:?}); its log:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.procs[i].take() {
            let _ = c.kill(); // SIGKILL
            let _ = c.wait();
        }
    }

    pub fn signal(&self, i: usize, s: Signal) {
        if let Some(c) = &self.procs[i] {
            kill(Pid::from_raw(c.id() as i32), s).unwrap();
        }
    }

    pub fn status(&self, i: usize) -> Option<NodeStatus> {
        AdminClient::connect(addr(self.admin[i]), T).ok()?.status().ok()
    }

    /// Waits for a node that says it leads and that the others (running) agree on.
    pub fn wait_leader(&self) -> usize {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let alive: Vec<usize> = (0..self.ids.len()).filter(|i| self.procs[*i].is_some()).collect();
            let st: Vec<Option<NodeStatus>> = alive.iter().map(|i| self.status(*i)).collect();
            for (k, s) in st.iter().enumerate() {
                if let Some(s) = s {
                    if s.role == faultline::store::core::Role::Leader && s.commit_index > 0 {
                        return alive[k];
                    }
                }
            }
            assert!(Instant::now() < deadline, "no leader: {st:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn request(&self, i: usize, op: ClientOp) -> Result<Outcome, String> {
        let mut c = StoreClient::connect(addr(self.client[i]), T).map_err(|e| e.to_string())?;
        c.request(&Request { id: 0, op }, Duration::from_secs(3))
            .map(|r| r.outcome)
            .map_err(|e| e.to_string())
    }

    /// Performs `op` on the current leader, retrying through elections and lost
    /// connections (fine for the idempotent ops tests use); `None` if the store
    /// said the outcome is unknown.
    pub fn on_leader(&self, op: ClientOp) -> Option<Outcome> {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            let l = self.wait_leader();
            match self.request(l, op.clone()) {
                Ok(Outcome::Unknown { .. }) => return None,
                Ok(Outcome::NotLeader { .. }) | Err(_) => {}
                Ok(o) => return Some(o),
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("op never completed: {op:?}");
    }

    pub fn put(&self, k: &str, v: i64) -> bool {
        matches!(
            self.on_leader(ClientOp::Write {
                key: json!(k),
                value: json!(v)
            }),
            Some(Outcome::Ok { .. })
        )
    }

    pub fn get(&self, k: &str) -> Value {
        match self.on_leader(ClientOp::Read { key: json!(k) }) {
            Some(Outcome::Ok { value }) => value,
            other => panic!("read {k}: {other:?}"),
        }
    }

    pub fn log_text(&self, i: usize) -> String {
        std::fs::read_to_string(self.log_path(i)).unwrap_or_default()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.procs.len() {
            self.signal(i, Signal::SIGCONT);
            self.kill(i);
        }
    }
}
