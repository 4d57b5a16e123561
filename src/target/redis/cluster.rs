//! A Redis replication group of real processes: on every node a `redis-server` (node 1 starts
//! as primary, the others with `--replicaof`) and a `redis-sentinel` watching it, with low
//! `down-after-milliseconds` / `failover-timeout` so failovers happen within a test.
//!
//! Clock faults: every process of a node runs with libfaketime preloaded, reading its offset
//! from `<dir>/<node>.faketime` (realtime clock only; the monotonic clock is left alone, as a
//! skewed wall clock would be), so [`RedisCluster::set_clock_offset`] is a file write.
//!
//! Invariant: a failed [`RedisCluster::start_all`] leaves nothing running; drop kills the rest.

use super::resp::{Conn, Reply};
use super::{RedisClient, RedisClientConfig, RedisWorkload};
use crate::target::external::{
    check_binary, check_ports_free, free_ports, wait_until, ExternalError, NodeProcess, NodeVars, Retry,
    TargetDef, FAKETIME_LIB,
};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One node: its data server and its Sentinel.
#[derive(Clone, Debug)]
pub struct RedisNodeSpec {
    pub id: String,
    pub redis_listen: SocketAddr,
    /// Where clients and the harness reach the data server (also what replicas are told).
    pub redis_dial: SocketAddr,
    pub sentinel_listen: SocketAddr,
    pub sentinel_dial: SocketAddr,
    pub exec_prefix: Vec<String>,
    pub data_dir: PathBuf,
    pub log: PathBuf,
}

pub struct RedisCluster {
    def: TargetDef,
    def_path: PathBuf,
    specs: Vec<RedisNodeSpec>,
    master: String,
    /// Data servers and Sentinels, by node.
    procs: Mutex<BTreeMap<String, (NodeProcess, NodeProcess)>>,
}

impl RedisCluster {
    pub fn new(def: TargetDef, def_path: &Path, specs: Vec<RedisNodeSpec>) -> RedisCluster {
        let master = def.adapter_str("master", "fl");
        RedisCluster {
            def,
            def_path: def_path.to_path_buf(),
            specs,
            master,
            procs: Mutex::new(BTreeMap::new()),
        }
    }

    /// `def.nodes` nodes on 127.0.0.1 under `dir` (ports from `port_base`, or free ones).
    pub fn local(def: TargetDef, def_path: &Path, dir: &Path) -> Result<RedisCluster, ExternalError> {
        let n = def.nodes;
        let ports: Vec<u16> = if def.port_base == 0 {
            free_ports(2 * n)?
        } else {
            (0..2 * n as u16).map(|i| def.port_base + i).collect()
        };
        let specs = (0..n)
            .map(|i| {
                let id = format!("n{}", i + 1);
                let r: SocketAddr = ([127, 0, 0, 1], ports[2 * i]).into();
                let s: SocketAddr = ([127, 0, 0, 1], ports[2 * i + 1]).into();
                RedisNodeSpec {
                    redis_listen: r,
                    redis_dial: r,
                    sentinel_listen: s,
                    sentinel_dial: s,
                    exec_prefix: vec![],
                    data_dir: dir.join(format!("{id}.data")),
                    log: dir.join(format!("{id}.log")),
                    id,
                }
            })
            .collect();
        Ok(RedisCluster::new(def, def_path, specs))
    }

    pub fn nodes(&self) -> Vec<String> {
        self.specs.iter().map(|s| s.id.clone()).collect()
    }

    pub fn spec(&self, node: &str) -> Result<&RedisNodeSpec, ExternalError> {
        self.specs
            .iter()
            .find(|s| s.id == node)
            .ok_or_else(|| ExternalError::Node {
                node: node.to_string(),
                detail: "no such Redis node".into(),
            })
    }

    fn dir_of(s: &RedisNodeSpec) -> &Path {
        s.log.parent().unwrap_or(Path::new("."))
    }

    fn clock_file(s: &RedisNodeSpec) -> PathBuf {
        Self::dir_of(s).join(format!("{}.faketime", s.id))
    }

    fn vars(&self, s: &RedisNodeSpec) -> NodeVars {
        let primary = &self.specs[0];
        let replicaof = if s.id == primary.id {
            String::new()
        } else {
            format!(
                "--replicaof {} {}",
                primary.redis_dial.ip(),
                primary.redis_dial.port()
            )
        };
        NodeVars::new(
            &s.id,
            &s.redis_listen.ip().to_string(),
            Self::dir_of(s),
            &s.data_dir,
        )
        .set("port.redis", s.redis_listen.port().to_string())
        .set("port.sentinel", s.sentinel_listen.port().to_string())
        .set("sentinel_addr", s.sentinel_listen.ip().to_string())
        .set("announce_ip", s.redis_dial.ip().to_string())
        .set("replicaof", replicaof)
        .set("master", self.master.clone())
        .set("primary_ip", primary.redis_dial.ip().to_string())
        .set("primary_port", primary.redis_dial.port().to_string())
        .set("quorum", (self.specs.len() / 2 + 1).to_string())
        .set(
            "sentinel_conf",
            Self::dir_of(s)
                .join(format!("{}-sentinel.conf", s.id))
                .display()
                .to_string(),
        )
    }

    fn env(&self, s: &RedisNodeSpec) -> Vec<(String, String)> {
        if !self.def.clock_faults {
            return vec![];
        }
        vec![
            ("LD_PRELOAD".into(), FAKETIME_LIB.into()),
            (
                "FAKETIME_TIMESTAMP_FILE".into(),
                Self::clock_file(s).display().to_string(),
            ),
            ("FAKETIME_DONT_FAKE_MONOTONIC".into(), "1".into()),
            ("FAKETIME_CACHE_DURATION".into(), "1".into()),
        ]
    }

    /// Clock faults need libfaketime to work inside `redis-server`. It does not with a
    /// jemalloc-linked build (Debian's): the process hangs at start (libfaketime issue #130).
    /// Probe `redis-server --version` under the preload, bounded, and say so plainly.
    fn probe_faketime(&self) -> Result<(), ExternalError> {
        if !Path::new(FAKETIME_LIB).is_file() {
            return Err(ExternalError::NotInstalled {
                binary: FAKETIME_LIB.into(),
                hint: "apt-get install faketime (or set clock_faults = false)".into(),
            });
        }
        let bin = self
            .def
            .start
            .first()
            .cloned()
            .unwrap_or_else(|| "redis-server".into());
        let mut child = std::process::Command::new(&bin)
            .arg("--version")
            .env("LD_PRELOAD", FAKETIME_LIB)
            .env("FAKETIME", "+0")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| ExternalError::io(format!("probe {bin} under libfaketime"), e))?;
        let ok = wait_until(
            Duration::from_secs(3),
            Duration::from_millis(50),
            || match child.try_wait() {
                Ok(Some(st)) => Ok(st.success()),
                _ => Err(Retry::again("running")),
            },
        );
        let _ = child.kill();
        let _ = child.wait();
        match ok {
            Ok(true) => Ok(()),
            _ => Err(ExternalError::Node {
                node: "all".into(),
                detail: format!(
                    "clock faults unavailable: `{bin} --version` hangs or fails under libfaketime \
                     (jemalloc-linked Redis clashes with libfaketime, libfaketime issue #130); \
                     set clock_faults = false in {} or use a Redis built with MALLOC=libc",
                    self.def_path.display()
                ),
            }),
        }
    }

    /// Checks binaries and ports, starts servers then Sentinels, and waits (bounded) until the
    /// replicas are linked and every Sentinel sees them all. On error nothing is left running.
    pub fn start_all(&self) -> Result<(), ExternalError> {
        for b in &self.def.binaries {
            check_binary(b, &self.def.install)?;
        }
        if self.def.clock_faults {
            self.probe_faketime()?;
        }
        for s in &self.specs {
            if s.exec_prefix.is_empty() {
                check_ports_free(
                    s.redis_listen.ip(),
                    &[s.redis_listen.port()],
                    &format!("redis {}", s.id),
                )?;
                check_ports_free(
                    s.sentinel_listen.ip(),
                    &[s.sentinel_listen.port()],
                    &format!("sentinel {}", s.id),
                )?;
            }
        }
        let r = self.start_all_inner();
        if r.is_err() {
            self.teardown();
        }
        r
    }

    fn start_all_inner(&self) -> Result<(), ExternalError> {
        for s in &self.specs {
            self.spawn_node(s)?;
        }
        let limit = Duration::from_millis(self.def.health_timeout_ms);
        let start = Instant::now();
        for s in &self.specs {
            let left = limit.saturating_sub(start.elapsed());
            let r = wait_until(left, Duration::from_millis(100), || {
                if !self.is_running(&s.id) {
                    return Err(Retry::fatal(format!("redis-server of {} exited", s.id)));
                }
                self.healthy(&s.id, Duration::from_millis(1000))
                    .map_err(Retry::again)
            });
            if let Err((waited, detail)) = r {
                return Err(ExternalError::NeverHealthy {
                    what: format!(
                        "Redis node {} (server {}, sentinel {})",
                        s.id, s.redis_dial, s.sentinel_dial
                    ),
                    waited,
                    detail,
                    log: s.log.clone(),
                    tail: NodeProcess::tail_of(&s.log, 40),
                });
            }
        }
        Ok(())
    }

    fn spawn_node(&self, s: &RedisNodeSpec) -> Result<(), ExternalError> {
        std::fs::create_dir_all(&s.data_dir)
            .map_err(|e| ExternalError::io(format!("create {}", s.data_dir.display()), e))?;
        std::fs::write(Self::clock_file(s), "+0\n")
            .map_err(|e| ExternalError::io("write clock offset file", e))?;
        let vars = self.vars(s);
        let conf_tmpl = self.def.adapter_str("sentinel_conf", "");
        let conf = crate::target::external::render(&conf_tmpl, &vars, &self.def_path)?;
        let conf_path = PathBuf::from(&vars.vars["sentinel_conf"]);
        std::fs::write(&conf_path, conf)
            .map_err(|e| ExternalError::io(format!("write {}", conf_path.display()), e))?;
        let server = NodeProcess::spawn(
            &s.id,
            s.exec_prefix.clone(),
            vars.argv(&self.def.start, &self.def_path)?,
            self.env(s),
            s.log.clone(),
        )?;
        let slog = Self::dir_of(s).join(format!("{}-sentinel.log", s.id));
        let sentinel = NodeProcess::spawn(
            &format!("{}-sentinel", s.id),
            s.exec_prefix.clone(),
            vars.argv(&self.def.adapter_argv("sentinel_start"), &self.def_path)?,
            self.env(s),
            slog,
        )?;
        self.lock().insert(s.id.clone(), (server, sentinel));
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, (NodeProcess, NodeProcess)>> {
        self.procs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Server answers PING; a replica's link is up; its Sentinel sees every replica and Sentinel.
    pub fn healthy(&self, node: &str, timeout: Duration) -> Result<(), String> {
        let s = self.spec(node).map_err(|e| e.to_string())?;
        let deadline = Instant::now() + timeout;
        let mut c = Conn::connect(s.redis_dial, timeout).map_err(|e| e.to_string())?;
        let info = c
            .cmd(&["INFO", "replication"], deadline)
            .map_err(|e| e.to_string())?;
        let info = info.as_text().unwrap_or_default();
        if info.contains("role:slave") && !info.contains("master_link_status:up") {
            return Err(format!("replica {node} not linked to its primary yet"));
        }
        let mut sc = Conn::connect(s.sentinel_dial, timeout).map_err(|e| format!("sentinel: {e}"))?;
        let m = sc
            .cmd(&["SENTINEL", "master", &self.master], deadline)
            .map_err(|e| e.to_string())?;
        let fields = match m {
            Reply::Array(Some(a)) => a.iter().filter_map(Reply::as_text).collect::<Vec<_>>(),
            other => return Err(format!("sentinel of {node}: {other:?}")),
        };
        let get = |k: &str| {
            fields
                .chunks(2)
                .find(|p| p[0] == k)
                .and_then(|p| p.get(1))
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0)
        };
        let n = self.specs.len();
        let (slaves, others) = (get("num-slaves"), get("num-other-sentinels"));
        if slaves + 1 < n || others + 1 < n {
            return Err(format!(
                "sentinel of {node} sees {slaves} replicas and {others} other sentinels, want {} and {}",
                n - 1,
                n - 1
            ));
        }
        Ok(())
    }

    /// The node's replication role as it says itself (`master`, `slave`), by `ROLE`.
    pub fn role(&self, node: &str, timeout: Duration) -> Result<String, String> {
        let s = self.spec(node).map_err(|e| e.to_string())?;
        let mut c = Conn::connect(s.redis_dial, timeout).map_err(|e| e.to_string())?;
        match c
            .cmd(&["ROLE"], Instant::now() + timeout)
            .map_err(|e| e.to_string())?
        {
            Reply::Array(Some(a)) => a
                .first()
                .and_then(Reply::as_text)
                .ok_or_else(|| "empty ROLE".into()),
            other => Err(format!("ROLE answered {other:?}")),
        }
    }

    /// The node's clock as its server reports it (`TIME`), microseconds since the epoch.
    pub fn server_time_us(&self, node: &str, timeout: Duration) -> Result<i64, String> {
        let s = self.spec(node).map_err(|e| e.to_string())?;
        let mut c = Conn::connect(s.redis_dial, timeout).map_err(|e| e.to_string())?;
        match c
            .cmd(&["TIME"], Instant::now() + timeout)
            .map_err(|e| e.to_string())?
        {
            Reply::Array(Some(a)) if a.len() == 2 => {
                let n = |r: &Reply| r.as_text().and_then(|t| t.parse::<i64>().ok()).unwrap_or(0);
                Ok(n(&a[0]) * 1_000_000 + n(&a[1]))
            }
            other => Err(format!("TIME answered {other:?}")),
        }
    }

    /// The primary according to the first Sentinel that answers.
    pub fn leader(&self, timeout: Duration) -> Option<String> {
        let c = self.client(RedisWorkload::Register, None);
        let addr = c.primary_addr(Instant::now() + timeout).ok()?;
        self.specs
            .iter()
            .find(|s| s.redis_dial == addr)
            .map(|s| s.id.clone())
    }

    /// A client that follows the primary through every node's Sentinel.
    pub fn client(&self, workload: RedisWorkload, wait: Option<(u32, u64)>) -> RedisClient {
        RedisClient::new(RedisClientConfig {
            workload,
            sentinels: self.specs.iter().map(|s| s.sentinel_dial).collect(),
            master: self.master.clone(),
            wait,
            prefix: self.def.adapter_str("prefix", "fl/"),
            names: self.specs.iter().map(|s| (s.redis_dial, s.id.clone())).collect(),
        })
    }

    fn with<T>(&self, node: &str, f: impl FnOnce(&mut NodeProcess) -> T) -> Result<T, ExternalError> {
        let mut procs = self.lock();
        let p = procs.get_mut(node).ok_or_else(|| ExternalError::Node {
            node: node.to_string(),
            detail: "was never started".into(),
        })?;
        Ok(f(&mut p.0))
    }

    /// Restarts a killed data server with its original command (node 1 comes back as a primary
    /// with an empty data set until Sentinel demotes it: exactly the hazard of no persistence).
    pub fn start(&self, node: &str) -> Result<(), ExternalError> {
        if self.lock().contains_key(node) {
            return self.with(node, |p| p.start())?;
        }
        self.spawn_node(self.spec(node)?)
    }
    pub fn kill(&self, node: &str) -> Result<(), ExternalError> {
        self.with(node, |p| p.kill())
    }
    pub fn stop(&self, node: &str) -> Result<(), ExternalError> {
        let grace = Duration::from_millis(self.def.stop_grace_ms);
        self.with(node, |p| p.stop(grace))
    }
    pub fn pause(&self, node: &str) -> Result<(), ExternalError> {
        self.with(node, |p| p.pause())
    }
    pub fn resume(&self, node: &str) -> Result<(), ExternalError> {
        self.with(node, |p| p.resume())
    }
    pub fn is_running(&self, node: &str) -> bool {
        self.with(node, |p| p.is_running()).unwrap_or(false)
    }

    /// Skews the node's realtime clock (server and Sentinel) by `offset_ms`; 0 resets.
    /// libfaketime re-reads the file at most once a second.
    pub fn set_clock_offset(&self, node: &str, offset_ms: i64) -> Result<(), ExternalError> {
        if !self.def.clock_faults {
            return Err(ExternalError::Node {
                node: node.into(),
                detail: "clock faults are off in the target definition (clock_faults = false)".into(),
            });
        }
        let s = self.spec(node)?;
        let text = format!(
            "{}{:.3}\n",
            if offset_ms < 0 { "-" } else { "+" },
            offset_ms.unsigned_abs() as f64 / 1000.0
        );
        std::fs::write(Self::clock_file(s), text).map_err(|e| ExternalError::io("write clock offset file", e))
    }

    pub fn log_files(&self) -> Vec<(String, PathBuf)> {
        let mut v = Vec::new();
        for s in &self.specs {
            v.push((s.id.clone(), s.log.clone()));
            v.push((
                format!("{}-sentinel", s.id),
                Self::dir_of(s).join(format!("{}-sentinel.log", s.id)),
            ));
        }
        v
    }

    /// Kills every server and Sentinel. Idempotent.
    pub fn teardown(&self) {
        let mut procs = self.lock();
        for (a, b) in procs.values_mut() {
            a.kill();
            b.kill();
        }
        procs.clear();
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        self.teardown();
    }
}
